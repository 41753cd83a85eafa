// Package webhook delivers the engine's notices to Slack incoming webhooks
// and Microsoft Teams Workflows webhooks: one attempt at a time, as JSON
// each reads, following no redirect, and saying whether another attempt
// may succeed. The engine keeps what to send, when, and how often to try
// (engine.WebhookPoster).
//
// It imports net/http, which the engine may not, and of cutover's own
// packages only engine/edge and sanitize.
package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cutover-sh/cutover/engine/edge"
	"github.com/cutover-sh/cutover/human"
	"github.com/cutover-sh/cutover/sanitize"
)

// Poster posts notices to webhooks. Its zero value is ready.
type Poster struct {
	// Client posts; nil is a client that follows no redirect.
	Client *http.Client
	// Now is what a Retry-After date is read against; nil is time.Now.
	Now func() time.Time
}

// defaultClient follows no redirect: a webhook answers where it is, and
// a redirect would send the message elsewhere.
var defaultClient = &http.Client{CheckRedirect: noRedirect}

// retryAfter reads a Retry-After header: seconds, or an HTTP date.
func retryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	if s, err := strconv.Atoi(h); err == nil {
		return max(time.Duration(s)*time.Second, 0)
	}
	if at, err := http.ParseTime(h); err == nil {
		return max(at.Sub(now), 0)
	}
	return 0
}

// retryable reports whether an answer with this status may succeed later.
func retryable(status int) bool {
	return status == http.StatusTooManyRequests || status >= 500
}

// Post makes one attempt to deliver n to w, within timeout. Its errors
// never quote the webhook URL, which is the credential.
func (p Poster) Post(ctx context.Context, w edge.Webhook, n edge.Notice, timeout time.Duration) edge.Posted {
	body, err := payload(w, n)
	if err != nil {
		return edge.Posted{Err: err}
	}
	actx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		// Not err itself: url errors quote the URL, which is the secret.
		return edge.Posted{Err: fmt.Errorf("%s webhook is not a valid URL", w.Kind)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "cutover")
	client := p.Client
	if client == nil {
		client = defaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		if uerr, ok := errors.AsType[*url.Error](err); ok {
			err = uerr.Err // without the URL it quotes
		}
		switch {
		case ctx.Err() != nil:
			err = errors.New("stopped before the webhook answered")
		case actx.Err() != nil:
			err = fmt.Errorf("no answer within %s", human.Duration(timeout))
		}
		return edge.Posted{Retry: true, Err: fmt.Errorf("post to %s webhook: %w", w.Kind, err)}
	}
	defer func() { _ = resp.Body.Close() }()
	said, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	// Reading the rest lets the connection be reused for the next notice.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return edge.Posted{}
	}
	msg := fmt.Sprintf("%s webhook answered %s", w.Kind, resp.Status)
	if s := clip(strings.TrimSpace(sanitize.Line(string(said))), 200); s != "" {
		msg += ": " + s
	}
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	return edge.Posted{Retry: retryable(resp.StatusCode), After: retryAfter(resp.Header.Get("Retry-After"), now()), Err: errors.New(msg)}
}

// noRedirect keeps a webhook's redirect from being followed: a webhook
// answers where it is, and a redirect would send the message elsewhere.
func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// clip shortens s to at most n runes, marking the cut.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// payload encodes n for w's kind of webhook.
func payload(w edge.Webhook, n edge.Notice) ([]byte, error) {
	var v any
	switch w.Kind {
	case "slack":
		v = slackPayload(n, w.Channel)
	case "teams":
		v = teamsPayload(n)
	default:
		return nil, fmt.Errorf("unknown notification target %q", w.Kind)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	// Slack's own escapes (&amp; &lt; &gt;) stay readable in the payload.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode %s notification: %w", w.Kind, err)
	}
	return b.Bytes(), nil
}

// slackMessage is a Slack incoming webhook's payload: text is the
// notification's fallback, blocks what Slack shows.
type slackMessage struct {
	Text    string       `json:"text"`
	Channel string       `json:"channel,omitempty"`
	Blocks  []slackBlock `json:"blocks"`
}

type slackBlock struct {
	Type     string      `json:"type"`
	Text     *slackText  `json:"text,omitempty"`
	Fields   []slackText `json:"fields,omitempty"`
	Elements []slackText `json:"elements,omitempty"`
}

type slackText struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// slackEscape escapes the three characters Slack's mrkdwn reserves, so
// that text from a pipeline cannot turn into a link or a mention.
var slackEscape = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

func slackPayload(n edge.Notice, channel string) slackMessage {
	head := slackEscape.Replace(clip(n.Headline, 1000))
	text := "*" + head + "*"
	if n.Detail != "" {
		text += "\n" + slackEscape.Replace(clip(n.Detail, 1900))
	}
	var fields []slackText
	for _, f := range n.Facts {
		fields = append(fields, slackText{Type: "mrkdwn", Text: "*" + f.Title + "*\n" + slackEscape.Replace(clip(f.Value, 1900))})
	}
	blocks := []slackBlock{{Type: "section", Text: &slackText{Type: "mrkdwn", Text: text}}}
	if len(fields) > 0 {
		blocks = append(blocks, slackBlock{Type: "section", Fields: fields})
	}
	blocks = append(blocks, slackBlock{Type: "context", Elements: []slackText{{Type: "mrkdwn", Text: "cutover run " + slackEscape.Replace(n.Run)}}})
	return slackMessage{Text: fallback(n), Channel: channel, Blocks: blocks}
}

// fallback is a notice in one line, for where a client shows no blocks
// (phone notifications, say).
func fallback(n edge.Notice) string {
	s := clip(n.Headline, 1000)
	if n.Image != "" && !strings.Contains(s, n.Image) {
		s += " · " + n.Image
	}
	if n.Actor != "" {
		s += " · by " + n.Actor
	}
	return slackEscape.Replace(s)
}

// teamsMessage is the payload a Teams Workflows webhook takes: a message
// with one Adaptive Card.
type teamsMessage struct {
	Type        string            `json:"type"`
	Attachments []teamsAttachment `json:"attachments"`
}

type teamsAttachment struct {
	ContentType string `json:"contentType"`
	// ContentURL is null, as in Microsoft's example for Workflows.
	ContentURL *string      `json:"contentUrl"`
	Content    adaptiveCard `json:"content"`
}

type adaptiveCard struct {
	Schema  string        `json:"$schema"`
	Type    string        `json:"type"`
	Version string        `json:"version"`
	Body    []cardElement `json:"body"`
}

type cardElement struct {
	Type   string     `json:"type"`
	Text   string     `json:"text,omitempty"`
	Weight string     `json:"weight,omitempty"`
	Size   string     `json:"size,omitempty"`
	Wrap   bool       `json:"wrap,omitempty"`
	Facts  []cardFact `json:"facts,omitempty"`
}

type cardFact struct {
	Title string `json:"title"`
	Value string `json:"value"`
}

func teamsPayload(n edge.Notice) teamsMessage {
	body := []cardElement{{Type: "TextBlock", Text: clip(n.Headline, 1000), Weight: "Bolder", Size: "Medium", Wrap: true}}
	if n.Detail != "" {
		body = append(body, cardElement{Type: "TextBlock", Text: clip(n.Detail, 2000), Wrap: true})
	}
	var facts []cardFact
	for _, f := range n.Facts {
		facts = append(facts, cardFact{Title: f.Title, Value: clip(f.Value, 1000)})
	}
	facts = append(facts, cardFact{Title: "Run", Value: n.Run})
	body = append(body, cardElement{Type: "FactSet", Facts: facts})
	return teamsMessage{Type: "message", Attachments: []teamsAttachment{{
		ContentType: "application/vnd.microsoft.card.adaptive",
		Content: adaptiveCard{
			Schema: "http://adaptivecards.io/schemas/adaptive-card.json", Type: "AdaptiveCard", Version: "1.4", Body: body,
		},
	}}}
}
