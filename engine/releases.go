package engine

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
)

// ErrNoRelease is returned by Rollback when no blue-green step is running.
var ErrNoRelease = errors.New("no release is in progress")

// releaseBook holds the run's blue-green releases in flight, each by its
// Service, and what people asked of them. A request is delivered only to a
// release still running, under the lock that ends a release: one that comes
// too late is an error, never a success that nothing acts on.
type releaseBook struct {
	out  *publisher
	mask *Masker

	mu sync.Mutex
	// running maps the Service of each running blueGreen step to the
	// channel that carries requests to it.
	running map[string]chan Request
	// rollbacks maps the Service of a running release to the person who
	// asked to roll it back, for the notification that it was.
	rollbacks map[string]decision
}

// open registers the release of service; false if one already runs.
func (b *releaseBook) open(service string, requests chan Request) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.running[service] != nil {
		return false
	}
	b.running[service] = requests
	return true
}

// close ends the release of service, and says who asked to roll it back.
func (b *releaseBook) close(service string) (asked decision, wasAsked bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	asked, wasAsked = b.rollbacks[service]
	delete(b.running, service)
	delete(b.rollbacks, service)
	return asked, wasAsked
}

// inFlight reports whether a release of service runs.
func (b *releaseBook) inFlight(service string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, ok := b.running[service]
	return ok
}

// rollbackAsked says who asked to roll the release of service back.
func (b *releaseBook) rollbackAsked(service string) (decision, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	d, ok := b.rollbacks[service]
	return d, ok
}

// rollback journals a rollback request and delivers it to the release of
// service, or of the only one running when service is empty.
func (b *releaseBook) rollback(actor Actor, service, reason string) error {
	service, ch, err := b.find(service)
	if err != nil {
		return err
	}
	if err := b.out.record(Record{Type: RecRollbackRequested, Actor: actorPtr(actor), Service: service, Reason: reason}); err != nil {
		return fmt.Errorf("record rollback request: %w", err)
	}
	b.out.emitDecision(ReleaseRequested{Action: "rollback", Service: service, Actor: actor, Reason: b.mask.String(reason)},
		"%s asked to roll back %s", actor, service)
	// Delivered under the lock that ends a release, and only to a release
	// still registered: a request that came too late is an error, never a
	// success that nothing acts on.
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.running[service] != ch {
		return fmt.Errorf("rollback %s: the release ended before the request reached it; run `%s`", service, RollbackCommand(service, ""))
	}
	if _, asked := b.rollbacks[service]; !asked {
		b.rollbacks[service] = decision{actor: actor, reason: reason}
	}
	select {
	case ch <- RequestRollback:
	default: // one is already pending
	}
	return nil
}

// promote journals a promote request and delivers it, unless a rollback
// or an abort is already on its way.
func (b *releaseBook) promote(actor Actor, service, reason string) error {
	service, ch, err := b.find(service)
	if err != nil {
		return err
	}
	// Only into an empty queue: a pending rollback or abort outranks it,
	// and must find room. A promote that is not sent is not journaled.
	busy := fmt.Errorf("promote %s: a rollback or an abort is already on its way to the release; the promote is not sent", service)
	if len(ch) > 0 {
		return busy
	}
	if err := b.out.record(Record{Type: RecPromoteRequested, Actor: actorPtr(actor), Service: service, Reason: reason}); err != nil {
		return fmt.Errorf("record promote request: %w", err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.running[service] != ch {
		return fmt.Errorf("promote %s: the release ended before the request reached it", service)
	}
	select {
	case ch <- RequestPromote:
	default:
		return busy // taken by a rollback in the meantime
	}
	b.out.emitDecision(ReleaseRequested{Action: "promote", Service: service, Actor: actor, Reason: b.mask.String(reason)},
		"%s asked to promote %s", actor, service)
	return nil
}

// find finds the running release a request is for: the named Service's,
// or the only one when none is named.
func (b *releaseBook) find(service string) (string, chan Request, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	active := slices.Sorted(maps.Keys(b.running))
	switch {
	case len(active) == 0:
		return "", nil, ErrNoRelease
	case service != "":
		if ch := b.running[service]; ch != nil {
			return service, ch, nil
		}
		return "", nil, fmt.Errorf("%w on service %s (running: %s)", ErrNoRelease, service, strings.Join(active, ", "))
	case len(active) > 1:
		return "", nil, fmt.Errorf("several releases are running (%s); name the service", strings.Join(active, ", "))
	}
	return active[0], b.running[active[0]], nil
}

// active lists the Services (namespace/name) of running releases.
func (b *releaseBook) active() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Sorted(maps.Keys(b.running))
}

// Rollback asks a running blue-green release to switch traffic back. service
// (namespace/name) may be empty when one release runs. The request is
// journaled before it is passed on. Before the switch, a rollback is an
// abort: the live color was never touched.
func (e *Engine) Rollback(actor Actor, service, reason string) error {
	return e.releases.rollback(actor, service, reason)
}

// Promote asks a running blue-green release to switch as soon as its
// preview is Ready, skipping what is left of the pre-promotion analysis
// and the approval gate. It never switches to pods that are not Ready: the
// switch checks them, as always. The request is journaled first.
func (e *Engine) Promote(actor Actor, service, reason string) error {
	return e.releases.promote(actor, service, reason)
}

// ActiveReleases lists the Services (namespace/name) of running releases.
func (e *Engine) ActiveReleases() []string { return e.releases.active() }
