package proc

import (
	"os/exec"
	"testing"
	"time"
)

// BenchmarkEscapedScan measures what every step's end now pays to look for
// processes that left its group (stopEscaped, when none did: this
// process's children read from /proc), against a bare fork/exec of `true`
// in the same loop. scan/exec-% is the share of a step's floor it adds.
func BenchmarkEscapedScan(b *testing.B) {
	truePath, err := exec.LookPath("true")
	if err != nil {
		b.Skip("no true binary")
	}
	marker := []string{"CUTOVER_RUN=bench", "CUTOVER_STAGE=s", "CUTOVER_STEP=t"}
	var scan, bare time.Duration
	for b.Loop() {
		t0 := time.Now()
		stopEscaped(marker, time.Second, nil)
		scan += time.Since(t0)
		t0 = time.Now()
		if err := exec.Command(truePath).Run(); err != nil {
			b.Fatal(err)
		}
		bare += time.Since(t0)
	}
	b.ReportMetric(float64(scan.Nanoseconds())/float64(b.N), "scan-ns")
	b.ReportMetric(float64(bare.Nanoseconds())/float64(b.N), "exec-ns")
	b.ReportMetric(float64(scan)/float64(bare)*100, "scan/exec-%")
}
