// Package loadtest sends a loadtest step's requests with vegeta and
// summarises what came back: the engine's load tester (engine.LoadTester),
// behind values from engine/edge.
//
// It imports vegeta and net/http, which the engine may not, and nothing of
// cutover's but engine/edge.
package loadtest

import (
	"context"
	"net/http"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/cutover-sh/cutover/engine/edge"
)

// Vegeta is the load tester: vegeta's attacker at a constant rate.
type Vegeta struct{}

// Attack sends the load test and summarises it. It stops early when ctx
// ends, and summarises what it sent.
func (Vegeta) Attack(ctx context.Context, a edge.LoadAttack) edge.LoadSummary {
	method := a.Method
	if method == "" {
		method = http.MethodGet
	}
	timeout := a.RequestTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	header := http.Header{}
	for k, v := range a.Headers {
		header.Set(k, v)
	}
	// No redirects: a load test measures the target, not where it points.
	// Validation keeps the rate between 1 and 10,000; enough workers for
	// a slow target, but bounded.
	workers := uint64(min(max(a.Rate, 1)*4, 1000)) //nolint:gosec // bounded just above
	atk := vegeta.NewAttacker(vegeta.Timeout(timeout), vegeta.Redirects(vegeta.NoFollow), vegeta.MaxWorkers(workers))
	tr := vegeta.NewStaticTargeter(vegeta.Target{Method: method, URL: a.Target, Header: header})
	res := atk.Attack(tr, vegeta.ConstantPacer{Freq: a.Rate, Per: time.Second}, a.Duration, "cutover")
	var m vegeta.Metrics
	// Once stopped, stop listening to ctx: a closed Done would spin this
	// loop until the attacker drains.
	done := ctx.Done()
	for {
		select {
		case r, ok := <-res:
			if !ok {
				m.Close()
				return summarise(&m)
			}
			m.Add(r)
		case <-done:
			atk.Stop()
			done = nil
		}
	}
}

func summarise(m *vegeta.Metrics) edge.LoadSummary {
	s := edge.LoadSummary{
		Requests: m.Requests, Rate: m.Rate, Throughput: m.Throughput,
		P50: m.Latencies.P50, P95: m.Latencies.P95, P99: m.Latencies.P99,
		StatusCodes: m.StatusCodes,
	}
	if m.Requests > 0 {
		s.ErrorRate = 1 - m.Success
	}
	s.Errors = m.Errors[:min(len(m.Errors), 5)]
	return s
}
