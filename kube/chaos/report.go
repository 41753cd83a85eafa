package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
)

// report is the campaign's table.
type report struct {
	o         options
	cycles    int
	outcomes  map[string]int
	faults    map[string]int
	checks    map[string]int
	violated  map[string][]string
	paused    map[string]int
	unchecked map[string]int
	recovery  map[string][]time.Duration
	took      []time.Duration
	// retried counts cycles whose cutover abort failed and was run again.
	retried int
	// stale counts the watcher's suspicions the API server did not confirm.
	stale int
	// second counts what second consoles did.
	second map[string]int
	// ended counts how the journal says the releases ended, by phase.
	ended map[string]int
}

func summarize(o options, rs []cycleResult, w *watcher, lw *leaseWatcher) report {
	rep := report{o: o, cycles: len(rs), outcomes: map[string]int{}, faults: map[string]int{}, checks: map[string]int{},
		violated: map[string][]string{}, second: map[string]int{}, ended: map[string]int{}, paused: map[string]int{}, unchecked: map[string]int{}, recovery: map[string][]time.Duration{}}
	for _, r := range rs {
		rep.outcomes[r.outcome]++
		rep.faults[r.fault]++
		rep.took = append(rep.took, r.took)
		for k, n := range r.checks {
			rep.checks[k] += n
		}
		for _, v := range r.violations {
			key, _, _ := strings.Cut(v, ":")
			rep.violated[key] = append(rep.violated[key], fmt.Sprintf("cycle %d: %s", r.n, v))
		}
		if r.paused != "" {
			rep.paused[r.paused]++
		}
		for _, u := range r.unchecked {
			rep.unchecked[u]++
		}
		phase, _, _ := strings.Cut(r.ended, " ")
		if phase == "" {
			phase = "(no release ended in the journal)"
		}
		rep.ended[phase]++
		if r.second != "" {
			rep.second[r.second]++
		}
		if r.abortRetries > 0 {
			rep.retried++
		}
		if r.recovery > 0 {
			rep.recovery[r.fault] = append(rep.recovery[r.fault], r.recovery)
		}
	}
	checks, violations, stale := w.result()
	rep.checks["1 selects a color with Ready pods"] = checks
	rep.violated["1"] = append(rep.violated["1"], violations...)
	rep.stale = stale
	checks, violations = lw.result()
	rep.checks["4 never two holders of the Lease"] = checks
	rep.violated["4"] = append(rep.violated["4"], violations...)
	return rep
}

func (rep report) violations() int {
	n := 0
	for _, v := range rep.violated {
		n += len(v)
	}
	return n
}

func (rep report) print(w io.Writer) {
	p := func(format string, args ...any) { _, _ = fmt.Fprintf(w, format+"\n", args...) }
	p("cutover chaos campaign: seed %d, %d cycles, %d Ready pods a color", rep.o.seed, rep.cycles, rep.o.pods)
	again := ""
	if len(rep.o.replay) > 0 {
		var rs []string
		for _, r := range rep.o.replay {
			rs = append(rs, r.String())
		}
		again = " -replay " + strings.Join(rs, ",")
	}
	p("replay: go run ./kube/chaos -seed %d -cycles %d -pods %d%s", rep.o.seed, rep.o.cycles, rep.o.pods, again)
	p("")
	p("%-44s %8s", "OUTCOME", "CYCLES")
	for _, k := range slices.Sorted(maps.Keys(rep.outcomes)) {
		p("%-44s %8d", k, rep.outcomes[k])
	}
	p("")
	p("%-44s %8s", "RELEASE ENDED (JOURNAL)", "CYCLES")
	for _, k := range slices.Sorted(maps.Keys(rep.ended)) {
		p("%-44s %8d", k, rep.ended[k])
	}
	p("")
	p("%-44s %8s %10s %10s %10s", "FAULT (recovery: from it to the cycle's end)", "INJECTED", "median", "p95", "max")
	for _, k := range slices.Sorted(maps.Keys(rep.faults)) {
		med, p95, top := quantiles(rep.recovery[k])
		p("%-44s %8d %10s %10s %10s", k, rep.faults[k], med, p95, top)
	}
	p("")
	p("%-44s %8s %10s", "INVARIANT", "CHECKS", "VIOLATIONS")
	for _, k := range slices.Sorted(maps.Keys(rep.checks)) {
		id, _, _ := strings.Cut(k, " ")
		p("%-44s %8d %10d", k, rep.checks[k], len(rep.violated[id]))
	}
	if len(rep.unchecked) > 0 {
		p("")
		p("%-44s %8s", "NOT CHECKED, AND WHY", "CYCLES")
		for _, k := range slices.Sorted(maps.Keys(rep.unchecked)) {
			p("%-44s %8d", k, rep.unchecked[k])
		}
	}
	p("")
	if len(rep.paused) == 0 {
		p("cycles paused for a person: none")
	}
	for _, k := range slices.Sorted(maps.Keys(rep.paused)) {
		p("cycles paused for a person: %d, %s", rep.paused[k], k)
	}
	if rep.stale > 0 {
		p("invariant 1 suspected from the watcher's caches but not confirmed by the API server: %d", rep.stale)
	}
	for _, k := range slices.Sorted(maps.Keys(rep.second)) {
		p("second consoles: %d %s", rep.second[k], k)
	}
	if rep.retried > 0 {
		p("cycles whose cutover abort failed first (kube-apiserver down) and was run again: %d", rep.retried)
	}
	med, p95, top := quantiles(rep.took)
	p("cycle time: median %s, p95 %s, max %s", med, p95, top)
	for _, id := range slices.Sorted(maps.Keys(rep.violated)) {
		for _, v := range rep.violated[id] {
			p("VIOLATION %s", v)
		}
	}
}

// quantiles are the median, p95 and max of ds, "-" when there are none.
func quantiles(ds []time.Duration) (string, string, string) {
	if len(ds) == 0 {
		return "-", "-", "-"
	}
	s := slices.Sorted(slices.Values(ds))
	at := func(q float64) string {
		return s[min(int(q*float64(len(s))), len(s)-1)].Round(time.Millisecond).String()
	}
	return at(0.5), at(0.95), s[len(s)-1].Round(time.Millisecond).String()
}
