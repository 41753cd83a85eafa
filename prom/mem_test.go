package prom

import (
	"runtime"
	"testing"
	"time"

	"github.com/cutover-sh/cutover/engine/spec"

	"github.com/prometheus/common/model"

	"github.com/cutover-sh/cutover/engine"
)

// BenchmarkPanelMemory measures the heap that six panels of 200 points
// each hold once refreshed, against the 16 bytes a point's time and value
// need at least.
func BenchmarkPanelMemory(b *testing.B) {
	const panels, points = 6, 200
	at := time.Now().Truncate(time.Second)
	m := model.Matrix{{Metric: model.Metric{"color": "green", "namespace": "prod"}}}
	for i := range points {
		ts := at.Add(time.Duration(i-points+1) * time.Second)
		m[0].Values = append(m[0].Values, model.SamplePair{Timestamp: model.TimeFromUnixNano(ts.UnixNano()), Value: model.SampleValue(i)})
	}
	specs := spec.DefaultPanels(spec.QueryVars{Namespace: "prod"})
	var held []engine.PanelData
	var ms runtime.MemStats
	var bytes uint64
	for range b.N {
		// The previous iteration's panels stay alive across this one's
		// measurement, so the difference is this one's alone.
		runtime.GC()
		runtime.ReadMemStats(&ms)
		before := ms.HeapAlloc
		next := make([]engine.PanelData, panels)
		for i := range next {
			next[i] = engine.PanelData{Spec: specs[i], At: at, Step: time.Second, Series: seriesOf(specs[i], m, at)}
		}
		runtime.GC()
		runtime.ReadMemStats(&ms)
		bytes += ms.HeapAlloc - before
		held = next
	}
	if len(held[panels-1].Series[0].Points) != points {
		b.Fatalf("%d points, want %d", len(held[panels-1].Series[0].Points), points)
	}
	perIter := float64(bytes) / float64(b.N)
	b.ReportMetric(perIter, "held-B")
	b.ReportMetric(perIter/float64(panels*points*16), "held/raw-points")
}
