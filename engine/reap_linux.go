package engine

import "golang.org/x/sys/unix"

// EnableReaping makes this process the reaper of orphaned step processes.
// When a step is killed, its grandchildren are re-parented; if init reaps
// them late, they linger as zombies and the step's process group looks
// alive for the whole grace period. As their reaper, the runner collects
// them at once. It is process-wide, so only main calls it.
func EnableReaping() error {
	return unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
}

// reapGroup collects exited members of a step's process group. It must only
// run after the group's leader was waited for, so that it never takes an
// exit status os/exec is waiting on.
func reapGroup(pgid int) {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-pgid, &ws, unix.WNOHANG, nil)
		if err != nil || pid <= 0 {
			return
		}
	}
}
