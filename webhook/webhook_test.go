package webhook

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cutover-sh/cutover/engine/edge"
)

var t0 = time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC)

// TestPostErrorsDoNotQuoteTheURL: Go's HTTP errors quote the URL, which
// is the credential; post's errors leave it out, before any masking.
func TestPostErrorsDoNotQuoteTheURL(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	tests := []struct{ url, want string }{
		{dead.URL + "/services/T0/B0/secretpath4410", "post to slack webhook: dial tcp"},
		{"http://[::1/secretpath4410", "slack webhook is not a valid URL"},
	}
	for _, tc := range tests {
		err := Poster{}.Post(context.Background(), edge.Webhook{Kind: "slack", URL: tc.url}, edge.Notice{Headline: "h"}, time.Second).Err
		if err == nil || strings.Contains(err.Error(), "secretpath4410") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("post to %s: got %v, want an error saying %q without the URL", tc.url, err, tc.want)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	tests := []struct {
		header string
		want   time.Duration
	}{
		{"", 0},
		{"7", 7 * time.Second},
		{"-3", 0},
		{t0.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{t0.Add(-time.Minute).Format(http.TimeFormat), 0},
		{"soon", 0},
	}
	for _, tc := range tests {
		if got := retryAfter(tc.header, t0); got != tc.want {
			t.Errorf("Retry-After %q: got %s, want %s", tc.header, got, tc.want)
		}
	}
}

func TestRetryable(t *testing.T) {
	for status, want := range map[int]bool{500: true, 502: true, 503: true, 429: true, 400: false, 403: false, 404: false, 410: false} {
		if got := retryable(status); got != want {
			t.Errorf("status %d: got %v, want %v", status, got, want)
		}
	}
}

// TestSlackEscapesText: text from a pipeline cannot become a Slack link or
// mention.
func TestSlackEscapesText(t *testing.T) {
	b, err := payload(edge.Webhook{Kind: "slack"}, edge.Notice{Headline: "ship <!channel> & <https://evil|docs>", Facts: []edge.Fact{{Title: "Pipeline", Value: "a>b"}}})
	if err != nil {
		t.Fatal(err)
	}
	var m slackMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("slack payload %s: %v", b, err)
	}
	if len(m.Blocks) < 2 || m.Blocks[0].Text == nil || len(m.Blocks[1].Fields) == 0 {
		t.Fatalf("slack payload %s: want a headline section and a fields section", b)
	}
	if got, want := strings.Trim(m.Blocks[0].Text.Text, "*"), "ship &lt;!channel&gt; &amp; &lt;https://evil|docs&gt;"; got != want {
		t.Errorf("headline: got %q, want %q", got, want)
	}
	if got, want := m.Text, "ship &lt;!channel&gt; &amp; &lt;https://evil|docs&gt;"; got != want {
		t.Errorf("text: got %q, want %q", got, want)
	}
	if got := m.Blocks[1].Fields[0].Text; got != "*Pipeline*\na&gt;b" {
		t.Errorf("pipeline field: got %q, want a&gt;b", got)
	}
}
