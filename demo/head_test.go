package demo

import (
	"errors"
	"math"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

var _ storage.Queryable = (*head)(nil)

func newTestHead(t *testing.T) (*head, string) {
	t.Helper()
	dir := t.TempDir()
	h, err := openHead(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() })
	return h, dir
}

type sample struct {
	t int64
	v float64
}

// read returns every sample of every series matching name in [mint, maxt].
func read(t *testing.T, h *head, mint, maxt int64, name string) map[string][]sample {
	t.Helper()
	q, err := h.Querier(mint, maxt)
	if err != nil {
		t.Fatal(err)
	}
	ss := q.Select(t.Context(), true, nil, labels.MustNewMatcher(labels.MatchEqual, model.MetricNameLabel, name))
	got := map[string][]sample{}
	var it chunkenc.Iterator
	for ss.Next() {
		s := ss.At()
		it = s.Iterator(it)
		for it.Next() == chunkenc.ValFloat {
			ts, v := it.At()
			got[s.Labels().String()] = append(got[s.Labels().String()], sample{ts, v})
		}
		if err := it.Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := ss.Err(); err != nil {
		t.Fatal(err)
	}
	return got
}

func commit(t *testing.T, h *head, ls labels.Labels, samples ...sample) {
	t.Helper()
	app := h.AppenderV2(t.Context())
	for _, s := range samples {
		if _, err := app.Append(0, ls, 0, s.t, s.v, nil, nil, storage.AOptions{}); err != nil {
			t.Fatalf("append %v: %v", s, err)
		}
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
}

// TestHeadKeepsFullChunksOnDisk: a series of more samples than a chunk
// holds reads back whole and in order, from files in the head's
// directory and its open chunk, across a staleness marker.
func TestHeadKeepsFullChunksOnDisk(t *testing.T) {
	h, dir := newTestHead(t)
	ls := labels.FromStrings(model.MetricNameLabel, "m", "job", "j")
	var want []sample
	for i := range 5*samplesPerChunk + 7 {
		want = append(want, sample{int64(i) * 500, float64(i)})
	}
	want[300].v = math.Float64frombits(value.StaleNaN)
	for i := 0; i < len(want); i += 50 {
		commit(t, h, ls, want[i:min(i+50, len(want))]...)
	}
	if n := len(h.get(ls.Hash(), ls).full); n != 5 {
		t.Errorf("got %d full chunks, want 5", n)
	}
	if entries, err := os.ReadDir(dir); err != nil || len(entries) == 0 {
		t.Errorf("head directory: got %v, %v, want chunk files", entries, err)
	}
	got := read(t, h, math.MinInt64, math.MaxInt64, "m")[ls.String()]
	if len(got) != len(want) {
		t.Fatalf("got %d samples, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].t != want[i].t || math.Float64bits(got[i].v) != math.Float64bits(want[i].v) {
			t.Fatalf("sample %d: got %v, want %v", i, got[i], want[i])
		}
	}
	// A range inside the third chunk reads that chunk only, and whole:
	// the engine trims to its range itself.
	mid := read(t, h, want[250].t, want[260].t, "m")[ls.String()]
	if len(mid) != samplesPerChunk || mid[0] != want[2*samplesPerChunk] {
		t.Errorf("range in the third chunk: got %d samples from %v, want %d from %v", len(mid), mid[0], samplesPerChunk, want[2*samplesPerChunk])
	}
}

// TestHeadRefuses what tsdb.Head refuses, and drops an exact repeat.
func TestHeadRefuses(t *testing.T) {
	h, _ := newTestHead(t)
	ls := labels.FromStrings(model.MetricNameLabel, "m")
	commit(t, h, ls, sample{1000, 1})
	tests := []struct {
		name string
		s    sample
		want error
	}{
		{"an earlier sample", sample{999, 1}, storage.ErrOutOfOrderSample},
		{"another value at the last time", sample{1000, 2}, storage.ErrDuplicateSampleForTimestamp},
		{"the same sample again", sample{1000, 1}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := h.AppenderV2(t.Context())
			if _, err := app.Append(0, ls, 0, tt.s.t, tt.s.v, nil, nil, storage.AOptions{}); !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
			if err := app.Commit(); err != nil {
				t.Fatal(err)
			}
		})
	}
	// Within one batch too: the check counts what is pending.
	app := h.AppenderV2(t.Context())
	if _, err := app.Append(0, ls, 0, 3000, 3, nil, nil, storage.AOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Append(0, ls, 0, 2000, 2, nil, nil, storage.AOptions{}); !errors.Is(err, storage.ErrOutOfOrderSample) {
		t.Errorf("an earlier sample in the same batch: got %v, want %v", err, storage.ErrOutOfOrderSample)
	}
	if err := app.Rollback(); err != nil {
		t.Fatal(err)
	}
	if got := read(t, h, 0, math.MaxInt64, "m")[ls.String()]; len(got) != 1 || got[0] != (sample{1000, 1}) {
		t.Errorf("after the refusals and a rollback: got %v, want only {1000 1}", got)
	}
}

// TestHeadTruncate: chunks that end before the retention go, with their
// files, and so do series left with nothing; a sample before it is
// refused after.
func TestHeadTruncate(t *testing.T) {
	h, dir := newTestHead(t)
	old := labels.FromStrings(model.MetricNameLabel, "m", "series", "gone")
	live := labels.FromStrings(model.MetricNameLabel, "m", "series", "live")
	for i := range 3 * samplesPerChunk {
		commit(t, h, old, sample{int64(i), 1})
		commit(t, h, live, sample{int64(i), 2})
	}
	if err := h.truncate(0); err != nil { // cut the file the chunks so far are in
		t.Fatal(err)
	}
	for i := 3 * samplesPerChunk; i < 5*samplesPerChunk; i++ {
		commit(t, h, live, sample{int64(i), 2})
	}
	before, _ := os.ReadDir(dir)
	if err := h.truncate(3 * samplesPerChunk); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadDir(dir)
	if len(after) >= len(before) {
		t.Errorf("chunk files: %d before the truncation, %d after; want fewer", len(before), len(after))
	}
	got := read(t, h, math.MinInt64, math.MaxInt64, "m")
	if _, ok := got[old.String()]; ok || len(got) != 1 {
		t.Errorf("series after the truncation: got %d, want only %s", len(got), live)
	}
	if s := got[live.String()]; len(s) != 2*samplesPerChunk || s[0].t != 3*samplesPerChunk {
		t.Errorf("live series: got %d samples from %v, want %d from t=%d", len(s), s[0], 2*samplesPerChunk, 3*samplesPerChunk)
	}
	app := h.AppenderV2(t.Context())
	if _, err := app.Append(0, old, 0, 10, 1, nil, nil, storage.AOptions{}); !errors.Is(err, storage.ErrOutOfBounds) {
		t.Errorf("a sample before the retention: got %v, want %v", err, storage.ErrOutOfBounds)
	}
}

// TestHeadAnswersLikeTSDB puts the same ten minutes of samples, in full
// chunks and open ones, with a counter reset, a histogram and a series
// that goes stale and comes back, into head and into Prometheus's own
// TSDB, and runs the same queries on both through the PromQL engine.
func TestHeadAnswersLikeTSDB(t *testing.T) {
	h, _ := newTestHead(t)
	db, err := tsdb.Open(t.TempDir(), nil, nil, tsdb.DefaultOptions(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })

	const step = 500 // ms, the demo's scrape interval
	start := int64(1_700_000_000_000)
	stale := math.Float64frombits(value.StaleNaN)
	var batches [][]struct {
		ls labels.Labels
		s  sample
	}
	for i := range 1200 {
		ts := start + int64(i)*step
		var b []struct {
			ls labels.Labels
			s  sample
		}
		add := func(v float64, kv ...string) {
			b = append(b, struct {
				ls labels.Labels
				s  sample
			}{labels.FromStrings(kv...), sample{ts, v}})
		}
		for _, color := range []string{"blue", "green"} {
			n := float64(i % 700) // a restart at i=700
			if color == "green" {
				n *= 1.5
			}
			add(n, model.MetricNameLabel, "requests_total", "color", color)
			for j, le := range []string{"0.05", "0.1", "0.5", "+Inf"} {
				add(n*float64(j+1)/4, model.MetricNameLabel, "latency_bucket", "color", color, "le", le)
			}
		}
		switch {
		case i < 400 || i >= 600:
			add(math.Sin(float64(i)/50), model.MetricNameLabel, "temperature")
		case i == 400:
			add(stale, model.MetricNameLabel, "temperature")
		}
		batches = append(batches, b)
	}
	for _, app := range []storage.AppenderV2{h.AppenderV2(t.Context()), db.AppenderV2(t.Context())} {
		for i, b := range batches {
			for _, x := range b {
				if _, err := app.Append(0, x.ls, 0, x.s.t, x.s.v, nil, nil, storage.AOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			// Commit a scrape at a time, as Local does.
			if err := app.Commit(); err != nil {
				t.Fatal(err)
			}
			if i < len(batches)-1 {
				if _, ok := app.(*headAppender); ok {
					app = h.AppenderV2(t.Context())
				} else {
					app = db.AppenderV2(t.Context())
				}
			}
		}
	}

	engine := promql.NewEngine(promql.EngineOpts{MaxSamples: 1e7, Timeout: time.Minute})
	end := time.UnixMilli(start + 1199*step)
	queries := []string{
		`requests_total`,
		`rate(requests_total[1m])`,
		`sum by (color) (increase(requests_total[2m]))`,
		`histogram_quantile(0.95, sum by (le, color) (rate(latency_bucket[1m])))`,
		`temperature`,
		`max_over_time(temperature[30s])`,
		`count_over_time(temperature[1m])`,
		`requests_total offset 3m`,
	}
	for _, qs := range queries {
		run := func(q storage.Queryable, rng bool) string {
			var query promql.Query
			var err error
			if rng {
				query, err = engine.NewRangeQuery(t.Context(), q, nil, qs, end.Add(-9*time.Minute), end, 7*time.Second)
			} else {
				query, err = engine.NewInstantQuery(t.Context(), q, nil, qs, end.Add(-4*time.Minute-250*time.Millisecond))
			}
			if err != nil {
				t.Fatalf("%s: %v", qs, err)
			}
			defer query.Close()
			res := query.Exec(t.Context())
			if res.Err != nil {
				t.Fatalf("%s: %v", qs, res.Err)
			}
			if v, ok := res.Value.(promql.Vector); ok {
				slices.SortFunc(v, func(a, b promql.Sample) int { return labels.Compare(a.Metric, b.Metric) })
			}
			return res.Value.String()
		}
		for _, rng := range []bool{false, true} {
			got, want := run(h, rng), run(db, rng)
			if got != want {
				t.Errorf("%s (range %v):\ngot  %.300s\nwant %.300s", qs, rng, got, want)
			}
			if want == "" || want == "{}" {
				t.Errorf("%s (range %v): both answered nothing", qs, rng)
			}
		}
	}
}
