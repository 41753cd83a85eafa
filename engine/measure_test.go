package engine

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/cutover-sh/cutover/engine/spec"
)

func TestJudge(t *testing.T) {
	lt := &spec.Condition{Op: "<", Threshold: 0.05}
	ge := &spec.Condition{Op: ">=", Threshold: 0.2}
	tests := []struct {
		name             string
		v                float64
		err              error
		success, failure *spec.Condition
		want             Verdict
	}{
		{"passes", 0.01, nil, lt, nil, VerdictPass},
		{"fails the success condition", 0.2, nil, lt, nil, VerdictFail},
		{"meets the failure condition", 0.3, nil, nil, ge, VerdictFail},
		{"between: not failing, no success condition", 0.1, nil, nil, ge, VerdictPass},
		{"failure decides first", 0.3, nil, &spec.Condition{Op: ">", Threshold: 0}, ge, VerdictFail},
		// Nothing measured is never a pass.
		{"no data", 0, ErrNoData, lt, nil, VerdictInconclusive},
		{"unreachable", 0, errors.New("connection refused"), lt, nil, VerdictInconclusive},
		{"NaN", math.NaN(), nil, lt, nil, VerdictInconclusive},
		{"no condition", 0.01, nil, nil, nil, VerdictInconclusive},
	}
	for _, tc := range tests {
		if got, reason := Judge(tc.v, tc.err, tc.success, tc.failure); got != tc.want {
			t.Errorf("%s: got %s (%s), want %s", tc.name, got, reason, tc.want)
		}
	}
}

// TestNoDataIsNotANumber: an inconclusive measurement has no value: null
// in JSON, "no data" in every view, never the zero its float holds.
func TestNoDataIsNotANumber(t *testing.T) {
	for _, tc := range []struct {
		m        Measurement
		json     string
		text     string
		measured bool
	}{
		{Measurement{Query: "q", Verdict: VerdictInconclusive, Reason: "no data: the query returned no data"}, `"value":null`, "no data", false},
		{Measurement{Query: "q", Value: math.NaN(), Verdict: VerdictFail}, `"value":null`, "no data", false},
		{Measurement{Query: "q", Value: 0.07500000000000001, Verdict: VerdictPass}, `"value":0.07500000000000001`, "0.075", true},
		{Measurement{Query: "q", Value: 0, Verdict: VerdictPass}, `"value":0`, "0", true},
	} {
		b, err := json.Marshal(AnalysisMeasured{Metric: "error-rate", Measurement: tc.m})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), tc.json) || tc.m.ValueText() != tc.text || tc.m.Measured() != tc.measured {
			t.Errorf("%+v: JSON %s, text %q, measured %v; want %s, %q, %v", tc.m, b, tc.m.ValueText(), tc.m.Measured(), tc.json, tc.text, tc.measured)
		}
		var back AnalysisMeasured
		if err := json.Unmarshal(b, &back); err != nil || back.Measurement.ValueText() != tc.text || back.Measurement.Query != "q" {
			t.Errorf("%s read back: %+v, %v", b, back.Measurement, err)
		}
	}
}
