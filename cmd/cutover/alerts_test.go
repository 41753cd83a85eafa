package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestShippedAlertRulesPassPromtool: the guide's four alerts, as shipped.
func TestShippedAlertRulesPassPromtool(t *testing.T) {
	out, err := exec.Command("promtool", "check", "rules", "../../examples/claude-tiu/alerts.rules.yml").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "SUCCESS: 4 rules found") {
		t.Errorf("promtool check rules: %v\n%s", err, out)
	}
}

// TestAlertsStepFailsWhileAnAlertFires loads a rule into a real Prometheus,
// makes it fire with 20% errors from the app, and runs an alerts step: it
// fails and names the alert.
func TestAlertsStepFailsWhileAnAlertFires(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// The shipped rule's shape, with a window a test can wait for.
	rules := filepath.Join(t.TempDir(), "rules.yml")
	if err := os.WriteFile(rules, []byte(`groups:
  - name: test
    rules:
      - alert: HighErrorRate
        expr: sum by (service) (increase(http_requests_total{service="web",code=~"5.."}[5s])) > 10
        labels: {severity: critical}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	app, p := scrapedApp(ctx, t, 0, rules)
	pipeline := writeFile(t, "alerts.yaml", `apiVersion: cutover.dev/v1alpha1
kind: Pipeline
metadata: {name: alerts}
prometheus: {address: `+p.URL+`}
stages:
  - name: monitoring
    budget: 5m
    steps:
      - name: alerts
        alerts:
          alerts: [HighErrorRate, PodCrashLooping]
          labels: {service: web}
`)
	state := t.TempDir()
	if code, out, errOut := cli(t, "", nil, "run", "--plain", pipeline, "--state-dir", state); code != 0 {
		t.Fatalf("no alert firing: exit %d, want 0\n%s%s", code, out, errOut)
	}
	app.Set(0.2, 50*time.Millisecond)
	for {
		code, out, errOut := cli(t, "", nil, "run", "--plain", pipeline, "--state-dir", state)
		if code == exitFailed {
			if !strings.Contains(out, "firing: HighErrorRate{service=web,severity=critical}") {
				t.Errorf("the failure does not name the alert:\n%s%s", out, errOut)
			}
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the alert never failed the step; last exit %d:\n%s", code, out)
		case <-time.After(time.Second):
		}
	}
}
