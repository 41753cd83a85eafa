package proc

import (
	"bytes"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

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

// stopEscaped stops what a step left running outside its process group:
// a daemon that called setsid, or a double fork into a session of its
// own. Killing the group does not reach them; but cutover is their child
// subreaper, so once their parents in the group are gone they are
// cutover's children. They are told from other steps' processes by the
// step's variables in their environment (marker), as Jenkins's
// ProcessTreeKiller and the GitHub Actions runner tell a job's processes.
// They and their descendants get SIGTERM, then SIGKILL after grace, or at
// once when kill closes. A process that cleared its environment, or that
// cutover may not read, is not recognised.
func stopEscaped(marker []string, grace time.Duration, kill <-chan struct{}) {
	if len(marker) == 0 {
		return
	}
	var found []int
	for _, pid := range children() {
		if hasEnv(pid, marker) {
			found = append(found, pid)
		}
	}
	if len(found) == 0 {
		return
	}
	tree := descendants(found)
	signal := func(sig unix.Signal) {
		for _, pid := range tree {
			_ = unix.Kill(pid, sig)
		}
	}
	signal(unix.SIGTERM)
	signal(unix.SIGCONT)
	deadline := time.NewTimer(grace)
	defer deadline.Stop()
	poll := time.NewTicker(groupPoll)
	defer poll.Stop()
	var killed <-chan time.Time // after SIGKILL, how long to wait for the kernel
	for anyAlive(tree) {
		select {
		case <-deadline.C:
			signal(unix.SIGKILL)
			killed = time.After(pipeDrain)
		case <-kill:
			signal(unix.SIGKILL)
			kill, killed = nil, time.After(pipeDrain)
		case <-killed:
			return // stuck in the kernel: nothing more to do
		case <-poll.C:
		}
	}
}

// children lists this process's children that an orphan is re-parented
// to. The kernel gives an orphan to the first live thread of its
// subreaper's thread group (find_alive_thread), which is the group's
// leader while it lives, and Go's main thread lives as long as the
// process: so the leader's list is read, a tenth of the cost of every
// thread's (BenchmarkEscapedScan). Every thread's is read only when the
// leader's cannot be.
func children() []int {
	pid := strconv.Itoa(os.Getpid())
	if data, err := os.ReadFile("/proc/self/task/" + pid + "/children"); err == nil {
		return pids(data)
	}
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return nil
	}
	var out []int
	for _, t := range tasks {
		if data, err := os.ReadFile("/proc/self/task/" + t.Name() + "/children"); err == nil {
			out = append(out, pids(data)...)
		}
	}
	return out
}

// pids parses a /proc children list.
func pids(data []byte) []int {
	var out []int
	for _, f := range strings.Fields(string(data)) {
		if pid, err := strconv.Atoi(f); err == nil {
			out = append(out, pid)
		}
	}
	return out
}

// hasEnv reports whether every entry of marker is in pid's environment.
func hasEnv(pid int, marker []string) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		return false
	}
	env := strings.Split(string(data), "\x00")
	for _, m := range marker {
		if !slices.Contains(env, m) {
			return false
		}
	}
	return true
}

// descendants returns roots and every process below them, read from each
// process's parent in /proc.
func descendants(roots []int) []int {
	parent := map[int][]int{}
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		if ppid, _, ok := procStat(pid); ok {
			parent[ppid] = append(parent[ppid], pid)
		}
	}
	out := slices.Clone(roots)
	for i := 0; i < len(out); i++ {
		out = append(out, parent[out[i]]...)
	}
	return out
}

// anyAlive reaps those of pids that are this process's exited children,
// and reports whether any of them still runs.
func anyAlive(pids []int) bool {
	alive := false
	for _, pid := range pids {
		var ws unix.WaitStatus
		_, _ = unix.Wait4(pid, &ws, unix.WNOHANG, nil)
		if _, state, ok := procStat(pid); ok && state != 'Z' {
			alive = true
		}
	}
	return alive
}

// procStat reads a process's parent and state from /proc/PID/stat.
func procStat(pid int) (ppid int, state byte, ok bool) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, false
	}
	// The command name is in parentheses and may hold any byte: the
	// fields that follow start after the last ")".
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 2 || len(f[0]) != 1 {
		return 0, 0, false
	}
	ppid, err = strconv.Atoi(f[1])
	return ppid, f[0][0], err == nil
}
