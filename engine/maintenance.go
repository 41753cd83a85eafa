package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/cutover-sh/cutover/engine/spec"
)

// Maintenance points the Service of the pipeline's blue-green step at its
// maintenance page (on), or back to the color that was live before it
// (off, scaling that color up first if it is cold): the console's m key.
// It refuses while a release of that Service runs in this run, whose
// version checks it would trip, and switches as SwitchMaintenance does,
// under the release lock. It is journaled with actor and published as
// release progress, so views show the new live color.
func (e *Engine) Maintenance(ctx context.Context, actor Actor, on bool) (string, error) {
	stage, step, blueGreen, ok := e.p.MaintenanceTarget()
	if !ok {
		return "", errors.New("maintenance: no blueGreen step of this pipeline names a maintenance page (maintenance: ...)")
	}
	t := blueGreen.Target()
	if e.releases.inFlight(t.String()) {
		return "", fmt.Errorf("maintenance: a release of service %s is in flight in this run; roll it back or abort it first", t)
	}
	cl, err := e.cluster(blueGreen.Context)
	if err != nil {
		return "", err
	}
	m, err := SwitchMaintenance(ctx, cl, t, spec.Color(blueGreen.Maintenance), on, actor, LockHolder(actor, e.runID), e.clock)
	switch {
	case err != nil && !m.Changed:
		return "", err // nothing was tried on the Service
	case err == nil && !m.Changed:
		return m.Message, nil
	}
	rec := Record{Type: RecMaintenance, Stage: stage, Step: step, Actor: actorPtr(actor), Service: t.String(), From: m.From, To: m.To, Status: StatusSucceeded}
	if err != nil {
		rec.Status, rec.Reason = StatusFailed, err.Error()
	}
	_ = e.out.record(rec)
	if err != nil {
		return "", err
	}
	what := fmt.Sprintf("%s switched %s to %s", actor, t, m.To)
	if now, oerr := cl.Observe(ctx, t); oerr == nil {
		e.out.emitDecision(ReleaseProgress{Stage: stage, Step: step, Service: t.String(), Phase: phaseOf(e.Snapshot(), stage, step), Live: now.Service.Live,
			Message: fmt.Sprintf("maintenance %s by %s", map[bool]string{true: "on", false: "off"}[on], actor), Observed: &now}, "%s", what)
	} else {
		e.decisions.note("%s", what)
	}
	return m.Message, nil
}

// MaintenanceSwitch is what a maintenance switch did: traffic moved From
// To, unless it was where it was asked to be already.
type MaintenanceSwitch struct {
	From, To spec.Color
	Changed  bool
	Message  string
}

// SwitchMaintenance points the Service at the maintenance page's pods
// (page) when on, or back to the color it served before them, scaling
// that color up first if it is cold. It holds the Service's release lock
// as holder meanwhile, as a release would: a release running in any
// console is refused, not cut into. The console's m and cutover
// maintenance both switch through it.
func SwitchMaintenance(ctx context.Context, cl Cluster, t spec.Target, page spec.Color, on bool, actor Actor, holder string, clock Clock) (MaintenanceSwitch, error) {
	lock, err := cl.Lock(ctx, t, holder, "")
	if err != nil {
		return MaintenanceSwitch{}, fmt.Errorf("maintenance: lock service %s: %w", t, err)
	}
	defer func() { _ = lock.Release(context.WithoutCancel(ctx)) }()
	obs, err := cl.Observe(ctx, t)
	if err != nil {
		return MaintenanceSwitch{}, fmt.Errorf("maintenance: %w", err)
	}
	m := MaintenanceSwitch{From: obs.Service.Live}
	switch {
	case on && m.From == page:
		m.Message = fmt.Sprintf("service %s already serves the maintenance page", t)
		return m, nil
	case on:
		m.To, m.Changed = page, true
		_, err = cl.Switch(ctx, t, SwitchRequest{
			To: page, From: m.From, Version: obs.Service.Version, Selector: obs.Service.Selector,
			MinReady: 1, Release: "maintenance", Actor: actor, At: clock.Now(),
		})
	case m.From != page:
		m.Message = fmt.Sprintf("service %s is not in maintenance: it serves %s", t, m.From)
		return m, nil
	default:
		back := obs.Service.Release.Previous
		if !back.Valid() {
			return m, fmt.Errorf("maintenance off: service %s records no color it served before the maintenance page; use cutover promote or rollback --to", t)
		}
		m.Changed = true
		m.To, err = RunRollback(ctx, cl, t, RollbackOptions{To: back, Version: obs.Service.Version}, ReleaseHooks{Actor: actor, Clock: clock})
	}
	if err != nil {
		return m, fmt.Errorf("maintenance: switch service %s to %s: %w", t, nonEmptyColor(m.To, page), err)
	}
	m.Message = fmt.Sprintf("service %s now serves %s (was %s)", t, m.To, m.From)
	return m, nil
}

func nonEmptyColor(c, alt spec.Color) spec.Color {
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
