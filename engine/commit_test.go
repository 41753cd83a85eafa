package engine

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/cutover-sh/cutover/engine/spec"

	"github.com/cutover-sh/cutover/proc"
)

// countingJournal is a GroupSyncer that counts what it was asked: which
// records were appended and how many of them a Sync has covered.
type countingJournal struct {
	mu     sync.Mutex
	recs   []Record
	synced int
	syncs  int
}

func (j *countingJournal) Append(r Record) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.recs = append(j.recs, r)
	if r.durable() {
		j.synced = len(j.recs)
		j.syncs++
	}
	return nil
}

func (j *countingJournal) Sync() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.synced < len(j.recs) {
		j.synced = len(j.recs)
		j.syncs++
	}
	return nil
}

func (j *countingJournal) Unsynced() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.synced < len(j.recs)
}

// durableSteps returns how many step.finished records are covered by a sync.
func (j *countingJournal) durableSteps() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	n := 0
	for _, r := range j.recs[:j.synced] {
		if r.Type == RecStepFinished {
			n++
		}
	}
	return n
}

// TestEventsWaitForTheirRecordsToBeDurable: a subscriber that sees a step
// finish must find that step's journal record already fsynced, and short
// steps share fsyncs.
func TestEventsWaitForTheirRecordsToBeDurable(t *testing.T) {
	const steps = 50
	st := spec.Stage{Name: "s", Budget: spec.Duration(3600e9)}
	for i := range steps {
		st.Steps = append(st.Steps, spec.Step{Name: fmt.Sprintf("t%d", i), Run: "true"})
	}
	p := &spec.Pipeline{Metadata: spec.Metadata{Name: "durable"}, Stages: []spec.Stage{st}}
	j := &countingJournal{}
	eng, err := New(Config{Pipeline: p, Journal: j, Actor: Actor{Name: "t"}, Processes: &proc.Runner{}})
	if err != nil {
		t.Fatal(err)
	}
	sub := eng.Subscribe(1 << 12)
	seen, early := 0, 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			m, err := sub.Next(context.Background())
			if err != nil {
				return
			}
			if _, ok := m.Event.(StepFinished); ok {
				seen++
				if j.durableSteps() < seen {
					early++
				}
			}
		}
	}()
	final, err := eng.Run(context.Background())
	<-done
	if err != nil || final.Status != StatusSucceeded {
		t.Fatalf("run: %v, %s", err, final.Status)
	}
	if seen != steps || early != 0 {
		t.Errorf("saw %d step results, %d of them before their record was fsynced; want %d and 0", seen, early, steps)
	}
	// run.started, stage.finished and run.finished are synced on their own;
	// the steps must have shared far fewer fsyncs than one each.
	if j.syncs >= steps {
		t.Errorf("%d fsyncs for %d steps; want them grouped", j.syncs, steps)
	}
	t.Logf("%d steps, %d fsyncs", steps, j.syncs)
}
