package engine

import (
	"slices"
	"time"
)

// StageHistory is one row of the "Total Pipeline Performance" table.
type StageHistory struct {
	Stage  string        `json:"stage"`
	Budget time.Duration `json:"budgetNs"`
	// Last is the stage's duration in the most recent run that ran it.
	Last       time.Duration `json:"lastNs"`
	LastStatus Status        `json:"lastStatus,omitempty"`
	// Median is over the most recent runs that ran the stage (at most
	// History.Window of them).
	Median time.Duration `json:"medianNs"`
	// Samples is how many runs the median is taken over.
	Samples        int  `json:"samples"`
	LastOverBudget bool `json:"lastOverBudget"`
	MedianOver     bool `json:"medianOverBudget"`
}

// History summarises a pipeline's past runs from the journal.
type History struct {
	Pipeline string         `json:"pipeline"`
	Runs     int            `json:"runs"`
	Window   int            `json:"window"`
	Stages   []StageHistory `json:"stages"`
	// Totals sum the stage rows, as the deployment guide's table does. A
	// stage the newest run skipped counts with its own most recent time.
	TotalBudget time.Duration `json:"totalBudgetNs"`
	TotalLast   time.Duration `json:"totalLastNs"`
	TotalMedian time.Duration `json:"totalMedianNs"`
	// LastRun is the newest run's ID, status and wall-clock time, which is
	// shorter than TotalLast when stages ran in parallel.
	LastRun     string        `json:"lastRun,omitempty"`
	LastStatus  Status        `json:"lastStatus,omitempty"`
	LastElapsed time.Duration `json:"lastElapsedNs"`
}

// LatestPipeline returns the pipeline name of the newest run in recs.
func LatestPipeline(recs []Record) string {
	for i := len(recs) - 1; i >= 0; i-- {
		if recs[i].Type == RecRunStarted {
			return recs[i].Pipeline
		}
	}
	return ""
}

// BuildHistory computes the table for pipeline from journal records, using
// at most window recent runs per stage for the median. Records of several
// runs may interleave (two processes share a journal).
func BuildHistory(recs []Record, pipeline string, window int) History {
	if window <= 0 {
		window = 10
	}
	h := History{Pipeline: pipeline, Window: window}
	runs := map[string]bool{}
	var order []string         // run IDs, oldest first
	var pipelineOrder []string // the newest run's stages, in pipeline order
	for _, r := range recs {
		if r.Type == RecRunStarted && r.Pipeline == pipeline && !runs[r.Run] {
			runs[r.Run] = true
			order = append(order, r.Run)
			if len(r.Stages) > 0 {
				pipelineOrder = r.Stages
			}
		}
	}
	h.Runs = len(order)
	type sample struct {
		d      time.Duration
		status Status
	}
	byStage := map[string]map[string]sample{} // stage -> run -> sample
	budgets := map[string]time.Duration{}
	var stages []string
	for _, r := range recs {
		if !runs[r.Run] {
			continue
		}
		switch r.Type {
		case RecStageFinished:
			if r.Status != StatusSucceeded && r.Status != StatusFailed {
				continue // skipped and cancelled stages did not run
			}
			if byStage[r.Stage] == nil {
				byStage[r.Stage] = map[string]sample{}
				stages = append(stages, r.Stage)
			}
			byStage[r.Stage][r.Run] = sample{r.Duration, r.Status}
			budgets[r.Stage] = r.Budget
		case RecRunFinished:
			h.LastRun, h.LastStatus, h.LastElapsed = r.Run, r.Status, r.Duration
		}
	}
	// Rows follow the pipeline's order; stages it no longer has follow, in
	// the order the journal first saw them.
	stages = slices.SortedStableFunc(slices.Values(stages), func(a, b string) int {
		ia, ib := slices.Index(pipelineOrder, a), slices.Index(pipelineOrder, b)
		if ia < 0 {
			ia = len(pipelineOrder)
		}
		if ib < 0 {
			ib = len(pipelineOrder)
		}
		return ia - ib
	})
	for _, name := range stages {
		row := StageHistory{Stage: name, Budget: budgets[name]}
		var recent []time.Duration
		for i := len(order) - 1; i >= 0 && len(recent) < window; i-- {
			s, ok := byStage[name][order[i]]
			if !ok {
				continue
			}
			if len(recent) == 0 {
				row.Last, row.LastStatus = s.d, s.status
			}
			recent = append(recent, s.d)
		}
		row.Samples = len(recent)
		row.Median = median(recent)
		row.LastOverBudget = row.Budget > 0 && row.Last > row.Budget
		row.MedianOver = row.Budget > 0 && row.Median > row.Budget
		h.TotalBudget += row.Budget
		h.TotalLast += row.Last
		h.TotalMedian += row.Median
		h.Stages = append(h.Stages, row)
	}
	return h
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(ds))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
