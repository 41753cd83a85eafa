package main

import (
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// hostile is what a terminal obeys rather than shows: OSC 52 writes the
// clipboard (a tmux buffer here), OSC 0 and OSC 2 set the title, and a
// DCS passthrough hands an OSC 52 to the terminal outside tmux.
var hostile = "\x1b]52;c;" + base64.StdEncoding.EncodeToString([]byte("pwned-clipboard")) + "\x07" +
	"\x1b]0;pwned-title\x07" + "\x1b]2;pwned-title-2\x1b\\" +
	"\x1bPtmux;\x1b\x1b]52;c;" + base64.StdEncoding.EncodeToString([]byte("pwned-passthrough")) + "\x07\x1b\\" +
	"\x1b(B\x1b=\u202e"

// hostilePipeline carries hostile through a variable into an approve
// text and into a step's output and environment; the file's own approve
// text carries it as YAML escapes.
const hostilePipeline = `apiVersion: cutover.dev/v1alpha1
kind: Pipeline
metadata: {name: escapes}
stages:
  - name: build
    budget: 5m
    steps:
      - {name: print, run: 'printf "out:%s:end\n" "$EVIL"; printf "\033]52;c;cHduZWQ=\007\033]0;pwned-title\007raw:end\n"'}
      - {name: gate, approve: "Ship ${EVIL} now? \e]52;c;cHduZWQ=\a\e]0;pwned-title\a"}
`

// escapeTerm is a tmux server set up to be hurt: it takes OSC 52 into a
// paste buffer, lets titles be set, and passes DCS through.
func escapeTerm(t *testing.T, w, h int, line string) *pane {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Fatalf("tmux is not installed (testenv/test-all installs it): %v", err)
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "tmux.conf")
	if err := os.WriteFile(conf, []byte("set -g set-clipboard on\nset -g allow-passthrough on\nset -g allow-rename on\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := &pane{t: t, sock: filepath.Join(dir, "tmux.sock")}
	// The hostile bytes reach the command through its environment, as
	// they would from a CI variable: no shell quoting can carry them.
	p.tmux("-f", conf, "new-session", "-d", "-e", "EVIL="+hostile, "-x", fmt.Sprint(w), "-y", fmt.Sprint(h), line+"; echo EXIT=$?; sleep 600")
	t.Cleanup(func() { _ = exec.Command("tmux", "-S", p.sock, "kill-server").Run() })
	return p
}

// hurt reports what a terminal was made to do: paste buffers written and
// the pane's title.
func (p *pane) hurt() (buffers, title string) {
	return strings.TrimSpace(p.tmux("list-buffers")), strings.TrimSpace(p.tmux("display-message", "-p", "#{pane_title}"))
}

// checkUnhurt fails t if the pane has a paste buffer or a pwned title.
func checkUnhurt(t *testing.T, p *pane, when string) {
	t.Helper()
	if buffers, title := p.hurt(); buffers != "" || strings.Contains(title, "pwned") {
		t.Errorf("%s: the terminal obeyed an escape sequence: buffers %q, title %q", when, buffers, title)
	}
}

// TestHostileTextIsNotObeyedInTmux runs a pipeline that carries OSC 52,
// OSC 0/2 and DCS sequences in a variable, an approve text and a step's
// output, through the console, plain output, validate, and cutover serve
// (where an operator's key comment carries them as well), in tmux with the
// clipboard open to applications. No paste buffer appears and the title
// stays.
func TestHostileTextIsNotObeyedInTmux(t *testing.T) {
	pipeline := writeFile(t, "escapes.yaml", hostilePipeline)

	t.Run("the terminal is hurt by the raw text", func(t *testing.T) {
		// The control: without cutover in between, the same bytes write a
		// buffer and set the title, so the checks below can fail.
		p := escapeTerm(t, 100, 30, `printf '%s' "$EVIL"`)
		p.waitFor("EXIT=0", 10*time.Second)
		if buffers, title := p.hurt(); buffers == "" || !strings.Contains(title, "pwned") {
			t.Fatalf("tmux was not hurt by the raw sequences (buffers %q, title %q): this test would prove nothing", buffers, title)
		}
	})

	t.Run("console", func(t *testing.T) {
		exe, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		line := fmt.Sprintf("%s=1 %q run %q --state-dir %q", beMain, exe, pipeline, t.TempDir())
		p := escapeTerm(t, 120, 40, line)
		p.waitFor("waiting for approval", time.Minute)
		p.keys("l") // full-screen logs: the question and the step's output
		s := p.waitFor("Ship", 10*time.Second)
		if !strings.Contains(s, "⟨U+202E⟩") {
			t.Errorf("the bidi override is not shown visibly:\n%s", s)
		}
		checkUnhurt(t, p, "at the gate")
		p.keys("l", "a")
		p.waitFor("SUCCEEDED", time.Minute)
		checkUnhurt(t, p, "at the end")
		p.keys("q")
		p.waitFor("EXIT=0", 30*time.Second)
		checkUnhurt(t, p, "after quitting")
	})

	t.Run("plain", func(t *testing.T) {
		exe, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		line := fmt.Sprintf("%s=1 %q run --plain --auto-approve %q --state-dir %q", beMain, exe, pipeline, t.TempDir())
		p := escapeTerm(t, 200, 50, line)
		s := p.waitFor("EXIT=0", time.Minute)
		for _, want := range []string{"out:", "raw:end", "Ship", "now?"} {
			if !strings.Contains(s, want) {
				t.Errorf("plain output lacks %q:\n%s", want, s)
			}
		}
		checkUnhurt(t, p, "plain run")
	})

	t.Run("serve", func(t *testing.T) {
		// The server gets the bytes as a variable (argv carries them). Its
		// steps wait for the consoles, so that they see the gate's question
		// as it is asked: a console that joins later starts from the
		// snapshot, whose log has the output but not the question.
		mark := filepath.Join(t.TempDir(), "watching")
		pipeline := strings.Replace(hostilePipeline, "    steps:\n",
			"    steps:\n      - {name: hold, run: 'while [ ! -f ${MARK} ]; do sleep 0.05; done'}\n", 1)
		b := startBastion(t, pipeline, "--set", "EVIL="+hostile, "--set", "MARK="+mark)
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "eve", "-f", filepath.Join(b.dir, "eve")).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen: %v\n%s", err, out)
		}
		// eve is an operator whose key comment carries the bytes too:
		// whoever adds a key to the file writes its comment.
		eveKey := strings.Fields(b.read("eve.pub"))
		keys := b.read("bob.pub") + "role=operator " + eveKey[0] + " " + eveKey[1] + " eve" + hostile + "@desk\n"
		if err := os.WriteFile(filepath.Join(b.dir, "authorized_keys"), []byte(keys), 0o600); err != nil {
			t.Fatal(err)
		}
		// What the sanitizer makes of the comment: the escape sequences
		// dropped, the bidi override shown.
		const eve = "eve⟨U+202E⟩@desk"
		ssh := func(user string) string { return "ssh -tt " + strings.Join(b.sshArgs(user), " ") }
		// Each wait is for text the comment leaves alone, and what shows
		// of it is checked after, so that the terminal is checked too
		// when the text is wrong.
		shows := func(p *pane, waitFor, want string) {
			t.Helper()
			if s := p.waitFor(waitFor, time.Minute); !strings.Contains(flat(s), flat(want)) {
				t.Errorf("the viewer's console does not show %q:\n%s", want, s)
			}
		}
		bob := escapeTerm(t, 120, 40, ssh("bob"))
		// eve watches, so bob's header lists her by her comment.
		evePane := escapeTerm(t, 120, 40, ssh("eve"))
		// Watchers are listed as they joined; the two sessions race.
		if s := flat(bob.waitFor("@desk (operator)", time.Minute)); !strings.Contains(s, "watching bob@laptop (viewer), "+eve+" (operator)") &&
			!strings.Contains(s, "watching "+eve+" (operator), bob@laptop (viewer)") {
			t.Errorf("the viewer's console does not list bob and %s as watching:\n%s", eve, bob.screen())
		}
		evePane.waitFor("@desk (operator)", 10*time.Second)
		if err := os.WriteFile(mark, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		shows(bob, "waits for approval: Ship", "waits for approval: Ship ⟨U+202E⟩ now?")
		shows(bob, "out:", "out:⟨U+202E⟩:end")
		checkUnhurt(t, bob, "bob's console at the gate")
		evePane.keys("a")
		shows(bob, "approved by eve", "approved by "+eve+" · "+b.fingerprint("eve"))
		bob.waitFor("SUCCEEDED", time.Minute)
		checkUnhurt(t, bob, "bob's console at the end")
		checkUnhurt(t, evePane, "eve's console at the end")
	})

	t.Run("validate refuses a hostile name", func(t *testing.T) {
		exe, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		bad := writeFile(t, "name.yaml", strings.Replace(hostilePipeline, "{name: escapes}", "{name: \"${EVIL}\"}", 1))
		line := fmt.Sprintf("%s=1 %q validate %q", beMain, exe, bad)
		p := escapeTerm(t, 200, 50, line)
		s := p.waitFor("EXIT=2", time.Minute)
		if !strings.Contains(s, "is not a valid pipeline name") {
			t.Errorf("validate does not name the bad name:\n%s", s)
		}
		checkUnhurt(t, p, "validate")
	})
}
