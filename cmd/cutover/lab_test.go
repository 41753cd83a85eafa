package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cutover-sh/cutover/engine/spec"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cutover-sh/cutover/engine"
	"github.com/cutover-sh/cutover/testenv"
)

// The lab: examples/lab/pipeline.yaml on the test control plane with kwok,
// a real Prometheus, blue and green sample-app processes behind the test
// router, a webhook recorder standing in for Slack, and users sending a
// steady stream of requests through the router.
type lab struct {
	c                    *testenv.Cluster
	prod, staging        string
	live                 func() string
	blue, green, stageUp *testenv.SampleApp
	router               *testenv.Router
	prom                 *testenv.Prometheus
	hooks                *hookRecorder
	users                *users
	state                string
}

const labPipeline = "../../examples/lab/pipeline.yaml"

// startLab starts the lab with green failing greenErrors of its requests.
func startLab(ctx context.Context, t *testing.T, greenErrors float64) *lab {
	t.Helper()
	l := &lab{state: t.TempDir()}
	l.c, l.prod, l.live = pairOnCluster(ctx, t, testenv.Pair{Name: "web", Live: "blue", BlueImage: "web:v1", GreenImage: "web:v1", Blue: 2, Green: 0})
	var err error
	if l.staging, err = testenv.Namespace(ctx, l.c.Client); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	app := func(ns, color, version string, errRatio float64) *testenv.SampleApp {
		a, err := testenv.StartSampleApp(ctx, exe, []string{beMain + "=1"}, "demo", "app",
			"--namespace", ns, "--service", "web-service", "--color", color, "--version", version,
			"--error-ratio", strconv.FormatFloat(errRatio, 'f', -1, 64), "--latency", "20ms")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(a.Stop)
		return a
	}
	l.blue = app(l.prod, "blue", "v1", 0)
	l.green = app(l.prod, "green", "v2", greenErrors)
	l.stageUp = app(l.staging, "staging", "v2", 0)
	if l.router, err = testenv.StartRouter(ctx, l.c.Client, l.prod, "web-service", "color", map[string]string{"blue": l.blue.Addr, "green": l.green.Addr}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.router.Stop)
	if l.prom, err = testenv.StartPrometheus(ctx, t.TempDir(), []string{l.blue.Addr, l.green.Addr, l.stageUp.Addr}, "../../examples/lab/alerts.rules.yml"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.prom.Stop)
	l.hooks = startHookRecorder(t)
	l.users = startUsers(t, "http://"+l.router.Addr+"/", "http://"+l.green.Addr+"/")
	if err := l.prom.WaitForRequests(ctx, "web-service"); err != nil {
		t.Fatal(err)
	}
	return l
}

// args runs the lab's pipeline on the lab, with extra flags.
func (l *lab) args(extra ...string) []string {
	return append([]string{
		"run", labPipeline, "--kubeconfig", l.c.Kubeconfig, "--state-dir", l.state,
		"--set", "PROD_NS=" + l.prod, "--set", "STAGING_NS=" + l.staging,
		"--set", "STAGING_URL=http://" + l.stageUp.Addr, "--set", "PROM_URL=" + l.prom.URL,
		"--set", "SLACK_WEBHOOK=" + l.hooks.url,
	}, extra...)
}

func (l *lab) journal(t *testing.T) []engine.Record {
	t.Helper()
	recs, _, err := engine.ReadJournal(l.state)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func find(recs []engine.Record, typ string) []engine.Record {
	var out []engine.Record
	for _, r := range recs {
		if r.Type == typ {
			out = append(out, r)
		}
	}
	return out
}

// TestLabGoodRelease: blue to green with real parts. Every stage passes,
// the load test meets the guide's thresholds, the Service ends on green
// and blue is scaled down after the delay, the history shows the run's
// stage times, and Slack heard about it.
func TestLabGoodRelease(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	l := startLab(ctx, t, 0)
	code, out, errOut := cli(t, "approve\n", nil, l.args("--plain")...)
	if code != 0 {
		t.Fatalf("exit %d, want 0\n%s\n%s", code, out, errOut)
	}
	recs := l.journal(t)
	stages := find(recs, engine.RecStageFinished)
	if len(stages) != 5 {
		t.Errorf("%d stages finished, want 5", len(stages))
	}
	for _, s := range stages {
		if s.Status != engine.StatusSucceeded {
			t.Errorf("stage %s %s, want succeeded", s.Stage, s.Status)
		}
	}

	loads := find(recs, engine.RecLoadTest)
	if len(loads) != 1 || loads[0].Load == nil {
		t.Fatalf("%d load test summaries, want 1", len(loads))
	}
	sum := loads[0].Load
	t.Logf("load test: %s", sum)
	if sum.P95 >= 2*time.Second || sum.ErrorRate >= 0.05 || sum.Rate < 10 || sum.Requests == 0 {
		t.Errorf("load test %s: want p95 < 2s, errors < 5%%, at least 10 req/s", sum)
	}

	if got := l.live(); got != "green" {
		t.Errorf("the Service selects %s, want green", got)
	}
	if got := l.router.Live(); got != "green" {
		t.Errorf("the router sends traffic to %s, want green", got)
	}
	blue, err := l.c.Client.AppsV1().Deployments(l.prod).Get(ctx, "web-blue", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	switched, finished := find(recs, engine.RecReleaseSwitched), find(recs, engine.RecReleaseFinished)
	if len(switched) != 1 || len(finished) != 1 {
		t.Fatalf("%d switches and %d finished releases in the journal, want 1 and 1", len(switched), len(finished))
	}
	if *blue.Spec.Replicas != 0 || finished[0].Time.Sub(switched[0].Time) < 5*time.Second {
		t.Errorf("blue has %d replicas, scaled %s after the switch; want 0, at least the 5s delay after",
			*blue.Spec.Replicas, finished[0].Time.Sub(switched[0].Time))
	}

	code, hist, errOut := cli(t, "", nil, "history", "--state-dir", l.state)
	if code != 0 {
		t.Fatalf("history: exit %d\n%s", code, errOut)
	}
	for _, stage := range []string{"checks", "staging-deploy", "load-test", "production", "monitoring"} {
		if !regexp.MustCompile(`(?m)^` + stage + `\s+\S+\s+[0-9.]+(ms|s|m\S*)\s`).MatchString(hist) {
			t.Errorf("history has no time for stage %s:\n%s", stage, hist)
		}
	}
	if !strings.Contains(hist, "Pipeline lab: 1 run") {
		t.Errorf("history does not show the run:\n%s", hist)
	}

	// started, approval, promoted and finished, and the announce step.
	msgs := l.hooks.messages()
	if len(msgs) != 5 || !strings.Contains(strings.Join(msgs, "\n"), "web v2 is live in "+l.prod) {
		t.Errorf("Slack received %d messages, want 5 with the announcement:\n%s", len(msgs), strings.Join(msgs, "\n"))
	}
	u := l.users.snapshot()
	t.Logf("users during the release: %s", u)
}

// TestLabBadReleaseRollsBack: green fails 20% of its requests. The
// post-promotion analysis measures it, cutover switches back to blue by
// itself, the router follows, the journal tells who did what with which
// values, and the exit code is 3.
func TestLabBadReleaseRollsBack(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	l := startLab(ctx, t, 0.2)
	code, out, errOut := cli(t, "approve\n", nil, l.args("--plain")...)
	if code != exitRolledBack {
		t.Fatalf("exit %d, want %d\n%s\n%s", code, exitRolledBack, out, errOut)
	}
	recs := l.journal(t)
	var failed *engine.Record
	for _, r := range find(recs, engine.RecMeasurement) {
		if r.Metric == "post-promotion/error-rate" && r.Verdict == engine.VerdictFail {
			failed = &r
		}
	}
	if failed == nil {
		t.Fatalf("no failed post-promotion measurement in the journal:\n%s", out)
	}
	if v, err := strconv.ParseFloat(failed.Value, 64); err != nil || v < 0.05 || !strings.Contains(failed.Query, `color="green"`) {
		t.Errorf("failed measurement %s = %s of %s: want green's error rate, at least 0.05", failed.Metric, failed.Value, failed.Query)
	}
	approved, switched, finished := find(recs, engine.RecGateApproved), find(recs, engine.RecReleaseSwitched), find(recs, engine.RecReleaseFinished)
	if len(approved) != 1 || approved[0].Actor == nil || approved[0].Actor.Name == "" {
		t.Errorf("approvals %+v: want one, with who approved", approved)
	}
	if len(switched) != 2 || switched[0].To != spec.Green || switched[1].To != spec.Blue ||
		switched[0].Actor == nil || *switched[0].Actor != *approved[0].Actor || switched[1].Actor == nil || *switched[1].Actor != engine.AnalysisActor {
		t.Fatalf("switches %+v: want one to green by the approver, then one back to blue by the analysis", switched)
	}
	if len(finished) != 1 || finished[0].Phase != engine.PhaseRolledBack || !strings.Contains(finished[0].Reason, "post-promotion analysis failed") {
		t.Fatalf("releases finished %+v: want one, rolled back because the analysis failed", finished)
	}
	t.Logf("journal: approved by %s; switched to green by %s; measured %s = %s; switched back to blue by %s: %s",
		approved[0].Actor, switched[0].Actor, failed.Metric, failed.Value, switched[1].Actor, finished[0].Reason)
	if got := l.live(); got != "blue" {
		t.Errorf("the Service selects %s, want blue", got)
	}
	if _, err := l.users.servedBy("blue", switched[1].Time, 30*time.Second); err != nil {
		t.Errorf("after the rollback: %v (the router sends to %s)", err, l.router.Live())
	}
	u := l.users.snapshot()
	t.Logf("users: %s", u)
	if u.lost != 0 || u.served["green"] == 0 || u.injected == 0 {
		t.Errorf("users: %s; want green to have served some, with errors, and none lost to the switches", u)
	}
}

// TestLabRollbackKeyInTmux: during post-promotion analysis, r then y in
// the console in tmux switches traffic back to blue. The time from the
// key to the first user request blue serves is the guide's RTO (target
// under 15 minutes).
func TestLabRollbackKeyInTmux(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	l := startLab(ctx, t, 0)
	// A long post-promotion analysis, to press the keys during it.
	p := startPane(t, 120, 40, nil, l.args("--set", "POST_INTERVAL=30s")...)
	p.waitFor("waiting for approval", 2*time.Minute)
	p.keys("a")
	p.waitFor("phase post-promotion-analysis", 2*time.Minute)
	if got := l.live(); got != "green" {
		t.Fatalf("during post-promotion analysis the Service selects %s, want green", got)
	}
	if _, err := l.users.servedBy("green", time.Now(), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	p.keys("r")
	p.waitFor("Press y to confirm", 10*time.Second)
	pressed := time.Now()
	p.keys("y")
	served, err := l.users.servedBy("blue", pressed, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("RTO: %s from the y key to the first user request served by blue", served.Sub(pressed).Round(time.Millisecond))
	p.waitFor("ROLLED BACK", time.Minute)
	if got := l.live(); got != "blue" {
		t.Errorf("after the rollback the Service selects %s, want blue", got)
	}
	u := l.users.snapshot()
	t.Logf("users: %s", u)
	if u.lost != 0 {
		t.Errorf("%d requests lost to the switches: %s", u.lost, u)
	}
	p.keys("q")
	p.waitFor("EXIT=3", 30*time.Second)
}

// TestLabZeroDowntime: users send a steady stream through the router while
// a good release switches to green, and while an engineer rolls back to
// the still-warm blue during the scale-down delay (cutover run as a
// process, typed to on stdin). Not one request fails.
func TestLabZeroDowntime(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	l := startLab(ctx, t, 0)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, exe, l.args("--plain", "--set", "SCALE_DOWN_DELAY=10m")...)
	cmd.Env = append(os.Environ(), beMain+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var atSwitch, atRollback counts
	var rolledAt time.Time
	sc := bufio.NewScanner(stdout)
	var log strings.Builder
	for sc.Scan() {
		line := sc.Text()
		log.WriteString(line + "\n")
		switch {
		case strings.Contains(line, "waiting for approval"):
			atSwitch = l.users.snapshot()
			_, _ = io.WriteString(stdin, "approve\n")
		case strings.Contains(line, "scale-down-delay") && rolledAt.IsZero():
			// Green has served users since the switch; blue is still up.
			if _, err := l.users.servedBy("green", time.Now(), 10*time.Second); err != nil {
				t.Error(err)
			}
			atRollback = l.users.snapshot()
			rolledAt = time.Now()
			_, _ = io.WriteString(stdin, "rollback zero-downtime drill: back to warm blue\n")
		}
	}
	code := waitExit(t, cmd)
	if code != exitRolledBack {
		t.Fatalf("exit %d, want %d\n%s", code, exitRolledBack, log.String())
	}
	if _, err := l.users.servedBy("blue", rolledAt, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	// Users go on for two more seconds on blue alone.
	for l.users.snapshot().since(atRollback).served["blue"] < 40 {
		time.Sleep(50 * time.Millisecond)
	}
	blue, err := l.c.Client.AppsV1().Deployments(l.prod).Get(ctx, "web-blue", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *blue.Spec.Replicas != 2 {
		t.Errorf("blue has %d replicas, want its 2: the rollback was to be warm", *blue.Spec.Replicas)
	}
	end := l.users.snapshot()
	t.Logf("users: before the switch %s; switch to green %s; warm rollback to blue %s",
		atSwitch, atRollback.since(atSwitch), end.since(atRollback))
	if end.lost != 0 || end.served["green"] == 0 || end.sent < 100 {
		t.Errorf("users: %s; want no request lost, green to have served some, and at least 100 sent", end)
	}
}

// users send a request every 50 ms through the router, as the service's
// users would, and a smoke request every 500 ms to the preview (green),
// as a preview Service would carry; only the users' requests are counted.
type users struct {
	mu     sync.Mutex
	c      counts
	events []served
}

type served struct {
	color string
	end   time.Time
	start time.Time
}

// counts are the users' requests so far. A 500 from an app is an error
// injected on purpose; anything else that is not a 200 (no answer, or the
// router's 502 or 503) is a request lost to the switch.
type counts struct {
	sent, injected, lost int
	served               map[string]int
	lostWhy              []string
}

func (c counts) String() string {
	return fmt.Sprintf("%d sent, %d served by blue, %d by green, %d failed on purpose (500), %d lost",
		c.sent, c.served["blue"], c.served["green"], c.injected, c.lost)
}

// since is what happened between b and c.
func (c counts) since(b counts) counts {
	d := counts{sent: c.sent - b.sent, injected: c.injected - b.injected, lost: c.lost - b.lost, served: map[string]int{}}
	for k, v := range c.served {
		d.served[k] = v - b.served[k]
	}
	return d
}

func startUsers(t *testing.T, target, preview string) *users {
	t.Helper()
	u := &users{c: counts{served: map[string]int{}}}
	ctx, cancel := context.WithCancel(context.Background())
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: (&net.Dialer{}).DialContext, MaxIdleConnsPerHost: 32}}
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	wg.Go(func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for n := 0; ; n++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			wg.Go(func() { u.request(ctx, client, target) })
			if n%10 == 0 {
				wg.Go(func() { _, _, _ = get(ctx, client, preview) })
			}
		}
	})
	return u
}

// get returns the status of a GET and the color that answered it.
func get(ctx context.Context, client *http.Client, url string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer func() { _ = resp.Body.Close() }()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header.Get("X-Color"), nil
}

func (u *users) request(ctx context.Context, client *http.Client, target string) {
	start := time.Now()
	code, color, err := get(ctx, client, target)
	if ctx.Err() != nil {
		return // the test is over
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	u.c.sent++
	switch {
	case err != nil:
		u.c.lost++
		u.c.lostWhy = append(u.c.lostWhy, err.Error())
	case code == http.StatusOK:
		u.c.served[color]++
		u.events = append(u.events, served{color: color, start: start, end: time.Now()})
	case code == http.StatusInternalServerError && color != "":
		u.c.injected++
		u.events = append(u.events, served{color: color, start: start, end: time.Now()})
	default:
		u.c.lost++
		u.c.lostWhy = append(u.c.lostWhy, http.StatusText(code))
	}
}

func (u *users) snapshot() counts {
	u.mu.Lock()
	defer u.mu.Unlock()
	c := u.c
	c.served = map[string]int{}
	for k, v := range u.c.served {
		c.served[k] = v
	}
	c.lostWhy = append([]string(nil), u.c.lostWhy...)
	return c
}

// servedBy waits for the first user request sent at or after from that
// color answered, and returns when the answer came.
func (u *users) servedBy(color string, from time.Time, within time.Duration) (time.Time, error) {
	deadline := time.Now().Add(within)
	for {
		u.mu.Lock()
		for _, e := range u.events {
			if e.color == color && !e.start.Before(from) {
				u.mu.Unlock()
				return e.end, nil
			}
		}
		u.mu.Unlock()
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("no user request sent after %s was served by %s within %s", from.Format("15:04:05.000"), color, within)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// hookRecorder stands in for Slack: it records the text of each message.
type hookRecorder struct {
	url  string
	mu   sync.Mutex
	msgs []string
}

func startHookRecorder(t *testing.T) *hookRecorder {
	t.Helper()
	h := &hookRecorder{}
	l, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{ReadHeaderTimeout: time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.msgs = append(h.msgs, string(b))
		h.mu.Unlock()
		_, _ = io.WriteString(w, "ok")
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	h.url = "http://" + l.Addr().String() + "/services/T0LAB/B0LAB/lab"
	return h
}

func (h *hookRecorder) messages() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.msgs...)
}
