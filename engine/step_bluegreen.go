package engine

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cutover-sh/cutover/engine/spec"
)

// blueGreenRunner runs a blueGreen step: the release of a Service from
// its live color to the other, decided by NextBlueGreen.
type blueGreenRunner struct{ e *Engine }

func (b blueGreenRunner) run(ctx context.Context, sc *stepScope) (Status, string) {
	e, st := b.e, sc.step
	blueGreen := *st.BlueGreen
	t := blueGreen.Target()
	sc.begin(spec.KindBlueGreen)
	cl, err := e.cluster(blueGreen.Context)
	if err != nil {
		return sc.finish(StatusFailed, err.Error())
	}
	stageCtx := ctx
	if st.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, st.Timeout.D())
		defer cancel()
	}
	// Requests only set flags, so a few pending are as good as many; a
	// promote is dropped rather than take a rollback's room.
	rl := &release{e: e, sc: sc, spec: blueGreen, t: t, requests: make(chan Request, 4), seenChanged: make(chan struct{}, 1), promotedBy: e.cfg.Actor}
	ctx, unlock, err := rl.lock(ctx, cl)
	if err != nil {
		return sc.finish(StatusFailed, err.Error())
	}
	defer unlock()
	if !e.releases.open(t.String(), rl.requests) {
		return sc.finish(StatusFailed, fmt.Sprintf("another step of this run is releasing service %s", t))
	}
	defer rl.close()
	r, err := RunBlueGreen(ctx, cl, blueGreen, rl.hooks())
	return rl.end(stageCtx, ctx, r, err)
}

// release is a blueGreen step's release in flight, as the run sees it:
// what it last reported, and who let it switch.
type release struct {
	e        *Engine
	sc       *stepScope
	spec     spec.BlueGreenSpec
	t        spec.Target
	requests chan Request

	// pub publishes the gate on the release lock, when the lock can.
	pub GatePublisher

	last    ReleaseProgress
	lastObs Observation
	// seen is the latest observation and release, for the gate's guard,
	// which runs in whoever approves.
	seen atomic.Pointer[seenRelease]
	// seenChanged is poked after each new seen, so that the published
	// gate recomputes its diff when there is something new rather than
	// polling for it.
	seenChanged chan struct{}
	// promotedBy is who let the switch happen: the person who approved its
	// gate, or whoever started the run.
	promotedBy Actor
	// The preview's rollout is timed from its deploy to the first phase
	// past it, for the views' estimate of a cold rollback.
	rolloutStart time.Time
	rolloutTook  time.Duration
}

// seenRelease is what the release last saw.
type seenRelease struct {
	r   Release
	obs Observation
}

// gateGuard refuses an approval that the cluster no longer supports: the
// preview is not fully Ready (the promote decision, NextPromote), the
// Service no longer selects the color the release started from, or the
// preview is not what the approver read (seen, a diff's hash).
func (rl *release) gateGuard() *gateGuard {
	return &gateGuard{diff: rl.currentDiff, refuse: func(seen string) error {
		s := rl.seen.Load()
		if s == nil {
			return nil
		}
		if live := s.obs.Service.Live; live != s.r.From {
			return fmt.Errorf("service %s now selects %q, not %s as when the gate opened", rl.t, live, s.r.From)
		}
		if d := rl.currentDiff(); seen != "" && d != nil && d.Hash != seen {
			return fmt.Errorf("the preview changed since you looked (diff %s, now %s): read the new diff and approve again", seen, d.Hash)
		}
		_, err := NextPromote(s.obs, s.r.To)
		return err
	}}
}

// currentDiff is what approving the gate changes, as last observed.
func (rl *release) currentDiff() *TemplateDiff {
	s := rl.seen.Load()
	if s == nil {
		return nil
	}
	return rl.diff(ReleaseProgress{From: s.r.From, To: s.r.To, Observed: &s.obs})
}

// lock takes the release lock of the Service, or takes it over from the
// run being resumed. The context it returns ends when the lock is lost to
// someone else; unlock releases it.
func (rl *release) lock(ctx context.Context, cl Cluster) (context.Context, func(), error) {
	e, s, name, t := rl.e, rl.sc.stage, rl.sc.name, rl.t
	previous := ""
	if e.cfg.Resume != nil {
		previous = e.cfg.Resume.Holder
	}
	lock, err := cl.Lock(ctx, t, LockHolder(e.cfg.Actor, e.runID), previous)
	if err != nil {
		return ctx, nil, fmt.Errorf("lock the release of service %s: %w", t, err)
	}
	if gp, ok := lock.(GatePublisher); ok {
		rl.pub = gp
	}
	if from := lock.TakenFrom(); from != "" {
		msg := fmt.Sprintf("took over the release lock of service %s from %s", t, from)
		_ = e.out.record(Record{Type: RecLeaseTakenOver, Stage: s.Name, Step: name, Actor: actorPtr(e.cfg.Actor), Service: t.String(), Reason: msg})
		e.out.emit(Warning{Code: WarnLockTakenOver, Stage: s.Name, Step: name, Message: msg})
	}
	lctx, stopLost := context.WithCancelCause(ctx)
	go func() {
		select {
		case <-lock.Lost():
			stopLost(fmt.Errorf("lost the release lock of service %s: it is held by %s now", t, lock.LostTo()))
		case <-lctx.Done():
		}
	}()
	return lctx, func() {
		stopLost(nil)
		_ = lock.Release(context.WithoutCancel(ctx)) // Release bounds its own wait
	}, nil
}

// close ends the release in the run. A rollback still queued when the
// release ended reached no one: it says so, where everyone looks, rather
// than leave it acknowledged.
func (rl *release) close() {
	e, s, name, t := rl.e, rl.sc.stage, rl.sc.name, rl.t
	asked, wasAsked := e.releases.close(t.String())
	for len(rl.requests) > 0 {
		if <-rl.requests == RequestRollback && wasAsked {
			msg := fmt.Sprintf("the rollback of %s asked by %s came as the release ended and was not applied; run `%s`", t, asked.actor, RollbackCommand(t.String(), ""))
			_ = e.out.record(Record{Type: RecWarning, Stage: s.Name, Step: name, Reason: msg})
			e.out.emit(Warning{Code: WarnRollbackLate, Stage: s.Name, Step: name, Message: msg})
		}
	}
}

// hooks are how RunBlueGreen tells the run what it sees and asks it what
// to do.
func (rl *release) hooks() ReleaseHooks {
	e := rl.e
	return ReleaseHooks{
		Actor: e.cfg.Actor, Clock: e.clock, Requests: rl.requests,
		Observed: rl.observed, Progress: rl.progress, Approve: rl.approve, Analyze: rl.analyze, Switched: rl.switched,
		Retrying: func(err error) {
			e.out.emit(Warning{Code: WarnRetry, Stage: rl.sc.stage.Name, Step: rl.sc.name, Message: e.mask.String(err.Error())})
		},
	}
}

// report publishes what the release is doing, unless it tells a person
// nothing new.
func (rl *release) report(ev ReleaseProgress) {
	now := rl.e.clock.Now()
	switch {
	case ev.Phase == PhaseDeploying && rl.rolloutStart.IsZero():
		rl.rolloutStart = now
	case ev.Phase != PhaseDeploying && !rl.rolloutStart.IsZero() && rl.rolloutTook == 0:
		rl.rolloutTook = now.Sub(rl.rolloutStart)
	}
	ev.RolloutTook, ev.ScaleDownDelay = rl.rolloutTook, rl.spec.ScaleDownDelay.D()
	ev.Diff = rl.diff(ev)
	ev.Stage, ev.Step, ev.Service = rl.sc.stage.Name, rl.sc.name, rl.t.String()
	ev.Message = rl.e.mask.String(ev.Message)
	if sameReport(rl.last, ev) {
		return
	}
	rl.last = ev
	rl.e.out.emit(ev)
}

// diff is what switching from ev.From to ev.To changes, as last observed.
func (rl *release) diff(ev ReleaseProgress) *TemplateDiff {
	if ev.Observed == nil || !ev.From.Valid() || !ev.To.Valid() || ev.From == ev.To {
		return nil
	}
	live, preview := ev.Observed.Color(ev.From), ev.Observed.Color(ev.To)
	if !live.Exists || !preview.Exists {
		return nil
	}
	d := rl.e.mask.Diff(DiffColors(ev.From, ev.To, live, preview, rl.t.SelectorKey))
	return &d
}

// vars are the query values of the color r releases.
func (rl *release) vars(r Release) spec.QueryVars {
	t := rl.t
	return spec.QueryVars{Color: string(r.To), Namespace: t.Namespace, Service: t.Service, Deployment: t.Deployment(r.To), Release: rl.spec.Image}
}

func (rl *release) observed(r Release, obs Observation, act Action) {
	c := act.Color
	if c == "" {
		c = r.To
	}
	if r.To != "" {
		rl.e.query.set(rl.vars(r))
	}
	rl.lastObs = obs.clone()
	rl.seen.Store(&seenRelease{r: r, obs: rl.lastObs.clone()})
	select {
	case rl.seenChanged <- struct{}{}:
	default: // a poke is already waiting: one is enough
	}
	ev := ReleaseProgress{
		Phase: r.Phase, From: r.From, To: r.To, Live: obs.Service.Live, Action: act.Kind,
		Color: c, State: obs.Color(c), Message: r.Reason, Observed: new(rl.lastObs.clone()),
	}
	if act.Kind == ActWaitUntil {
		ev.ScaleDownAt = act.Until
	}
	rl.report(ev)
}

func (rl *release) progress(c spec.Color, cs ColorState) {
	msg := ""
	if _, m, err := RolloutStatus(cs); err != nil {
		msg = err.Error()
	} else {
		msg = m
	}
	obs := rl.lastObs.clone()
	if obs.Colors == nil {
		obs.Colors = map[spec.Color]*ColorState{}
	}
	obs.Colors[c] = &cs
	rl.lastObs = obs
	last := rl.last
	rl.report(ReleaseProgress{Phase: last.Phase, From: last.From, To: last.To, Live: last.Live, Action: ActWaitRollout, Color: c, State: cs, Message: msg, Observed: new(obs.clone())})
}

func (rl *release) approve(ctx context.Context) (bool, error) {
	stop := rl.publishGate(ctx)
	defer stop()
	d, ok := rl.e.gates.awaitGuarded(ctx, rl.sc.stage, rl.sc.name, rl.spec.Approve, 0, "", rl.gateGuard())
	if !ok {
		return false, context.Cause(ctx)
	}
	if d.outcome != spec.GateApprove {
		return false, nil
	}
	rl.promotedBy = d.actor
	return true, nil
}

func (rl *release) analyze(ctx context.Context, which string, r Release) (bool, string, error) {
	e, s, name, blueGreen := rl.e, rl.sc.stage, rl.sc.name, rl.spec
	a := blueGreen.PrePromotion
	if which == PostPromotion {
		a = blueGreen.PostPromotion
	}
	vars := rl.vars(r)
	e.query.set(vars)
	res := analysisRunner{e}.analyze(ctx, s, name, which+"/", *a, vars)
	switch {
	case res.status == StatusSucceeded:
		return true, "", nil
	case res.status == StatusCancelled:
		return false, res.reason, context.Cause(ctx)
	case which == PostPromotion && !blueGreen.RollsBackAutomatically():
		// autoRollback: false: a person decides, as the new color
		// keeps serving meanwhile.
		d, ok := e.gates.awaitPerson(ctx, s, name, "post-promotion analysis failed: "+res.reason+
			". Approve to keep the release, reject to roll back.")
		if !ok {
			return false, res.reason, context.Cause(ctx)
		}
		if d.outcome == spec.GateApprove {
			return true, "", nil
		}
		return false, res.reason + "; " + rejection(d), nil
	}
	return false, res.reason, nil
}

func (rl *release) switched(req SwitchRequest) error {
	e, s, name, t := rl.e, rl.sc.stage, rl.sc.name, rl.t
	if err := e.out.record(Record{
		Type: RecReleaseSwitched, Stage: s.Name, Step: name, Actor: actorPtr(req.Actor),
		Service: t.String(), From: req.From, To: req.To, Release: req.Release,
	}); err != nil {
		return err
	}
	// A switch back to the color live before the release is the
	// rollback's, told of once the release has ended.
	if req.To != rl.last.From {
		e.notes.promoted(s, rl.sc.step, name, t, req, rl.promotedBy)
	}
	return nil
}

// end journals how the release ended and ends the step with it.
func (rl *release) end(stageCtx, ctx context.Context, r Release, err error) (Status, string) {
	e, s, st, name, t, finish := rl.e, rl.sc.stage, rl.sc.step, rl.sc.name, rl.t, rl.sc.finish
	reason := r.Reason
	if err != nil {
		reason = err.Error()
	}
	_ = e.out.record(Record{
		Type: RecReleaseFinished, Stage: s.Name, Step: name, Service: t.String(), From: r.From, To: r.To,
		Release: rl.spec.Image, Phase: r.Phase, Reason: reason,
	})
	if r.Phase == PhaseRolledBack {
		e.notes.rolledBack(s, st, name, t, r)
	}
	switch {
	case err != nil && timedOut(stageCtx, ctx):
		reason = fmt.Sprintf("timed out after %s while %s%s", st.Timeout, r.Phase, podReasons(rl.last.State.Pods))
		if !r.Phase.switched() {
			reason += fmt.Sprintf("; the live color %s was not touched", r.From)
		}
		return finish(StatusFailed, reason)
	case err != nil && ctx.Err() != nil:
		return finish(StatusCancelled, "stopped during the release: "+reason)
	case err != nil:
		return finish(StatusFailed, reason)
	case r.Phase == PhaseDone:
		return finish(StatusSucceeded, reason)
	case r.Phase == PhaseAborted && (r.Reason == switchRejected || strings.HasPrefix(r.Reason, preAnalysisFailed)):
		return finish(StatusFailed, reason)
	case r.Phase == PhaseAborted:
		return finish(StatusCancelled, reason)
	case r.Phase == PhaseRolledBack:
		return finish(StatusFailed, "rolled back: "+reason)
	}
	return finish(StatusFailed, reason)
}

// sameReport reports whether b would tell a person nothing a did not.
func sameReport(a, b ReleaseProgress) bool {
	return a.Phase == b.Phase && a.Live == b.Live && a.Action == b.Action && a.Color == b.Color &&
		a.Message == b.Message && sameColor(a.State, b.State) && sameObserved(a.Observed, b.Observed) &&
		diffHash(a.Diff) == diffHash(b.Diff)
}

func diffHash(d *TemplateDiff) string {
	if d == nil {
		return ""
	}
	return d.Hash
}

func sameColor(a, b ColorState) bool {
	return a.Ready == b.Ready && a.Updated == b.Updated && a.Available == b.Available && a.Replicas == b.Replicas &&
		a.Exists == b.Exists && samePods(a.Pods, b.Pods)
}

// sameObserved compares what a side-by-side view shows: the other color
// changes too (it is scaled down after the switch) while the phase stays.
func sameObserved(a, b *Observation) bool {
	if a == nil || b == nil {
		return a == b
	}
	if a.Service.Live != b.Service.Live || a.Service.Release != b.Service.Release {
		return false
	}
	for _, c := range []spec.Color{spec.Blue, spec.Green} {
		if !sameColor(a.Color(c), b.Color(c)) {
			return false
		}
	}
	return true
}

func samePods(a, b []PodState) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || a[i].Phase != b[i].Phase || a[i].Ready != b[i].Ready || a[i].Reason != b[i].Reason || a[i].Restarts != b[i].Restarts {
			return false
		}
	}
	return true
}
