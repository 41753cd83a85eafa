package engine

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestParseCondition(t *testing.T) {
	tests := []struct {
		in      string
		want    Condition
		wantErr string
	}{
		{"< 0.05", Condition{"<", 0.05}, ""},
		{">=10", Condition{">=", 10}, ""},
		{" <= 2 ", Condition{"<=", 2}, ""},
		{"!= 0", Condition{"!=", 0}, ""},
		{"0.05", Condition{}, "want a comparison"},
		{"< five", Condition{}, "with a number"},
		{"< NaN", Condition{}, "with a number"},
	}
	for _, tc := range tests {
		got, err := ParseCondition(tc.in)
		if got != tc.want || (err == nil) != (tc.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("ParseCondition(%q) = %v, %v; want %v, %q", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestJudge(t *testing.T) {
	lt := &Condition{"<", 0.05}
	ge := &Condition{">=", 0.2}
	tests := []struct {
		name             string
		v                float64
		err              error
		success, failure *Condition
		want             Verdict
	}{
		{"passes", 0.01, nil, lt, nil, VerdictPass},
		{"fails the success condition", 0.2, nil, lt, nil, VerdictFail},
		{"meets the failure condition", 0.3, nil, nil, ge, VerdictFail},
		{"between: not failing, no success condition", 0.1, nil, nil, ge, VerdictPass},
		{"failure decides first", 0.3, nil, &Condition{">", 0}, ge, VerdictFail},
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
