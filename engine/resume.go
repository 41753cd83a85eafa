package engine

import (
	"fmt"
	"os"
	"strings"
)

// Resume continues an earlier run of the same pipeline, after the console
// running it died: the stages that succeeded in it are skipped, its release
// lock is taken over, and blueGreen steps pick up from what the cluster
// says.
type Resume struct {
	Run       string
	Succeeded []string
	// Holder is the dead run's release-lock holder, as its run.started
	// record gives it: whoever resumes, from whichever host, may take it.
	Holder string
}

// resumeSkip is how a resumed run records the stages it did not run again;
// a second resume counts them as done.
const resumeSkip = " (--resume)"

// FindResume reads the journal for the newest run of pipeline and what it
// got done. It refuses a run that ended (whatever its result: run it again
// instead), unless it was suspended, and one whose release someone asked
// to roll back.
func FindResume(recs []Record, pipeline string) (Resume, error) {
	var r Resume
	for i := len(recs) - 1; i >= 0; i-- {
		if recs[i].Type == RecRunStarted && recs[i].Pipeline == pipeline {
			r.Run, r.Holder = recs[i].Run, recs[i].Holder
			break
		}
	}
	if r.Run == "" {
		return r, fmt.Errorf("--resume: the journal has no run of pipeline %s", pipeline)
	}
	suspended := false
	for _, rec := range recs {
		if rec.Run != r.Run {
			continue
		}
		switch rec.Type {
		case RecRunSuspended:
			suspended = true
		case RecStageFinished:
			if rec.Status == StatusSucceeded {
				r.Succeeded = append(r.Succeeded, rec.Stage)
			}
		case RecStageSkipped:
			if strings.HasSuffix(rec.Reason, resumeSkip) {
				r.Succeeded = append(r.Succeeded, rec.Stage)
			}
		case RecRunFinished:
			if suspended {
				continue // stopped to be resumed: cutover serve's shutdown
			}
			return r, fmt.Errorf("--resume: run %s of pipeline %s ended (%s); --resume is for a run whose console died, so run the pipeline again", r.Run, pipeline, rec.Status)
		case RecRollbackRequested:
			return r, fmt.Errorf("--resume: in run %s of pipeline %s, %s asked for a rollback (%s); finish it with `cutover rollback`, not by resuming the release",
				r.Run, pipeline, rec.Actor, rec.Reason)
		}
	}
	return r, nil
}

// LockHolder is how a run names itself in a release lock: who, where and
// which run, so that a refused console can say who to talk to and a
// resumed run can recognise its own lock.
func LockHolder(actor Actor, run string) string {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown host"
	}
	return fmt.Sprintf("%s on %s (run %s)", actor, host, run)
}

// CommandHolder is how a command run outside a pipeline (cutover
// maintenance) names itself in a release lock.
func CommandHolder(actor Actor, command string) string {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown host"
	}
	return fmt.Sprintf("%s on %s (cutover %s)", actor, host, command)
}

// Suspend stops the run so that it can be resumed: running steps are
// stopped as by Abort, and the journal says the run was suspended, which
// FindResume accepts. cutover serve suspends its run when it is stopped.
func (e *Engine) Suspend(actor Actor, reason string) error {
	if err := e.out.record(Record{Type: RecRunSuspended, Actor: actorPtr(actor), Reason: reason}); err != nil {
		return fmt.Errorf("record the suspension: %w", err)
	}
	return e.Abort(actor, reason)
}
