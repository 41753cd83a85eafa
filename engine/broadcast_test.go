package engine

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cutover-sh/cutover/engine/spec"
)

func testPipeline() *spec.Pipeline {
	return &spec.Pipeline{Metadata: spec.Metadata{Name: "p"}, Stages: []spec.Stage{
		{Name: "a", Budget: spec.Duration(time.Minute), Steps: []spec.Step{{Name: "one", Run: "true"}}},
		{Name: "b", Budget: spec.Duration(2 * time.Minute), Steps: []spec.Step{{Name: "two", Run: "true"}}},
	}}
}

func next(t *testing.T, s *Subscription) Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m, err := s.Next(ctx)
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	return m
}

func TestLateSubscriberStartsFromSnapshot(t *testing.T) {
	b := NewBroadcaster(NewSnapshot(testPipeline()))
	b.Publish(StageStarted{Meta: Meta{Seq: 1}, Stage: "a"})
	b.Publish(StageFinished{Meta: Meta{Seq: 2}, Stage: "a", Status: StatusSucceeded})
	sub := b.Subscribe(8)
	m := next(t, sub)
	if m.Snapshot == nil || m.Snapshot.Seq != 2 {
		t.Fatalf("first message: got %+v, want a snapshot at seq 2", m)
	}
	if st, _ := m.Snapshot.Stage("a"); st.Status != StatusSucceeded {
		t.Errorf("stage a in the snapshot: got %s, want succeeded", st.Status)
	}
	b.Publish(StageStarted{Meta: Meta{Seq: 3}, Stage: "b"})
	if m := next(t, sub); m.Event == nil || m.Event.Header().Seq != 3 {
		t.Errorf("second message: got %+v, want the event at seq 3", m)
	}
	b.Close()
	if _, err := sub.Next(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: got %v, want ErrClosed", err)
	}
}

func TestSlowSubscriberIsResynced(t *testing.T) {
	b := NewBroadcaster(NewSnapshot(testPipeline()))
	slow := b.Subscribe(2)
	fast := b.Subscribe(100)
	if m := next(t, slow); m.Snapshot == nil {
		t.Fatal("first message is not a snapshot")
	}
	next(t, fast)
	// Publish never blocks, however far behind slow is.
	for i := 1; i <= 10; i++ {
		b.Publish(StepOutput{Meta: Meta{Seq: uint64(i)}, Stage: "a", Step: "one", Line: "x"})
	}
	m := next(t, slow)
	if m.Snapshot == nil || m.Snapshot.Seq != 10 {
		t.Fatalf("slow subscriber: got %+v, want a snapshot at seq 10", m)
	}
	if got := slow.Dropped(); got != 10 {
		t.Errorf("dropped: got %d, want 10", got)
	}
	for i := 1; i <= 10; i++ {
		if m := next(t, fast); m.Event == nil || m.Event.Header().Seq != uint64(i) {
			t.Fatalf("fast subscriber message %d: got %+v", i, m)
		}
	}
	b.Publish(StepOutput{Meta: Meta{Seq: 11}, Stage: "a", Step: "one", Line: "y"})
	if m := next(t, slow); m.Event == nil || m.Event.Header().Seq != 11 {
		t.Errorf("after resync: got %+v, want the event at seq 11", m)
	}
}

func TestSubscriptionNextHonoursContext(t *testing.T) {
	b := NewBroadcaster(NewSnapshot(testPipeline()))
	sub := b.Subscribe(1)
	next(t, sub)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := sub.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
	sub.Close()
	if _, err := sub.Next(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: got %v, want ErrClosed", err)
	}
}

func TestApply(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 3, 0, 0, 0, time.UTC)
	at := func(sec int) Meta { return Meta{Seq: uint64(sec), Time: t0.Add(time.Duration(sec) * time.Second)} }
	events := []Event{
		RunStarted{Meta: at(1), Actor: Actor{Name: "alice"}},
		StageStarted{Meta: at(2), Stage: "a"},
		StepStarted{Meta: at(2), Stage: "a", Step: "one", Attempt: 1},
		StepOutput{Meta: at(3), Stage: "a", Step: "one", Line: "hello"},
		Warning{Meta: at(4), Code: WarnOverBudget, Stage: "a", Message: "over"},
		StepFinished{Meta: at(5), Stage: "a", Step: "one", Status: StatusFailed, ExitCode: 2, Reason: "exited with status 2"},
		StageFinished{Meta: at(5), Stage: "a", Status: StatusFailed},
		StageFinished{Meta: at(5), Stage: "b", Status: StatusCancelled, Reason: "not run"},
		RunFinished{Meta: at(6), Status: StatusFailed},
	}
	s0 := NewSnapshot(testPipeline())
	s := s0
	for _, ev := range events {
		s = Apply(s, ev)
	}
	a, _ := s.Stage("a")
	b, _ := s.Stage("b")
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"run status", s.Status, StatusFailed},
		{"actor", s.Actor.Name, "alice"},
		{"budget", s.Budget, 3 * time.Minute},
		{"a status", a.Status, StatusFailed},
		{"a over budget", a.OverBudget, true},
		{"a elapsed", a.Elapsed(t0.Add(time.Hour)), 3 * time.Second},
		{"a step exit", a.Steps[0].ExitCode, 2},
		{"a step tail", len(a.Steps[0].Tail), 1},
		{"b status", b.Status, StatusCancelled},
		{"b step", b.Steps[0].Status, StatusCancelled},
		{"seq", s.Seq, uint64(6)},
		// Apply never changes a snapshot it was given.
		{"original untouched", s0.Stages[0].Status, StatusPending},
		{"original steps untouched", s0.Stages[0].Steps[0].Status, StatusPending},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestApplyKeepsATailOfOutput(t *testing.T) {
	s := NewSnapshot(testPipeline())
	for i := range 50 {
		s = Apply(s, StepOutput{Meta: Meta{Seq: uint64(i)}, Stage: "a", Step: "one", Line: string(rune('a' + i%26))})
	}
	a, _ := s.Stage("a")
	if got := len(a.Steps[0].Tail); got != tailLines {
		t.Fatalf("tail: got %d lines, want %d", got, tailLines)
	}
	if got := a.Steps[0].Tail[tailLines-1].Line; got != "x" {
		t.Errorf("last tail line: got %q, want the 50th line, %q", got, "x")
	}
}

// TestNoEventIsLostBeforeTheFirstRead: events published between Subscribe
// and the first Next arrive as events after the initial snapshot, not
// folded into it.
func TestNoEventIsLostBeforeTheFirstRead(t *testing.T) {
	b := NewBroadcaster(NewSnapshot(testPipeline()))
	sub := b.Subscribe(8)
	b.Publish(StageStarted{Meta: Meta{Seq: 1}, Stage: "a"})
	b.Publish(StageStarted{Meta: Meta{Seq: 2}, Stage: "b"})
	if m := next(t, sub); m.Snapshot == nil || m.Snapshot.Seq != 0 {
		t.Fatalf("first message: got %+v, want the snapshot from before the events", m)
	}
	for _, want := range []uint64{1, 2} {
		if m := next(t, sub); m.Event == nil || m.Event.Header().Seq != want {
			t.Fatalf("got %+v, want the event at seq %d", m, want)
		}
	}
}

// TestApplyKeepsTheLatestMeasurementOfEachMetric: a snapshot read after a
// resync still shows every metric's last value, in first-measured order.
func TestApplyKeepsTheLatestMeasurementOfEachMetric(t *testing.T) {
	s := NewSnapshot(testPipeline())
	for i, m := range []struct {
		metric string
		v      float64
	}{{"errors", 0.01}, {"p95", 0.3}, {"errors", 0.2}} {
		s = Apply(s, AnalysisMeasured{Meta: Meta{Seq: uint64(i)}, Stage: "a", Step: "one", Metric: m.metric, Round: i + 1, Measurement: Measurement{Value: m.v}})
	}
	a, _ := s.Stage("a")
	got := a.Steps[0].Measurements
	if len(got) != 2 || got[0].Metric != "errors" || got[0].Measurement.Value != 0.2 || got[1].Metric != "p95" || got[1].Measurement.Value != 0.3 {
		t.Errorf("measurements %+v; want errors 0.2, then p95 0.3", got)
	}
}

// TestNextBatchTakesWhatIsQueued: one wait, then everything already
// queued, in order and no more than asked.
func TestNextBatchTakesWhatIsQueued(t *testing.T) {
	b := NewBroadcaster(NewSnapshot(testPipeline()))
	sub := b.Subscribe(16)
	for i := range 5 {
		b.Publish(StageStarted{Meta: Meta{Seq: uint64(i + 1)}, Stage: "a"})
	}
	ctx := context.Background()
	batch, err := sub.NextBatch(ctx, 4)
	if err != nil || len(batch) != 4 || batch[0].Snapshot == nil || batch[3].Event.Header().Seq != 3 {
		t.Fatalf("first batch: %d messages (%v); want the snapshot and events 1-3", len(batch), err)
	}
	batch, err = sub.NextBatch(ctx, 4)
	if err != nil || len(batch) != 2 || batch[0].Event.Header().Seq != 4 || batch[1].Event.Header().Seq != 5 {
		t.Fatalf("second batch: %d messages (%v); want events 4 and 5", len(batch), err)
	}
}

// TestApplyGateDecidedResumesTheStep: once its gate is decided, a step
// that goes on (a blue-green step switching) shows as running again.
func TestApplyGateDecidedResumesTheStep(t *testing.T) {
	s := NewSnapshot(testPipeline())
	s = Apply(s, StepStarted{Meta: Meta{Seq: 1}, Stage: "a", Step: "one", Attempt: 1})
	s = Apply(s, GateWaiting{Meta: Meta{Seq: 2}, Gate: "a/one", Stage: "a", Step: "one"})
	if a, _ := s.Stage("a"); a.Steps[0].Status != StatusWaiting {
		t.Fatalf("step %s while its gate waits, want waiting", a.Steps[0].Status)
	}
	s = Apply(s, GateDecided{Meta: Meta{Seq: 3}, Gate: "a/one", Outcome: spec.GateApprove})
	if a, _ := s.Stage("a"); a.Steps[0].Status != StatusRunning || len(s.Gates) != 0 {
		t.Errorf("step %s with %d gates after approval, want running and none", a.Steps[0].Status, len(s.Gates))
	}
}
