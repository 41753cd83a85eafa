package prom

import (
	"context"
	"time"

	"github.com/prometheus/common/model"
)

// InstantForTest runs an instant query through a client of its own, for
// tests that compare a panel with what the HTTP API answers.
func InstantForTest(ctx context.Context, address, query string, at time.Time) (model.Value, error) {
	c, err := New(Config{Address: address})
	if err != nil {
		return nil, err
	}
	v, _, _, err := c.api.Query(ctx, query, at)
	return v, err
}
