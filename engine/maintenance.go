package engine

import (
	"context"
	"errors"
	"fmt"
)

// MaintenanceTarget returns the blue-green step whose Service has a
// maintenance page, with its stage and step names, or false.
func (p *Pipeline) MaintenanceTarget() (stage, step string, spec BlueGreenSpec, ok bool) {
	for _, r := range p.BlueGreenSteps() {
		if r.BlueGreen.Maintenance != "" {
			return r.Stage, r.Name, *r.BlueGreen, true
		}
	}
	return "", "", BlueGreenSpec{}, false
}

// Maintenance points the Service of the pipeline's blue-green step at its
// maintenance page (on), or back to the color that was live before it
// (off, scaling that color up first if it is cold): the console's m key.
// It refuses while a release of that Service runs in this run, whose
// version checks it would trip, and takes the release lock like one, so
// that no other console releases meanwhile. It is journaled with actor
// and published as release progress, so views show the new live color.
func (e *Engine) Maintenance(ctx context.Context, actor Actor, on bool) (string, error) {
	stage, step, spec, ok := e.p.MaintenanceTarget()
	if !ok {
		return "", errors.New("maintenance: no blueGreen step of this pipeline names a maintenance page (maintenance: ...)")
	}
	t := spec.Target()
	if e.releases.inFlight(t.String()) {
		return "", fmt.Errorf("maintenance: a release of service %s is in flight in this run; roll it back or abort it first", t)
	}
	cl, err := e.cluster(spec.Context)
	if err != nil {
		return "", err
	}
	lock, err := cl.Lock(ctx, t, LockHolder(actor, e.runID), "")
	if err != nil {
		return "", fmt.Errorf("maintenance: lock service %s: %w", t, err)
	}
	defer func() { _ = lock.Release(context.WithoutCancel(ctx)) }()
	obs, err := cl.Observe(ctx, t)
	if err != nil {
		return "", fmt.Errorf("maintenance: %w", err)
	}
	from, page := obs.Service.Live, Color(spec.Maintenance)
	var to Color
	switch {
	case on && from == page:
		return fmt.Sprintf("service %s already serves the maintenance page", t), nil
	case on:
		to = page
		_, err = cl.Switch(ctx, t, SwitchRequest{
			To: page, From: from, Version: obs.Service.Version, Selector: obs.Service.Selector,
			MinReady: 1, Release: "maintenance", Actor: actor, At: e.clock.Now(),
		})
	case from != page:
		return fmt.Sprintf("service %s is not in maintenance: it serves %s", t, from), nil
	default:
		back := obs.Service.Release.Previous
		if !back.Valid() {
			return "", fmt.Errorf("maintenance off: service %s records no color it served before the maintenance page; use cutover promote or rollback --to", t)
		}
		to, err = RunRollback(ctx, cl, t, RollbackOptions{To: back, Version: obs.Service.Version}, ReleaseHooks{Actor: actor, Clock: e.clock})
	}
	rec := Record{Type: RecMaintenance, Stage: stage, Step: step, Actor: actorPtr(actor), Service: t.String(), From: from, To: to, Status: StatusSucceeded}
	if err != nil {
		rec.Status, rec.Reason = StatusFailed, err.Error()
	}
	_ = e.out.record(rec)
	if err != nil {
		return "", fmt.Errorf("maintenance: switch service %s to %s: %w", t, nonEmptyColor(to, page), err)
	}
	what := fmt.Sprintf("%s switched %s to %s", actor, t, to)
	if now, oerr := cl.Observe(ctx, t); oerr == nil {
		e.out.emitDecision(ReleaseProgress{Stage: stage, Step: step, Service: t.String(), Phase: phaseOf(e.Snapshot(), stage, step), Live: now.Service.Live,
			Message: fmt.Sprintf("maintenance %s by %s", map[bool]string{true: "on", false: "off"}[on], actor), Observed: &now}, "%s", what)
	} else {
		e.decisions.note("%s", what)
	}
	return fmt.Sprintf("service %s now serves %s (was %s)", t, to, from), nil
}

func nonEmptyColor(c, alt Color) Color {
	if c == "" {
		return alt
	}
	return c
}

// phaseOf is the phase a step's release last reported, so that a
// maintenance switch does not make a finished release look unstarted.
func phaseOf(snap Snapshot, stage, step string) Phase {
	if st, ok := snap.Stage(stage); ok {
		for _, s := range st.Steps {
			if s.Name == step && s.Release != nil {
				return s.Release.Phase
			}
		}
	}
	return ""
}
