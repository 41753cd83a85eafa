package engine

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cutover-sh/cutover/engine/spec"

	"github.com/cutover-sh/cutover/engine/edge"
)

// Notification defaults and bounds.
const (
	defaultNotifyRetries = 3
	defaultNotifyTimeout = 10 * time.Second
	defaultNotifyBackoff = time.Second
	// maxNotifyDelay caps one wait between attempts, Retry-After
	// included: a webhook that asks for minutes is treated as down.
	maxNotifyDelay = 30 * time.Second
	// notifyDrain bounds how long a finished run waits for its last
	// notifications before Run returns.
	notifyDrain = 30 * time.Second
)

// notifications tells people about a run: it decides which moments of
// it the pipeline's notify: asks for, words them, and delivers them to its
// Slack and Teams webhooks in the background, journaling how each went.
type notifications struct {
	p        *spec.Pipeline
	runID    string
	actor    Actor
	mask     *Masker
	clock    Clock
	out      *publisher
	gates    *gateBook
	releases *releaseBook
	backoff  time.Duration
	// kill closes when someone insists on stopping: the last
	// notifications are not waited for.
	kill <-chan struct{}
	// poster posts notices to webhooks; nil when the run has none.
	poster WebhookPoster
	// sender sends the pipeline's notifications; nil without notify:.
	// It is set before the run starts and read-only after.
	sender *notifier
}

// notifyPolicy is how hard a delivery is tried.
type notifyPolicy struct {
	retries int
	timeout time.Duration
	backoff time.Duration
}

// policy is how hard this pipeline's deliveries are tried.
func (nt *notifications) policy() notifyPolicy {
	pol := notifyPolicy{retries: defaultNotifyRetries, timeout: defaultNotifyTimeout, backoff: nt.backoff}
	if n := nt.p.Notify; n != nil {
		if n.Retries != nil {
			pol.retries = *n.Retries
		}
		if n.Timeout > 0 {
			pol.timeout = n.Timeout.D()
		}
	}
	if pol.backoff <= 0 {
		pol.backoff = defaultNotifyBackoff
	}
	return pol
}

func targetsOf(slack *spec.SlackTarget, teams *spec.TeamsTarget) []edge.Webhook {
	var ts []edge.Webhook
	if slack != nil {
		ts = append(ts, edge.Webhook{Kind: "slack", URL: slack.Webhook, Channel: slack.Channel})
	}
	if teams != nil {
		ts = append(ts, edge.Webhook{Kind: "teams", URL: teams.Webhook})
	}
	return ts
}

// webhooks returns every webhook URL the pipeline names, so that they are
// masked even when a pipeline built in code did not list them as secrets.
// The path and query of each are masked on their own too: they hold the
// credential (Slack's /services/T…/B…/…, Teams' sig=…), and an error from
// a proxy or the webhook may quote them without the rest of the URL.
func webhooks(p *spec.Pipeline) []string {
	var urls []string
	add := func(ts []edge.Webhook) {
		for _, t := range ts {
			urls = append(urls, t.URL)
			if u, err := url.Parse(t.URL); err == nil {
				for _, part := range []string{u.EscapedPath(), u.Path, u.RawQuery} {
					// A short part, such as "/", is no credential, and
					// masking it would garble every message.
					if len(part) >= 16 {
						urls = append(urls, part)
					}
				}
			}
		}
	}
	if n := p.Notify; n != nil {
		add(targetsOf(n.Slack, n.Teams))
	}
	for _, s := range p.Stages {
		for _, st := range s.Steps {
			if n := st.Notify; n != nil {
				add(targetsOf(n.Slack, n.Teams))
			}
		}
	}
	return urls
}

// notice is one notification: what happened, where, which image and who
// acted. Its text is masked before it is sent.
type notice struct {
	trigger  spec.NotifyTrigger
	headline string
	// detail is a second line: an instruction, a reason.
	detail   string
	pipeline string
	stage    string
	step     string
	where
	actor string
	run   string
}

// where is what a notice is about in a cluster.
type where struct {
	// service is namespace/name of the Service of a blue-green release,
	// or of the Deployment of a deploy step.
	service string
	// kubeContext is the kubeconfig context.
	kubeContext string
	image       string
}

// edge is the notice as a webhook shows it.
func (n notice) edge() edge.Notice {
	facts := []edge.Fact{
		{Title: "Pipeline", Value: n.pipeline}, {Title: "Stage", Value: n.stage}, {Title: "Step", Value: n.step},
		{Title: "Service", Value: n.service}, {Title: "Context", Value: n.kubeContext}, {Title: "Image", Value: n.image}, {Title: "By", Value: n.actor},
	}
	facts = slices.DeleteFunc(facts, func(f edge.Fact) bool { return f.Value == "" })
	return edge.Notice{Headline: n.headline, Detail: n.detail, Facts: facts, Image: n.image, Actor: n.actor, Run: n.run}
}

// masked returns n with every secret replaced by Mask.
func (n notice) masked(m *Masker) notice {
	for _, s := range []*string{&n.headline, &n.detail, &n.pipeline, &n.stage, &n.step, &n.service, &n.kubeContext, &n.image, &n.actor} {
		*s = m.String(*s)
	}
	return n
}

// whereOf describes a release step, or reports that st is not one.
func whereOf(st *spec.Step) (where, bool) {
	switch {
	case st.BlueGreen != nil:
		b := st.BlueGreen
		return where{service: b.Namespace + "/" + b.Service, kubeContext: b.Context, image: b.Image}, true
	case st.Deploy != nil:
		d := st.Deploy
		return where{service: d.Namespace + "/" + d.Deployment + " (deployment)", kubeContext: d.Context, image: d.Image}, true
	}
	return where{}, false
}

// mergeWhere joins the distinct values of several release steps.
func mergeWhere(ws []where) where {
	join := func(get func(where) string) string {
		var vals []string
		for _, w := range ws {
			if v := get(w); v != "" && !slices.Contains(vals, v) {
				vals = append(vals, v)
			}
		}
		return strings.Join(vals, ", ")
	}
	return where{
		service:     join(func(w where) string { return w.service }),
		kubeContext: join(func(w where) string { return w.kubeContext }),
		image:       join(func(w where) string { return w.image }),
	}
}

// whereFor says what a notice about st (nil for a whole stage) in s (nil
// for the whole run) is about: the step's own release, else its stage's,
// else every release of the pipeline. An approval before a blueGreen step
// thus names the image it lets through.
func (nt *notifications) whereFor(s *spec.Stage, st *spec.Step) where {
	if st != nil {
		if w, ok := whereOf(st); ok {
			return w
		}
	}
	collect := func(steps []spec.Step) []where {
		var ws []where
		for i := range steps {
			if w, ok := whereOf(&steps[i]); ok {
				ws = append(ws, w)
			}
		}
		return ws
	}
	if s != nil {
		if ws := collect(s.Steps); len(ws) > 0 {
			return mergeWhere(ws)
		}
	}
	var ws []where
	for i := range nt.p.Stages {
		ws = append(ws, collect(nt.p.Stages[i].Steps)...)
	}
	return mergeWhere(ws)
}

// newNotice starts a notice about st in s (either may be nil), acted on by
// the run's actor unless the caller says otherwise.
func (nt *notifications) newNotice(trigger spec.NotifyTrigger, s *spec.Stage, st *spec.Step, stepName string) notice {
	n := notice{trigger: trigger, pipeline: nt.p.Metadata.Name, run: nt.runID, actor: nt.actor.String(), where: nt.whereFor(s, st)}
	if s != nil {
		n.stage, n.step = s.Name, stepName
	}
	return n
}

// outbox sends one target's run notifications in order, in the
// background, so that a slow webhook never holds the release up.
type outbox struct {
	target edge.Webhook
	mu     sync.Mutex
	queue  []notice
	closed bool
	wake   chan struct{}
}

func (b *outbox) push(n notice) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	b.queue = append(b.queue, n)
	signal(b.wake)
}

func (b *outbox) close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	signal(b.wake)
}

// next waits for the next notice. It returns false once the outbox is
// closed and empty, or ctx ends.
func (b *outbox) next(ctx context.Context) (notice, bool) {
	for {
		b.mu.Lock()
		if len(b.queue) > 0 {
			n := b.queue[0]
			b.queue = b.queue[1:]
			b.mu.Unlock()
			return n, true
		}
		closed := b.closed
		b.mu.Unlock()
		if closed {
			return notice{}, false
		}
		select {
		case <-b.wake:
		case <-ctx.Done():
			return notice{}, false
		}
	}
}

// rest empties the outbox and returns what it held.
func (b *outbox) rest() []notice {
	b.mu.Lock()
	defer b.mu.Unlock()
	q := b.queue
	b.queue, b.closed = nil, true
	return q
}

// notifier is the run's background sending, when the pipeline has a
// notify: with targets.
type notifier struct {
	boxes []*outbox
	// stop ends the sending: attempts in flight are cut short, and what
	// is still queued is journaled as not sent.
	stop context.CancelFunc
	done chan struct{}
}

// start starts one sender per target of the pipeline's notify:.
// Each ends once drain closes its outbox and it has sent
// everything, or when the notifier is stopped.
func (nt *notifications) start(ctx context.Context) {
	n := nt.p.Notify
	if n == nil || n.Slack == nil && n.Teams == nil {
		return
	}
	// Not the run's context: an aborted run still says that it finished,
	// and how.
	sctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	nf := &notifier{stop: stop, done: make(chan struct{})}
	var wg sync.WaitGroup
	pol := nt.policy()
	for _, t := range targetsOf(n.Slack, n.Teams) {
		b := &outbox{target: t, wake: make(chan struct{}, 1)}
		nf.boxes = append(nf.boxes, b)
		wg.Go(func() {
			for {
				msg, ok := b.next(sctx)
				if !ok {
					break
				}
				attempts, err := nt.deliver(sctx, t, msg, pol)
				nt.reportDelivery(t, msg, attempts, err)
			}
			for _, msg := range b.rest() {
				nt.reportDelivery(t, msg, 0, fmt.Errorf("not sent: the run ended and its notifications were given up after %s", notifyDrain))
			}
		})
	}
	go func() {
		wg.Wait()
		close(nf.done)
	}()
	nt.sender = nf
}

// notify queues a notice for the pipeline's targets, if its notify: asks
// for this trigger. It never blocks.
func (nt *notifications) notify(n notice) {
	if nt.sender == nil || !nt.p.Notify.Enabled(n.trigger) {
		return
	}
	n = n.masked(nt.mask)
	for _, b := range nt.sender.boxes {
		b.push(n)
	}
}

// drain waits for the queued notifications to be sent: at
// most notifyDrain, and no longer once someone insists on stopping (a
// second Abort, or one after the run finished).
func (nt *notifications) drain() {
	nf := nt.sender
	if nf == nil {
		return
	}
	for _, b := range nf.boxes {
		b.close()
	}
	// Wall time, not the engine's clock: this bounds how long a person
	// waits for the process to end, and a test's fake clock must not cut
	// delivery short.
	t := time.NewTimer(notifyDrain)
	defer t.Stop()
	select {
	case <-nf.done:
	case <-t.C:
	case <-nt.kill:
	}
	nf.stop()
	<-nf.done
}

// reportDelivery journals how a delivery went; a failure is also a
// warning. Neither changes the run's outcome.
func (nt *notifications) reportDelivery(t edge.Webhook, n notice, attempts int, err error) {
	rec := Record{Type: RecNotifySent, Stage: n.stage, Step: n.step, Target: t.Kind, Event: string(n.trigger), Attempt: attempts}
	if err == nil {
		_ = nt.out.record(rec)
		return
	}
	msg := fmt.Sprintf("%s notification (%s) not delivered: %v", t.Kind, n.trigger, err)
	if attempts > 0 {
		msg = fmt.Sprintf("%s notification (%s) not delivered after %s: %v", t.Kind, n.trigger, plural(attempts, "attempt"), err)
	}
	msg = nt.mask.String(msg) + "; the release is not affected"
	rec.Type, rec.Reason = RecNotifyFailed, msg
	_ = nt.out.record(rec)
	nt.out.emit(Warning{Code: WarnNotifyFailed, Stage: n.stage, Step: n.step, Message: msg})
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// deliver sends n to t, trying again after network errors, 5xx and 429
// answers, and returns how many attempts it made. Its errors never carry
// the webhook URL.
func (nt *notifications) deliver(ctx context.Context, t edge.Webhook, n notice, pol notifyPolicy) (int, error) {
	if nt.poster == nil {
		return 0, errors.New("this run has no webhook poster (engine.Config.Webhooks)")
	}
	msg := n.edge()
	for attempt := 1; ; attempt++ {
		got := nt.poster.Post(ctx, t, msg, pol.timeout)
		if got.Err == nil {
			return attempt, nil
		}
		if !got.Retry || attempt > pol.retries || ctx.Err() != nil {
			return attempt, got.Err
		}
		wait := nt.clock.NewTimer(notifyDelay(pol.backoff, attempt, got.After))
		select {
		case <-ctx.Done():
			wait.Stop()
			return attempt, fmt.Errorf("%w; stopped before attempt %d", got.Err, attempt+1)
		case <-wait.C():
		}
		wait.Stop()
	}
}

// notifyDelay is the wait before the attempt after attempt: base doubled
// for each attempt made, or the webhook's Retry-After when that is longer,
// and never more than maxNotifyDelay.
func notifyDelay(base time.Duration, attempt int, retryAfter time.Duration) time.Duration {
	d := base
	for i := 1; i < attempt && d < maxNotifyDelay; i++ {
		d *= 2
	}
	return min(max(d, retryAfter), maxNotifyDelay)
}

// stepNamed returns the step of s called name, or nil.
func stepNamed(s *spec.Stage, name string) *spec.Step {
	for j := range s.Steps {
		if s.Steps[j].StepName(j) == name {
			return &s.Steps[j]
		}
	}
	return nil
}

// approval tells people that a gate of step name waits for one of
// them.
func (nt *notifications) approval(s *spec.Stage, name, instruction string, diff *TemplateDiff) {
	n := nt.newNotice(spec.NotifyApproval, s, stepNamed(s, name), name)
	n.headline = fmt.Sprintf("Approval needed in %s at %s/%s", nt.p.Metadata.Name, s.Name, name)
	n.detail = instruction
	if diff != nil {
		n.detail += fmt.Sprintf("\n\nWhat approving changes (%s → %s, diff %s):\n• %s", diff.From, diff.To, diff.Hash,
			strings.Join(diff.Summary(notifyDiffLines), "\n• "))
	}
	n.actor = "" // nobody has acted yet; the person who will is the point
	nt.notify(n)
}

// notifyDiffLines is how much of a diff a chat message carries; the rest
// is in the console and the journal.
const notifyDiffLines = 12

// promoted tells people that a blue-green release switched traffic
// to its new color.
func (nt *notifications) promoted(s *spec.Stage, st *spec.Step, name string, t spec.Target, req SwitchRequest, by Actor) {
	n := nt.newNotice(spec.NotifyPromoted, s, st, name)
	n.headline = fmt.Sprintf("Promoted %s in %s to %s", t.Service, t.Namespace, req.To)
	n.detail = fmt.Sprintf("Traffic moved from %s to %s.", req.From, req.To)
	n.actor = by.String()
	nt.notify(n)
}

// rolledBack tells people that a blue-green release sent traffic
// back, and at whose request.
func (nt *notifications) rolledBack(s *spec.Stage, st *spec.Step, name string, t spec.Target, r Release) {
	n := nt.newNotice(spec.NotifyRolledBack, s, st, name)
	n.headline = fmt.Sprintf("Rolled back %s in %s to %s", t.Service, t.Namespace, r.From)
	n.detail = r.Reason
	asked, ok := nt.releases.rollbackAsked(t.String())
	if ok {
		n.actor = asked.actor.String()
		n.detail = fmt.Sprintf("%s, as %s asked: %s", r.Reason, asked.actor, asked.reason)
	} else {
		n.actor = "cutover (automatic)"
	}
	nt.notify(n)
}

// failed tells people that stage s failed, at its step j (-1 when
// none ran).
func (nt *notifications) failed(s *spec.Stage, j int, reason string) {
	var st *spec.Step
	name := ""
	if j >= 0 {
		st, name = &s.Steps[j], s.Steps[j].StepName(j)
	}
	n := nt.newNotice(spec.NotifyFailed, s, st, name)
	n.headline = fmt.Sprintf("%s failed in stage %s", nt.p.Metadata.Name, s.Name)
	n.detail = reason
	// A rejected gate failed the stage because a person said so.
	d, decided := nt.gates.decisionOf(gateID(s.Name, name))
	if decided && d.outcome != spec.GateApprove {
		n.actor = d.actor.String()
	}
	nt.notify(n)
}
