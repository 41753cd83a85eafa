package loadtest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cutover-sh/cutover/engine/edge"
)

func TestAttackCountsWhatTheTargetAnswered(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Probe") != "yes" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if n.Add(1)%4 == 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()

	s := Vegeta{}.Attack(context.Background(), edge.LoadAttack{
		Target: srv.URL, Rate: 40, Duration: time.Second,
		Headers: map[string]string{"X-Probe": "yes"},
	})
	if s.Requests != uint64(n.Load()) || s.Requests < 30 {
		t.Fatalf("summary counts %d requests, the server saw %d (want about 40)", s.Requests, n.Load())
	}
	if s.StatusCodes["200"] == 0 || s.StatusCodes["503"] == 0 || s.StatusCodes["400"] != 0 {
		t.Fatalf("status codes %v: want 200s and 503s, and no 400 (headers sent)", s.StatusCodes)
	}
	want := float64(s.StatusCodes["503"]) / float64(s.Requests)
	if d := s.ErrorRate - want; d > 1e-9 || d < -1e-9 {
		t.Fatalf("error rate %.3f, want %.3f from the status codes", s.ErrorRate, want)
	}
}

func TestAttackStopsWhenCancelled(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(300 * time.Millisecond); cancel() }()
	start := time.Now()
	s := Vegeta{}.Attack(ctx, edge.LoadAttack{Target: srv.URL, Rate: 20, Duration: time.Minute})
	// A minute-long attack that returned has stopped early; the bound is
	// loose because this is about stopping, not speed.
	if el := time.Since(start); el > 30*time.Second {
		t.Fatalf("cancelled attack ran %s", el)
	}
	if s.Requests == 0 || s.Requests > 600 {
		t.Fatalf("cancelled attack summarised %d requests", s.Requests)
	}
}

func TestAttackReportsAnUnreachableTarget(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	url := srv.URL
	srv.Close()
	s := Vegeta{}.Attack(context.Background(), edge.LoadAttack{Target: url, Rate: 10, Duration: 300 * time.Millisecond})
	if s.Requests == 0 || s.ErrorRate != 1 || len(s.Errors) == 0 {
		t.Fatalf("unreachable target: %+v, want every request an error and the error named", s)
	}
}
