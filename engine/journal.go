package engine

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/cutover-sh/cutover/engine/spec"

	"golang.org/x/sys/unix"
)

// JournalFile is the name of the journal inside the state directory.
const JournalFile = "journal.jsonl"

// Record is one line of the audit journal. One flat type keeps the file easy
// to read with jq; fields that do not apply are omitted.
type Record struct {
	Time time.Time `json:"time"`
	Run  string    `json:"run"`
	// Seq numbers a run's records from 1, so that a reader can tell a
	// record lost from the middle of a run. Records written outside a run
	// (cutover rollback, say) have none.
	Seq   uint64 `json:"seq,omitempty"`
	Type  string `json:"type"`
	Actor *Actor `json:"actor,omitempty"`

	Pipeline  string            `json:"pipeline,omitempty"`
	Path      string            `json:"path,omitempty"`
	Hash      string            `json:"hash,omitempty"`
	Vars      map[string]string `json:"vars,omitempty"`
	Stages    []string          `json:"stages,omitempty"`
	Emergency bool              `json:"emergency,omitempty"`
	// Holder is how the run names itself in release locks.
	Holder string   `json:"holder,omitempty"`
	Skips  []string `json:"skips,omitempty"`

	Stage    string        `json:"stage,omitempty"`
	Step     string        `json:"step,omitempty"`
	Gate     string        `json:"gate,omitempty"`
	Status   Status        `json:"status,omitempty"`
	Attempt  int           `json:"attempt,omitempty"`
	ExitCode *int          `json:"exitCode,omitempty"`
	Duration time.Duration `json:"durationNs,omitempty"`
	Budget   time.Duration `json:"budgetNs,omitempty"`
	Reason   string        `json:"reason,omitempty"`
	// Output is the tail of a failed step's output, masked.
	Output []string `json:"output,omitempty"`

	// A release's Service (namespace/name), colors, image and phase.
	Service string     `json:"service,omitempty"`
	From    spec.Color `json:"from,omitempty"`
	To      spec.Color `json:"to,omitempty"`
	Release string     `json:"release,omitempty"`
	Phase   Phase      `json:"phase,omitempty"`

	// An analysis measurement: the metric, the query as sent, the value
	// (as text, so NaN survives JSON) and the verdict.
	Metric  string  `json:"metric,omitempty"`
	Query   string  `json:"query,omitempty"`
	Value   string  `json:"value,omitempty"`
	Verdict Verdict `json:"verdict,omitempty"`

	// A gate's diff (what approving it changes) when it opened or was
	// decided, and the hash of the diff the person who decided had read.
	Diff *TemplateDiff `json:"diff,omitempty"`
	Seen string        `json:"seen,omitempty"`

	// Load is a load test's summary.
	Load *LoadSummary `json:"load,omitempty"`

	// A notification: where it went (slack or teams) and which moment it
	// told of (a NotifyTrigger). Attempt is how many attempts it took.
	Target string `json:"target,omitempty"`
	Event  string `json:"event,omitempty"`
}

// The record types.
const (
	RecRunStarted  = "run.started"
	RecRunFinished = "run.finished"
	RecRunAborted  = "run.aborted"
	// RecRunSuspended precedes the abort of a run stopped to be resumed.
	RecRunSuspended  = "run.suspended"
	RecStageStarted  = "stage.started"
	RecStageSkipped  = "stage.skipped"
	RecStageFinished = "stage.finished"
	RecStepFinished  = "step.finished"
	RecGateWaiting   = "gate.waiting"
	RecGateApproved  = "gate.approved"
	RecGateRejected  = "gate.rejected"
	RecWarning       = "warning"

	RecMeasurement = "analysis.measurement"

	// RecNotifySent is a notification a webhook accepted; RecNotifyFailed
	// one it did not, with the masked error as the reason.
	RecNotifySent   = "notify.sent"
	RecNotifyFailed = "notify.failed"

	RecReleaseSwitched   = "release.switched"
	RecReleaseFinished   = "release.finished"
	RecRollbackRequested = "release.rollback-requested"
	// RecLoadTest is a load test's summary.
	RecLoadTest = "loadtest.summary"
	// RecPromoteRequested is a person asking a release to switch without
	// waiting for its analysis or gate.
	RecPromoteRequested = "release.promote-requested"
	// RecRollback is a rollback done from the command line, outside a run.
	RecRollback = "release.rolled-back"
	// RecPromote is a switch forward done from the command line.
	RecPromote = "release.promoted"
	// RecMaintenance is a switch to the maintenance page.
	RecMaintenance = "release.maintenance"
	// RecScaleDown is the emergency scale-down of both colors.
	RecScaleDown = "release.scaled-down"
	// RecUndo is a complete rollback: each color's previous revision.
	RecUndo = "release.undone"
	// RecLeaseTakenOver records a release lock taken from a holder whose
	// lease had expired.
	RecLeaseTakenOver = "release.lease-taken-over"
)

// Journal appends records to a JSON-lines file. Several processes may
// append to the same file: each append takes an exclusive flock, so records
// never interleave.
type Journal struct {
	// mu serialises appends within this process: flock excludes other
	// processes, but not goroutines sharing one open file.
	mu   sync.Mutex
	f    *os.File
	path string
	// end is where this journal's last write ended. When the file still
	// ends there, no one wrote since, so it cannot end torn.
	end int64
	// size is the file's size when the current append began.
	size int64
	// written counts this journal's appends; synced is the count an
	// fsync has covered.
	written, synced uint64
}

// DefaultStateDir returns $XDG_STATE_HOME/cutover, or ~/.local/state/cutover.
func DefaultStateDir() (string, error) {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "cutover"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("find state directory: %w", err)
	}
	return filepath.Join(home, ".local", "state", "cutover"), nil
}

// OpenJournal opens (creating if needed) the journal in dir.
func OpenJournal(dir string) (*Journal, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create state directory %s: %w", dir, err)
	}
	if err := notWritableByOthers("state directory", dir); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, JournalFile)
	_, statErr := os.Lstat(path)
	f, err := openJournal(path, os.O_CREATE|os.O_RDWR|os.O_APPEND)
	if err != nil {
		return nil, err
	}
	if err := notWritableByOthers("journal", path); err != nil {
		_ = f.Close()
		return nil, err
	}
	if errors.Is(statErr, os.ErrNotExist) {
		// A new file's name is durable only once its directory is.
		if err := syncDir(dir); err != nil {
			_ = f.Close()
			return nil, err
		}
	}
	return &Journal{f: f, path: path}, nil
}

// openJournal opens the journal without following a symbolic link: one
// planted in the state directory would have cutover append to, or read,
// whatever file it points at.
func openJournal(path string, flag int) (*os.File, error) {
	f, err := os.OpenFile(path, flag|unix.O_NOFOLLOW, 0o600)
	if errors.Is(err, unix.ELOOP) {
		return nil, fmt.Errorf("open journal %s: it is a symbolic link, which cutover does not follow; remove it, or point --state-dir at the directory it is in", path)
	}
	if err != nil {
		return nil, fmt.Errorf("open journal: %w", err)
	}
	return f, nil
}

// notWritableByOthers refuses a state directory or journal that any user
// of the host may write: a release's audit trail would then be theirs to
// rewrite.
func notWritableByOthers(what, path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("%s %s: %w", what, path, err)
	}
	if mode := fi.Mode().Perm(); mode&0o002 != 0 {
		return fmt.Errorf("%s %s is writable by every user of this host (mode %04o), who could rewrite the audit journal; run chmod o-w %s", what, path, mode, path)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync state directory %s: %w", dir, err)
	}
	defer func() { _ = d.Close() }()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync state directory %s: %w", dir, err)
	}
	return nil
}

// Path returns the journal file's path.
func (j *Journal) Path() string { return j.path }

// durable reports whether Append must fsync a record before it returns.
// Actions (approvals, aborts, skips, switches) and run and stage results
// must: they are what an audit asks about, and whoever acts on them waits.
// A step's progress (step results, a stage starting, warnings,
// notifications) is written at once, so a crash of cutover loses nothing,
// and the engine fsyncs it in a group with Sync, at most GroupCommitWindow
// later, before it publishes the events that report it. An fsync per step
// would cost more than a short step itself: see BenchmarkStepOverhead.
func (r Record) durable() bool {
	switch r.Type {
	case RecStepFinished:
		return r.Actor != nil // an approve gate's step carries who decided
	case RecStageStarted, RecWarning, RecGateWaiting, RecMeasurement, RecNotifySent, RecNotifyFailed:
		return false
	}
	return true
}

// Append writes rec and, for records that must be durable at once, fsyncs
// the journal before returning. Other records are durable after the next
// Sync.
func (j *Journal) Append(rec Record) error {
	line, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode journal record %s: %w", rec.Type, err)
	}
	line = append(line, '\n')
	n, err := j.write(line)
	if err != nil || !rec.durable() {
		return err
	}
	return j.syncTo(n)
}

// write appends one line under the locks and returns its append count.
func (j *Journal) write(line []byte) (uint64, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	fd := int(j.f.Fd())
	if err := unix.Flock(fd, unix.LOCK_EX); err != nil {
		return 0, fmt.Errorf("lock journal %s: %w", j.path, err)
	}
	defer func() { _ = unix.Flock(fd, unix.LOCK_UN) }()
	// A process that died mid-write leaves a torn line without its newline.
	// Start on a fresh line so the torn bytes never merge with this record.
	if torn, err := j.endsTorn(); err != nil {
		return 0, err
	} else if torn {
		line = append([]byte{'\n'}, line...)
	}
	if _, err := j.f.Write(line); err != nil {
		return 0, fmt.Errorf("write journal %s: %w", j.path, err)
	}
	j.end = j.size + int64(len(line))
	j.written++
	return j.written, nil
}

// Sync makes every record appended so far durable. It returns at once when
// they already are.
func (j *Journal) Sync() error {
	j.mu.Lock()
	n := j.written
	j.mu.Unlock()
	return j.syncTo(n)
}

// Unsynced reports whether some appended record is not yet durable.
func (j *Journal) Unsynced() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.synced < j.written
}

// syncTo fsyncs unless appends up to n are already durable. The fsync runs
// outside the lock, so appends are not held up behind the disk.
func (j *Journal) syncTo(n uint64) error {
	j.mu.Lock()
	done := j.synced >= n
	j.mu.Unlock()
	if done {
		return nil
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("sync journal %s: %w", j.path, err)
	}
	j.mu.Lock()
	j.synced = max(j.synced, n)
	j.mu.Unlock()
	return nil
}

func (j *Journal) endsTorn() (bool, error) {
	info, err := j.f.Stat()
	if err != nil {
		return false, fmt.Errorf("stat journal %s: %w", j.path, err)
	}
	j.size = info.Size()
	if j.size == 0 || j.size == j.end {
		return false, nil
	}
	last := make([]byte, 1)
	if _, err := j.f.ReadAt(last, j.size-1); err != nil {
		return false, fmt.Errorf("read journal %s: %w", j.path, err)
	}
	return last[0] != '\n', nil
}

// Close closes the journal file.
func (j *Journal) Close() error { return j.f.Close() }

// Skipped describes a journal line that could not be trusted.
type Skipped struct {
	Line   int
	Reason string
}

// ReadJournal reads every record in dir's journal. Lines that are torn or
// not valid records are skipped and listed, never trusted. A missing
// journal is an empty one.
func ReadJournal(dir string) ([]Record, []Skipped, error) {
	f, err := openJournal(filepath.Join(dir, JournalFile), os.O_RDONLY)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	defer func() { _ = f.Close() }()
	return readRecords(f)
}

func readRecords(r io.Reader) ([]Record, []Skipped, error) {
	var recs []Record
	var skipped []Skipped
	br := bufio.NewReader(r)
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			complete := line[len(line)-1] == '\n'
			var rec Record
			// A last line without its newline is torn unless it parses
			// whole: a JSON object cannot be cut short and still parse, so
			// one that does lost only its newline, and reads the same once
			// the next append fences it off.
			switch body := bytes.TrimSpace(line); {
			case len(body) == 0:
			case json.Unmarshal(body, &rec) != nil || rec.Type == "" || rec.Run == "":
				reason := "not a valid journal record"
				if !complete {
					reason = "torn record (no line end): the writer stopped mid-write"
				}
				skipped = append(skipped, Skipped{Line: n, Reason: reason})
			default:
				recs = append(recs, rec)
			}
		}
		if errors.Is(err, io.EOF) {
			return recs, skipped, nil
		}
		if err != nil {
			return recs, skipped, fmt.Errorf("read journal: %w", err)
		}
	}
}
