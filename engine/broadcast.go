package engine

import (
	"context"
	"errors"
	"sync"
)

// ErrClosed is returned by Subscription.Next once the run is over and every
// queued message has been read, or after Close.
var ErrClosed = errors.New("subscription closed")

// Message is what a subscriber reads: either one event, or a snapshot of the
// whole run. A snapshot comes first, and again whenever the subscriber fell
// so far behind that its queued events were dropped.
type Message struct {
	Event    Event
	Snapshot *Snapshot
}

// Broadcaster fans events out to subscribers without ever blocking the
// publisher: each subscriber has a bounded queue, and one that overflows is
// resynchronised with the latest snapshot instead of slowing the engine.
type Broadcaster struct {
	mu     sync.Mutex
	snap   Snapshot
	subs   map[*Subscription]struct{}
	closed bool
}

// NewBroadcaster starts from an initial snapshot.
func NewBroadcaster(initial Snapshot) *Broadcaster {
	return &Broadcaster{snap: initial, subs: map[*Subscription]struct{}{}}
}

// Snapshot returns the latest snapshot.
func (b *Broadcaster) Snapshot() Snapshot {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.snap.Clone()
}

// Publish applies ev to the current snapshot and queues it for every
// subscriber.
func (b *Broadcaster) Publish(ev Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.snap = Apply(b.snap, ev)
	for s := range b.subs {
		s.push(ev)
	}
}

// Close ends every subscription once its queue is drained.
func (b *Broadcaster) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	for s := range b.subs {
		s.finish()
	}
}

// Subscribe returns a subscription that first yields the current snapshot,
// then every later event. buffer is how many events it may fall behind
// before it is resynchronised with a snapshot.
func (b *Broadcaster) Subscribe(buffer int) *Subscription {
	s := &Subscription{b: b, max: max(buffer, 1), notify: make(chan struct{}, 1)}
	b.mu.Lock()
	defer b.mu.Unlock()
	// The snapshot is taken now, under the lock Publish takes, so every
	// event after it is queued: none is lost between subscribing and the
	// first read.
	initial := b.snap.Clone()
	s.initial = &initial
	s.done = b.closed
	b.subs[s] = struct{}{}
	s.signal()
	return s
}

// Subscription is one subscriber's view of a run. Next may be called from
// one goroutine at a time.
type Subscription struct {
	b      *Broadcaster
	notify chan struct{}

	mu sync.Mutex
	// initial is the snapshot taken at Subscribe, until it is read.
	initial *Snapshot
	// queue[head:] are the events not yet read. Reading advances head and
	// an emptied queue restarts at its beginning, so a subscriber that
	// keeps up reuses one backing array instead of allocating per event.
	queue  []Event
	head   int
	max    int
	resync bool
	// done is set when the run is over: Next drains the queue, then ends.
	done bool
	// closed is set by Close: Next ends at once.
	closed bool
	// dropped counts events replaced by a snapshot.
	dropped int
}

func (s *Subscription) signal() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

func (s *Subscription) push(ev Event) {
	s.mu.Lock()
	if s.resync {
		// A snapshot is already owed; it will include this event.
		s.dropped++
	} else if len(s.queue)-s.head >= s.max {
		s.dropped += len(s.queue) - s.head + 1
		s.clear()
		s.resync = true
	} else {
		s.queue = append(s.queue, ev)
	}
	s.mu.Unlock()
	s.signal()
}

func (s *Subscription) finish() {
	s.mu.Lock()
	s.done = true
	s.mu.Unlock()
	s.signal()
}

// Dropped returns how many events this subscriber missed and received as
// part of a snapshot instead.
func (s *Subscription) Dropped() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dropped
}

// Next returns the next message, waiting until one is available, the run
// ends (ErrClosed) or ctx is done.
func (s *Subscription) Next(ctx context.Context) (Message, error) {
	for {
		if m, ok, err := s.take(); ok || err != nil {
			return m, err
		}
		select {
		case <-s.notify:
		case <-ctx.Done():
			return Message{}, ctx.Err()
		}
	}
}

// NextBatch waits like Next for one message, then takes whatever else is
// already queued, up to max in all. A view that renders once per batch
// instead of once per event keeps up with a burst of output.
func (s *Subscription) NextBatch(ctx context.Context, max int) ([]Message, error) {
	m, err := s.Next(ctx)
	if err != nil {
		return nil, err
	}
	batch := []Message{m}
	for len(batch) < max {
		m, ok, err := s.take()
		if !ok || err != nil {
			break
		}
		batch = append(batch, m)
	}
	return batch, nil
}

func (s *Subscription) take() (Message, bool, error) {
	// Lock order is broadcaster, then subscription, as in Publish, so the
	// snapshot and the queue are read at one instant: every queued event is
	// newer than the snapshot.
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return Message{}, false, ErrClosed
	case s.initial != nil:
		snap := s.initial
		s.initial = nil
		return Message{Snapshot: snap}, true, nil
	case s.resync:
		s.resync = false
		s.clear()
		snap := s.b.snap.Clone()
		return Message{Snapshot: &snap}, true, nil
	case s.head < len(s.queue):
		ev := s.queue[s.head]
		s.queue[s.head] = nil
		s.head++
		switch {
		case s.head == len(s.queue):
			s.queue, s.head = s.queue[:0], 0
		case s.head > 64 && 2*s.head > len(s.queue):
			// A reader that keeps a few events behind never empties
			// its queue; compact it so the array does not grow with
			// the run.
			n := copy(s.queue, s.queue[s.head:])
			clear(s.queue[n:])
			s.queue, s.head = s.queue[:n], 0
		}
		return Message{Event: ev}, true, nil
	case s.done:
		return Message{}, false, ErrClosed
	}
	return Message{}, false, nil
}

// clear drops every queued event, letting the collector have them.
func (s *Subscription) clear() {
	clear(s.queue)
	s.queue, s.head = s.queue[:0], 0
}

// Close ends the subscription and releases it from the broadcaster.
func (s *Subscription) Close() {
	s.b.mu.Lock()
	delete(s.b.subs, s)
	s.b.mu.Unlock()
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.signal()
}
