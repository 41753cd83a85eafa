package engine

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/cutover-sh/cutover/sanitize"
)

// publisher is a run's one way out: it writes each record to the journal
// and publishes each event, numbered in the order they happen, holding an
// event back until the records written before it are durable.
type publisher struct {
	clock     Clock
	runID     string
	mask      *Masker
	journal   Recorder
	bcast     *Broadcaster
	decisions *decisionLog
	// failed is told of the first journal error: it stops the run.
	failed func(error)

	// mu makes sequence numbers follow publication order.
	mu  sync.Mutex
	seq uint64
	// recs counts the run's journal records, for their Seq.
	recs atomic.Uint64
	// syncer and commit are set when the journal fsyncs progress in
	// groups; see committer.
	syncer GroupSyncer
	commit *committer
}

// GroupCommitWindow bounds how long the engine holds back an event whose
// journal record is written but not yet fsynced. Within it, one fsync
// covers every step that finished, so a pipeline of short steps pays for
// a few fsyncs instead of one each; a person cannot see the delay.
const GroupCommitWindow = 50 * time.Millisecond

// GroupSyncer is a Recorder that leaves some records to be fsynced in a
// group. *Journal is one. With it, the engine publishes an event only once
// the records written before it are durable.
type GroupSyncer interface {
	Recorder
	// Sync makes every record appended so far durable.
	Sync() error
	// Unsynced reports whether some appended record is not yet durable.
	Unsynced() bool
}

// committer holds events back until the journal records written before
// them are durable, then publishes them in order.
type committer struct {
	// held is guarded by publisher.mu.
	held []Event
	// work says held went from empty to not; kick cuts the window short
	// because a durable record already synced everything.
	work, kick chan struct{}
	stop, done chan struct{}
}

func newCommitter() *committer {
	return &committer{
		work: make(chan struct{}, 1), kick: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{}),
	}
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// emit stamps ev and publishes it, or holds it until the journal records
// written before it are durable.
func (p *publisher) emit(ev Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.emitLocked(ev)
}

// emitDecision counts a decision and publishes the event that reports it
// as one step: no other event can carry the new count before it.
func (p *publisher) emitDecision(ev Event, format string, a ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.decisions.note(format, a...)
	p.emitLocked(ev)
}

func (p *publisher) emitLocked(ev Event) {
	p.seq++
	// Every view of a run reads these events: each string in them is made
	// safe for a terminal here, once, whatever it came from.
	ev = sanitize.Deep(ev).withMeta(Meta{Seq: p.seq, Time: p.clock.Now(), Run: p.runID, Decisions: p.decisions.n.Load()})
	if !p.hold(ev) {
		p.bcast.Publish(ev)
	}
}

// write stamps, masks and appends rec to the journal.
func (p *publisher) write(rec Record) error {
	if p.journal == nil {
		return nil
	}
	rec.Time, rec.Run, rec.Seq = p.clock.Now(), p.runID, p.recs.Add(1)
	rec.Reason = p.mask.String(rec.Reason)
	rec.Vars = p.mask.Map(rec.Vars)
	for i, l := range rec.Output {
		rec.Output[i] = p.mask.String(l)
	}
	return p.journal.Append(rec)
}

// record writes rec to the journal. A journal that cannot be written stops
// the run: an unaudited release is not one we allow.
func (p *publisher) record(rec Record) error {
	err := p.write(rec)
	if err == nil {
		return nil
	}
	p.failed(err)
	return err
}

// startCommits holds events back for group fsyncs when the journal does
// them. The run calls it once, before its first step.
func (p *publisher) startCommits() {
	s, ok := p.journal.(GroupSyncer)
	if !ok {
		return
	}
	p.mu.Lock() // an Abort may emit already
	p.syncer, p.commit = s, newCommitter()
	p.mu.Unlock()
	go p.runCommitter()
}

// close publishes what is held, and ends the run's events.
func (p *publisher) close() {
	if p.commit != nil {
		close(p.commit.stop)
		<-p.commit.done
	}
	p.bcast.Close()
}

// hold decides, under mu, whether ev must wait for an fsync.
func (p *publisher) hold(ev Event) bool {
	c := p.commit
	if c == nil {
		return false
	}
	unsynced := p.syncer.Unsynced()
	if len(c.held) == 0 && !unsynced {
		return false
	}
	c.held = append(c.held, ev)
	if len(c.held) == 1 {
		signal(c.work)
	}
	if !unsynced {
		signal(c.kick)
	}
	return true
}

// runCommitter publishes held events, at most GroupCommitWindow after the
// first of a group was held. It ends when stop is closed, after publishing
// everything.
func (p *publisher) runCommitter() {
	c := p.commit
	defer close(c.done)
	for {
		select {
		case <-c.work:
		case <-c.stop:
			p.publishHeld()
			return
		}
		if p.syncer.Unsynced() {
			// Wall time, not the engine's clock: this batches disk
			// writes, and a test's fake clock must not stall events.
			t := time.NewTimer(GroupCommitWindow)
			select {
			case <-t.C:
			case <-c.kick:
			case <-c.stop:
			}
			t.Stop()
		}
		p.publishHeld()
	}
}

// publishHeld fsyncs the journal and publishes every event held when it
// was called. Any goroutine may call it; one that needs the published state
// now (outputTail) does.
func (p *publisher) publishHeld() {
	if p.commit == nil {
		return
	}
	p.mu.Lock()
	upTo := p.seq
	p.mu.Unlock()
	if err := p.syncer.Sync(); err != nil {
		p.failed(err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.commit
	n := 0
	for n < len(c.held) && c.held[n].Header().Seq <= upTo {
		p.bcast.Publish(c.held[n])
		n++
	}
	c.held = append([]Event(nil), c.held[n:]...)
	if len(c.held) > 0 {
		signal(c.work)
	}
}
