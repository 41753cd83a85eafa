package engine

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/cutover-sh/cutover/engine/spec"
)

// deployRunner runs a deploy step, the guide's staging deploy: apply the
// manifests, set the image, and wait for the rollout.
type deployRunner struct{ e *Engine }

func (r deployRunner) run(ctx context.Context, sc *stepScope) (Status, string) {
	e, s, st, name := r.e, sc.stage, sc.step, sc.name
	deploySpec := *st.Deploy
	sc.begin(spec.KindDeploy)
	finish := sc.finish
	stageCtx := ctx
	var last ColorState
	fail := func(err error) (Status, string) {
		switch {
		case timedOut(stageCtx, ctx):
			return finish(StatusFailed, fmt.Sprintf("timed out after %s: %v%s", st.Timeout, err, podReasons(last.Pods)))
		case ctx.Err() != nil:
			return finish(StatusCancelled, "stopped: "+err.Error())
		}
		return finish(StatusFailed, err.Error())
	}
	cl, err := e.cluster(deploySpec.Context)
	if err != nil {
		return fail(err)
	}
	if st.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, st.Timeout.D())
		defer cancel()
	}
	target := deploySpec.Namespace + "/" + deploySpec.Deployment
	e.query.set(spec.QueryVars{Namespace: deploySpec.Namespace, Deployment: deploySpec.Deployment, Release: deploySpec.Image})
	report := func(phase Phase, cs ColorState, msg string) {
		e.out.emit(ReleaseProgress{Stage: s.Name, Step: name, Phase: phase, State: cs, Message: e.mask.String(msg)})
	}
	dir := deploySpec.Manifests
	if dir != "" && !filepath.IsAbs(dir) && e.p.Source.Path != "" {
		dir = filepath.Join(filepath.Dir(e.p.Source.Path), dir)
	}
	if p, ok := cl.(DeployPlanner); ok {
		// What the rollout changes, said before anything changes. A plan
		// that cannot be made is said too; the step itself then finds
		// out what is wrong, or succeeds.
		now, next, err := p.PlanDeploy(ctx, deploySpec.Namespace, dir, deploySpec.Deployment, deploySpec.Container, deploySpec.Image)
		if err != nil {
			report(PhaseDeploying, ColorState{Deployment: target}, "cannot say what this deploy changes: "+err.Error())
		} else {
			d := e.mask.Diff(DiffDeploy(target, now, next))
			e.out.emit(ReleaseProgress{Stage: s.Name, Step: name, Phase: PhaseDeploying, State: now, Diff: &d,
				Message: e.mask.String("will change: " + strings.Join(d.Summary(len(d.Changes)+1), "; "))})
		}
	}
	if dir != "" {
		applied, err := cl.Apply(ctx, deploySpec.Namespace, dir)
		if err != nil {
			return fail(err)
		}
		report(PhaseDeploying, ColorState{Deployment: target}, "applied "+strings.Join(applied, ", "))
	}
	if err := cl.SetImage(ctx, deploySpec.Namespace, deploySpec.Deployment, deploySpec.Container, deploySpec.Image); err != nil {
		return fail(err)
	}
	err = cl.WaitDeployment(ctx, deploySpec.Namespace, deploySpec.Deployment, func(cs ColorState) {
		last = cs
		_, msg, rerr := RolloutStatus(cs)
		if rerr != nil {
			msg = rerr.Error()
		}
		report(PhaseDeploying, cs, msg)
	})
	if err != nil {
		return fail(fmt.Errorf("roll out %s: %w", target, err))
	}
	report(PhaseDone, last, fmt.Sprintf("%s runs %s", target, deploySpec.Image))
	return finish(StatusSucceeded, "")
}
