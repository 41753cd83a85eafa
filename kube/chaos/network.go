package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// network is the path between cutover and kube-apiserver: a toxiproxy
// proxy, in this process, that cutover's kubeconfig points at. The
// watcher and the harness go to kube-apiserver directly, so a network
// fault blinds cutover alone, as a flaky link from a bastion would.
type network struct {
	proxy      *toxiproxy.Proxy
	kubeconfig string
}

// startNetwork proxies the API server at apiURL (https://127.0.0.1:port)
// and writes a copy of kubeconfig that goes through the proxy. The API
// server's certificate names 127.0.0.1, not a port, so TLS holds.
func startNetwork(apiURL, kubeconfig, dir string) (*network, error) {
	u, err := url.Parse(apiURL)
	if err != nil {
		return nil, fmt.Errorf("the API server's address %q: %w", apiURL, err)
	}
	srv := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	p := toxiproxy.NewProxy(srv, "kube-apiserver", "127.0.0.1:0", u.Host)
	if err := p.Start(); err != nil {
		return nil, fmt.Errorf("start the network proxy: %w", err)
	}
	b, err := os.ReadFile(kubeconfig)
	if err != nil {
		p.Stop()
		return nil, err
	}
	via := strings.ReplaceAll(string(b), apiURL, "https://"+p.Listen)
	if via == string(b) {
		p.Stop()
		return nil, fmt.Errorf("kubeconfig %s does not name %s", kubeconfig, apiURL)
	}
	n := &network{proxy: p, kubeconfig: dir + "/kubeconfig-via-proxy"}
	if err := os.WriteFile(n.kubeconfig, []byte(via), 0o600); err != nil {
		p.Stop()
		return nil, err
	}
	return n, nil
}

func (n *network) stop() { n.proxy.Stop() }

// The network faults, as toxics on both directions.
var toxics = map[string]string{
	// slow: every byte waits about a second.
	"network-slow": `{"type": "latency", "attributes": {"latency": 1000, "jitter": 500}}`,
	// reset: every connection, old or new, is reset as it carries data.
	"network-reset": `{"type": "reset_peer", "attributes": {"timeout": 0}}`,
	// cut: nothing goes through and nothing is closed: requests hang.
	"network-cut": `{"type": "timeout", "attributes": {"timeout": 0}}`,
}

// fault applies one network fault for d, then heals the network.
func (n *network) fault(ctx context.Context, kind string, d time.Duration) error {
	body, ok := toxics[kind]
	if !ok {
		return fmt.Errorf("no network fault %q", kind)
	}
	var added []string
	for _, stream := range []string{"upstream", "downstream"} {
		name := kind + "-" + stream
		js := strings.Replace(body, "{", fmt.Sprintf(`{"name": %q, "stream": %q, `, name, stream), 1)
		if _, err := n.proxy.Toxics.AddToxicJson(strings.NewReader(js)); err != nil {
			n.heal(added)
			return fmt.Errorf("add toxic %s: %w", name, err)
		}
		added = append(added, name)
	}
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
	n.heal(added)
	return nil
}

func (n *network) heal(names []string) {
	for _, name := range names {
		_ = n.proxy.Toxics.RemoveToxic(context.Background(), name)
	}
}
