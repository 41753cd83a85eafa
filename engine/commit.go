package engine

import (
	"time"
)

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
	// held is guarded by Engine.emitMu.
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

// hold decides, under emitMu, whether ev must wait for an fsync.
func (e *Engine) hold(ev Event) bool {
	c := e.commit
	if c == nil {
		return false
	}
	unsynced := e.syncer.Unsynced()
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
func (e *Engine) runCommitter() {
	c := e.commit
	defer close(c.done)
	for {
		select {
		case <-c.work:
		case <-c.stop:
			e.publishHeld()
			return
		}
		if e.syncer.Unsynced() {
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
		e.publishHeld()
	}
}

// publishHeld fsyncs the journal and publishes every event held when it
// was called. Any goroutine may call it; one that needs the published state
// now (outputTail) does.
func (e *Engine) publishHeld() {
	e.emitMu.Lock()
	upTo := e.seq
	e.emitMu.Unlock()
	if err := e.syncer.Sync(); err != nil {
		e.journalFailed(err)
	}
	e.emitMu.Lock()
	defer e.emitMu.Unlock()
	c := e.commit
	n := 0
	for n < len(c.held) && c.held[n].Header().Seq <= upTo {
		e.bcast.Publish(c.held[n])
		n++
	}
	c.held = append([]Event(nil), c.held[n:]...)
	if len(c.held) > 0 {
		signal(c.work)
	}
}
