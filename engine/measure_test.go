package engine

import (
	"errors"
	"math"
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
