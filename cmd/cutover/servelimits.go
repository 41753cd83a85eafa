package main

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// limits are the bounds cutover serve holds its SSH connections to, after
// OpenSSH's sshd (sshd_config(5)): what a flood of connections can take
// from the server, and so from the release it runs, is bounded.
type limits struct {
	// loginGrace is sshd's LoginGraceTime: a connection not authenticated
	// by then is closed.
	loginGrace time.Duration
	// startups is sshd's MaxStartups: how many connections may be
	// unauthenticated at once.
	startups maxStartups
	// perSource is sshd's PerSourceMaxStartups: how many of those may
	// come from one source address block (see sourceBlock). 0 is no cap.
	perSource int
	// sessions caps the sessions open at once, in total and per key.
	sessions, sessionsPerKey int
	// aliveInterval and aliveCountMax are sshd's ClientAliveInterval and
	// ClientAliveCountMax: a peer that answers none of aliveCountMax
	// keepalives aliveInterval apart is dropped. 0 sends none.
	aliveInterval time.Duration
	aliveCountMax int
	// unused is sshd's UnusedConnectionTimeout: an authenticated
	// connection with no session for this long is closed. 0 never.
	unused time.Duration
	// conns caps the connections open at once, authenticated or not;
	// each holds a file descriptor from the accept on.
	conns int
}

// perSourceText says the per-source cap, for the log.
func (l limits) perSourceText() string {
	if l.perSource == 0 {
		return "no cap per source"
	}
	return fmt.Sprintf("%d per source", l.perSource)
}

// maxStartups is sshd's start:rate:full: from start unauthenticated
// connections on, a new one is refused with probability rate%, rising
// linearly to 100% at full.
type maxStartups struct{ start, rate, full int }

func (m maxStartups) String() string { return fmt.Sprintf("%d:%d:%d", m.start, m.rate, m.full) }

// parseMaxStartups reads sshd's syntax: start:rate:full, or a single
// number, which refuses every connection from that many on.
func parseMaxStartups(s string) (maxStartups, error) {
	bad := func(why string) (maxStartups, error) {
		return maxStartups{}, fmt.Errorf("--max-startups %q: %s; want start:rate:full, as sshd's MaxStartups (10:30:100), or one number", s, why)
	}
	parts := strings.Split(s, ":")
	if len(parts) != 1 && len(parts) != 3 {
		return bad("not one or three numbers")
	}
	var n [3]int
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil {
			return bad(fmt.Sprintf("%q is not a number", p))
		}
		n[i] = v
	}
	if len(parts) == 1 {
		if n[0] < 1 {
			return bad("want at least 1")
		}
		return maxStartups{start: n[0], rate: 100, full: n[0]}, nil
	}
	m := maxStartups{start: n[0], rate: n[1], full: n[2]}
	switch {
	case m.start < 1:
		return bad("start must be at least 1")
	case m.start > m.full:
		return bad("start is above full")
	case m.rate < 1 || m.rate > 100:
		return bad("rate is a percentage, 1 to 100")
	}
	return m, nil
}

// refuse decides whether a new connection is refused when startups
// connections are unauthenticated, given roll, a uniform random number in
// [0, 100). It is sshd's drop_connection.
func (m maxStartups) refuse(startups, roll int) bool {
	switch {
	case startups >= m.full:
		return true
	case startups < m.start:
		return false
	}
	p := m.rate + (100-m.rate)*(startups-m.start)/(m.full-m.start)
	return roll < p
}

// sourceBlock is the address block whose unauthenticated connections
// count together against --per-source-max-startups: an IPv4 address on its
// own (/32), and an IPv6 address's /64. sshd's PerSourceNetBlockSize
// defaults to 32:128, each IPv6 address on its own; but an IPv6 host has a
// whole /64 to itself (SLAAC and temporary addresses are made in one, and
// a /64 is the least a provider assigns), and may take a new address in it
// for each connection: at /128, one client is 2^64 sources. Hosts that
// share a /64 share its cap, as hosts behind one IPv4 NAT share theirs.
// An IPv4 client of a dual-stack listener (::ffff:a.b.c.d) counts as its
// IPv4 address, not in ::ffff:0:0/64 with every other. ok is false for an
// address that is not IP, which counts in no block.
func sourceBlock(addr net.Addr) (block netip.Prefix, ok bool) {
	tcp, isTCP := addr.(*net.TCPAddr)
	if !isTCP {
		return netip.Prefix{}, false
	}
	ip := tcp.AddrPort().Addr().Unmap()
	bits := 64
	if ip.Is4() {
		bits = 32
	}
	// Prefix fails only for an invalid address, which has no block.
	block, err := ip.Prefix(bits)
	return block, err == nil && block.IsValid()
}

// connectionBudget is how many connections a server may hold with a limit
// of open files, inUse of them open already. The rest is kept for the
// release: its steps fork processes and open pipes in this process, and a
// flood must never take the descriptors they need. The reserve is a
// quarter of the limit or 1024, whichever is more, but at most half of it,
// so that a small limit still leaves room to log in.
func connectionBudget(limit, inUse int) (conns, reserve int) {
	reserve = max(limit/4, min(1024, limit/2))
	return max(0, limit-reserve-inUse), reserve
}

// fit lowers the caps so that every connection they allow fits in budget
// (the unauthenticated ones, and one for each session), and says what it
// lowered, or "" when nothing. Sessions and unauthenticated connections
// get half of it each, and one that needs less leaves the rest to the
// other: a flood must not leave no room for those who got in.
func (l *limits) fit(budget int) (string, error) {
	want := l.startups.full + l.sessions
	if want <= budget {
		l.conns = want
		return "", nil
	}
	if budget < 2 {
		return "", fmt.Errorf("the open-files limit leaves no descriptor for SSH connections; raise it (ulimit -n, or LimitNOFILE= in the systemd unit)")
	}
	was := *l
	l.sessions = min(l.sessions, max(budget/2, budget-l.startups.full))
	l.startups.full = budget - l.sessions
	l.startups.start = min(l.startups.start, l.startups.full)
	l.sessionsPerKey = min(l.sessionsPerKey, l.sessions)
	l.conns = budget
	var said []string
	if l.startups != was.startups {
		said = append(said, fmt.Sprintf("--max-startups from %s to %s", was.startups, l.startups))
	}
	if l.sessions != was.sessions {
		said = append(said, fmt.Sprintf("--max-sessions from %d to %d", was.sessions, l.sessions))
	}
	if l.sessionsPerKey != was.sessionsPerKey {
		said = append(said, fmt.Sprintf("--max-sessions-per-key from %d to %d", was.sessionsPerKey, l.sessionsPerKey))
	}
	return "lowered " + strings.Join(said, ", "), nil
}

// openFilesLimit is the soft RLIMIT_NOFILE, which the Go runtime raised
// to the hard one at start, and how many files are open now.
func openFilesLimit() (limit, inUse int, err error) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, 0, fmt.Errorf("read the open-files limit: %w", err)
	}
	limit = int(min(rl.Cur, 1<<24))
	fds, err := os.ReadDir("/dev/fd")
	if err != nil {
		return 0, 0, fmt.Errorf("count open files: %w", err)
	}
	return limit, len(fds), nil
}
