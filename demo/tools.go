package demo

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
)

// toolLine is one line a tool prints, after a pause (at speed 1).
type toolLine struct {
	after time.Duration
	text  string
}

// tools stand in for the guide's tools in the demo's run steps, so the
// demo needs none of them installed. Their output is what the real tools
// print on a clean run.
var tools = map[string][]toolLine{
	"format": {
		{1200 * time.Millisecond, "$ black --check ."},
		{800 * time.Millisecond, "All done! ✨ 🍰 ✨"},
		{0, "142 files would be left unchanged."},
		{400 * time.Millisecond, "$ isort --check-only ."},
		{600 * time.Millisecond, "Skipped 3 files"},
	},
	"lint": {
		{500 * time.Millisecond, "$ flake8 ."},
		{2 * time.Second, "0 problems in 142 files"},
	},
	"types": {
		{500 * time.Millisecond, "$ mypy src/"},
		{3 * time.Second, "Success: no issues found in 97 source files"},
	},
	"sast": {
		{300 * time.Millisecond, "$ bandit -r src/"},
		{1500 * time.Millisecond, "Test results:"},
		{0, "	No issues identified."},
		{0, "Code scanned: Total lines of code: 18342"},
		{300 * time.Millisecond, "$ semgrep --config auto --error"},
		{2 * time.Second, "Ran 1204 rules on 142 files: 0 findings."},
	},
	"unit": {
		{500 * time.Millisecond, "$ tox -e py39,py310,py311,py312"},
		{2500 * time.Millisecond, "py39: 412 passed in 2.31s"},
		{2500 * time.Millisecond, "py310: 412 passed in 2.12s"},
		{2500 * time.Millisecond, "py311: 412 passed in 1.87s"},
		{2500 * time.Millisecond, "py312: 412 passed in 1.79s"},
		{0, "  congratulations :)"},
	},
	"integration": {
		{500 * time.Millisecond, "$ pytest tests/integration --cov=src"},
		{4 * time.Second, "57 passed in 3.92s"},
		{0, "TOTAL 18342 1614 91%"},
	},
	"build": {
		{300 * time.Millisecond, "$ docker buildx build --platform linux/amd64,linux/arm64 -t ghcr.io/claude-tiu/claude-tiu:${IMAGE_TAG} --push ."},
		{1 * time.Second, "#1 [internal] load build definition from Dockerfile"},
		{2 * time.Second, "#7 [linux/amd64 builder 4/6] RUN pip install --no-cache-dir -r requirements.txt"},
		{2 * time.Second, "#9 [linux/arm64 builder 4/6] RUN pip install --no-cache-dir -r requirements.txt"},
		{2 * time.Second, "#14 exporting to image"},
		{1 * time.Second, "#14 pushing layers 1.2s done"},
	},
	"trivy": {
		{300 * time.Millisecond, "$ trivy image --exit-code 1 --severity CRITICAL,HIGH ghcr.io/claude-tiu/claude-tiu:${IMAGE_TAG}"},
		{2500 * time.Millisecond, "ghcr.io/claude-tiu/claude-tiu:${IMAGE_TAG} (debian 12.8)"},
		{0, "Total: 0 (HIGH: 0, CRITICAL: 0)"},
	},
	"snyk": {
		{300 * time.Millisecond, "$ snyk container test ghcr.io/claude-tiu/claude-tiu:${IMAGE_TAG}"},
		{2 * time.Second, "✔ Tested 214 dependencies for known issues, no vulnerable paths found."},
	},
	"zap": {
		{300 * time.Millisecond, "$ zap-baseline.py -t http://claude-tiu-service.production -c zap.conf"},
		{3 * time.Second, "FAIL-NEW: 0	FAIL-INPROG: 0	WARN-NEW: 2	WARN-INPROG: 0	INFO: 0	IGNORE: 0	PASS: 117"},
	},
}

// ToolNames are the tools PlayTool plays, sorted.
func ToolNames() []string { return slices.Sorted(maps.Keys(tools)) }

// PlayTool prints to w what the tool name prints, with its pauses divided
// by speed and ${IMAGE_TAG} replaced by tag, until ctx is done.
func PlayTool(ctx context.Context, w io.Writer, name string, speed float64, tag string) error {
	lines, ok := tools[name]
	if !ok {
		return fmt.Errorf("no demo tool %q; there are %s", name, strings.Join(ToolNames(), ", "))
	}
	for _, l := range lines {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(float64(l.after) / speed)):
		}
		if _, err := fmt.Fprintln(w, strings.ReplaceAll(l.text, "${IMAGE_TAG}", tag)); err != nil {
			return err
		}
	}
	return nil
}
