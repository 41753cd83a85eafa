// Command bench measures cutover's cluster side on a real control plane
// (testenv: etcd, kube-apiserver, controllers, scheduler, kwok nodes, all on
// loopback) and prints one table:
//
//   - event latency: from a pod's Ready update arriving at a raw watch to
//     cutover's WaitRollout seeing it, and to WaitRollout returning, next to
//     how long `kubectl rollout status` takes to exit after the same event;
//   - rollback with a warm color: engine.RunRollback from call to return,
//     next to a bare client-go patch of the Service selector, reading the
//     cluster and with a WatchPair keeping the pair in its caches;
//   - the live gate: from a preview pod turning unready to the engine's
//     WatchPair reporting it, next to reading the pair every 100ms (what the
//     engine did before), at 1,000 pods;
//   - memory: the RSS of a process that watches 1,000 pods the way cutover
//     does (two WaitRollouts and an Observe loop), next to the same process
//     before it creates a client.
//
// It needs the binaries testenv/build-controlplane builds, kubectl among
// them:
//
//	CUTOVER_TESTENV_BIN=$(testenv/build-controlplane) go run ./kube/bench [-n 10] [-json]
//
// Nothing here asserts a time: it prints figures.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/cutover-sh/cutover/kube"
	"github.com/cutover-sh/cutover/testenv"
)

// gate holds the pods of a measured rollout unscheduled until the harness
// releases them, so that kubectl and cutover are both watching before any
// pod can turn Ready.
const gate = "cutover.dev/bench-hold"

type options struct {
	n            int
	replicas     int
	rollbackPods int
	pods         int
	nodes        int
	watchFor     time.Duration
	observeEvery time.Duration
	json         bool
	only         string

	// The memory child (-watch) is this binary run again.
	watch      bool
	kubeconfig string
	namespace  string
	service    string
}

func main() {
	var o options
	flag.IntVar(&o.n, "n", 10, "repetitions of the latency and rollback measures")
	flag.IntVar(&o.replicas, "replicas", 3, "pods per rollout in the latency measure")
	flag.IntVar(&o.rollbackPods, "rollback-pods", 3, "Ready pods per color in the rollback measure")
	flag.IntVar(&o.pods, "pods", 1000, "pods watched in the gate and memory measures, half per color")
	flag.IntVar(&o.nodes, "nodes", 10, "kwok nodes")
	flag.DurationVar(&o.watchFor, "watch-for", 15*time.Second, "how long the memory child watches")
	flag.DurationVar(&o.observeEvery, "observe-every", time.Second, "how often the memory child calls Observe")
	flag.BoolVar(&o.json, "json", false, "print JSON instead of the table")
	flag.StringVar(&o.only, "only", "latency,rollback,gate,memory", "the measures to run, comma-separated")
	flag.BoolVar(&o.watch, "watch", false, "internal: be the memory child and print its figures as JSON")
	flag.StringVar(&o.kubeconfig, "kubeconfig", "", "internal: the memory child's kubeconfig")
	flag.StringVar(&o.namespace, "namespace", "", "internal: the memory child's namespace")
	flag.StringVar(&o.service, "service", "", "internal: the memory child's Service")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	var err error
	if o.watch {
		err = watchChild(ctx, o)
	} else {
		err = run(ctx, o)
	}
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

// bench is one run of the harness against one control plane.
type bench struct {
	o       options
	c       *testenv.Cluster
	kubectl string
	// kubectlArgs are the global flags every kubectl run gets: the
	// control plane's kubeconfig, and a discovery cache in its directory
	// rather than in ~/.kube.
	kubectlArgs []string
	// admin is the harness's own client: set-up, raw watches, the floor.
	admin kubernetes.Interface
	// cutover is a kube.Cluster with cutover's own client settings; its
	// requests are counted in requests.
	cutover  *kube.Cluster
	requests atomic.Int64
	// floor is a bare client with the same settings as cutover's.
	floor kubernetes.Interface
}

func run(ctx context.Context, o options) (err error) {
	if o.n < 1 || o.replicas < 1 || o.replicas > 100 || o.rollbackPods < 1 || o.rollbackPods > 5000 || o.pods < 4 || o.nodes < 1 {
		return errors.New("want -n >= 1, 1 <= -replicas <= 100, 1 <= -rollback-pods <= 5000, -pods >= 4, -nodes >= 1")
	}
	only := map[string]bool{}
	for m := range strings.SplitSeq(o.only, ",") {
		switch m = strings.TrimSpace(m); m {
		case "latency", "rollback", "gate", "memory":
			only[m] = true
		case "":
		default:
			return fmt.Errorf("-only: unknown measure %q (want latency, rollback, gate, memory)", m)
		}
	}
	bin, err := testenv.BinDir()
	if err != nil {
		return err
	}
	b := &bench{o: o, kubectl: filepath.Join(bin, "kubectl")}
	if _, err := os.Stat(b.kubectl); err != nil {
		return fmt.Errorf("no kubectl next to the control plane (%w): run testenv/build-controlplane", err)
	}
	dir, err := os.MkdirTemp("", "cutover-bench-")
	if err != nil {
		return fmt.Errorf("make a directory for the control plane: %w", err)
	}
	defer func() {
		if err != nil {
			logf("the control plane's logs are in %s", dir)
			return
		}
		_ = os.RemoveAll(dir)
	}()
	logf("starting the control plane in %s", dir)
	startCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	b.c, err = testenv.Start(startCtx, bin, dir)
	cancel()
	if err != nil {
		return fmt.Errorf("start the control plane: %w", err)
	}
	defer b.c.Stop()
	b.admin = b.c.Client
	b.kubectlArgs = []string{"--kubeconfig=" + b.c.Kubeconfig, "--cache-dir=" + filepath.Join(dir, "kubectl-cache")}

	// cutover's client as cutover builds it: kube.NewForConfig picks the
	// rate limits when the config sets none.
	cfg := rest.CopyConfig(b.c.Config)
	cfg.QPS, cfg.Burst = 0, 0
	counted := rest.CopyConfig(cfg)
	counted.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		return countingTransport{rt: rt, n: &b.requests}
	}
	if b.cutover, err = kube.NewForConfig(counted); err != nil {
		return err
	}
	cfg.QPS, cfg.Burst = 50, 100 // what kube.NewForConfig chose
	if b.floor, err = kubernetes.NewForConfig(cfg); err != nil {
		return fmt.Errorf("client for %s: %w", cfg.Host, err)
	}

	rep := report{N: o.n, Replicas: o.replicas, Nodes: o.nodes, CPUs: runtime.NumCPU(), Go: runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH}
	if v, err := b.admin.Discovery().ServerVersion(); err == nil {
		rep.Server = v.GitVersion
	}
	if rep.NodePods, err = b.addNodes(ctx); err != nil {
		return err
	}
	if only["latency"] {
		if rep.Latency, err = b.latency(ctx, &rep); err != nil {
			return err
		}
	}
	if only["rollback"] {
		if rep.Rollback, err = b.rollback(ctx); err != nil {
			return err
		}
	}
	if only["gate"] {
		if rep.Gate, err = b.gate(ctx); err != nil {
			return err
		}
	}
	if only["memory"] {
		if rep.Memory, err = b.memory(ctx); err != nil {
			return err
		}
	}
	if o.json {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return rep.print(os.Stdout)
}

type countingTransport struct {
	rt http.RoundTripper
	n  *atomic.Int64
}

func (t countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.n.Add(1)
	return t.rt.RoundTrip(r)
}
