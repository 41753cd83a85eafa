package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"net"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/prometheus/common/model"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
)

// LocalTarget is one endpoint to scrape.
type LocalTarget struct {
	// Job is the job label of every series scraped from the target.
	Job string
	// Addr is a loopback IP and port, like 127.0.0.1:8080; the target is
	// scraped at http://Addr/metrics. A name such as localhost is refused
	// because resolving it could ask a DNS server.
	Addr string
	// Labels are added to every series of the target, as Kubernetes
	// discovery adds namespace and pod. Like the target labels of a real
	// Prometheus, they win over labels the target exposes itself, which
	// are kept under exported_<name>.
	Labels map[string]string
}

// LocalOptions say what a Local scrapes.
type LocalOptions struct {
	Targets []LocalTarget
	// Interval is the scrape interval (default 1s).
	Interval time.Duration
	// Logger receives scrape failures and storage messages; nil discards
	// them, as a console that owns the terminal must not print.
	Logger *slog.Logger
}

// Local is a Prometheus-compatible server: it scrapes its targets into a
// head block of its own (head), and answers the HTTP API's query endpoints
// (/api/v1/query, /api/v1/query_range) with the real PromQL engine. It
// evaluates no rules, so ALERTS is always empty.
type Local struct {
	// Addr is the host:port the API listens on, on 127.0.0.1.
	Addr string

	cancel   context.CancelFunc
	wg       sync.WaitGroup
	stopOnce sync.Once
	dir      string
	db       *head
	engine   *promql.Engine
	client   *http.Client
	logger   *slog.Logger
	interval time.Duration
}

const (
	// Retention bounds disk for a console left running: every block's
	// length, the chunks that end before the retention are dropped and
	// their files deleted, so disk holds at most 40 minutes of samples.
	// Memory holds only each series' open chunk.
	localRetention = 30 * time.Minute
	localBlock     = 10 * time.Minute
	// A target may not make the console hold more than this at once.
	maxScrapeBytes = 16 << 20
	// Prometheus refuses range queries with more points than this.
	maxPointsPerSeries = 11000
)

// StartLocal starts scraping o.Targets and serving the API. Both run until
// Stop or until ctx is done; Stop must be called either way, as it removes
// the storage's temporary directory.
func StartLocal(ctx context.Context, o LocalOptions) (*Local, error) {
	targets, err := localTargets(o.Targets)
	if err != nil {
		return nil, err
	}
	if o.Interval <= 0 {
		o.Interval = time.Second
	}
	logger := o.Logger
	if logger == nil {
		logger = promslog.NewNopLogger()
	}

	// The head writes full chunks to files in dir. Nothing survives
	// Stop, so there is no write-ahead log.
	dir, err := os.MkdirTemp("", "cutover-prom-*")
	if err != nil {
		return nil, fmt.Errorf("local prometheus storage: %w", err)
	}
	db, err := openHead(dir, logger)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("local prometheus storage in %s: %w", dir, err)
	}

	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		_ = db.Close()
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("local prometheus listen on 127.0.0.1: %w", err)
	}

	interval := o.Interval
	l := &Local{
		Addr: ln.Addr().String(),
		dir:  dir,
		db:   db,
		engine: promql.NewEngine(promql.EngineOpts{
			Logger:               logger,
			MaxSamples:           5e6,
			Timeout:              30 * time.Second,
			EnableAtModifier:     true,
			EnableNegativeOffset: true,
			// A subquery without a step takes Prometheus's rule evaluation
			// interval; there are no rules here, and the scrape interval is
			// the finest resolution the data has.
			NoStepSubqueryIntervalFn: func(int64) int64 { return interval.Milliseconds() },
		}),
		client:   scrapeClient(),
		logger:   logger,
		interval: interval,
	}
	runCtx, cancel := context.WithCancel(ctx)
	l.cancel = cancel

	srv := &http.Server{
		Handler:           l.routes(),
		ReadHeaderTimeout: 10 * time.Second,
		// Queries in flight end with the server.
		BaseContext: func(net.Listener) context.Context { return runCtx },
	}
	l.wg.Go(func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("local prometheus API stopped", "addr", l.Addr, "err", err)
		}
	})
	l.wg.Go(func() {
		<-runCtx.Done()
		sctx, scancel := context.WithTimeout(context.Background(), time.Second)
		defer scancel()
		if err := srv.Shutdown(sctx); err != nil {
			_ = srv.Close()
		}
	})
	for _, t := range targets {
		l.wg.Go(func() { l.scrapeLoop(runCtx, t) })
	}
	l.wg.Go(func() { l.retain(runCtx) })
	return l, nil
}

// retain applies the retention every block's length until ctx is done.
func (l *Local) retain(ctx context.Context) {
	tick := time.NewTicker(localBlock)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			if err := l.db.truncate(now.Add(-localRetention).UnixMilli()); err != nil {
				l.logger.Warn("apply local prometheus retention", "dir", l.dir, "err", err)
			}
		}
	}
}

// Stop stops scraping and serving, waits for both to end, and removes the
// storage. It may be called more than once.
func (l *Local) Stop() {
	l.stopOnce.Do(func() {
		l.cancel()
		l.wg.Wait()
		l.client.CloseIdleConnections()
		if err := l.engine.Close(); err != nil {
			l.logger.Warn("close local prometheus query engine", "err", err)
		}
		if err := l.db.Close(); err != nil {
			l.logger.Warn("close local prometheus storage", "dir", l.dir, "err", err)
		}
		if err := os.RemoveAll(l.dir); err != nil {
			l.logger.Warn("remove local prometheus storage", "dir", l.dir, "err", err)
		}
	})
}

// target is a LocalTarget checked and turned into what a scrape needs.
type target struct {
	url    string
	labels labels.Labels // job, instance and the extra labels
}

func localTargets(in []LocalTarget) ([]target, error) {
	out := make([]target, 0, len(in))
	seen := map[string]bool{}
	for _, t := range in {
		host, _, err := net.SplitHostPort(t.Addr)
		if err != nil {
			return nil, fmt.Errorf("scrape target %q: %w", t.Addr, err)
		}
		if ip, err := netip.ParseAddr(host); err != nil || !ip.IsLoopback() {
			return nil, fmt.Errorf("scrape target %q: want a loopback IP and port, like 127.0.0.1:8080", t.Addr)
		}
		if t.Job == "" {
			return nil, fmt.Errorf("scrape target %s: no job name", t.Addr)
		}
		key := t.Job + " " + t.Addr
		if seen[key] {
			return nil, fmt.Errorf("scrape target %s of job %s is listed twice", t.Addr, t.Job)
		}
		seen[key] = true
		b := labels.NewBuilder(labels.EmptyLabels())
		for _, k := range slices.Sorted(maps.Keys(t.Labels)) {
			v := t.Labels[k]
			switch {
			case k == "" || !utf8.ValidString(k) || !utf8.ValidString(v):
				return nil, fmt.Errorf("scrape target %s: label %q=%q is not valid UTF-8 or has no name", t.Addr, k, v)
			case k == model.JobLabel || k == model.InstanceLabel:
				return nil, fmt.Errorf("scrape target %s: label %s comes from the target's Job and Addr, not its Labels", t.Addr, k)
			case len(k) >= 2 && k[:2] == "__":
				return nil, fmt.Errorf("scrape target %s: label names starting with __ are reserved, got %s", t.Addr, k)
			}
			b.Set(k, v)
		}
		b.Set(model.JobLabel, t.Job)
		b.Set(model.InstanceLabel, t.Addr)
		out = append(out, target{url: "http://" + t.Addr + "/metrics", labels: b.Labels()})
	}
	return out, nil
}

// Why a scrape loop of our own rather than the scrape package's Manager:
// Manager.ApplyConfig computes a jitter seed from the host's FQDN, which
// means a forward and a reverse DNS lookup of the hostname, and the
// console must not talk to anything beyond loopback. The Manager's
// scrapePool is unexported, so it cannot be used without ApplyConfig. The
// loop below keeps the parts of a scrape that queries can observe: the
// real exposition parser, target labels that win over exposed ones
// (honor_labels: false), the sample's own timestamp when it has one,
// staleness markers for series that vanish, and up.

// scrapeClient dials loopback only, checked on the resolved address, so
// neither a target nor a redirect can make the console connect elsewhere.
func scrapeClient() *http.Client {
	d := &net.Dialer{
		Timeout: 5 * time.Second,
		Control: func(_, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return err
			}
			if ip, err := netip.ParseAddr(host); err != nil || !ip.IsLoopback() {
				return fmt.Errorf("refusing to scrape %s: not a loopback address", address)
			}
			return nil
		},
	}
	return &http.Client{Transport: &http.Transport{
		Proxy:               nil,
		DialContext:         d.DialContext,
		MaxIdleConnsPerHost: 2,
		IdleConnTimeout:     time.Minute,
	}}
}

// scrapeLoop scrapes t every interval until ctx is done. A failed scrape
// writes up 0 and is tried again at the next tick.
func (l *Local) scrapeLoop(ctx context.Context, t target) {
	tick := time.NewTicker(l.interval)
	defer tick.Stop()
	var prev map[string]labels.Labels
	var lastErr string
	for {
		var err error
		prev, err = l.scrape(ctx, t, prev)
		if ctx.Err() != nil {
			return
		}
		switch {
		case err != nil && err.Error() != lastErr:
			l.logger.Warn("scrape failed", "target", t.url, "err", err)
			lastErr = err.Error()
		case err == nil && lastErr != "":
			l.logger.Info("scrape recovered", "target", t.url)
			lastErr = ""
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// scrape appends one scrape of t and its up sample. prev holds the series
// the previous scrape wrote, keyed by their labels; the ones missing now get
// a staleness marker, so they vanish from queries at once rather than
// lingering for the lookback delta. It returns this scrape's series.
func (l *Local) scrape(ctx context.Context, t target, prev map[string]labels.Labels) (map[string]labels.Labels, error) {
	start := time.Now()
	ts := start.UnixMilli()
	body, contentType, err := l.fetch(ctx, t.url)
	if ctx.Err() != nil {
		// Stopping is not the target's failure: no up 0 for it.
		return prev, nil
	}
	var cur map[string]labels.Labels
	if err == nil {
		app := l.db.AppenderV2(ctx)
		if cur, err = appendExposition(app, body, contentType, t.labels, ts); err != nil {
			_ = app.Rollback()
			cur = nil
		} else if err = app.Commit(); err != nil {
			err = fmt.Errorf("store scrape of %s: %w", t.url, err)
			cur = nil
		}
	}

	app := l.db.AppenderV2(ctx)
	stale := math.Float64frombits(value.StaleNaN)
	for k, ls := range prev {
		if _, ok := cur[k]; !ok {
			// A series that already has a later sample keeps it; that is
			// all an error here can mean.
			_, _ = app.Append(0, ls, 0, ts, stale, nil, nil, storage.AOptions{})
		}
	}
	up := 1.0
	if err != nil {
		up = 0
	}
	upLabels := labels.NewBuilder(t.labels).Set(model.MetricNameLabel, "up").Labels()
	if _, aerr := app.Append(0, upLabels, 0, ts, up, nil, nil, storage.AOptions{}); aerr != nil {
		_ = app.Rollback()
		return cur, errors.Join(err, fmt.Errorf("store up of %s: %w", t.url, aerr))
	}
	if cerr := app.Commit(); cerr != nil {
		return cur, errors.Join(err, fmt.Errorf("store up of %s: %w", t.url, cerr))
	}
	return cur, err
}

func (l *Local) fetch(ctx context.Context, url string) ([]byte, string, error) {
	// Prometheus's default: the timeout is the interval, at most 10s.
	ctx, cancel := context.WithTimeout(ctx, min(l.interval, 10*time.Second))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, "", fmt.Errorf("scrape %s: %w", url, err)
	}
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	resp, err := l.client.Do(req)
	if err != nil {
		return nil, "", fmt.Errorf("scrape %s: %w", url, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return nil, "", fmt.Errorf("scrape %s: server returned %s", url, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxScrapeBytes+1))
	if err != nil {
		return nil, "", fmt.Errorf("scrape %s: read body: %w", url, err)
	}
	if len(body) > maxScrapeBytes {
		return nil, "", fmt.Errorf("scrape %s: body exceeds %d bytes", url, maxScrapeBytes)
	}
	return body, resp.Header.Get("Content-Type"), nil
}

// appendExposition parses an exposition and appends its samples at ts,
// unless a sample carries its own timestamp. It returns the series it
// wrote without their own timestamp: only those take part in staleness,
// as in Prometheus. A sample the storage refuses (out of order, duplicate)
// is skipped; a parse error fails the whole scrape, as in Prometheus.
func appendExposition(app storage.AppenderV2, body []byte, contentType string, target labels.Labels, ts int64) (map[string]labels.Labels, error) {
	p, err := textparse.New(body, contentType, nil, textparse.ParserOptions{FallbackContentType: "text/plain"})
	if p == nil {
		return nil, fmt.Errorf("parse exposition: %w", err)
	}
	written := map[string]labels.Labels{}
	var lset labels.Labels
	lb := labels.NewBuilder(labels.EmptyLabels())
	for {
		e, err := p.Next()
		if errors.Is(err, io.EOF) {
			return written, nil
		}
		if err != nil {
			return nil, fmt.Errorf("parse exposition: %w", err)
		}
		if e != textparse.EntrySeries {
			// Native histograms come only in formats we do not ask for.
			continue
		}
		_, own, v := p.Series()
		p.Labels(&lset)
		ls := withTargetLabels(lb, lset, target)
		t := ts
		if own != nil {
			t = *own
		}
		if _, err := app.Append(0, ls, 0, t, v, nil, nil, storage.AOptions{}); err != nil {
			continue
		}
		if own == nil {
			written[ls.String()] = ls
		}
	}
}

// withTargetLabels is Prometheus's honor_labels: false: the target's labels
// win, and an exposed label they replace is kept as exported_<name>.
func withTargetLabels(lb *labels.Builder, exposed, target labels.Labels) labels.Labels {
	lb.Reset(exposed)
	var clashes []labels.Label
	target.Range(func(t labels.Label) {
		if v := exposed.Get(t.Name); v != "" {
			clashes = append(clashes, labels.Label{Name: t.Name, Value: v})
		}
		lb.Set(t.Name, t.Value)
	})
	for _, c := range clashes {
		name := c.Name
		for {
			name = model.ExportedLabelPrefix + name
			if lb.Get(name) == "" {
				lb.Set(name, c.Value)
				break
			}
		}
	}
	return lb.Labels()
}

// The HTTP API: the two query endpoints with Prometheus's parameters,
// response envelope, error types and status codes, which is what
// client_golang's api/prometheus/v1 sends and parses.

func (l *Local) routes() http.Handler {
	mux := http.NewServeMux()
	for _, m := range []string{http.MethodGet, http.MethodPost} {
		mux.HandleFunc(m+" /api/v1/query", l.handleQuery)
		mux.HandleFunc(m+" /api/v1/query_range", l.handleQueryRange)
	}
	ready := func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "Prometheus Server is Ready.\n")
	}
	mux.HandleFunc("GET /-/ready", ready)
	mux.HandleFunc("GET /-/healthy", ready)
	return mux
}

type apiError struct {
	typ  string
	code int
	err  error
}

func badData(err error) *apiError {
	return &apiError{typ: "bad_data", code: http.StatusBadRequest, err: err}
}

func badParam(name string, err error) *apiError {
	return badData(fmt.Errorf("invalid parameter %q: %w", name, err))
}

// execError classifies an error of a query that was built, as
// Prometheus's web/api/v1 returnAPIError does.
func execError(err error) *apiError {
	if _, ok := errors.AsType[promql.ErrQueryTimeout](err); ok {
		return &apiError{typ: "timeout", code: http.StatusServiceUnavailable, err: err}
	}
	if _, ok := errors.AsType[promql.ErrQueryCanceled](err); ok || errors.Is(err, context.Canceled) {
		// Prometheus answers 499, nginx's "client closed request".
		return &apiError{typ: "canceled", code: 499, err: err}
	}
	if _, ok := errors.AsType[promql.ErrStorage](err); ok {
		return &apiError{typ: "internal", code: http.StatusInternalServerError, err: err}
	}
	return &apiError{typ: "execution", code: http.StatusUnprocessableEntity, err: err}
}

// buildError classifies an error from building a query: running out of
// time is a timeout, anything else is a bad query.
func buildError(err error) *apiError {
	if _, ok := errors.AsType[promql.ErrQueryTimeout](err); ok {
		return execError(err)
	}
	if _, ok := errors.AsType[promql.ErrQueryCanceled](err); ok {
		return execError(err)
	}
	return badParam("query", err)
}

type response struct {
	Status    string   `json:"status"`
	Data      any      `json:"data,omitempty"`
	ErrorType string   `json:"errorType,omitempty"`
	Error     string   `json:"error,omitempty"`
	Warnings  []string `json:"warnings,omitempty"`
	Infos     []string `json:"infos,omitempty"`
}

type queryData struct {
	ResultType parser.ValueType `json:"resultType"`
	Result     parser.Value     `json:"result"`
}

func (l *Local) handleQuery(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeError(w, badData(fmt.Errorf("parse form: %w", err)))
		return
	}
	at := time.Now()
	if s := r.Form.Get("time"); s != "" {
		var err error
		if at, err = parseTime(s); err != nil {
			writeError(w, badParam("time", err))
			return
		}
	}
	ctx, cancel, aerr := withQueryTimeout(r)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	defer cancel()
	qs := r.Form.Get("query")
	q, err := l.engine.NewInstantQuery(ctx, l.db, nil, qs, at)
	if err != nil {
		writeError(w, buildError(err))
		return
	}
	l.run(ctx, w, q, qs)
}

func (l *Local) handleQueryRange(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeError(w, badData(fmt.Errorf("parse form: %w", err)))
		return
	}
	start, err := parseTime(r.Form.Get("start"))
	if err != nil {
		writeError(w, badParam("start", err))
		return
	}
	end, err := parseTime(r.Form.Get("end"))
	if err != nil {
		writeError(w, badParam("end", err))
		return
	}
	if end.Before(start) {
		writeError(w, badParam("end", errors.New("end timestamp must not be before start time")))
		return
	}
	step, err := parseDuration(r.Form.Get("step"))
	if err != nil {
		writeError(w, badParam("step", err))
		return
	}
	if step <= 0 {
		writeError(w, badParam("step", errors.New("zero or negative query resolution step widths are not accepted. Try a positive integer")))
		return
	}
	if end.Sub(start)/step > maxPointsPerSeries {
		writeError(w, badData(fmt.Errorf("exceeded maximum resolution of %d points per timeseries. Try decreasing the query resolution (?step=XX)", maxPointsPerSeries)))
		return
	}
	ctx, cancel, aerr := withQueryTimeout(r)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	defer cancel()
	qs := r.Form.Get("query")
	q, err := l.engine.NewRangeQuery(ctx, l.db, nil, qs, start, end, step)
	if err != nil {
		writeError(w, buildError(err))
		return
	}
	l.run(ctx, w, q, qs)
}

func (*Local) run(ctx context.Context, w http.ResponseWriter, q promql.Query, qs string) {
	defer q.Close()
	res := q.Exec(ctx)
	if res.Err != nil {
		writeError(w, execError(res.Err))
		return
	}
	warnings, infos := res.Warnings.AsStrings(qs, 10, 10)
	// client_golang reads an empty vector or matrix either way, but
	// Prometheus writes [] rather than null.
	val := res.Value
	switch v := val.(type) {
	case promql.Vector:
		if v == nil {
			val = promql.Vector{}
		}
	case promql.Matrix:
		if v == nil {
			val = promql.Matrix{}
		}
	}
	writeJSON(w, http.StatusOK, response{
		Status:   "success",
		Data:     queryData{ResultType: val.Type(), Result: val},
		Warnings: warnings,
		Infos:    infos,
	})
}

// withQueryTimeout applies the timeout parameter, which the engine's own
// timeout still caps.
func withQueryTimeout(r *http.Request) (context.Context, context.CancelFunc, *apiError) {
	s := r.Form.Get("timeout")
	if s == "" {
		ctx, cancel := context.WithCancel(r.Context())
		return ctx, cancel, nil
	}
	d, err := parseDuration(s)
	if err != nil {
		return nil, nil, badParam("timeout", err)
	}
	if d <= 0 {
		return nil, nil, badParam("timeout", fmt.Errorf("timeout must be positive, got %s", d))
	}
	ctx, cancel := context.WithTimeout(r.Context(), d)
	return ctx, cancel, nil
}

func writeError(w http.ResponseWriter, e *apiError) {
	writeJSON(w, e.code, response{Status: "error", ErrorType: e.typ, Error: e.err.Error()})
}

func writeJSON(w http.ResponseWriter, code int, resp response) {
	b, err := json.Marshal(resp)
	if err != nil {
		http.Error(w, fmt.Sprintf("encode response: %v", err), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

// Unix seconds are bounded so that milliseconds fit in an int64.
const maxUnixSeconds = math.MaxInt64 / 1000 / 1000

// parseTime reads unix seconds with a fraction, as client_golang writes
// them, or RFC 3339.
func parseTime(s string) (time.Time, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if math.IsNaN(f) || math.Abs(f) > maxUnixSeconds {
			return time.Time{}, fmt.Errorf("cannot parse %q to a valid timestamp: out of range", s)
		}
		sec, frac := math.Modf(f)
		// Milliseconds are the storage's resolution; rounding there keeps
		// 1.001 from becoming 1.000999999.
		ms := math.Round(frac * 1000)
		return time.Unix(int64(sec), int64(ms)*int64(time.Millisecond)).UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("cannot parse %q to a valid timestamp", s)
}

// parseDuration reads seconds with a fraction, or a Prometheus duration
// such as 30s or 1m.
func parseDuration(s string) (time.Duration, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		ns := f * float64(time.Second)
		if math.IsNaN(ns) || ns >= math.MaxInt64 || ns < math.MinInt64 {
			return 0, fmt.Errorf("cannot parse %q to a valid duration. It overflows int64", s)
		}
		return time.Duration(ns), nil
	}
	if d, err := model.ParseDuration(s); err == nil {
		return time.Duration(d), nil
	}
	return 0, fmt.Errorf("cannot parse %q to a valid duration", s)
}
