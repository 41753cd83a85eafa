package prom

import (
	"context"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/config"
	"github.com/prometheus/common/model"

	"github.com/cutover-sh/cutover/engine"
)

// Config says how to reach Prometheus.
type Config struct {
	Address string
	// BearerToken, or Username and Password, authenticate; callers take
	// them from the environment and mask them.
	BearerToken        string
	Username, Password string
	// CAFile is a PEM file of CAs to trust for https.
	CAFile string
}

// Client queries the Prometheus HTTP API. It implements engine.Metrics.
type Client struct {
	api     v1.API
	address string
}

var _ engine.Metrics = (*Client)(nil)

// New returns a Client for cfg.
func New(cfg Config) (*Client, error) {
	hc := config.HTTPClientConfig{}
	switch {
	case cfg.BearerToken != "":
		hc.Authorization = &config.Authorization{Type: "Bearer", Credentials: config.Secret(cfg.BearerToken)}
	case cfg.Username != "":
		hc.BasicAuth = &config.BasicAuth{Username: cfg.Username, Password: config.Secret(cfg.Password)}
	}
	if cfg.CAFile != "" {
		if _, err := os.Stat(cfg.CAFile); err != nil {
			return nil, fmt.Errorf("prometheus CA file: %w", err)
		}
		hc.TLSConfig.CAFile = cfg.CAFile
	}
	rt, err := config.NewRoundTripperFromConfig(hc, "cutover")
	if err != nil {
		return nil, fmt.Errorf("prometheus client for %s: %w", cfg.Address, err)
	}
	c, err := api.NewClient(api.Config{Address: cfg.Address, RoundTripper: rt})
	if err != nil {
		return nil, fmt.Errorf("prometheus client for %s: %w", cfg.Address, err)
	}
	return &Client{api: v1.NewAPI(c), address: cfg.Address}, nil
}

// Scalar evaluates query at time at. The result must be one number: a
// scalar, or a vector of one sample. An empty vector wraps
// engine.ErrNoData; several series are an error naming how many.
func (c *Client) Scalar(ctx context.Context, query string, at time.Time) (float64, error) {
	val, _, _, err := c.api.Query(ctx, query, at)
	if err != nil {
		return 0, fmt.Errorf("query %s at %s: %w", query, c.address, err)
	}
	switch v := val.(type) {
	case *model.Scalar:
		return float64(v.Value), nil
	case model.Vector:
		switch len(v) {
		case 0:
			return 0, fmt.Errorf("query %s: %w", query, engine.ErrNoData)
		case 1:
			return float64(v[0].Value), nil
		}
		return 0, fmt.Errorf("query %s returned %d series; aggregate it to one (sum, max, ...)", query, len(v))
	}
	return 0, fmt.Errorf("query %s returned a %s; want a number", query, val.Type())
}

// Firing returns the alerts firing now, from the ALERTS series, whose
// labels include labels.
func (c *Client) Firing(ctx context.Context, labels map[string]string) ([]engine.FiringAlert, error) {
	sel := []string{`alertstate="firing"`}
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		sel = append(sel, fmt.Sprintf("%s=%q", k, labels[k]))
	}
	query := "ALERTS{" + strings.Join(sel, ",") + "}"
	val, _, _, err := c.api.Query(ctx, query, time.Now())
	if err != nil {
		return nil, fmt.Errorf("query %s at %s: %w", query, c.address, err)
	}
	vec, ok := val.(model.Vector)
	if !ok {
		return nil, fmt.Errorf("query %s returned a %s; want a vector", query, val.Type())
	}
	var out []engine.FiringAlert
	for _, s := range vec {
		a := engine.FiringAlert{Name: string(s.Metric[model.AlertNameLabel]), Labels: map[string]string{}}
		for k, v := range s.Metric {
			a.Labels[string(k)] = string(v)
		}
		out = append(out, a)
	}
	return out, nil
}
