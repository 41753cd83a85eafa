package engine

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func appendN(t *testing.T, j *Journal, run string, n int) {
	t.Helper()
	for i := range n {
		if err := j.Append(Record{Time: time.Now(), Run: run, Type: RecStepFinished, Step: strconv.Itoa(i)}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestJournalSurvivesATornRecord(t *testing.T) {
	dir := t.TempDir()
	j, err := OpenJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = j.Close() }()
	appendN(t, j, "r1", 3)
	path := filepath.Join(dir, JournalFile)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Cut the file in the middle of the third record, as a crash would.
	third := bytes.LastIndexByte(data[:len(data)-1], '\n') + 1
	cut := third + (len(data)-third)/2
	if err := os.Truncate(path, int64(cut)); err != nil {
		t.Fatal(err)
	}
	recs, skipped, err := ReadJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || len(skipped) != 1 || skipped[0].Line != 3 {
		t.Fatalf("after truncation: got %d records, skipped %+v; want 2 records and line 3 skipped", len(recs), skipped)
	}
	// The next append must not merge with the torn bytes.
	appendN(t, j, "r2", 1)
	recs, skipped, err = ReadJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 || recs[2].Run != "r2" || len(skipped) != 1 {
		t.Fatalf("after a new append: got %d records (last %+v), skipped %+v; want 3 records ending with r2 and one skipped", len(recs), recs[len(recs)-1], skipped)
	}
}

func TestJournalSkipsGarbage(t *testing.T) {
	recs, skipped, err := readRecords(bytes.NewBufferString("{\"run\":\"a\",\"type\":\"x\"}\nnot json\n{}\n\n{\"run\":\"b\",\"type\":\"y\"}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || len(skipped) != 2 || skipped[0].Line != 2 || skipped[1].Line != 3 {
		t.Errorf("got %d records, skipped %+v; want 2 records, lines 2 and 3 skipped", len(recs), skipped)
	}
}

// TestJournalHelperProcess is not a test: it is the second process of
// TestJournalTwoProcessesAppend.
func TestJournalHelperProcess(t *testing.T) {
	dir := os.Getenv("CUTOVER_JOURNAL_HELPER")
	if dir == "" {
		t.Skip("helper process only")
	}
	j, err := OpenJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, j, os.Getenv("CUTOVER_JOURNAL_RUN"), 300)
	_ = j.Close()
}

func TestJournalTwoProcessesAppend(t *testing.T) {
	dir := t.TempDir()
	var procs []*exec.Cmd
	for _, run := range []string{"p1", "p2"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestJournalHelperProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), "CUTOVER_JOURNAL_HELPER="+dir, "CUTOVER_JOURNAL_RUN="+run)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("%s output:\n%s", run, out.String())
			}
		})
		procs = append(procs, cmd)
	}
	for _, p := range procs {
		if err := p.Wait(); err != nil {
			t.Fatalf("helper process: %v", err)
		}
	}
	recs, skipped, err := ReadJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(skipped) != 0 {
		t.Fatalf("skipped %d lines, want none: %+v", len(skipped), skipped)
	}
	next := map[string]int{}
	for _, r := range recs {
		if r.Step != strconv.Itoa(next[r.Run]) {
			t.Fatalf("run %s: record %s out of order, want %d", r.Run, r.Step, next[r.Run])
		}
		next[r.Run]++
	}
	if next["p1"] != 300 || next["p2"] != 300 {
		t.Errorf("records per process: got %v, want 300 each", next)
	}
	// Only writers that really overlapped tested the locking; say so
	// rather than pass on a run that proved less.
	switches := 0
	for i := 1; i < len(recs); i++ {
		if recs[i].Run != recs[i-1].Run {
			switches++
		}
	}
	if switches == 0 {
		t.Skip("the two writers did not overlap; nothing about concurrent appends was shown")
	}
	t.Logf("the two writers alternated %d times", switches)
}

func TestJournalRefusesSymlinkAndWorldWritable(t *testing.T) {
	t.Run("symlink", func(t *testing.T) {
		dir := t.TempDir()
		target := filepath.Join(t.TempDir(), "elsewhere")
		if err := os.WriteFile(target, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, filepath.Join(dir, JournalFile)); err != nil {
			t.Fatal(err)
		}
		if j, err := OpenJournal(dir); err == nil || !strings.Contains(err.Error(), "symbolic link") {
			if j != nil {
				_ = j.Close()
			}
			t.Fatalf("OpenJournal: got %v, want a refusal of the symbolic link", err)
		}
		if _, _, err := ReadJournal(dir); err == nil || !strings.Contains(err.Error(), "symbolic link") {
			t.Errorf("ReadJournal: got %v, want a refusal of the symbolic link", err)
		}
	})
	t.Run("world-writable state directory", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.Chmod(dir, 0o777); err != nil {
			t.Fatal(err)
		}
		_, err := OpenJournal(dir)
		if err == nil || !strings.Contains(err.Error(), "state directory "+dir+" is writable by every user") || !strings.Contains(err.Error(), "chmod o-w "+dir) {
			t.Fatalf("got %v, want the directory named with the fix", err)
		}
	})
	t.Run("world-writable journal", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, JournalFile)
		if err := os.WriteFile(path, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, 0o666); err != nil {
			t.Fatal(err)
		}
		_, err := OpenJournal(dir)
		if err == nil || !strings.Contains(err.Error(), "journal "+path+" is writable by every user") {
			t.Fatalf("got %v, want the journal named", err)
		}
	})
}
