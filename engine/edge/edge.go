// Package edge holds the values that cross the engine's edge to the
// adapters that do its I/O: a command for the process runner (proc), a
// load test for the load tester (loadtest) and what it measured, and a
// notice for a Slack or Teams webhook (webhook). The
// engine defines the interfaces; an adapter implements them with these
// values, so that neither imports the other, and the engine's own tests
// can use the real adapters.
//
// It imports only the standard library, and no package that does I/O.
package edge

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/cutover-sh/cutover/human"
)

// Command is one attempt of a run step.
type Command struct {
	// Script is the step's command line. Variables in it are the shell's
	// to expand, from Env.
	Script string
	// Shell runs Script through /bin/sh even when it looks like a plain
	// command: the step sets its own PATH or working directory, where the
	// shell must resolve it.
	Shell bool
	Env   []string
	Dir   string
	// Grace is how long processes get between SIGTERM and SIGKILL.
	Grace time.Duration
	// Kill closes when the user insists: skip what is left of Grace.
	Kill <-chan struct{}
	// Stdin is the step's standard input; nil is /dev/null.
	Stdin *os.File
	// Line receives each output line, or piece of a very long one.
	Line func(stderr bool, text string, partial bool)
	// Cut says where a line too long to mask whole may be cut, at n or
	// before it, so that no secret is cut in two; nil cuts at n.
	Cut func(b []byte, n int) int
	// Marker are environment entries only this step's processes carry:
	// those that left its process group are found by them.
	Marker []string
}

// LoadAttack is a load test to send: Rate requests a second of Method to
// Target, for Duration.
type LoadAttack struct {
	Target, Method string
	Rate           int
	Duration       time.Duration
	// RequestTimeout bounds each request; 0 is 10s.
	RequestTimeout time.Duration
	Headers        map[string]string
}

// LoadSummary is what a load test measured.
type LoadSummary struct {
	Requests uint64  `json:"requests"`
	Rate     float64 `json:"rate"`
	// Throughput is successful requests a second.
	Throughput  float64        `json:"throughput"`
	P50         time.Duration  `json:"p50Ns"`
	P95         time.Duration  `json:"p95Ns"`
	P99         time.Duration  `json:"p99Ns"`
	ErrorRate   float64        `json:"errorRate"`
	StatusCodes map[string]int `json:"statusCodes,omitempty"`
	// Errors are the distinct transport errors, at most five.
	Errors []string `json:"errors,omitempty"`
}

// String is the summary as one line.
func (s LoadSummary) String() string {
	codes := make([]string, 0, len(s.StatusCodes))
	for _, c := range slices.Sorted(maps.Keys(s.StatusCodes)) {
		codes = append(codes, fmt.Sprintf("%s×%d", c, s.StatusCodes[c]))
	}
	return fmt.Sprintf("%d requests at %s/s (%s/s succeeded), p50 %s p95 %s p99 %s, errors %s, status %s",
		s.Requests, human.Number(s.Rate), human.Number(s.Throughput), human.Duration(s.P50), human.Duration(s.P95), human.Duration(s.P99),
		human.Percent(s.ErrorRate), strings.Join(codes, " "))
}

// Webhook is one Slack or Teams incoming webhook. Its URL is a
// credential.
type Webhook struct {
	// Kind is "slack" or "teams".
	Kind    string
	URL     string
	Channel string
}

// Notice is one notification, worded for people and masked already.
type Notice struct {
	Headline string
	// Detail is a second line: an instruction, a reason.
	Detail string
	// Facts are its labelled fields, in order, none empty.
	Facts []Fact
	// Image and Actor also go into a one-line fallback, for a client that
	// shows no blocks (a phone's notification).
	Image, Actor string
	Run          string
}

// Fact is one labelled field of a notice.
type Fact struct{ Title, Value string }

// Posted is how one attempt to deliver a notice went.
type Posted struct {
	// Err is nil when the webhook took it. It never quotes the URL.
	Err error
	// Retry says whether another attempt may succeed.
	Retry bool
	// After is how long the webhook asked to wait before the next one.
	After time.Duration
}
