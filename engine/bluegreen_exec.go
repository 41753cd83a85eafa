package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cutover-sh/cutover/engine/spec"
	"github.com/cutover-sh/cutover/human"
)

// switchRejected is the reason of a release whose gate was rejected, and
// preAnalysisFailed begins that of one whose pre-promotion analysis failed:
// both end aborted, and the step failed.
const (
	switchRejected    = "the switch was rejected"
	preAnalysisFailed = "pre-promotion analysis failed: "
)

// Request is a person's request to a running release.
type Request int

// The requests a running release takes.
const (
	RequestRollback Request = iota + 1
	RequestAbort
	// RequestPromote switches as soon as the preview is Ready, skipping
	// the pre-promotion analysis and the approval gate.
	RequestPromote
)

// ErrPermanent marks a cluster error that retrying cannot fix: a missing
// object, a denied permission, an invalid change. Cluster implementations
// wrap such errors with it so that a release fails at once, naming the
// error, instead of retrying until its timeout.
var ErrPermanent = errors.New("will not succeed on retry")

// ReleaseHooks connect the executor to its caller. Every field may be nil
// except Clock.
type ReleaseHooks struct {
	Actor Actor
	Clock Clock
	// Observed is called after every decision with the release's memory,
	// the observation it was made from, and the next action.
	Observed func(r Release, obs Observation, act Action)
	// Progress reports each change seen while waiting for a rollout.
	Progress func(c spec.Color, s ColorState)
	// Approve blocks until a person decides the gate before the switch. A
	// rollback or abort request cancels its ctx.
	Approve func(ctx context.Context) (bool, error)
	// Switched is called once a switch has landed, to journal it. An error
	// stops the release.
	Switched func(req SwitchRequest) error
	// Analyze runs the named analysis (PrePromotion or PostPromotion) and
	// reports whether it passed, and why not. A pause for a person happens
	// inside it. r says which color is measured. ctx is cancelled by a
	// rollback or abort request.
	Analyze func(ctx context.Context, which string, r Release) (bool, string, error)
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
func RunBlueGreen(ctx context.Context, cl Cluster, spec spec.BlueGreenSpec, h ReleaseHooks) (Release, error) {
	t := spec.Target()
	x := executor{cl: cl, t: t, h: h, auto: spec.RollsBackAutomatically()}
	defer x.stopWarm()
	var r Release
	for {
		obs, err := x.observe(ctx)
		if err != nil {
			return r, err
		}
		// A request that came while no wait could take it is seen here.
		select {
		case req := <-h.Requests:
			r.request(req)
		default:
		}
		var act Action
		r, act = NextBlueGreen(spec, r, obs, h.Clock.Now())
		if err := x.confirmSwitch(r); err != nil {
			return r, err
		}
		if h.Observed != nil {
			h.Observed(r, obs, act)
		}
		if act.Kind == ActNone {
			return r, nil
		}
		req, err := x.apply(ctx, act, obs, &r)
		r.request(req)
		if err != nil {
			return r, err
		}
	}
}

func (r *Release) request(req Request) {
	switch req {
	case RequestRollback:
		r.Rollback = true
	case RequestAbort:
		r.Abort = true
	case RequestPromote:
		r.Promote = true
	}
}

// RollbackOptions tune RunRollback.
type RollbackOptions struct {
	// To is the color to roll back to; "" means the one the Service's
	// annotations name as previous, else the other one.
	To spec.Color
	// Replicas is what a scaled-down color is scaled up to (default: the
	// live color's count).
	Replicas int32
	// Version is the Service resourceVersion the person confirmed; any
	// other change stops the rollback. "" means the first one read.
	Version string
}

// RollbackReplicas is how many replicas a rollback scales a cold color
// up to: given, else the live color's count, else the other color's; 0
// when none says.
func RollbackReplicas(obs Observation, to spec.Color, given int32) int32 {
	if given > 0 {
		return given
	}
	if n := obs.Color(obs.Service.Live).Replicas; n > 0 {
		return n
	}
	return obs.Color(to.Other()).Replicas
}

// RunRollback switches t's Service back to a previous color. A scaled-down
// color is scaled up and waited for, every replica Ready, before the
// switch. It stops, changing nothing more, if anyone else changes the
// Service meanwhile.
func RunRollback(ctx context.Context, cl Cluster, t spec.Target, o RollbackOptions, h ReleaseHooks) (spec.Color, error) {
	x := executor{cl: cl, t: t, h: h}
	to, replicas, version := o.To, o.Replicas, o.Version
	scaledUp := false
	for {
		obs, err := x.observe(ctx)
		if err != nil {
			return to, err
		}
		if version == "" {
			version = obs.Service.Version
		}
		if to == "" {
			if to, err = RollbackTarget(t, obs); err != nil {
				return to, err
			}
		}
		if obs.Service.Version != version && obs.Service.Live != to {
			return to, fmt.Errorf("roll back service %s: it was changed by someone else (resourceVersion %s, now %s; it selects %s=%s); nothing was switched",
				t, version, obs.Service.Version, t.SelectorKey, obs.Service.Live)
		}
		if replicas = RollbackReplicas(obs, to, replicas); replicas == 0 && obs.Color(to).Replicas == 0 {
			return to, fmt.Errorf("roll back service %s to %s: it is scaled to zero and no color shows how many replicas it needs; give the count", t, to)
		}
		act, err := NextRollback(obs, to, replicas, scaledUp)
		if err != nil {
			return to, fmt.Errorf("roll back service %s to %s: %w", t, to, err)
		}
		if h.Observed != nil {
			h.Observed(Release{Phase: PhaseRollingBack, From: obs.Service.Live, To: to, Version: obs.Service.Version}, obs, act)
		}
		if act.Kind == ActNone {
			return to, nil
		}
		r := Release{Version: version}
		if _, err := x.apply(ctx, act, obs, &r); err != nil {
			return to, err
		}
		if act.Kind == ActSwitch && r.Version != version {
			return to, nil // the API server said the switch is done
		}
		scaledUp = scaledUp || act.Kind == ActScale
	}
}

// RunPromote switches t's Service to color to, which must have every one of
// its replicas Ready. It scales nothing. version is the Service
// resourceVersion the person confirmed ("" for the first one read).
func RunPromote(ctx context.Context, cl Cluster, t spec.Target, to spec.Color, version string, h ReleaseHooks) (spec.Color, error) {
	x := executor{cl: cl, t: t, h: h}
	for {
		obs, err := x.observe(ctx)
		if err != nil {
			return to, err
		}
		if version == "" {
			version = obs.Service.Version
		}
		if obs.Service.Live != to && obs.Service.Version != version {
			return to, fmt.Errorf("promote service %s: it was changed by someone else (resourceVersion %s, now %s); nothing was switched", t, version, obs.Service.Version)
		}
		act, err := NextPromote(obs, to)
		if err != nil {
			return to, fmt.Errorf("promote service %s to %s: %w", t, to, err)
		}
		if h.Observed != nil {
			h.Observed(Release{Phase: PhaseSwitching, From: obs.Service.Live, To: to, Version: obs.Service.Version}, obs, act)
		}
		if act.Kind == ActNone {
			return to, nil
		}
		r := Release{Version: version}
		if _, err := x.apply(ctx, act, obs, &r); err != nil {
			return to, err
		}
		if r.Version != version {
			return to, nil // the API server said the switch is done
		}
	}
}

type executor struct {
	cl Cluster
	t  spec.Target
	h  ReleaseHooks
	// observeFailing and actFailing are when the current run of failures
	// of each began. They are kept apart: a read that works between two
	// failed writes must not reset the writes' clock.
	observeFailing, actFailing time.Time
	// unconfirmed is a switch whose reply was an error: if the next
	// reading shows it landed anyway, it is journaled then.
	unconfirmed *SwitchRequest
	// auto is set when a failed post-promotion analysis rolls back by
	// itself; otherwise a person decided at a gate.
	auto bool
	// warm keeps the pair watched from the scale-down delay on; see
	// keepWarm.
	warm *warmWatch
}

// warmWatch is a WatchPair kept running for the rest of a release. It
// reports what it sees only while report is set, which the executor does
// only while it waits: the two never call Observed at once.
type warmWatch struct {
	stop   func()
	mu     sync.Mutex
	report func(Observation)
}

func (w *warmWatch) setReport(f func(Observation)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.report = f
}

// keepWarm starts watching the pair, when the cluster can, and keeps it
// watched until the release ends. It starts in the scale-down delay, where
// a person most often asks for a rollback: with the pair's caches current,
// that rollback reads the Service and patches it, two requests, instead of
// reading both colors and their pods first.
func (x *executor) keepWarm(ctx context.Context) {
	w, ok := x.cl.(PairWatcher)
	if x.warm != nil || !ok {
		return
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	ww := &warmWatch{}
	go func() {
		defer close(done)
		_ = w.WatchPair(ctx, x.t, func(obs Observation) {
			ww.mu.Lock()
			defer ww.mu.Unlock()
			if ww.report != nil && ctx.Err() == nil {
				ww.report(obs)
			}
		})
	}()
	ww.stop = func() {
		cancel()
		<-done
	}
	x.warm = ww
}

func (x *executor) stopWarm() {
	if x.warm != nil {
		x.warm.stop()
	}
}

// observe reads the pair, retrying through an API server outage.
func (x *executor) observe(ctx context.Context) (Observation, error) {
	for {
		obs, err := x.cl.Observe(ctx, x.t)
		if err == nil {
			x.observeFailing = time.Time{}
			return obs, nil
		}
		if err := x.backoff(ctx, &x.observeFailing, fmt.Errorf("observe %s: %w", x.t, err)); err != nil {
			return obs, err
		}
	}
}

// confirmSwitch journals a switch that landed although its reply was lost.
func (x *executor) confirmSwitch(r Release) error {
	if x.unconfirmed == nil || !r.Phase.switched() {
		return nil
	}
	req := *x.unconfirmed
	x.unconfirmed = nil
	if x.h.Switched != nil {
		return x.h.Switched(req)
	}
	return nil
}

// backoff waits before a retry, or returns err once failures have lasted
// longer than RetryFor, or at once when err is permanent.
func (x *executor) backoff(ctx context.Context, since *time.Time, err error) error {
	if errors.Is(err, ErrPermanent) {
		return err
	}
	now := x.h.Clock.Now()
	if since.IsZero() {
		*since = now
	}
	limit := x.h.RetryFor
	if limit == 0 {
		limit = 2 * time.Minute
	}
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	if now.Sub(*since) >= limit {
		return fmt.Errorf("%w (failing for %s)", err, human.Duration(now.Sub(*since)))
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
// only backs off, until the failures have lasted RetryFor or one is
// permanent. It returns a person's request that arrived during a wait.
func (x *executor) apply(ctx context.Context, act Action, obs Observation, r *Release) (Request, error) {
	var err error
	switch act.Kind {
	case ActDeploy:
		err = x.cl.Deploy(ctx, x.t, act.Color, act.Container, act.Image, act.Replicas)
	case ActScale:
		err = x.cl.Scale(ctx, x.t, act.Color, act.Replicas)
	case ActWaitRollout:
		var req Request
		if req, err = x.waitRollout(ctx, act); req != 0 {
			return req, nil
		}
	case ActWaitUntil:
		x.keepWarm(ctx)
		if x.warm != nil && x.h.Observed != nil {
			// What changes in the delay (a pod of the new color lost, say)
			// shows as it happens.
			x.warm.setReport(func(obs Observation) { x.h.Observed(*r, obs, act) })
			defer x.warm.setReport(nil)
		}
		return x.interruptible(ctx, func(ctx context.Context) error {
			t := x.h.Clock.NewTimer(act.Until.Sub(x.h.Clock.Now()))
			defer t.Stop()
			select {
			case <-ctx.Done():
				// Stopped during the scale-down delay: the release ends
				// here, both colors up, rather than observe and wait again
				// (a cluster that ignores ctx would make that a busy loop).
				// The cause says why: a lost lock names who took it.
				return context.Cause(ctx)
			case <-t.C():
			}
			return nil
		})
	case ActApprove:
		return x.approve(ctx, r)
	case ActAnalyze:
		return x.analyze(ctx, act, r)
	case ActSwitch:
		var req SwitchRequest
		if req, err = x.doSwitch(ctx, act, obs, r); err == nil && x.h.Switched != nil {
			if err := x.h.Switched(req); err != nil {
				return 0, err
			}
		}
	}
	if ctx.Err() != nil {
		return 0, context.Cause(ctx)
	}
	if err != nil {
		return 0, x.backoff(ctx, &x.actFailing, fmt.Errorf("%s %s on %s: %w", act.Kind, act.Color, x.t, err))
	}
	x.actFailing = time.Time{}
	return 0, nil
}

// waitRollout waits for a color's rollout, reporting what it sees. A
// rollout past its deadline is not an error here: the observation that
// follows shows it as a failure, and the state machine decides.
func (x *executor) waitRollout(ctx context.Context, act Action) (Request, error) {
	req, err := x.interruptible(ctx, func(ctx context.Context) error {
		return x.cl.WaitRollout(ctx, x.t, act.Color, func(s ColorState) {
			if x.h.Progress != nil {
				x.h.Progress(act.Color, s)
			}
		})
	})
	if _, ok := errors.AsType[*RolloutError](err); ok && ctx.Err() == nil {
		return req, nil
	}
	return req, err
}

// gateWatch is how often the cluster is read while a gate waits, when it
// cannot be watched.
const gateWatch = 100 * time.Millisecond

// approve waits for the gate before the switch, reading the cluster as it
// waits, so that the approver sees the colors as they are and the gate's
// guard judges them.
func (x *executor) approve(ctx context.Context, r *Release) (Request, error) {
	ok := true
	if x.h.Approve != nil {
		stop := x.watchGate(ctx, *r)
		defer stop()
		req, err := x.interruptible(ctx, func(ctx context.Context) error {
			var aerr error
			ok, aerr = x.h.Approve(ctx)
			return aerr
		})
		if req != 0 || err != nil {
			return req, err
		}
	}
	r.Approved = ok
	if !ok {
		r.Abort, r.Reason = true, switchRejected
	}
	return 0, nil
}

// watchGate reports every change of the pair while a gate waits, as the
// release's loop would: pushed by the cluster when it is a PairWatcher,
// else read every gateWatch, and by reading again if the watch ends early.
// stop ends it and waits, so that no report comes after the gate.
func (x *executor) watchGate(ctx context.Context, r Release) (stop func()) {
	if x.h.Observed == nil {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if w, ok := x.cl.(PairWatcher); ok {
			_ = w.WatchPair(ctx, x.t, func(obs Observation) {
				if ctx.Err() == nil {
					x.h.Observed(r, obs, Action{Kind: ActApprove})
				}
			})
		}
		for {
			t := x.h.Clock.NewTimer(gateWatch)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C():
			}
			// A failed read is tried again at the next tick; the loop's
			// own observation after the gate reports failures.
			if obs, err := x.cl.Observe(ctx, x.t); err == nil && ctx.Err() == nil {
				x.h.Observed(r, obs, Action{Kind: ActApprove})
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

// analyze runs the action's analysis and records its verdict on r.
func (x *executor) analyze(ctx context.Context, act Action, r *Release) (Request, error) {
	passed, why := true, ""
	if x.h.Analyze != nil {
		req, err := x.interruptible(ctx, func(ctx context.Context) error {
			var aerr error
			passed, why, aerr = x.h.Analyze(ctx, act.Analysis, *r)
			return aerr
		})
		if req != 0 || err != nil {
			return req, err
		}
	}
	switch {
	case passed && act.Analysis == PrePromotion:
		r.PreAnalyzed = true
	case passed:
		r.PostAnalyzed = true
	case act.Analysis == PrePromotion:
		// No switch: the preview goes, the live color stays.
		r.Abort, r.Reason = true, preAnalysisFailed+why
	default:
		r.Rollback, r.Reason = true, "post-promotion analysis failed: "+why
		if x.auto {
			r.RollbackBy = &AnalysisActor
		}
	}
	return 0, nil
}

// doSwitch switches the Service's selector, conditional on the version
// observed. A switch whose answer was lost is remembered, so that the next
// observation can confirm it.
func (x *executor) doSwitch(ctx context.Context, act Action, obs Observation, r *Release) (SwitchRequest, error) {
	req := SwitchRequest{
		To: act.Color, From: obs.Service.Live, Version: obs.Service.Version, MinReady: act.MinReady, Selector: obs.Service.Selector,
		Release: act.Image, Actor: x.h.Actor, At: x.h.Clock.Now(),
	}
	if r.Phase == PhaseRollingBack && r.RollbackBy != nil {
		req.Actor = *r.RollbackBy
	}
	v, err := x.cl.Switch(ctx, x.t, req)
	if err != nil {
		x.unconfirmed = &req
		return req, err
	}
	r.Version = v
	return req, nil
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
