package spec

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Condition is a comparison of a measured value with a threshold, written
// as in a pipeline file: "< 0.05", ">= 10", "<= 2".
type Condition struct {
	Op        string
	Threshold float64
}

// ParseCondition reads a condition such as "< 0.05".
func ParseCondition(s string) (Condition, error) {
	s = strings.TrimSpace(s)
	for _, op := range []string{"<=", ">=", "==", "!=", "<", ">"} {
		if rest, ok := strings.CutPrefix(s, op); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err != nil || math.IsNaN(v) {
				return Condition{}, fmt.Errorf("%q: want a comparison with a number, like \"< 0.05\" or \">= 10\"", s)
			}
			return Condition{Op: op, Threshold: v}, nil
		}
	}
	return Condition{}, fmt.Errorf("%q: want a comparison, one of < <= > >= == != and a number, like \"< 0.05\"", s)
}

// Holds reports whether v satisfies the condition.
func (c Condition) Holds(v float64) bool {
	switch c.Op {
	case "<":
		return v < c.Threshold
	case "<=":
		return v <= c.Threshold
	case ">":
		return v > c.Threshold
	case ">=":
		return v >= c.Threshold
	case "==":
		return v == c.Threshold
	case "!=":
		return v != c.Threshold
	}
	return false
}

func (c Condition) String() string { return c.Op + " " + strconv.FormatFloat(c.Threshold, 'g', -1, 64) }
