package spec

import (
	"slices"
)

// NotifyTrigger names a moment of a run that the pipeline's notify: tells
// people about.
type NotifyTrigger string

// The triggers a pipeline's notify: can list under on:, and the one a
// notify step sends under.
const (
	// NotifyStarted: the run began.
	NotifyStarted NotifyTrigger = "started"
	// NotifyApproval: a gate waits for a person (not sent with
	// --auto-approve, which decides every gate at once).
	NotifyApproval NotifyTrigger = "approval"
	// NotifyPromoted: a blue-green release switched traffic to the new
	// color.
	NotifyPromoted NotifyTrigger = "promoted"
	// NotifyRolledBack: a blue-green release sent traffic back to the old
	// color, at a person's request or after a failed analysis.
	NotifyRolledBack NotifyTrigger = "rolledBack"
	// NotifyFailed: a stage failed. It is sent when it happens, so people
	// hear of it while other stages may still run.
	NotifyFailed NotifyTrigger = "failed"
	// NotifyFinished: the run ended, whatever its outcome.
	NotifyFinished NotifyTrigger = "finished"
	// NotifyMessage is what a notify step sends; it is not listed under
	// on:.
	NotifyMessage NotifyTrigger = "message"
)

// notifyTriggers are the values on: accepts, in the order errors list them.
var notifyTriggers = []NotifyTrigger{NotifyStarted, NotifyApproval, NotifyPromoted, NotifyRolledBack, NotifyFailed, NotifyFinished}

// NotifySpec is the pipeline's notify: where to tell people about the run
// and about which moments of it. Webhook URLs are credentials: each is
// written as a secretEnv variable (webhook: ${SLACK_WEBHOOK}), so that it
// is masked everywhere.
//
// Notifications are sent in the background, in order per target, and never
// hold the release up; a finished run waits for them (30s at most) before
// it returns. A notification that cannot be delivered is journaled
// (notify.failed) and shown as a warning: it never fails a release.
type NotifySpec struct {
	Slack *SlackTarget `json:"slack,omitempty"`
	Teams *TeamsTarget `json:"teams,omitempty"`
	// On lists the moments to notify; without it, all six.
	On []NotifyTrigger `json:"on,omitempty" jsonschema:"enum=started,enum=approval,enum=promoted,enum=rolledBack,enum=failed,enum=finished"`
	// Retries is how many times a failed delivery is tried again, with
	// exponential backoff from 1s (default 3). Network errors, 5xx and
	// 429 answers are retried; other answers are not.
	Retries *int `json:"retries,omitempty" jsonschema:"minimum=0,maximum=10"`
	// Timeout bounds each attempt (default 10s).
	Timeout Duration `json:"timeout,omitempty"`
}

// SlackTarget is a Slack incoming webhook. It may be written as the
// webhook alone: slack: ${SLACK_WEBHOOK}.
type SlackTarget struct {
	Webhook string `json:"webhook"`
	// Channel overrides the webhook's channel, where Slack allows it.
	Channel string `json:"channel,omitempty"`
}

// TeamsTarget is a Microsoft Teams webhook of the Workflows app ("Post to
// a channel when a webhook request is received"). It may be written as the
// webhook alone: teams: ${TEAMS_WEBHOOK}.
type TeamsTarget struct {
	Webhook string `json:"webhook"`
}

func (t *SlackTarget) fromScalar(s string) { t.Webhook = s }

func (t *TeamsTarget) fromScalar(s string) { t.Webhook = s }

// NotifyStepSpec is a notify step: it sends Message now, to its own slack
// and teams targets or, when it names neither, to those of the pipeline's
// notify:. Retries and the per-attempt timeout come from the pipeline's
// notify: too. The step always succeeds; a failed delivery is in its
// reason, the journal and a warning.
type NotifyStepSpec struct {
	Slack   *SlackTarget `json:"slack,omitempty"`
	Teams   *TeamsTarget `json:"teams,omitempty"`
	Message string       `json:"message"`
}

// Enabled reports whether the pipeline notifies about t.
func (n *NotifySpec) Enabled(t NotifyTrigger) bool {
	if n == nil || n.Slack == nil && n.Teams == nil {
		return false
	}
	return len(n.On) == 0 || slices.Contains(n.On, t)
}
