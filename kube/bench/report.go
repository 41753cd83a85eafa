package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"text/tabwriter"
	"time"
)

type report struct {
	Server   string `json:"server"`
	Kubectl  string `json:"kubectl,omitempty"`
	Go       string `json:"go"`
	CPUs     int    `json:"cpus"`
	Nodes    int    `json:"nodes"`
	NodePods string `json:"nodeAllocatablePods"`
	N        int    `json:"n"`
	Replicas int    `json:"replicas"`

	Latency  *latencyReport  `json:"latency,omitempty"`
	Rollback *rollbackReport `json:"rollback,omitempty"`
	Gate     *gateReport     `json:"gate,omitempty"`
	Memory   *memoryReport   `json:"memory,omitempty"`
}

// summary is a set of durations; the JSON has them in milliseconds.
type summary struct {
	median, p90 time.Duration
	samples     []time.Duration
}

func summarize(d []time.Duration) summary {
	s := slices.Clone(d)
	slices.Sort(s)
	n := len(s)
	if n == 0 {
		return summary{}
	}
	med := s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	// Nearest rank: the smallest sample with at least 90% at or below it.
	return summary{median: med, p90: s[int(math.Ceil(0.9*float64(n)))-1], samples: d}
}

func (s summary) MarshalJSON() ([]byte, error) {
	out := struct {
		Median  float64   `json:"medianMs"`
		P90     float64   `json:"p90Ms"`
		N       int       `json:"n"`
		Samples []float64 `json:"samplesMs"`
	}{Median: msf(s.median), P90: msf(s.p90), N: len(s.samples)}
	for _, d := range s.samples {
		out.Samples = append(out.Samples, msf(d))
	}
	return json.Marshal(out)
}

type ratios struct {
	Median float64 `json:"median"`
	P90    float64 `json:"p90"`
}

// ratio divides a's figures by b's; it is 0 where b's is not positive,
// since JSON has no NaN.
func ratio(a, b summary) ratios {
	r := func(x, y time.Duration) float64 {
		if y <= 0 {
			return 0
		}
		return math.Round(float64(x)/float64(y)*100) / 100
	}
	return ratios{Median: r(a.median, b.median), P90: r(a.p90, b.p90)}
}

func msf(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }

// ms prints a duration in milliseconds with precision to suit.
func ms(d time.Duration) string {
	v := float64(d) / 1e6
	switch a := math.Abs(v); {
	case a < 10:
		return strconv.FormatFloat(v, 'f', 2, 64) + " ms"
	case a < 100:
		return strconv.FormatFloat(v, 'f', 1, 64) + " ms"
	}
	return strconv.FormatFloat(v, 'f', 0, 64) + " ms"
}

func mib(b uint64) string { return strconv.FormatFloat(float64(b)/(1<<20), 'f', 1, 64) + " MiB" }

func (r report) print(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "cutover kube bench: kube-apiserver %s, kubectl %s, %s, %d CPUs; %d kwok nodes (allocatable pods %s each)\n",
		r.Server, orDash(r.Kubectl), r.Go, r.CPUs, r.Nodes, r.NodePods)
	// Values are padded so that they line up on the right.
	line := func(name string, cells ...string) {
		fmt.Fprint(tw, name)
		for _, c := range cells {
			fmt.Fprintf(tw, "\t%10s", c)
		}
		fmt.Fprint(tw, "\t\n")
	}
	row := func(name string, s summary) { line("  "+name, ms(s.median), ms(s.p90), strconv.Itoa(len(s.samples))) }
	ratioRow := func(name string, x ratios) {
		line("  "+name, strconv.FormatFloat(x.Median, 'f', 2, 64)+"x", strconv.FormatFloat(x.P90, 'f', 2, 64)+"x", "")
	}
	if l := r.Latency; l != nil {
		line("")
		line(fmt.Sprintf("EVENT LATENCY: after a pod's Ready update reaches a raw watch (%d rollouts of %d pods)", r.N, r.Replicas), "median", "p90", "n")
		row("cutover: WaitRollout progress lists that pod as Ready", l.CutoverPodSeen)
		row("(resolution: a second raw watch on another client sees that pod Ready)", l.ControlPodSeen)
		row("(controller: Deployment status complete at the raw watch, after the last pod)", l.StatusComplete)
		row("cutover: WaitRollout progress's Ready count includes the last pod", l.CutoverReadyCount)
		row("cutover: WaitRollout returns done, after the last pod", l.CutoverDone)
		row(`kubectl rollout status: prints "successfully rolled out", after the last pod`, l.KubectlPrinted)
		row("kubectl rollout status: process exits, after the last pod", l.KubectlExit)
		ratioRow("ratio kubectl exits / cutover returns", l.ExitOverDone)
		row("kubectl version --client, whole process (start cost; not inside the times above)", l.KubectlStart)
	}
	if rb := r.Rollback; rb != nil {
		line("")
		line(fmt.Sprintf("ROLLBACK, warm color (%d Ready pods each side; target color alternating)", rb.PodsPerColor), "median", "p90", "n")
		row("engine.RunRollback: call -> Service patched (Switched hook)", rb.Switched)
		row("engine.RunRollback: call -> return", rb.Returned)
		row("client-go Services(ns).Patch of the selector, merge patch (floor)", rb.Patch)
		ratioRow("ratio RunRollback returns / Patch", rb.ReturnedOverPatch)
		req := strconv.FormatInt(rb.Requests, 10)
		if rb.RequestsNote != "" {
			req = rb.RequestsNote
		}
		line("  API requests per RunRollback", req, "", "")
		row("with the pair watched (WatchPair running): RunRollback -> Service patched", rb.WarmSwitched)
		row("with the pair watched: RunRollback call -> return", rb.WarmReturned)
		row("client-go patch of the selector, in the same rounds (floor)", rb.WarmPatch)
		ratioRow("ratio watched RunRollback returns / Patch", rb.WarmOverPatch)
		req = strconv.FormatInt(rb.WarmRequests, 10)
		if rb.WarmRequestsNote != "" {
			req = rb.WarmRequestsNote
		}
		line("  API requests per watched RunRollback (GET and PATCH of the Service)", req, "", "")
		row("client-go pods List right after a Service write, consistent read", rb.ListAfter)
		row("the same List with resourceVersion=0 (watch cache; what Observe uses)", rb.ListCached)
	}
	if g := r.Gate; g != nil {
		line("")
		line(fmt.Sprintf("LIVE GATE: a preview pod's Ready condition set false while the gate waits (%d pods, %d per color)", g.Pods, g.Pods/2), "median", "p90", "n")
		row("cutover: WatchPair reports the pod unready", g.Watch)
		row("before: Observe every 100ms reports it (baseline)", g.Poll)
		ratioRow("ratio WatchPair / Observe every 100ms", g.WatchPoll)
	}
	if m := r.Memory; m != nil {
		c := m.Child
		line("")
		line(fmt.Sprintf("MEMORY: %d pods, %d per color (%.1f KiB of JSON each without managedFields)", m.Pods, m.Pods/2, float64(m.PodJSONBareBytes)/1024),
			"RSS", "peak", "Go heap")
		line(fmt.Sprintf("  cutover watching %d pods: WaitRollout on both colors, Observe every %s, for %.0fs", c.WatchedPods, m.ObserveEvery, c.WatchedForSec),
			mib(c.RSS), mib(c.HWM), mib(c.HeapInuse))
		line("  idle process: the same binary before it builds a client", mib(c.IdleRSS), mib(c.IdleHWM), "")
		verdict := "met"
		if !m.MeetsTarget {
			verdict = "NOT met"
		}
		line("  target: peak <= 80 MiB", "", verdict, "")
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("print the table: %w", err)
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
