package main

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var updateReadme = flag.Bool("update-readme", false, "write docs/captures' frames into README.md (scripts/captures runs it)")

// frameBlock is a frame in the README: a marker naming the capture, then
// the frame as a text block.
var frameBlock = regexp.MustCompile("(?s)<!-- frame: ([a-z0-9x-]+) -->\n```text\n(.*?)```\n")

// TestReadmeShowsTheDemoFrames: every frame the README and the console's
// guide show is the demo's capture of that name in docs/captures, as
// TestDemoGateInTmux wrote it: the pictures are real and are regenerated
// when the frames change (scripts/captures).
func TestReadmeShowsTheDemoFrames(t *testing.T) {
	for _, doc := range []string{"README.md", filepath.Join("docs", "console.md")} {
		t.Run(doc, func(t *testing.T) { showsTheDemoFrames(t, filepath.Join("..", "..", doc)) })
	}
}

func showsTheDemoFrames(t *testing.T, path string) {
	readme, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	out := frameBlock.ReplaceAllStringFunc(string(readme), func(block string) string {
		m := frameBlock.FindStringSubmatch(block)
		found++
		capture, err := os.ReadFile(filepath.Join("..", "..", "docs", "captures", m[1]+".txt"))
		if err != nil {
			t.Errorf("%s shows frame %s: %v", path, m[1], err)
			return block
		}
		want := trimFrame(string(capture))
		if m[2] != want && !*updateReadme {
			t.Errorf("%s's frame %s is not docs/captures/%s.txt; run scripts/captures", path, m[1], m[1])
		}
		return "<!-- frame: " + m[1] + " -->\n```text\n" + want + "```\n"
	})
	if found == 0 {
		t.Fatalf("%s shows no frame of the demo", path)
	}
	if *updateReadme {
		if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// trimFrame drops the blanks tmux pads a capture's lines with, and its
// trailing empty lines.
func trimFrame(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n "), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n") + "\n"
}
