package engine

import (
	"context"
	"fmt"
	"os/exec"
	"testing"
	"time"

	"github.com/cutover-sh/cutover/engine/spec"

	"github.com/cutover-sh/cutover/proc"
)

// BenchmarkStepOverhead runs a stage of 200 `true` steps through the
// engine (process group, two output pipes, events, a journal record per
// step, fsynced with the stage's result) and,
// in the same loop, 200 bare fork/execs of `true`. overhead-% compares the
// two; the target is at most 10. overhead-sub-% is the same run with one
// subscriber draining every event, as a printer or the TUI would: on a
// two-core machine its wake-ups compete with the child for a core.
func BenchmarkStepOverhead(b *testing.B) {
	const steps = 200
	truePath, err := exec.LookPath("true")
	if err != nil {
		b.Skip("no true binary")
	}
	st := spec.Stage{Name: "s", Budget: spec.Duration(time.Hour)}
	for i := range steps {
		st.Steps = append(st.Steps, spec.Step{Name: fmt.Sprintf("t%d", i), Run: "true"})
	}
	p := &spec.Pipeline{Metadata: spec.Metadata{Name: "bench"}, Stages: []spec.Stage{st}}
	j, err := OpenJournal(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = j.Close() }()
	run := func(subscribe bool) time.Duration {
		start := time.Now()
		eng, err := New(Config{Pipeline: p, Journal: j, Actor: Actor{Name: "bench"}, Processes: &proc.Runner{}})
		if err != nil {
			b.Fatal(err)
		}
		drained := make(chan struct{})
		if subscribe {
			sub := eng.Subscribe(1 << 12)
			go func() {
				defer close(drained)
				for {
					if _, err := sub.Next(context.Background()); err != nil {
						return
					}
				}
			}()
		} else {
			close(drained)
		}
		final, err := eng.Run(context.Background())
		<-drained
		if err != nil || final.Status != StatusSucceeded {
			b.Fatalf("run: %v %s", err, final.Status)
		}
		return time.Since(start)
	}
	var bare, engine, withSub time.Duration
	for b.Loop() {
		t0 := time.Now()
		for range steps {
			if err := exec.Command(truePath).Run(); err != nil {
				b.Fatal(err)
			}
		}
		bare += time.Since(t0)
		engine += run(false)
		withSub += run(true)
	}
	n := float64(b.N * steps)
	b.ReportMetric(float64(bare.Nanoseconds())/n, "bare-ns/step")
	b.ReportMetric(float64(engine.Nanoseconds())/n, "engine-ns/step")
	b.ReportMetric((float64(engine)/float64(bare)-1)*100, "overhead-%")
	b.ReportMetric((float64(withSub)/float64(bare)-1)*100, "overhead-sub-%")
}

// BenchmarkFanOut publishes one event to 50 subscribers and reads it from
// each of them.
func BenchmarkFanOut(b *testing.B) {
	bc := NewBroadcaster(NewSnapshot(testPipeline()))
	subs := make([]*Subscription, 50)
	ctx := context.Background()
	for i := range subs {
		subs[i] = bc.Subscribe(16)
		if _, err := subs[i].Next(ctx); err != nil {
			b.Fatal(err)
		}
	}
	ev := StepOutput{Stage: "a", Step: "one", Stream: Stdout, Line: "a line of step output"}
	b.ReportAllocs()
	var seq uint64
	for b.Loop() {
		seq++
		ev.Seq = seq
		bc.Publish(ev)
		for _, s := range subs {
			if m, err := s.Next(ctx); err != nil || m.Event == nil {
				b.Fatalf("subscriber got %+v, %v", m, err)
			}
		}
	}
}
