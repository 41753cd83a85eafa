package human

import (
	"math"
	"testing"
	"time"
)

func TestDuration(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"},
		{400 * time.Nanosecond, "<1ms"},
		{115 * time.Millisecond, "115ms"},
		{999 * time.Millisecond, "999ms"},
		{999600 * time.Microsecond, "1s"},
		{1400 * time.Millisecond, "1.4s"},
		{1500 * time.Millisecond, "1.5s"},
		{9960 * time.Millisecond, "10s"},
		{5 * time.Second, "5s"},
		{45 * time.Second, "45s"},
		{59600 * time.Millisecond, "1m"},
		{4*time.Minute + 5*time.Second, "4m05s"},
		{15 * time.Minute, "15m"},
		{28*time.Minute + 20*time.Second, "28m20s"},
		{59*time.Minute + 59*time.Second + 600*time.Millisecond, "1h"},
		{70 * time.Minute, "1h10m"},
		{2*time.Hour + 35*time.Minute, "2h35m"},
		{2*time.Hour + 29*time.Second, "2h"},
		{26 * time.Hour, "1d02h"},
		{72 * time.Hour, "3d"},
		{-90 * time.Second, "-1m30s"},
	} {
		if got := Duration(c.d); got != c.want {
			t.Errorf("Duration(%v) = %q, want %q", c.d, got, c.want)
		}
	}
}

func TestValues(t *testing.T) {
	for _, c := range []struct {
		name, got, want string
	}{
		{"float noise", Number(0.07500000000000001), "0.075"},
		{"integer", Number(1250), "1250"},
		{"three digits", Number(41.6789), "41.7"},
		{"large", Number(1234567.8), "1234568"},
		{"tiny is not zero", Number(0.0000123456), "0.0000123"},
		{"NaN", Number(math.NaN()), "NaN"},
		{"inf", Number(math.Inf(1)), "+Inf"},
		{"percent", Percent(0.203), "20.3%"},
		{"percent noise", Percent(0.07500000000000001), "7.5%"},
		{"latency", Seconds(0.41), "410ms"},
		{"latency whole", Seconds(2), "2s"},
		{"bytes", Bytes(812 * 1024 * 1024), "812 MiB"},
		{"small bytes", Bytes(512), "512 B"},
		{"gib", Bytes(1.5 * 1024 * 1024 * 1024), "1.5 GiB"},
	} {
		if c.got != c.want {
			t.Errorf("%s: %q, want %q", c.name, c.got, c.want)
		}
	}
}
