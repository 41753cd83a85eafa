package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cutover-sh/cutover/engine/spec"
)

// hookRequest is one request a hook received.
type hookRequest struct {
	method, contentType, path string
	body                      []byte
}

// hook is a webhook on 127.0.0.1 that records every request. It answers
// with the scripted statuses in turn, then with always (200 by default).
// A failure's body quotes the request's path, as a careless proxy might.
type hook struct {
	*httptest.Server
	mu     sync.Mutex
	got    []hookRequest
	script []int
	always int
	// hold, when set, keeps every request waiting until it is closed.
	hold chan struct{}
}

func newHook(t *testing.T, script ...int) *hook {
	t.Helper()
	h := &hook{script: script, always: http.StatusOK}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.got = append(h.got, hookRequest{method: r.Method, contentType: r.Header.Get("Content-Type"), path: r.URL.Path, body: body})
		status := h.always
		if len(h.script) > 0 {
			status, h.script = h.script[0], h.script[1:]
		}
		hold := h.hold
		h.mu.Unlock()
		if hold != nil {
			<-hold
		}
		w.WriteHeader(status)
		if status == http.StatusOK {
			_, _ = io.WriteString(w, "ok")
		} else {
			_, _ = fmt.Fprintf(w, "no hook at %s", r.URL.Path)
		}
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hook) requests() []hookRequest {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hookRequest(nil), h.got...)
}

// await waits until some request's body contains s.
func (h *hook) await(t *testing.T, s string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		for _, r := range h.requests() {
			if strings.Contains(string(r.body), s) {
				return
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("no request containing %q within 20s; got %d requests", s, len(h.requests()))
}

// slackGot is a Slack payload as Slack reads it.
type slackGot struct {
	Text    string `json:"text"`
	Channel string `json:"channel"`
	Blocks  []struct {
		Type     string         `json:"type"`
		Text     *slackTextGot  `json:"text"`
		Fields   []slackTextGot `json:"fields"`
		Elements []slackTextGot `json:"elements"`
	} `json:"blocks"`
}

type slackTextGot struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// teamsGot is a Teams Workflows payload as Teams reads it.
type teamsGot struct {
	Type        string `json:"type"`
	Attachments []struct {
		ContentType string `json:"contentType"`
		Content     struct {
			Schema  string `json:"$schema"`
			Type    string `json:"type"`
			Version string `json:"version"`
			Body    []struct {
				Type   string `json:"type"`
				Text   string `json:"text"`
				Weight string `json:"weight"`
				Wrap   bool   `json:"wrap"`
				Facts  []struct {
					Title string `json:"title"`
					Value string `json:"value"`
				} `json:"facts"`
			} `json:"body"`
		} `json:"content"`
	} `json:"attachments"`
}

func decodeSlack(t *testing.T, r hookRequest) slackGot {
	t.Helper()
	var m slackGot
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("slack payload %s: %v", r.body, err)
	}
	return m
}

func decodeTeams(t *testing.T, r hookRequest) teamsGot {
	t.Helper()
	var m teamsGot
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("teams payload %s: %v", r.body, err)
	}
	return m
}

// slackHeadline returns the bold first line of a Slack message.
func slackHeadline(m slackGot) string {
	if len(m.Blocks) == 0 || m.Blocks[0].Text == nil {
		return ""
	}
	head, _, _ := strings.Cut(m.Blocks[0].Text.Text, "\n")
	return strings.Trim(head, "*")
}

// slackFacts reads the "*Title*\nvalue" fields of a Slack message.
func slackFacts(m slackGot) map[string]string {
	facts := map[string]string{}
	for _, b := range m.Blocks {
		for _, f := range b.Fields {
			title, value, _ := strings.Cut(f.Text, "\n")
			facts[strings.Trim(title, "*")] = value
		}
	}
	return facts
}

// lockingMem is a memCluster whose release lock is always free.
type lockingMem struct{ *memCluster }

func (lockingMem) Lock(context.Context, spec.Target, string, string) (ReleaseLock, error) {
	return freeLock{}, nil
}

type freeLock struct{}

func (freeLock) TakenFrom() string             { return "" }
func (freeLock) Lost() <-chan struct{}         { return nil }
func (freeLock) LostTo() string                { return "" }
func (freeLock) Release(context.Context) error { return nil }

// releaseRun runs a blue-green release of web:v2 to prod/web-service that
// carol approves and alice rolls back once Slack hears it was promoted:
// every one of the six moments happens once, in order.
func releaseRun(t *testing.T, slack, teams *hook) (*harness, Snapshot) {
	t.Helper()
	blueGreen := bgSpec()
	blueGreen.Context, blueGreen.Approve, blueGreen.ScaleDownDelay = "prod-cluster", "Switch prod/web-service to web:v2?", spec.Duration(time.Hour)
	p := &spec.Pipeline{
		Metadata: spec.Metadata{Name: "web"},
		Notify:   &spec.NotifySpec{Slack: &spec.SlackTarget{Webhook: slack.URL + "/slack", Channel: "#releases"}, Teams: &spec.TeamsTarget{Webhook: teams.URL + "/teams"}},
		Stages:   []spec.Stage{{Name: "release", Budget: spec.Duration(time.Hour), Steps: []spec.Step{{Name: "blue-green", BlueGreen: &blueGreen}}}},
	}
	m := newMemCluster()
	h := newHarness(t, Config{
		Pipeline: p, NotifyBackoff: time.Millisecond,
		Clusters: func(string) (Cluster, error) { return lockingMem{m}, nil },
	})
	done := h.start()
	h.wait("gate.waiting", func(ev Event) bool { _, ok := ev.(GateWaiting); return ok })
	if err := h.eng.Approve(Actor{Name: "carol"}, ""); err != nil {
		t.Fatalf("approve: %v", err)
	}
	slack.await(t, "Promoted web-service")
	if err := h.eng.Rollback(Actor{Name: "alice"}, "", "error rate up"); err != nil {
		t.Fatalf("rollback: %v", err)
	}
	final := <-done
	if final.Status != StatusFailed || !final.RolledBack || m.live != spec.Blue {
		t.Fatalf("run %s, rolled back %v, %s live; want a failed run rolled back to blue", final.Status, final.RolledBack, m.live)
	}
	return h, final
}

// TestNotifySixMoments: a release that starts, waits for approval, is
// promoted, is rolled back, fails and finishes tells Slack and Teams each
// of these once, in order, saying where, which image and who acted.
func TestNotifySixMoments(t *testing.T) {
	slack, teams := newHook(t), newHook(t)
	h, _ := releaseRun(t, slack, teams)
	want := []struct {
		trigger  spec.NotifyTrigger
		headline string // a regular expression
		by       string
	}{
		{spec.NotifyStarted, `^Started web$`, "tester"},
		{spec.NotifyApproval, `^Approval needed in web at release/blue-green$`, ""},
		{spec.NotifyPromoted, `^Promoted web-service in prod to green$`, "carol"},
		{spec.NotifyRolledBack, `^Rolled back web-service in prod to blue$`, "alice"},
		{spec.NotifyFailed, `^web failed in stage release$`, "tester"},
		{spec.NotifyFinished, `^web failed in [0-9.]+m?s$`, "tester"},
	}
	slackGotten, teamsGotten := slack.requests(), teams.requests()
	if len(slackGotten) != len(want) || len(teamsGotten) != len(want) {
		t.Fatalf("got %d Slack and %d Teams messages, want %d each", len(slackGotten), len(teamsGotten), len(want))
	}
	for i, w := range want {
		sm := decodeSlack(t, slackGotten[i])
		facts := slackFacts(sm)
		if got := slackHeadline(sm); !regexp.MustCompile(w.headline).MatchString(got) {
			t.Errorf("Slack message %d: got headline %q, want %q", i+1, got, w.headline)
		}
		if facts["By"] != w.by {
			t.Errorf("Slack %s: got By %q, want %q", w.trigger, facts["By"], w.by)
		}
		for title, value := range map[string]string{"Pipeline": "web", "Service": "prod/web-service", "Context": "prod-cluster", "Image": "web:v2"} {
			if facts[title] != value {
				t.Errorf("Slack %s: got %s %q, want %q", w.trigger, title, facts[title], value)
			}
		}
		tm := decodeTeams(t, teamsGotten[i])
		if len(tm.Attachments) != 1 || len(tm.Attachments[0].Content.Body) == 0 {
			t.Fatalf("Teams %s: got %s, want one card with a body", w.trigger, teamsGotten[i].body)
		}
		if got := tm.Attachments[0].Content.Body[0].Text; !regexp.MustCompile(w.headline).MatchString(got) {
			t.Errorf("Teams message %d: got headline %q, want %q", i+1, got, w.headline)
		}
	}
	sent := map[string]int{}
	for _, r := range h.records() {
		switch r.Type {
		case RecNotifySent:
			if r.Attempt != 1 {
				t.Errorf("notify.sent %s/%s: got attempt %d, want 1", r.Target, r.Event, r.Attempt)
			}
			sent[r.Target+"/"+r.Event]++
		case RecNotifyFailed:
			t.Errorf("unexpected notify.failed: %+v", r)
		}
	}
	for _, w := range want {
		for _, target := range []string{"slack", "teams"} {
			if n := sent[target+"/"+string(w.trigger)]; n != 1 {
				t.Errorf("%d notify.sent records for %s/%s, want 1", n, target, w.trigger)
			}
		}
	}
}

// TestTheApprovalMessageSaysWhatChanges: the approval message carries the
// gate's diff, as the console's card does, in Slack and in Teams.
func TestTheApprovalMessageSaysWhatChanges(t *testing.T) {
	slack, teams := newHook(t), newHook(t)
	releaseRun(t, slack, teams)
	for name, h := range map[string]*hook{"Slack": slack, "Teams": teams} {
		found := false
		for _, r := range h.requests() {
			if body := string(r.body); strings.Contains(body, "Approval needed") {
				found = true
				if !strings.Contains(body, "What approving changes (blue → green, diff ") || !strings.Contains(body, "image: v1 → v2") {
					t.Errorf("%s approval message: %s\nwant the diff's summary: the image from v1 to v2", name, body)
				}
			}
		}
		if !found {
			t.Errorf("no %s approval message", name)
		}
	}
}

// TestSlackPayload checks every field of a Slack message: the promotion.
func TestSlackPayload(t *testing.T) {
	slack, teams := newHook(t), newHook(t)
	h, _ := releaseRun(t, slack, teams)
	got := slack.requests()
	if len(got) < 3 {
		t.Fatalf("got %d Slack messages, want the third to be the promotion", len(got))
	}
	r := got[2]
	if r.method != http.MethodPost || r.contentType != "application/json" || r.path != "/slack" {
		t.Errorf("request: got %s %s (%s), want POST /slack (application/json)", r.method, r.path, r.contentType)
	}
	m := decodeSlack(t, r)
	if want := "Promoted web-service in prod to green · web:v2 · by carol"; m.Text != want {
		t.Errorf("text: got %q, want %q", m.Text, want)
	}
	if m.Channel != "#releases" {
		t.Errorf("channel: got %q, want #releases", m.Channel)
	}
	if len(m.Blocks) != 3 {
		t.Fatalf("blocks: got %d (%s), want a headline section, a fields section and a context", len(m.Blocks), r.body)
	}
	head := m.Blocks[0]
	if head.Type != "section" || head.Text == nil || head.Text.Type != "mrkdwn" ||
		head.Text.Text != "*Promoted web-service in prod to green*\nTraffic moved from blue to green." {
		t.Errorf("headline block: got %+v, want a mrkdwn section with the headline in bold and the detail", head)
	}
	fields := m.Blocks[1]
	wantFields := []string{"*Pipeline*\nweb", "*Stage*\nrelease", "*Step*\nblue-green", "*Service*\nprod/web-service", "*Context*\nprod-cluster", "*Image*\nweb:v2", "*By*\ncarol"}
	var gotFields []string
	for _, f := range fields.Fields {
		if f.Type != "mrkdwn" {
			t.Errorf("field %q: got type %q, want mrkdwn", f.Text, f.Type)
		}
		gotFields = append(gotFields, f.Text)
	}
	if fields.Type != "section" || strings.Join(gotFields, "|") != strings.Join(wantFields, "|") {
		t.Errorf("fields block: got %s %q, want section %q", fields.Type, gotFields, wantFields)
	}
	ctx := m.Blocks[2]
	if ctx.Type != "context" || len(ctx.Elements) != 1 || ctx.Elements[0].Type != "mrkdwn" || ctx.Elements[0].Text != "cutover run "+h.eng.RunID() {
		t.Errorf("context block: got %+v, want the run %s", ctx, h.eng.RunID())
	}
}

// TestTeamsPayload checks every field of a Teams message: the rollback.
func TestTeamsPayload(t *testing.T) {
	slack, teams := newHook(t), newHook(t)
	h, _ := releaseRun(t, slack, teams)
	got := teams.requests()
	if len(got) < 4 {
		t.Fatalf("got %d Teams messages, want the fourth to be the rollback", len(got))
	}
	r := got[3]
	if r.method != http.MethodPost || r.contentType != "application/json" || r.path != "/teams" {
		t.Errorf("request: got %s %s (%s), want POST /teams (application/json)", r.method, r.path, r.contentType)
	}
	m := decodeTeams(t, r)
	if m.Type != "message" || len(m.Attachments) != 1 {
		t.Fatalf("got %s, want a message with one attachment", r.body)
	}
	a := m.Attachments[0]
	if a.ContentType != "application/vnd.microsoft.card.adaptive" || a.Content.Schema != "http://adaptivecards.io/schemas/adaptive-card.json" ||
		a.Content.Type != "AdaptiveCard" || a.Content.Version != "1.4" {
		t.Errorf("card: got %s %s %s %s, want an Adaptive Card 1.4", a.ContentType, a.Content.Schema, a.Content.Type, a.Content.Version)
	}
	body := a.Content.Body
	if len(body) != 3 {
		t.Fatalf("card body: got %d elements (%s), want headline, detail and facts", len(body), r.body)
	}
	if body[0].Type != "TextBlock" || body[0].Text != "Rolled back web-service in prod to blue" || body[0].Weight != "Bolder" || !body[0].Wrap {
		t.Errorf("headline: got %+v, want a bold wrapped TextBlock", body[0])
	}
	if want := "traffic is back on blue, as alice asked: error rate up"; body[1].Type != "TextBlock" || body[1].Text != want {
		t.Errorf("detail: got %+v, want a TextBlock %q", body[1], want)
	}
	var facts []string
	for _, f := range body[2].Facts {
		facts = append(facts, f.Title+"="+f.Value)
	}
	want := []string{"Pipeline=web", "Stage=release", "Step=blue-green", "Service=prod/web-service", "Context=prod-cluster", "Image=web:v2", "By=alice", "Run=" + h.eng.RunID()}
	if body[2].Type != "FactSet" || strings.Join(facts, "|") != strings.Join(want, "|") {
		t.Errorf("facts: got %s %q, want FactSet %q", body[2].Type, facts, want)
	}
}

// quickPipeline is one stage with one step that succeeds, notifying slack
// of what on lists.
func quickPipeline(slack string, retries int, on ...spec.NotifyTrigger) *spec.Pipeline {
	return &spec.Pipeline{
		Metadata: spec.Metadata{Name: "quick"},
		Notify:   &spec.NotifySpec{Slack: &spec.SlackTarget{Webhook: slack}, On: on, Retries: &retries},
		Stages:   []spec.Stage{{Name: "s", Budget: spec.Duration(time.Minute), Steps: []spec.Step{{Name: "ok", Run: "true"}}}},
	}
}

// notifyStepPipeline is one stage whose only step notifies slack.
func notifyStepPipeline(slack string) *spec.Pipeline {
	return &spec.Pipeline{
		Metadata: spec.Metadata{Name: "quick"},
		Stages: []spec.Stage{{Name: "s", Budget: spec.Duration(time.Minute), Steps: []spec.Step{{
			Name: "tell", Notify: &spec.NotifyStepSpec{Slack: &spec.SlackTarget{Webhook: slack}, Message: "web:v2 is live"},
		}}}},
	}
}

func recordsOf(recs []Record, typ string) []Record {
	var out []Record
	for _, r := range recs {
		if r.Type == typ {
			out = append(out, r)
		}
	}
	return out
}

func (h *harness) warnings(code string) []Warning {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []Warning
	for _, ev := range h.events {
		if w, ok := ev.(Warning); ok && w.Code == code {
			out = append(out, w)
		}
	}
	return out
}

// TestNotifyRetriesA5xx: a webhook that answers 500 twice, then 200, gets
// the message on the third attempt, and the release succeeds.
func TestNotifyRetriesA5xx(t *testing.T) {
	tests := []struct {
		name     string
		pipeline func(url string) *spec.Pipeline
		event    spec.NotifyTrigger
	}{
		{"pipeline notify", func(url string) *spec.Pipeline { return quickPipeline(url, 3, spec.NotifyFinished) }, spec.NotifyFinished},
		{"notify step", notifyStepPipeline, spec.NotifyMessage},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			slack := newHook(t, http.StatusInternalServerError, http.StatusInternalServerError)
			h := newHarness(t, Config{Pipeline: tc.pipeline(slack.URL), NotifyBackoff: time.Millisecond})
			final := h.run()
			if final.Status != StatusSucceeded {
				t.Fatalf("run: got %s, want succeeded", final.Status)
			}
			if n := len(slack.requests()); n != 3 {
				t.Errorf("webhook got %d requests, want 3", n)
			}
			recs := h.records()
			sent := recordsOf(recs, RecNotifySent)
			if len(sent) != 1 || sent[0].Attempt != 3 || sent[0].Target != "slack" || sent[0].Event != string(tc.event) {
				t.Errorf("notify.sent records: got %+v, want one for slack/%s after 3 attempts", sent, tc.event)
			}
			if failed := recordsOf(recs, RecNotifyFailed); len(failed) != 0 {
				t.Errorf("notify.failed records: got %+v, want none", failed)
			}
			if w := h.warnings(WarnNotifyFailed); len(w) != 0 {
				t.Errorf("warnings: got %+v, want none", w)
			}
		})
	}
}

// TestUndeliveredNotificationsDoNotFailTheRelease: a webhook that never
// takes the message costs a journal record and a warning, never the
// release. Only answers that may change are retried.
func TestUndeliveredNotificationsDoNotFailTheRelease(t *testing.T) {
	tests := []struct {
		name     string
		status   int // 0: nobody listens
		attempts int
		reason   string
	}{
		{"500 is retried", http.StatusInternalServerError, 3, "slack webhook answered 500 Internal Server Error: no hook at /hook"},
		{"429 is retried", http.StatusTooManyRequests, 3, "answered 429 Too Many Requests"},
		{"400 is not", http.StatusBadRequest, 1, "answered 400 Bad Request"},
		{"a refused connection is retried", 0, 3, "connection refused"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			slack := newHook(t)
			slack.always = tc.status
			url := slack.URL + "/hook"
			if tc.status == 0 {
				slack.Close()
			}
			h := newHarness(t, Config{Pipeline: quickPipeline(url, 2, spec.NotifyStarted), NotifyBackoff: time.Millisecond})
			final := h.run()
			if final.Status != StatusSucceeded {
				t.Fatalf("run: got %s, want succeeded", final.Status)
			}
			if n := len(slack.requests()); tc.status != 0 && n != tc.attempts {
				t.Errorf("webhook got %d requests, want %d", n, tc.attempts)
			}
			recs := h.records()
			failed := recordsOf(recs, RecNotifyFailed)
			if len(failed) != 1 || failed[0].Attempt != tc.attempts || failed[0].Target != "slack" || failed[0].Event != string(spec.NotifyStarted) ||
				!strings.Contains(failed[0].Reason, tc.reason) {
				t.Errorf("notify.failed records: got %+v, want one for slack/started after %d attempts saying %q", failed, tc.attempts, tc.reason)
			}
			if sent := recordsOf(recs, RecNotifySent); len(sent) != 0 {
				t.Errorf("notify.sent records: got %+v, want none", sent)
			}
			w := h.warnings(WarnNotifyFailed)
			if want := fmt.Sprintf("not delivered after %s", plural(tc.attempts, "attempt")); len(w) != 1 || !strings.Contains(w[0].Message, want) {
				t.Errorf("warnings: got %+v, want one saying %q", w, want)
			}
		})
	}
}

// TestNotifyStepSucceedsUndelivered: a notify step whose message cannot be
// delivered succeeds, and says so.
func TestNotifyStepSucceedsUndelivered(t *testing.T) {
	slack := newHook(t)
	slack.always = http.StatusServiceUnavailable
	h := newHarness(t, Config{Pipeline: notifyStepPipeline(slack.URL), NotifyBackoff: time.Millisecond})
	final := h.run()
	st := stageStatus(t, final, "s")
	if final.Status != StatusSucceeded || st.Steps[0].Status != StatusSucceeded ||
		!strings.Contains(st.Steps[0].Reason, "not delivered to slack (slack webhook answered 503") {
		t.Errorf("run %s, step %s (%s); want both succeeded, the reason naming the failed delivery", final.Status, st.Steps[0].Status, st.Steps[0].Reason)
	}
	if n := len(slack.requests()); n != 1+defaultNotifyRetries {
		t.Errorf("webhook got %d requests, want %d", n, 1+defaultNotifyRetries)
	}
	if failed := recordsOf(h.records(), RecNotifyFailed); len(failed) != 1 || failed[0].Step != "tell" || failed[0].Event != string(spec.NotifyMessage) {
		t.Errorf("notify.failed records: got %+v, want one for step tell", failed)
	}
}

// TestNotificationSecretsAreMasked: the webhook URLs and a secret in a
// message appear in no event, journal record, reason or payload, even when
// a webhook's error quotes its path.
func TestNotificationSecretsAreMasked(t *testing.T) {
	const token = "tok-hunter2-5521"
	slack := newHook(t, http.StatusInternalServerError) // whose body quotes the path
	slackURL := slack.URL + "/services/T0AAAA/B0BBBB/slacksecret7781"
	dead := newHook(t)
	dead.Close()
	teamsURL := dead.URL + "/workflows/abc/invoke?api-version=1&sig=teamssecret9903"
	doc := `
apiVersion: cutover.dev/v1alpha1
kind: Pipeline
metadata: {name: secrets}
secretEnv: [SLACK_WEBHOOK, TEAMS_WEBHOOK, TOKEN]
notify:
  slack: ${SLACK_WEBHOOK}
  teams:
    webhook: ${TEAMS_WEBHOOK}
  on: [started, failed, finished]
  retries: 0
stages:
  - name: s
    budget: 1m
    steps:
      - name: tell
        notify:
          message: "deploying with ${TOKEN}"
      - name: fail
        run: exit 3
`
	set := map[string]string{"SLACK_WEBHOOK": slackURL, "TEAMS_WEBHOOK": teamsURL, "TOKEN": token}
	p, err := spec.Load("secrets.yaml", []byte(doc), spec.Vars(set, nil))
	if err != nil {
		t.Fatal(err)
	}
	vars, secrets := p.Exports(set, spec.Vars(nil, nil))
	h := newHarness(t, Config{Pipeline: p, Vars: vars, Secrets: secrets, NotifyBackoff: time.Millisecond})
	final := h.run()
	if final.Status != StatusFailed {
		t.Fatalf("run: got %s, want failed (a step exits 3)", final.Status)
	}
	leaks := []string{slackURL, teamsURL, "slacksecret7781", "teamssecret9903", token}
	check := func(what, s string) {
		t.Helper()
		for _, l := range leaks {
			if strings.Contains(s, l) {
				t.Errorf("%s carries %q: %s", what, l, s)
			}
		}
	}
	h.mu.Lock()
	events := append([]Event(nil), h.events...)
	h.mu.Unlock()
	for _, ev := range events {
		b, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		check("event "+ev.Type(), string(b))
	}
	raw, err := os.ReadFile(filepath.Join(h.dir, JournalFile))
	if err != nil {
		t.Fatal(err)
	}
	check("journal", string(raw))
	for _, st := range final.Stages {
		check("stage reason", st.Reason)
		for _, step := range st.Steps {
			check("step reason", step.Reason)
		}
	}
	// The paths that could leak were taken: a Slack error quoting the
	// webhook's path, and a Teams webhook nobody answers.
	recs := h.records()
	targets := map[string]int{}
	for _, r := range recordsOf(recs, RecNotifyFailed) {
		targets[r.Target]++
	}
	if targets["slack"] != 1 || targets["teams"] != 4 || !strings.Contains(string(raw), "no hook at ***") {
		t.Errorf("notify.failed records: got %v, want one for slack, quoting its path masked, and four for teams (started, the step, failed, finished)", targets)
	}
	if sent := recordsOf(recs, RecNotifySent); len(sent) != 3 {
		t.Errorf("notify.sent records: got %+v, want three for slack", sent)
	}
	var told bool
	for _, r := range slack.requests() {
		check("slack payload", string(r.body))
		told = told || strings.Contains(string(r.body), "deploying with ***")
	}
	if !told {
		t.Errorf("slack never got the step's message, masked")
	}
}

// TestAbortEndsTheWaitForNotifications: a finished run waits for its last
// notifications, unless someone insists on stopping.
func TestAbortEndsTheWaitForNotifications(t *testing.T) {
	slack := newHook(t)
	slack.hold = make(chan struct{})
	t.Cleanup(func() { close(slack.hold) }) // before the server closes
	h := newHarness(t, Config{Pipeline: quickPipeline(slack.URL, 3, spec.NotifyFinished)})
	done := h.start()
	slack.await(t, "quick succeeded")
	select {
	case <-done:
		t.Fatal("Run returned before its last notification was answered")
	case <-time.After(100 * time.Millisecond):
	}
	if err := h.eng.Abort(Actor{Name: "alice"}, "done waiting"); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Abort after the run: got %v, want ErrNotRunning", err)
	}
	select {
	case final := <-done:
		if final.Status != StatusSucceeded {
			t.Errorf("run: got %s, want succeeded", final.Status)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run still waits for the notification after Abort")
	}
	failed := recordsOf(h.records(), RecNotifyFailed)
	if len(failed) != 1 || !strings.Contains(failed[0].Reason, "stopped") {
		t.Errorf("notify.failed records: got %+v, want one saying it was stopped", failed)
	}
}

func TestNotifyDelay(t *testing.T) {
	tests := []struct {
		attempt    int
		retryAfter time.Duration
		want       time.Duration
	}{
		{1, 0, time.Second},
		{2, 0, 2 * time.Second},
		{3, 0, 4 * time.Second},
		{1, 10 * time.Second, 10 * time.Second},
		{3, time.Second, 4 * time.Second},
		{1, time.Hour, maxNotifyDelay},
		{40, 0, maxNotifyDelay},
	}
	for _, tc := range tests {
		if got := notifyDelay(time.Second, tc.attempt, tc.retryAfter); got != tc.want {
			t.Errorf("after attempt %d, Retry-After %s: got %s, want %s", tc.attempt, tc.retryAfter, got, tc.want)
		}
	}
}

func TestNotifyEnabled(t *testing.T) {
	slack := &spec.SlackTarget{Webhook: "https://hooks.example/x"}
	tests := []struct {
		name string
		spec *spec.NotifySpec
		t    spec.NotifyTrigger
		want bool
	}{
		{"no notify", nil, spec.NotifyStarted, false},
		{"no target", &spec.NotifySpec{On: []spec.NotifyTrigger{spec.NotifyStarted}}, spec.NotifyStarted, false},
		{"on omitted means all", &spec.NotifySpec{Slack: slack}, spec.NotifyRolledBack, true},
		{"listed", &spec.NotifySpec{Slack: slack, On: []spec.NotifyTrigger{spec.NotifyFailed, spec.NotifyRolledBack}}, spec.NotifyRolledBack, true},
		{"not listed", &spec.NotifySpec{Slack: slack, On: []spec.NotifyTrigger{spec.NotifyFailed}}, spec.NotifyStarted, false},
	}
	for _, tc := range tests {
		if got := tc.spec.Enabled(tc.t); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestAutoApproveAsksNobody: with --auto-approve a gate needs no person,
// so nobody is asked to approve.
func TestAutoApproveAsksNobody(t *testing.T) {
	slack := newHook(t)
	p := quickPipeline(slack.URL, 0, spec.NotifyApproval, spec.NotifyFinished)
	p.Stages[0].Steps = []spec.Step{{Name: "gate", Approve: "ship it?"}}
	h := newHarness(t, Config{Pipeline: p, AutoApprove: true})
	if final := h.run(); final.Status != StatusSucceeded {
		t.Fatalf("run: got %s, want succeeded", final.Status)
	}
	var heads []string
	for _, r := range slack.requests() {
		heads = append(heads, slackHeadline(decodeSlack(t, r)))
	}
	if len(heads) != 1 || !strings.HasPrefix(heads[0], "quick succeeded in ") {
		t.Errorf("messages: got %q, want only that the run finished", heads)
	}
}
