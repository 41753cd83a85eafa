// Package human writes durations and measured values the one way every
// view of cutover shows them: the console, plain output, history, panels,
// notifications and the engine's own messages. Two views of one run must
// never disagree on how long something took or what a value was.
package human

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Duration writes d as the console's clocks do: 45s, 4m05s, 1h10m, 2d03h.
// Trailing zero parts are dropped (15m, 2h), so a budget reads as it was
// written. Below a second it keeps milliseconds, which is where a
// rollback's time lives, below ten seconds tenths; above an hour minutes
// are enough.
func Duration(d time.Duration) string {
	if d < 0 {
		return "-" + Duration(-d)
	}
	if d < time.Second-time.Millisecond/2 {
		if ms := d.Round(time.Millisecond); ms > 0 {
			return strconv.FormatInt(ms.Milliseconds(), 10) + "ms"
		}
		if d > 0 {
			return "<1ms"
		}
		return "0s"
	}
	switch {
	case d < 10*time.Second-time.Second/20:
		// Tenths below ten seconds: a kill grace of 1.5s is not 2s.
		return strconv.FormatFloat(d.Round(100*time.Millisecond).Seconds(), 'f', -1, 64) + "s"
	case d < time.Minute-time.Second/2:
		return fmt.Sprintf("%ds", int64(d.Round(time.Second)/time.Second))
	case d < time.Hour-time.Second/2:
		d = d.Round(time.Second)
		return pair(int64(d/time.Minute), "m", int64(d%time.Minute/time.Second), "s")
	case d < 24*time.Hour-time.Minute/2:
		d = d.Round(time.Minute)
		return pair(int64(d/time.Hour), "h", int64(d%time.Hour/time.Minute), "m")
	}
	d = d.Round(time.Hour)
	return pair(int64(d/(24*time.Hour)), "d", int64(d%(24*time.Hour)/time.Hour), "h")
}

// pair writes a whole unit and the next smaller in two digits, or the
// whole unit alone when the smaller is zero.
func pair(a int64, au string, b int64, bu string) string {
	if b == 0 {
		return strconv.FormatInt(a, 10) + au
	}
	return fmt.Sprintf("%d%s%02d%s", a, au, b, bu)
}

// Number writes v with three significant digits and no exponent for the
// magnitudes a release shows: 0.075, 41.6, 1250. Integers stay whole.
func Number(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	if v == math.Trunc(v) && math.Abs(v) < 1e6 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	s := strconv.FormatFloat(v, 'g', 3, 64)
	if strings.ContainsRune(s, 'e') {
		if math.Abs(v) >= 1 {
			return strconv.FormatFloat(v, 'f', 0, 64)
		}
		// Tiny values keep their three digits without an exponent: a
		// small error ratio is not zero.
		r, _ := strconv.ParseFloat(s, 64)
		return strconv.FormatFloat(r, 'f', -1, 64)
	}
	return s
}

// Percent writes a ratio (0.05) as a percentage (5%).
func Percent(ratio float64) string { return Number(ratio*100) + "%" }

// Seconds writes a time in seconds, as milliseconds below one: latency.
func Seconds(v float64) string {
	if math.Abs(v) < 1 && !math.IsNaN(v) {
		return Number(v*1000) + "ms"
	}
	return Number(v) + "s"
}

// Bytes writes a size in binary units: 812 MiB.
func Bytes(v float64) string {
	const unit = 1024
	abs := math.Abs(v)
	if abs < unit || math.IsNaN(v) || math.IsInf(v, 0) {
		return Number(v) + " B"
	}
	div, exp := float64(unit), 0
	for n := abs / unit; n >= unit && exp < 5; n /= unit {
		div *= unit
		exp++
	}
	return Number(v/div) + " " + string("KMGTPE"[exp]) + "iB"
}
