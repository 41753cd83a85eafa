package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cutover-sh/cutover/engine/spec"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/cutover-sh/cutover/engine"
	"github.com/cutover-sh/cutover/kube"
)

// childReport is what the memory child prints.
type childReport struct {
	// Before any client exists.
	IdleRSS uint64 `json:"idleRSSBytes"`
	IdleHWM uint64 `json:"idleHWMBytes"`
	// At the end of the window, while still watching.
	RSS       uint64 `json:"rssBytes"`
	HWM       uint64 `json:"hwmBytes"`
	HeapInuse uint64 `json:"heapInuseBytes"`
	GoSys     uint64 `json:"goSysBytes"`
	NumGC     uint32 `json:"numGC"`

	Observes      int      `json:"observes"`
	ObservedPods  int      `json:"observedPods"`
	Progress      int      `json:"progressReports"`
	WatchedPods   int      `json:"watchedPods"`
	Errors        []string `json:"errors,omitempty"`
	WatchedForSec float64  `json:"watchedForSeconds"`
}

func (b *bench) memory(ctx context.Context) (*memoryReport, error) {
	const ns, app = "memory", "mem"
	if err := b.namespace(ctx, ns); err != nil {
		return nil, err
	}
	per := int32(b.o.pods / 2) //nolint:gosec // a flag, far below 2^31
	if err := b.pair(ctx, ns, app, per, true); err != nil {
		return nil, err
	}
	r := &memoryReport{Pods: 2 * int(per), WatchFor: b.o.watchFor.String(), ObserveEvery: b.o.observeEvery.String()}
	if err := b.podSize(ctx, ns, r); err != nil {
		return nil, err
	}

	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find the harness binary to run the memory child: %w", err)
	}
	cmd := exec.CommandContext(ctx, exe, "-watch", "-kubeconfig="+b.c.Kubeconfig, "-namespace="+ns, "-service="+app+"-service", //nolint:gosec // this binary
		"-watch-for="+b.o.watchFor.String(), "-observe-every="+b.o.observeEvery.String())
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	logf("memory: a child process watches %d pods for %s", r.Pods, b.o.watchFor)
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("memory child: %w", err)
	}
	if err := json.Unmarshal(out, &r.Child); err != nil {
		return nil, fmt.Errorf("memory child printed %q: %w", out, err)
	}
	if len(r.Child.Errors) > 0 {
		return nil, fmt.Errorf("memory child: %s", strings.Join(r.Child.Errors, "; "))
	}
	r.MeetsTarget = r.Child.HWM <= 80<<20
	return r, nil
}

// podSize records how big the watched pods are, as the API server sends
// them and as cutover keeps them (without managedFields).
func (b *bench) podSize(ctx context.Context, ns string, r *memoryReport) error {
	pods, err := b.admin.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{Limit: 50})
	if err != nil {
		return fmt.Errorf("list pods in %s: %w", ns, err)
	}
	var full, bare int
	for i := range pods.Items {
		p := &pods.Items[i]
		j, err := json.Marshal(p)
		if err != nil {
			return fmt.Errorf("encode pod %s: %w", p.Name, err)
		}
		full += len(j)
		p.ManagedFields = nil
		if j, err = json.Marshal(p); err != nil {
			return fmt.Errorf("encode pod %s: %w", p.Name, err)
		}
		bare += len(j)
	}
	if n := len(pods.Items); n > 0 {
		r.PodJSONBytes, r.PodJSONBareBytes = full/n, bare/n
	}
	return nil
}

// watchChild is the memory child: it reads its own RSS, then watches the
// pair the way cutover does during a release (a WaitRollout per color,
// Observe on a timer) and reads its RSS again at the end, still watching.
func watchChild(ctx context.Context, o options) error {
	var rep childReport
	var err error
	if rep.IdleRSS, rep.IdleHWM, err = procMemory(); err != nil {
		return err
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", o.kubeconfig)
	if err != nil {
		return fmt.Errorf("read %s: %w", o.kubeconfig, err)
	}
	cl, err := kube.NewForConfig(cfg)
	if err != nil {
		return err
	}
	t := spec.Target{Namespace: o.namespace, Service: o.service}.WithDefaults()
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var mu sync.Mutex
	watched := map[spec.Color]int{}
	var wg sync.WaitGroup
	for _, c := range []spec.Color{spec.Blue, spec.Green} {
		wg.Go(func() {
			err := cl.WaitRollout(wctx, t, c, func(s engine.ColorState) {
				mu.Lock()
				defer mu.Unlock()
				rep.Progress++
				watched[c] = len(s.Pods)
			})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case wctx.Err() != nil:
			case err == nil:
				rep.Errors = append(rep.Errors, fmt.Sprintf("the rollout of %s finished: it should stay held", c))
			default:
				rep.Errors = append(rep.Errors, err.Error())
			}
		})
	}
	start := time.Now()
	end := time.NewTimer(o.watchFor)
	defer end.Stop()
	tick := time.NewTicker(o.observeEvery)
	defer tick.Stop()
	for done := false; !done; {
		obs, err := cl.Observe(wctx, t)
		if err != nil {
			return fmt.Errorf("observe %s: %w", t, err)
		}
		rep.Observes++
		rep.ObservedPods = len(obs.Color(spec.Blue).Pods) + len(obs.Color(spec.Green).Pods)
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-end.C:
			done = true
		case <-tick.C:
		}
	}
	rep.WatchedForSec = time.Since(start).Seconds()
	if rep.RSS, rep.HWM, err = procMemory(); err != nil {
		return err
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rep.HeapInuse, rep.GoSys, rep.NumGC = ms.HeapInuse, ms.Sys, ms.NumGC
	mu.Lock()
	rep.WatchedPods = watched[spec.Blue] + watched[spec.Green]
	mu.Unlock()
	cancel()
	wg.Wait()
	return json.NewEncoder(os.Stdout).Encode(rep)
}

// procMemory reads VmRSS and VmHWM from /proc/self/status, in bytes.
func procMemory() (rss, hwm uint64, err error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, 0, fmt.Errorf("read this process's memory: %w", err)
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok || (key != "VmRSS" && key != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(val), " kB"), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("read %s from /proc/self/status: %w", key, err)
		}
		if key == "VmRSS" {
			rss = kb << 10
		} else {
			hwm = kb << 10
		}
	}
	if err := sc.Err(); err != nil {
		return 0, 0, fmt.Errorf("read /proc/self/status: %w", err)
	}
	if rss == 0 || hwm == 0 {
		return 0, 0, errors.New("no VmRSS or VmHWM in /proc/self/status")
	}
	return rss, hwm, nil
}

type memoryReport struct {
	Pods             int         `json:"pods"`
	WatchFor         string      `json:"watchFor"`
	ObserveEvery     string      `json:"observeEvery"`
	PodJSONBytes     int         `json:"podJSONBytes"`
	PodJSONBareBytes int         `json:"podJSONBytesWithoutManagedFields"`
	Child            childReport `json:"child"`
	MeetsTarget      bool        `json:"peakWithin80MiB"`
}
