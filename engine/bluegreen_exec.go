package engine

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// switchRejected is the reason of a release whose gate was rejected.
const switchRejected = "the switch was rejected"

// Request is a person's request to a running release.
type Request int

// The requests a running release takes.
const (
	RequestRollback Request = iota + 1
	RequestAbort
)

// ReleaseHooks connect the executor to its caller. Every field may be nil
// except Clock.
type ReleaseHooks struct {
	Actor Actor
	Clock Clock
	// Observed is called after every decision with the release's memory,
	// the observation it was made from, and the next action.
	Observed func(r Release, obs Observation, act Action)
	// Progress reports each change seen while waiting for a rollout.
	Progress func(c Color, s ColorState)
	// Approve blocks until a person decides the gate before the switch.
	Approve func(ctx context.Context) (bool, error)
	// Switched is called once a switch has landed, to journal it. An error
	// stops the release.
	Switched func(req SwitchRequest) error
	// Requests carries rollback and abort requests.
	Requests <-chan Request
	// Retrying reports an action or observation that failed and will be
	// tried again.
	Retrying func(err error)
	// RetryFor is how long the executor keeps retrying an action that
	// fails (an API server restart, say) before the release fails
	// (default 2m).
	RetryFor time.Duration
}

// RunBlueGreen drives a blue-green release to its end: it observes, asks
// NextBlueGreen what to do, applies that one action, and observes again.
// It returns the release in its final phase. An error is returned only
// when the release could not be driven (ctx ended, or the cluster kept
// failing); the Service then still selects a color with Ready pods, since
// the switch is the only write that moves traffic and it checks first.
func RunBlueGreen(ctx context.Context, cl Cluster, spec BlueGreenSpec, h ReleaseHooks) (Release, error) {
	t := spec.Target()
	x := executor{cl: cl, t: t, h: h}
	var r Release
	for {
		obs, err := x.observe(ctx)
		if err != nil {
			return r, err
		}
		var act Action
		r, act = NextBlueGreen(spec, r, obs, h.Clock.Now())
		if h.Observed != nil {
			h.Observed(r, obs, act)
		}
		if act.Kind == ActNone {
			return r, nil
		}
		req, err := x.apply(ctx, act, obs, &r)
		switch req {
		case RequestRollback:
			r.Rollback = true
		case RequestAbort:
			r.Abort = true
		}
		if err != nil {
			return r, err
		}
	}
}

// RunRollback switches t's Service back to color to (or, when to is "", to
// the color its annotations name as previous, else the other one). A
// scaled-down color is scaled to replicas (default: the live color's) and
// waited for before the switch.
func RunRollback(ctx context.Context, cl Cluster, t Target, to Color, replicas int32, h ReleaseHooks) (Color, error) {
	x := executor{cl: cl, t: t, h: h}
	for {
		obs, err := x.observe(ctx)
		if err != nil {
			return to, err
		}
		if to == "" {
			if to = obs.Service.Release.Previous; !to.Valid() || to == obs.Service.Live {
				to = obs.Service.Live.Other()
			}
			if !to.Valid() {
				return to, fmt.Errorf("roll back service %s: it selects %q and records no previous color", t, obs.Service.Live)
			}
		}
		if replicas == 0 {
			replicas = obs.Color(obs.Service.Live).Replicas
		}
		act, err := NextRollback(obs, to, replicas)
		if err != nil {
			return to, fmt.Errorf("roll back service %s to %s: %w", t, to, err)
		}
		if h.Observed != nil {
			h.Observed(Release{Phase: PhaseRollingBack, From: obs.Service.Live, To: to, Version: obs.Service.Version}, obs, act)
		}
		if act.Kind == ActNone {
			return to, nil
		}
		r := Release{Version: obs.Service.Version}
		if _, err := x.apply(ctx, act, obs, &r); err != nil {
			return to, err
		}
	}
}

// RunPromote switches t's Service to color to, which must have every one of
// its replicas Ready. It scales nothing.
func RunPromote(ctx context.Context, cl Cluster, t Target, to Color, h ReleaseHooks) (Color, error) {
	x := executor{cl: cl, t: t, h: h}
	for {
		obs, err := x.observe(ctx)
		if err != nil {
			return to, err
		}
		c := obs.Color(to)
		act := Action{Kind: ActSwitch, Color: to, Image: releaseOf(c), MinReady: c.Replicas}
		switch {
		case obs.Service.Live == to:
			act = Action{}
		case !c.Exists:
			return to, fmt.Errorf("promote service %s to %s: deployment %s not found", t, to, c.Deployment)
		case c.Replicas == 0 || c.Ready < c.Replicas:
			return to, fmt.Errorf("promote service %s to %s: deployment %s has %d/%d Ready pods; promote switches only to a color that is fully Ready",
				t, to, c.Deployment, c.Ready, c.Replicas)
		}
		if h.Observed != nil {
			h.Observed(Release{Phase: PhaseSwitching, From: obs.Service.Live, To: to, Version: obs.Service.Version}, obs, act)
		}
		if act.Kind == ActNone {
			return to, nil
		}
		r := Release{Version: obs.Service.Version}
		if _, err := x.apply(ctx, act, obs, &r); err != nil {
			return to, err
		}
	}
}

type executor struct {
	cl Cluster
	t  Target
	h  ReleaseHooks
	// failing is when the current run of failures began.
	failing time.Time
}

// observe reads the pair, retrying through an API server outage.
func (x *executor) observe(ctx context.Context) (Observation, error) {
	for {
		obs, err := x.cl.Observe(ctx, x.t)
		if err == nil {
			x.failing = time.Time{}
			return obs, nil
		}
		if err := x.backoff(ctx, fmt.Errorf("observe %s: %w", x.t, err)); err != nil {
			return obs, err
		}
	}
}

// backoff waits before a retry, or returns err once failures have lasted
// longer than RetryFor.
func (x *executor) backoff(ctx context.Context, err error) error {
	now := x.h.Clock.Now()
	if x.failing.IsZero() {
		x.failing = now
	}
	limit := x.h.RetryFor
	if limit == 0 {
		limit = 2 * time.Minute
	}
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	if now.Sub(x.failing) >= limit {
		return fmt.Errorf("%w (failing for %s)", err, now.Sub(x.failing).Round(time.Second))
	}
	if x.h.Retrying != nil {
		x.h.Retrying(err)
	}
	t := x.h.Clock.NewTimer(time.Second)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C():
		return nil
	}
}

// apply carries out one action. A failed action is not an error: the next
// observation shows what happened and the state machine decides, so apply
// only backs off. It returns a person's request that arrived during a wait.
func (x *executor) apply(ctx context.Context, act Action, obs Observation, r *Release) (Request, error) {
	var err error
	switch act.Kind {
	case ActDeploy:
		err = x.cl.Deploy(ctx, x.t, act.Color, act.Container, act.Image, act.Replicas)
	case ActScale:
		err = x.cl.Scale(ctx, x.t, act.Color, act.Replicas)
	case ActWaitRollout:
		var req Request
		req, err = x.interruptible(ctx, func(ctx context.Context) error {
			return x.cl.WaitRollout(ctx, x.t, act.Color, func(s ColorState) {
				if x.h.Progress != nil {
					x.h.Progress(act.Color, s)
				}
			})
		})
		if req != 0 {
			return req, nil
		}
		if err != nil && ctx.Err() == nil {
			// The observation that follows shows a deadline as a failure;
			// anything else is retried.
			if _, ok := errors.AsType[*RolloutError](err); ok {
				return 0, nil
			}
		}
	case ActWaitUntil:
		return x.interruptible(ctx, func(ctx context.Context) error {
			t := x.h.Clock.NewTimer(act.Until.Sub(x.h.Clock.Now()))
			defer t.Stop()
			select {
			case <-ctx.Done():
				return nil
			case <-t.C():
				return nil
			}
		})
	case ActApprove:
		var ok bool
		if x.h.Approve == nil {
			ok = true
		} else if ok, err = x.h.Approve(ctx); err != nil {
			return 0, err
		}
		r.Approved = ok
		if !ok {
			r.Abort, r.Reason = true, switchRejected
		}
		return 0, nil
	case ActSwitch:
		req := SwitchRequest{
			To: act.Color, From: obs.Service.Live, Version: obs.Service.Version, MinReady: act.MinReady, Selector: obs.Service.Selector,
			Release: act.Image, Actor: x.h.Actor, At: x.h.Clock.Now(),
		}
		var v string
		if v, err = x.cl.Switch(ctx, x.t, req); err == nil {
			r.Version = v
			if x.h.Switched != nil {
				if err := x.h.Switched(req); err != nil {
					return 0, err
				}
			}
		}
	}
	if ctx.Err() != nil {
		return 0, context.Cause(ctx)
	}
	if err != nil {
		return 0, x.backoff(ctx, fmt.Errorf("%s %s on %s: %w", act.Kind, act.Color, x.t, err))
	}
	x.failing = time.Time{}
	return 0, nil
}

// interruptible runs wait until it returns or a request arrives.
func (x *executor) interruptible(ctx context.Context, wait func(context.Context) error) (Request, error) {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var err error
	done := make(chan struct{})
	go func() {
		defer close(done)
		err = wait(wctx)
	}()
	select {
	case <-done:
		return 0, err
	case req := <-x.h.Requests:
		cancel()
		<-done // wait ends once cancelled; its error is only the cancel
		return req, nil
	}
}
