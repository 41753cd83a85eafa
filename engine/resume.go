package engine

import (
	"fmt"
	"os"
)

// Resume continues an earlier run of the same pipeline, after the console
// running it died: the stages that succeeded in it are skipped, its release
// lock is taken over, and blueGreen steps pick up from what the cluster
// says.
type Resume struct {
	Run       string
	Succeeded []string
}

// FindResume reads the journal for the newest run of pipeline and what it
// got done. It fails when there is no such run or it already succeeded.
func FindResume(recs []Record, pipeline string) (Resume, error) {
	var r Resume
	finished := Status("")
	for i := len(recs) - 1; i >= 0; i-- {
		if recs[i].Type == RecRunStarted && recs[i].Pipeline == pipeline {
			r.Run = recs[i].Run
			break
		}
	}
	if r.Run == "" {
		return r, fmt.Errorf("--resume: the journal has no run of pipeline %s", pipeline)
	}
	for _, rec := range recs {
		if rec.Run != r.Run {
			continue
		}
		switch rec.Type {
		case RecStageFinished:
			if rec.Status == StatusSucceeded {
				r.Succeeded = append(r.Succeeded, rec.Stage)
			}
		case RecRunFinished:
			finished = rec.Status
		}
	}
	if finished == StatusSucceeded {
		return r, fmt.Errorf("--resume: run %s of pipeline %s already succeeded; nothing to resume", r.Run, pipeline)
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
