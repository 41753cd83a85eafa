package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/cutover-sh/cutover/engine/spec"
	"github.com/cutover-sh/cutover/human"
)

// Metrics is what the engine needs from a metrics backend. prom implements
// it against Prometheus.
type Metrics interface {
	// Scalar evaluates query at time at and returns its single value. It
	// returns an error wrapping ErrNoData when the result is empty.
	Scalar(ctx context.Context, query string, at time.Time) (float64, error)
	// Firing returns the alerts firing now whose labels include labels.
	Firing(ctx context.Context, labels map[string]string) ([]FiringAlert, error)
}

// FiringAlert is an alert Prometheus reports as firing.
type FiringAlert struct {
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels"`
}

// ErrNoData is a query that returned nothing: no series matched.
var ErrNoData = errors.New("the query returned no data")

// Verdict is the outcome of one measurement.
type Verdict string

// The verdicts of a measurement.
const (
	VerdictPass         Verdict = "pass"
	VerdictFail         Verdict = "fail"
	VerdictInconclusive Verdict = "inconclusive"
)

// Measurement is one evaluation of an analysis query.
type Measurement struct {
	Time  time.Time `json:"time"`
	Query string    `json:"query"`
	// Value means nothing unless Measured: an inconclusive measurement
	// has none, and its JSON says null.
	Value   float64 `json:"value"`
	Verdict Verdict `json:"verdict"`
	// Reason says why a measurement is inconclusive or failed.
	Reason string `json:"reason,omitempty"`
}

// Measured reports whether m holds a value: a pass or a fail does, an
// inconclusive measurement (no data, no answer, NaN) does not.
func (m Measurement) Measured() bool {
	return m.Verdict != VerdictInconclusive && !math.IsNaN(m.Value)
}

// ValueText is m's value as every view writes it, human.Number's three
// significant digits, or "no data" when nothing was measured, never a zero.
func (m Measurement) ValueText() string {
	if !m.Measured() {
		return "no data"
	}
	return human.Number(m.Value)
}

// MarshalJSON writes "value": null when nothing was measured.
func (m Measurement) MarshalJSON() ([]byte, error) {
	type plain Measurement
	out := struct {
		plain
		Value *float64 `json:"value"`
	}{plain: plain(m)}
	if m.Measured() {
		out.Value = &m.Value
	}
	return json.Marshal(out)
}

// UnmarshalJSON reads what MarshalJSON writes; null is no value, NaN.
func (m *Measurement) UnmarshalJSON(b []byte) error {
	type plain Measurement
	var in struct {
		plain
		Value *float64 `json:"value"`
	}
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	*m = Measurement(in.plain)
	m.Value = math.NaN()
	if in.Value != nil {
		m.Value = *in.Value
	}
	return nil
}

// Judge turns a query's result into a verdict. Missing data, NaN and an
// unreachable backend are inconclusive, never a pass: a release must not
// go on because nothing could be measured. failure, when set, decides a
// fail first; success, when set, must hold to pass.
func Judge(v float64, err error, success, failure *spec.Condition) (Verdict, string) {
	switch {
	case errors.Is(err, ErrNoData):
		return VerdictInconclusive, "no data: " + err.Error()
	case err != nil:
		return VerdictInconclusive, "could not measure: " + err.Error()
	case math.IsNaN(v):
		return VerdictInconclusive, "the value is NaN (a ratio with no traffic?)"
	case failure != nil && failure.Holds(v):
		return VerdictFail, fmt.Sprintf("%.4g meets the failure condition %s", v, failure)
	case success != nil && !success.Holds(v):
		return VerdictFail, fmt.Sprintf("%.4g does not meet the success condition %s", v, success)
	case success == nil && failure == nil:
		return VerdictInconclusive, "no success or failure condition"
	}
	return VerdictPass, ""
}

// Measure runs query on m with its own timeout and judges the result.
func Measure(ctx context.Context, m Metrics, query string, at time.Time, timeout time.Duration, success, failure *spec.Condition) Measurement {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	v, err := m.Scalar(ctx, query, at)
	verdict, reason := Judge(v, err, success, failure)
	return Measurement{Time: at, Query: query, Value: v, Verdict: verdict, Reason: reason}
}
