package kube

import (
	"fmt"
	"io"
	"sync"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/cutover-sh/cutover/engine"
)

// Contexts opens clusters by kubeconfig context, the way kubectl finds
// them: --kubeconfig, else $KUBECONFIG, else ~/.kube/config. Each context's
// client is built once.
type Contexts struct {
	// Kubeconfig is an explicit kubeconfig path, or "".
	Kubeconfig string
	// Current is the context used when a step names none (--context), or
	// "" for the kubeconfig's current context.
	Current string

	mu     sync.Mutex
	opened map[string]*Cluster
}

// Config returns the REST config of a context ("" is Current).
func (x *Contexts) Config(name string) (*rest.Config, error) {
	if name == "" {
		name = x.Current
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = x.Kubeconfig
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: name}).ClientConfig()
	if err != nil {
		if name == "" {
			name = "(current)"
		}
		return nil, fmt.Errorf("kubeconfig context %s: %w", name, err)
	}
	return cfg, nil
}

// Open returns the Cluster of a context ("" is Current).
func (x *Contexts) Open(name string) (*Cluster, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if c, ok := x.opened[name]; ok {
		return c, nil
	}
	cfg, err := x.Config(name)
	if err != nil {
		return nil, err
	}
	c, err := NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	if x.opened == nil {
		x.opened = map[string]*Cluster{}
	}
	x.opened[name] = c
	return c, nil
}

// Clusters adapts Open to what the engine takes.
func (x *Contexts) Clusters() engine.Clusters {
	return func(name string) (engine.Cluster, error) { return x.Open(name) }
}

// QuietLogs stops client-go logging to stderr. Reflector retries during an
// API server outage would otherwise be written across the console; cutover
// reports retries itself, as events.
func QuietLogs() {
	klog.SetOutput(io.Discard)
	klog.LogToStderr(false)
}
