package engine

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/cutover-sh/cutover/engine/spec"
)

// checkAlerts says which of the firing alerts the spec cares about. It is
// pure.
func checkAlerts(spec spec.AlertsSpec, firing []FiringAlert) []string {
	var hit []string
	for _, a := range firing {
		if len(spec.Alerts) > 0 && !slices.Contains(spec.Alerts, a.Name) {
			continue
		}
		var ls []string
		for _, k := range slices.Sorted(maps.Keys(a.Labels)) {
			if k != "alertname" && k != "alertstate" && !strings.HasPrefix(k, "__") {
				ls = append(ls, k+"="+a.Labels[k])
			}
		}
		hit = append(hit, a.Name+"{"+strings.Join(ls, ",")+"}")
	}
	slices.Sort(hit)
	return slices.Compact(hit)
}

// alertsRunner runs an alerts step: it fails while an alert it names fires.
type alertsRunner struct{ e *Engine }

func (r alertsRunner) run(ctx context.Context, sc *stepScope) (Status, string) {
	e, s, st, name := r.e, sc.stage, sc.step, sc.name
	alertsSpec := *st.Alerts
	sc.begin(spec.KindAlerts)
	finish := sc.finishBy
	if e.cfg.Metrics == nil || e.p.Prometheus == nil {
		return finish(StatusFailed, "this run has no Prometheus configured (prometheus: in the pipeline file)", nil)
	}
	m, err := e.cfg.Metrics(*e.p.Prometheus)
	if err != nil {
		return finish(StatusFailed, err.Error(), nil)
	}
	qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	firing, err := m.Firing(qctx, alertsSpec.Labels)
	cancel()
	if ctx.Err() != nil {
		return finish(StatusCancelled, "stopped while checking alerts", nil)
	}
	if err != nil {
		// Alerts that cannot be checked are not "no alerts": a person
		// decides.
		d, ok := e.gates.awaitPerson(ctx, s, name, fmt.Sprintf("cannot check alerts: %v. Approve to go on regardless, reject to fail.", err))
		if !ok {
			return finish(StatusCancelled, "stopped while waiting for a person", nil)
		}
		if d.outcome != spec.GateApprove {
			return finish(StatusFailed, fmt.Sprintf("cannot check alerts (%v); %s", err, rejection(d)), actorPtr(d.actor))
		}
		return finish(StatusSucceeded, fmt.Sprintf("cannot check alerts (%v); %s went on regardless", err, d.actor), actorPtr(d.actor))
	}
	if hit := checkAlerts(alertsSpec, firing); len(hit) > 0 {
		return finish(StatusFailed, "firing: "+strings.Join(hit, ", "), nil)
	}
	return finish(StatusSucceeded, "", nil)
}
