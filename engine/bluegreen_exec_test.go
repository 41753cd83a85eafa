package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cutover-sh/cutover/engine/spec"
)

// skipClock is a Clock whose timers fire at once and move time forward by
// their duration, so waits and back-offs cost nothing in a test.
type skipClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *skipClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *skipClock) NewTimer(d time.Duration) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(max(d, 0))
	ch := make(chan time.Time, 1)
	ch <- c.now
	return skipTimer{ch}
}

type skipTimer struct{ c chan time.Time }

func (t skipTimer) C() <-chan time.Time { return t.c }
func (skipTimer) Stop() bool            { return false }

// memCluster is an in-memory blue-green pair for the executor's logic:
// pods become Ready the moment a Deployment changes. failDeploy and
// loseSwitchReply inject the failures under test.
type memCluster struct {
	mu              sync.Mutex
	live            spec.Color
	version         int
	colors          map[spec.Color]*ColorState
	mark            ReleaseMark
	failDeploy      error
	loseSwitchReply bool
	switches        int
}

func newMemCluster() *memCluster {
	return &memCluster{live: spec.Blue, version: 1, colors: map[spec.Color]*ColorState{
		spec.Blue: color("web-blue", "web:v1", 3), spec.Green: color("web-green", "web:v1", 0),
	}}
}

func (m *memCluster) Observe(context.Context, spec.Target) (Observation, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	obs := Observation{Service: ServiceState{Live: m.live, Version: fmt.Sprint(m.version), Release: m.mark}, Colors: map[spec.Color]*ColorState{}}
	for c, s := range m.colors {
		cp := *s
		obs.Colors[c] = &cp
	}
	return obs, nil
}

func (m *memCluster) Deploy(_ context.Context, _ spec.Target, c spec.Color, container, image string, replicas int32) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failDeploy != nil {
		return m.failDeploy
	}
	*m.colors[c] = *color(m.colors[c].Deployment, image, replicas)
	m.colors[c].Images = map[string]string{container: image}
	m.colors[c].Template = map[string]string{"container/" + container + "/image": image}
	return nil
}

func (m *memCluster) WaitRollout(context.Context, spec.Target, spec.Color, func(ColorState)) error {
	return nil
}

func (m *memCluster) Switch(_ context.Context, _ spec.Target, req SwitchRequest) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if req.Version != fmt.Sprint(m.version) {
		return "", errors.New("conflict")
	}
	m.live, m.switches = req.To, m.switches+1
	m.mark = ReleaseMark{Release: req.Release, Previous: req.From, SwitchedAt: req.At}
	m.version++
	if m.loseSwitchReply {
		return "", errors.New("connection reset")
	}
	return fmt.Sprint(m.version), nil
}

func (m *memCluster) Scale(_ context.Context, _ spec.Target, c spec.Color, replicas int32) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.colors[c]
	img := s.Images["web"]
	*s = *color(s.Deployment, img, replicas)
	return nil
}

func (m *memCluster) Apply(context.Context, string, string) ([]string, error) { return nil, nil }
func (m *memCluster) SetImage(context.Context, string, string, string, string) error {
	return nil
}
func (m *memCluster) WaitDeployment(context.Context, string, string, func(ColorState)) error {
	return nil
}
func (m *memCluster) Lock(context.Context, spec.Target, string, string) (ReleaseLock, error) {
	return nil, errors.New("not used")
}

func execHooks() ReleaseHooks {
	return ReleaseHooks{Actor: Actor{Name: "t"}, Clock: &skipClock{now: t0}, RetryFor: time.Minute}
}

func TestRunBlueGreenRetriesForALimitedTime(t *testing.T) {
	m := newMemCluster()
	m.failDeploy = errors.New("etcdserver: request timed out")
	retries := 0
	h := execHooks()
	h.Retrying = func(error) { retries++ }
	_, err := RunBlueGreen(context.Background(), m, bgSpec(), h)
	if err == nil || !strings.Contains(err.Error(), "request timed out (failing for 1m)") {
		t.Fatalf("got %v, want the deploy error after a minute of retries", err)
	}
	if retries < 30 || retries > 61 {
		t.Errorf("%d retries in a minute at one a second, want about 60", retries)
	}
}

func TestRunBlueGreenFailsAtOnceOnPermanentErrors(t *testing.T) {
	m := newMemCluster()
	m.failDeploy = fmt.Errorf("deployment prod/web-green has no container %q: %w", "wbe", ErrPermanent)
	retries := 0
	h := execHooks()
	h.Retrying = func(error) { retries++ }
	_, err := RunBlueGreen(context.Background(), m, bgSpec(), h)
	if err == nil || !strings.Contains(err.Error(), `no container "wbe"`) || retries != 0 {
		t.Errorf("got %v after %d retries, want the permanent error at once", err, retries)
	}
}

// TestRollbackAtTheGateIsAnAbort: a rollback asked while the gate before
// the switch waits ends the wait, and traffic never moves.
func TestRollbackAtTheGateIsAnAbort(t *testing.T) {
	m := newMemCluster()
	requests := make(chan Request, 1)
	h := execHooks()
	h.Requests = requests
	h.Approve = func(ctx context.Context) (bool, error) {
		requests <- RequestRollback
		<-ctx.Done() // a person never answers; the request must end the wait
		return false, ctx.Err()
	}
	blueGreen := bgSpec()
	blueGreen.Approve = "switch?"
	r, err := RunBlueGreen(context.Background(), m, blueGreen, h)
	if err != nil || r.Phase != PhaseAborted || m.switches != 0 || m.live != spec.Blue {
		t.Errorf("got %s (%v), %d switches, live %s; want aborted with blue live and no switch", r.Phase, err, m.switches, m.live)
	}
	if m.colors[spec.Green].Replicas != 0 {
		t.Errorf("the preview kept %d replicas after the abort, want 0", m.colors[spec.Green].Replicas)
	}
}

// TestRollbackRequestWithoutAWait: with no scale-down delay there is no
// wait to interrupt; the request is still taken before the release ends.
func TestRollbackRequestWithoutAWait(t *testing.T) {
	m := newMemCluster()
	requests := make(chan Request, 1)
	h := execHooks()
	h.Requests = requests
	h.Switched = func(SwitchRequest) error {
		if m.live == spec.Green {
			select {
			case requests <- RequestRollback:
			default:
			}
		}
		return nil
	}
	blueGreen := bgSpec()
	blueGreen.ScaleDownDelay = 0
	r, err := RunBlueGreen(context.Background(), m, blueGreen, h)
	if err != nil || r.Phase != PhaseRolledBack || m.live != spec.Blue {
		t.Errorf("got %s (%v) with %s live; want rolled back to blue", r.Phase, err, m.live)
	}
}

// TestASwitchWhoseReplyWasLostIsJournaled: the switch landed but its reply
// did not; the next reading shows it, and it is journaled then.
func TestASwitchWhoseReplyWasLostIsJournaled(t *testing.T) {
	m := newMemCluster()
	m.loseSwitchReply = true
	var journaled []SwitchRequest
	h := execHooks()
	h.Switched = func(req SwitchRequest) error {
		journaled = append(journaled, req)
		return nil
	}
	r, err := RunBlueGreen(context.Background(), m, bgSpec(), h)
	if err != nil {
		t.Fatal(err)
	}
	if m.switches != 1 || len(journaled) != 1 || journaled[0].To != spec.Green {
		t.Errorf("phase %s, %d switches, journaled %+v; want one switch to green, journaled once", r.Phase, m.switches, journaled)
	}
}

// TestAnalysesDecideTheRelease: a failed pre-promotion analysis means no
// switch; a failed post-promotion one sends traffic back.
func TestAnalysesDecideTheRelease(t *testing.T) {
	slo := &spec.AnalysisSpec{Count: 1, Metrics: []spec.AnalysisMetric{{Name: "errors", Query: "e", SuccessCondition: "< 0.05"}}}
	tests := []struct {
		name       string
		failing    string // which analysis fails
		phase      Phase
		live       spec.Color
		greenScale int32
	}{
		{"both pass", "", PhaseDone, spec.Green, 3},
		{"pre fails: no switch", PrePromotion, PhaseAborted, spec.Blue, 0},
		{"post fails: rolled back", PostPromotion, PhaseRolledBack, spec.Blue, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := newMemCluster()
			blueGreen := bgSpec()
			blueGreen.PrePromotion, blueGreen.PostPromotion = slo, slo
			var ran []string
			h := execHooks()
			h.Analyze = func(_ context.Context, which string, _ Release) (bool, string, error) {
				ran = append(ran, which)
				if which == tc.failing {
					return false, "errors 0.2 >= 0.05", nil
				}
				return true, "", nil
			}
			var switchedBy []string
			h.Switched = func(req SwitchRequest) error {
				switchedBy = append(switchedBy, string(req.To)+" by "+req.Actor.String())
				return nil
			}
			r, err := RunBlueGreen(context.Background(), m, blueGreen, h)
			if tc.failing == PostPromotion && strings.Join(switchedBy, ", ") != "green by "+h.Actor.String()+", blue by "+AnalysisActor.String() {
				t.Errorf("switches %v: the switch back must be the analysis's, not the run's actor's", switchedBy)
			}
			if err != nil || r.Phase != tc.phase || m.live != tc.live || m.colors[spec.Green].Replicas != tc.greenScale {
				t.Errorf("got %s (%v, %s) with %s live and green at %d; want %s, %s live, green at %d",
					r.Phase, err, r.Reason, m.live, m.colors[spec.Green].Replicas, tc.phase, tc.live, tc.greenScale)
			}
			if tc.failing != "" && !strings.Contains(r.Reason, tc.failing+" analysis failed: errors 0.2") {
				t.Errorf("reason %q does not name the failed analysis", r.Reason)
			}
			if tc.failing == PrePromotion && len(ran) != 1 {
				t.Errorf("analyses run: %v; after a failed pre-promotion there is nothing to analyse", ran)
			}
		})
	}
}
