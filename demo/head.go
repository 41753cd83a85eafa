package demo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"slices"
	"sync"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"
	"github.com/prometheus/prometheus/util/annotations"
)

// head is Local's storage: a Prometheus head block of its own, because
// Prometheus's cannot be linked alone. Package tsdb, where Head lives,
// imports package config for its ApplyConfig methods, and config imports
// remote write's Azure, Google and AWS credential code: megabytes of the
// binary, and three cloud SDKs, for a demo that talks to nothing beyond
// loopback.
//
// head is made of the parts tsdb.Head is made of, which import none of
// that: each series appends to an XOR chunk (chunkenc), and a full chunk
// is written to files in a directory by the head's own chunk disk mapper
// (chunks) and read back from there when a query needs it. Memory holds
// one open chunk per series however long the console runs; truncate
// drops what is past the retention, files and all. What a query sees is
// what Prometheus's head would answer: samples in order per series, an
// exact repeat dropped, and staleness markers kept.
type head struct {
	cdm    *chunks.ChunkDiskMapper
	logger *slog.Logger

	mu      sync.RWMutex
	series  map[uint64][]*memSeries // by the hash of their labels
	nextRef chunks.HeadSeriesRef
	// minValid is the last truncation's time: a sample before it would
	// be dropped by the next one, so it is refused, as tsdb refuses it.
	minValid int64
}

// samplesPerChunk is where tsdb.Head cuts a chunk, too: XOR encoding is
// near its best there, at about 1.3 bytes a sample.
const samplesPerChunk = 120

type memSeries struct {
	ref  chunks.HeadSeriesRef
	lset labels.Labels
	// full are the series' full chunks, oldest first.
	full []fullChunk
	// open is the chunk samples are appended to, nil until the first.
	open    *chunkenc.XORChunk
	app     chunkenc.Appender
	openMin int64
	lastT   int64
	lastV   float64
}

// fullChunk is a full chunk on disk, or in mem if writing it failed.
type fullChunk struct {
	ref        chunks.ChunkDiskMapperRef
	mint, maxt int64
	mem        chunkenc.Chunk
}

func openHead(dir string, logger *slog.Logger) (*head, error) {
	// No write queue: a chunk is written as it fills, and a scrape's
	// few full chunks need no second goroutine. The smallest buffer the
	// mapper takes holds hundreds of chunks.
	cdm, err := chunks.NewChunkDiskMapper(nil, dir, chunkenc.NewPool(), chunks.MinWriteBufferSize, 0)
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &head{cdm: cdm, logger: logger, series: map[uint64][]*memSeries{}, minValid: math.MinInt64}, nil
}

// Close closes the chunk files; the head must not be used after.
func (h *head) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.cdm.Close()
}

func (h *head) get(hash uint64, ls labels.Labels) *memSeries {
	for _, s := range h.series[hash] {
		if labels.Equal(s.lset, ls) {
			return s
		}
	}
	return nil
}

// append adds a sample after the series' last; h.mu must be held.
func (h *head) append(hash uint64, ls labels.Labels, t int64, v float64) error {
	s := h.get(hash, ls)
	if s == nil {
		h.nextRef++
		s = &memSeries{ref: h.nextRef, lset: ls.Copy(), lastT: math.MinInt64}
		h.series[hash] = append(h.series[hash], s)
	}
	if t <= s.lastT {
		return nil // another appender's sample came first; Append checked the rest
	}
	if s.open == nil || s.open.NumSamples() >= samplesPerChunk {
		h.cut(s)
		c := chunkenc.NewXORChunk()
		app, err := c.Appender()
		if err != nil {
			return fmt.Errorf("new chunk for %s: %w", s.lset, err)
		}
		s.open, s.app, s.openMin = c, app, t
	}
	s.app.Append(0, t, v)
	s.lastT, s.lastV = t, v
	return nil
}

// cut writes s's open chunk to disk, if it has samples.
func (h *head) cut(s *memSeries) {
	if s.open == nil || s.open.NumSamples() == 0 {
		return
	}
	var werr error
	ref := h.cdm.WriteChunk(s.ref, s.openMin, s.lastT, s.open, false, func(err error) { werr = err })
	c := fullChunk{ref: ref, mint: s.openMin, maxt: s.lastT}
	if werr != nil {
		// tsdb.Head panics here. A console that cannot write its
		// temporary directory keeps the chunk in memory instead.
		h.logger.Warn("write a full chunk to disk; keeping it in memory", "series", s.lset.String(), "err", werr)
		c.mem = s.open
	}
	s.full = append(s.full, c)
	s.open = nil
}

// truncate drops the chunks that end before mint, the series left with
// no samples, and the chunk files that held only what was dropped.
func (h *head) truncate(mint int64) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.minValid = max(h.minValid, mint)
	oldest := math.MaxInt // the oldest file still needed
	for hash, ss := range h.series {
		kept := ss[:0]
		for _, s := range ss {
			i := 0
			for i < len(s.full) && s.full[i].maxt < mint {
				i++
			}
			s.full = s.full[i:]
			if len(s.full) == 0 && s.lastT < mint {
				continue
			}
			kept = append(kept, s)
			for _, c := range s.full {
				if seq, _ := c.ref.Unpack(); c.mem == nil {
					oldest = min(oldest, seq)
				}
			}
		}
		if len(kept) == 0 {
			delete(h.series, hash)
		} else {
			h.series[hash] = kept
		}
	}
	// The mapper also starts a new file here, so that the next truncation
	// can delete this one.
	keep := uint32(math.MaxUint32)
	if oldest >= 0 && oldest < math.MaxUint32 {
		keep = uint32(oldest)
	}
	if err := h.cdm.Truncate(keep); err != nil {
		return fmt.Errorf("delete chunk files before %d: %w", keep, err)
	}
	return nil
}

// AppenderV2 returns an appender whose samples become visible together,
// at Commit.
func (h *head) AppenderV2(context.Context) storage.AppenderV2 {
	return &headAppender{h: h, last: map[uint64][]int{}}
}

type pendingSample struct {
	hash uint64
	ls   labels.Labels
	t    int64
	v    float64
}

type headAppender struct {
	h       *head
	pending []pendingSample
	last    map[uint64][]int // hash → indices into pending, latest last
}

var errHistogram = errors.New("native histograms are not stored")

// Append refuses what tsdb.Head refuses with out-of-order ingestion off:
// a sample before its series' last, or before the last truncation, and a
// different value at its series' last timestamp. An exact repeat is
// dropped without an error.
func (a *headAppender) Append(_ storage.SeriesRef, ls labels.Labels, _, t int64, v float64, h *histogram.Histogram, fh *histogram.FloatHistogram, _ storage.AOptions) (storage.SeriesRef, error) {
	if h != nil || fh != nil {
		return 0, errHistogram
	}
	hash := ls.Hash()
	lastT, lastV, ok := a.lastSample(hash, ls)
	switch {
	case t < a.minValid():
		return 0, storage.ErrOutOfBounds
	case !ok:
	case t < lastT:
		return 0, storage.ErrOutOfOrderSample
	case t == lastT && math.Float64bits(v) == math.Float64bits(lastV):
		return storage.SeriesRef(hash), nil
	case t == lastT:
		return 0, storage.ErrDuplicateSampleForTimestamp
	}
	a.last[hash] = append(a.last[hash], len(a.pending))
	a.pending = append(a.pending, pendingSample{hash: hash, ls: ls, t: t, v: v})
	return storage.SeriesRef(hash), nil
}

func (a *headAppender) minValid() int64 {
	a.h.mu.RLock()
	defer a.h.mu.RUnlock()
	return a.h.minValid
}

// lastSample is the series' latest sample, pending in a or stored.
func (a *headAppender) lastSample(hash uint64, ls labels.Labels) (int64, float64, bool) {
	idx := a.last[hash]
	for i := len(idx) - 1; i >= 0; i-- {
		if p := a.pending[idx[i]]; labels.Equal(p.ls, ls) {
			return p.t, p.v, true
		}
	}
	a.h.mu.RLock()
	defer a.h.mu.RUnlock()
	if s := a.h.get(hash, ls); s != nil && s.lastT != math.MinInt64 {
		return s.lastT, s.lastV, true
	}
	return 0, 0, false
}

// Commit stores the pending samples in the order they were appended.
func (a *headAppender) Commit() error {
	a.h.mu.Lock()
	defer a.h.mu.Unlock()
	var errs []error
	for _, p := range a.pending {
		if err := a.h.append(p.hash, p.ls, p.t, p.v); err != nil {
			errs = append(errs, err)
		}
	}
	a.pending, a.last = nil, nil
	return errors.Join(errs...)
}

// Rollback drops the pending samples.
func (a *headAppender) Rollback() error {
	a.pending, a.last = nil, nil
	return nil
}

// Querier answers from copies of the chunks, taken under the head's
// lock: truncation may delete a chunk's file while a query still reads it.
func (h *head) Querier(mint, maxt int64) (storage.Querier, error) {
	return &headQuerier{h: h, mint: mint, maxt: maxt}, nil
}

type headQuerier struct {
	h          *head
	mint, maxt int64
}

// each calls f for every series that matches ms and has samples in the
// querier's range, under the head's read lock.
func (q *headQuerier) each(ms []*labels.Matcher, f func(*memSeries) error) error {
	q.h.mu.RLock()
	defer q.h.mu.RUnlock()
	for _, ss := range q.h.series {
	series:
		for _, s := range ss {
			first := s.openMin
			if len(s.full) > 0 {
				first = s.full[0].mint
			}
			if s.lastT == math.MinInt64 || s.lastT < q.mint || first > q.maxt {
				continue
			}
			for _, m := range ms {
				if !m.Matches(s.lset.Get(m.Name)) {
					continue series
				}
			}
			if err := f(s); err != nil {
				return err
			}
		}
	}
	return nil
}

func (q *headQuerier) Select(_ context.Context, _ bool, _ *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	var out []storage.ChunkSeries
	err := q.each(ms, func(s *memSeries) error {
		metas, err := q.chunks(s)
		if err != nil {
			return err
		}
		if len(metas) > 0 {
			out = append(out, &storage.ChunkSeriesEntry{Lset: s.lset, ChunkIteratorFn: func(chunks.Iterator) chunks.Iterator {
				return storage.NewListChunkSeriesIterator(metas...)
			}})
		}
		return nil
	})
	if err != nil {
		return storage.ErrSeriesSet(err)
	}
	// Sorted whether asked or not: the engine's binary operators and
	// the API's output read best that way, and there are few series.
	slices.SortFunc(out, func(a, b storage.ChunkSeries) int { return labels.Compare(a.Labels(), b.Labels()) })
	return storage.NewSeriesSetFromChunkSeriesSet(&chunkSeriesSlice{series: out})
}

// chunks copies the chunks of s that overlap the querier's range.
func (q *headQuerier) chunks(s *memSeries) ([]chunks.Meta, error) {
	var metas []chunks.Meta
	add := func(c chunkenc.Chunk, mint, maxt int64) error {
		cp, err := chunkenc.FromData(c.Encoding(), bytes.Clone(c.Bytes()))
		if err != nil {
			return fmt.Errorf("copy a chunk of %s: %w", s.lset, err)
		}
		metas = append(metas, chunks.Meta{Chunk: cp, MinTime: mint, MaxTime: maxt})
		return nil
	}
	for _, fc := range s.full {
		if fc.maxt < q.mint || fc.mint > q.maxt {
			continue
		}
		c := fc.mem
		if c == nil {
			var err error
			if c, err = q.h.cdm.Chunk(fc.ref); err != nil {
				return nil, fmt.Errorf("read a chunk of %s: %w", s.lset, err)
			}
		}
		if err := add(c, fc.mint, fc.maxt); err != nil {
			return nil, err
		}
	}
	if s.open != nil && s.lastT >= q.mint && s.openMin <= q.maxt {
		if err := add(s.open, s.openMin, s.lastT); err != nil {
			return nil, err
		}
	}
	return metas, nil
}

func (q *headQuerier) LabelValues(_ context.Context, name string, _ *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	values := map[string]struct{}{}
	err := q.each(ms, func(s *memSeries) error {
		if v := s.lset.Get(name); v != "" {
			values[v] = struct{}{}
		}
		return nil
	})
	return slices.Sorted(maps.Keys(values)), nil, err
}

func (q *headQuerier) LabelNames(_ context.Context, _ *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	names := map[string]struct{}{}
	err := q.each(ms, func(s *memSeries) error {
		s.lset.Range(func(l labels.Label) { names[l.Name] = struct{}{} })
		return nil
	})
	return slices.Sorted(maps.Keys(names)), nil, err
}

func (*headQuerier) Close() error { return nil }

// chunkSeriesSet over a slice, which package storage has only in tests.
type chunkSeriesSlice struct {
	series []storage.ChunkSeries
	i      int
}

func (s *chunkSeriesSlice) Next() bool {
	if s.i >= len(s.series) {
		return false
	}
	s.i++
	return true
}

func (s *chunkSeriesSlice) At() storage.ChunkSeries         { return s.series[s.i-1] }
func (*chunkSeriesSlice) Err() error                        { return nil }
func (*chunkSeriesSlice) Warnings() annotations.Annotations { return nil }
