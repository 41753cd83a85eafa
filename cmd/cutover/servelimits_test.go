package main

import (
	"io/fs"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// TestServeMaxStartupsSpec: sshd's MaxStartups syntax, and what is wrong
// with a spec that is not.
func TestServeMaxStartupsSpec(t *testing.T) {
	for _, tc := range []struct {
		spec string
		want maxStartups
		err  string
	}{
		{"10:30:100", maxStartups{10, 30, 100}, ""},
		{"5", maxStartups{5, 100, 5}, ""},
		{"3:100:3", maxStartups{3, 100, 3}, ""},
		{"10:30", maxStartups{}, "not one or three numbers"},
		{"10:x:100", maxStartups{}, `"x" is not a number`},
		{"0:30:100", maxStartups{}, "start must be at least 1"},
		{"100:30:10", maxStartups{}, "start is above full"},
		{"10:0:100", maxStartups{}, "rate is a percentage"},
		{"10:101:100", maxStartups{}, "rate is a percentage"},
		{"0", maxStartups{}, "want at least 1"},
	} {
		got, err := parseMaxStartups(tc.spec)
		switch {
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("%q: got %v, %v; want %v", tc.spec, got, err, tc.want)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), "want start:rate:full")):
			t.Errorf("%q: got error %v; want one saying %q and what the syntax is", tc.spec, err, tc.err)
		}
	}
}

// TestServeMaxStartupsRefuses: sshd's random early drop, at its edges and
// in the middle, for a roll of the dice that is given.
func TestServeMaxStartupsRefuses(t *testing.T) {
	m := maxStartups{start: 10, rate: 30, full: 100}
	for _, tc := range []struct {
		name           string
		startups, roll int
		want           bool
	}{
		{"below start: always admitted", 9, 0, false},
		{"at start: 30% refused, the lowest roll", 10, 29, true},
		{"at start: 30% refused, above it", 10, 30, false},
		{"half way: 65% refused", 55, 64, true},
		{"half way: 65% refused, above it", 55, 65, false},
		{"just below full: 99% refused", 99, 98, true},
		{"just below full, the one roll admitted", 99, 99, false},
		{"at full: all refused", 100, 99, true},
		{"past full: all refused", 150, 99, true},
	} {
		if got := m.refuse(tc.startups, tc.roll); got != tc.want {
			t.Errorf("%s: refuse(%d, roll %d) = %v, want %v", tc.name, tc.startups, tc.roll, got, tc.want)
		}
	}
	if one := (maxStartups{3, 100, 3}); one.refuse(2, 99) || !one.refuse(3, 0) {
		t.Errorf("a single number: want all admitted below it and all refused from it on")
	}
}

// TestServeSourceBlock: the block a connection's address counts in for
// --per-source-max-startups.
func TestServeSourceBlock(t *testing.T) {
	tcp := func(s string) net.Addr { return net.TCPAddrFromAddrPort(netip.MustParseAddrPort(s)) }
	for _, tc := range []struct {
		name string
		addr net.Addr
		want string // "" for none
	}{
		{"IPv4: the address", tcp("192.0.2.7:40000"), "192.0.2.7/32"},
		{"IPv4 loopback", &net.TCPAddr{IP: net.ParseIP("127.0.0.2"), Port: 1}, "127.0.0.2/32"},
		{"IPv4 on a dual-stack listener: the IPv4 address, not ::ffff:0:0/64", tcp("[::ffff:192.0.2.7]:40000"), "192.0.2.7/32"},
		{"IPv6: its /64", tcp("[2001:db8:1:2:3:4:5:6]:40000"), "2001:db8:1:2::/64"},
		{"IPv6 with a zone", tcp("[fe80::1%eth0]:40000"), "fe80::/64"},
		{"not IP", &net.UnixAddr{Name: "/run/x.sock", Net: "unix"}, ""},
	} {
		got, ok := sourceBlock(tc.addr)
		if want, _ := netip.ParsePrefix(tc.want); ok != (tc.want != "") || got != want {
			t.Errorf("%s: sourceBlock(%s) = %v, %v; want %q", tc.name, tc.addr, got, ok, tc.want)
		}
	}
}

// TestServeConnectionBudget: the connections keep a quarter of the
// open-files limit, or 1024, free for the release's steps; a small limit
// lowers the caps, half for sessions and half for logins, and says so.
func TestServeConnectionBudget(t *testing.T) {
	for _, tc := range []struct {
		limit, inUse         int
		wantConns, wantSpare int
	}{
		{1 << 20, 20, 1<<20 - 1<<18 - 20, 1 << 18},
		{20000, 20, 20000 - 5000 - 20, 5000},
		{4096, 20, 4096 - 1024 - 20, 1024},
		{1024, 20, 1024 - 512 - 20, 512},
		{128, 20, 128 - 64 - 20, 64},
		{40, 30, 0, 20},
	} {
		conns, spare := connectionBudget(tc.limit, tc.inUse)
		if conns != tc.wantConns || spare != tc.wantSpare {
			t.Errorf("limit %d, %d open: got %d connections, %d kept; want %d, %d", tc.limit, tc.inUse, conns, spare, tc.wantConns, tc.wantSpare)
		}
	}

	defaults := limits{startups: maxStartups{10, 30, 100}, sessions: 100, sessionsPerKey: 10}
	l := defaults
	if said, err := l.fit(15000); err != nil || said != "" || l.conns != 200 || l.startups != defaults.startups {
		t.Errorf("a large budget: got %q, %v, %+v; want the caps as they are, 200 connections", said, err, l)
	}
	l = defaults
	said, err := l.fit(44)
	if err != nil || l.conns != 44 || l.startups != (maxStartups{10, 30, 22}) || l.sessions != 22 || l.sessionsPerKey != 10 {
		t.Errorf("a budget of 44: got %+v, %v; want 44 connections, 22 unauthenticated and 22 sessions", l, err)
	}
	if said != "lowered --max-startups from 10:30:100 to 10:30:22, --max-sessions from 100 to 22" {
		t.Errorf("a budget of 44 says %q; want it to say what it lowered", said)
	}
	l = limits{startups: maxStartups{1000, 100, 1000}, sessions: 100, sessionsPerKey: 10}
	if _, err := l.fit(53); err != nil || l.startups.full != 27 || l.sessions != 26 {
		t.Errorf("1000 unauthenticated and 100 sessions in 53: got %+v, %v; want half each, 27 and 26", l, err)
	}
	l = limits{startups: maxStartups{5, 30, 10}, sessions: 100, sessionsPerKey: 10}
	if _, err := l.fit(50); err != nil || l.startups.full != 10 || l.sessions != 40 {
		t.Errorf("10 unauthenticated and 100 sessions in 50: got %+v, %v; want 10 and the rest, 40, for sessions", l, err)
	}
	l = defaults
	if _, err := l.fit(1); err == nil || !strings.Contains(err.Error(), "raise it") {
		t.Errorf("a budget of 1: %v; want an error saying to raise the limit", err)
	}
}

// TestServeStrictModes: sshd's StrictModes, as cutover serve applies it to
// the authorized keys (public) and the host key (private).
func TestServeStrictModes(t *testing.T) {
	const me, other = 1000, 1001
	file := func(mode fs.FileMode, uid uint32) fileFacts {
		return fileFacts{path: "/etc/cutover/keys", mode: mode, uid: uid}
	}
	dir := func(path string, mode fs.FileMode, uid uint32) fileFacts {
		return fileFacts{path: path, mode: fs.ModeDir | mode, uid: uid}
	}
	safe := []fileFacts{dir("/etc/cutover", 0o755, me), dir("/etc", 0o755, 0), dir("/", 0o755, 0)}
	inTmp := []fileFacts{dir("/tmp/TestX/001", 0o700, me), dir("/tmp/TestX", 0o700, me), dir("/tmp", fs.ModeSticky|0o777, 0), dir("/", 0o755, 0)}
	for _, tc := range []struct {
		name    string
		file    fileFacts
		dirs    []fileFacts
		private bool
		want    string
	}{
		{"mine, 0644", file(0o644, me), safe, false, ""},
		{"root's, 0644", file(0o644, 0), safe, false, ""},
		{"in t.TempDir under sticky /tmp", file(0o600, me), inTmp, false, ""},
		{"world-writable", file(0o666, me), safe, false, "authorized keys /etc/cutover/keys: writable by group or others (mode 0666); run chmod go-w /etc/cutover/keys"},
		{"group-writable", file(0o664, me), safe, false, "writable by group or others (mode 0664)"},
		{"someone else's", file(0o644, other), safe, false, "authorized keys /etc/cutover/keys: owned by uid 1001, neither root nor the user cutover serve runs as (uid 1000); run chown 1000 /etc/cutover/keys"},
		{"not a file", fileFacts{path: "/etc/cutover/keys", mode: fs.ModeDir | 0o755}, safe, false, "not a regular file"},
		{"its directory world-writable", file(0o644, me), append([]fileFacts{dir("/etc/cutover", 0o777, me)}, safe[1:]...), false,
			"directory /etc/cutover is writable by group or others (mode 0777); run chmod go-w /etc/cutover"},
		{"its directory sticky and world-writable", file(0o644, me), append([]fileFacts{dir("/etc/cutover", fs.ModeSticky|0o777, 0)}, safe[1:]...), false,
			"directory /etc/cutover is writable by group or others"},
		{"its directory someone else's", file(0o644, me), append([]fileFacts{dir("/etc/cutover", 0o755, other)}, safe[1:]...), false,
			"directory /etc/cutover is owned by uid 1001"},
		{"a parent group-writable, not sticky", file(0o644, me), []fileFacts{safe[0], dir("/etc", 0o775, 0), safe[2]}, false,
			"directory /etc is writable by group or others (mode 0775); run chmod go-w /etc"},
		{"a sticky parent someone else's", file(0o600, me), []fileFacts{inTmp[0], inTmp[1], dir("/tmp", fs.ModeSticky|0o777, other), inTmp[3]}, false,
			"directory /tmp is owned by uid 1001"},
		{"host key 0600", file(0o600, me), safe, true, ""},
		{"host key group-readable", file(0o640, me), safe, true, "host key /etc/cutover/keys: readable by group or others (mode 0640), and it is a private key; run chmod go-rw /etc/cutover/keys"},
		{"host key world-writable", file(0o602, me), safe, true, "writable by group or others (mode 0602); run chmod go-rw"},
		{"a path to quote", fileFacts{path: "/etc/my keys", mode: 0o666, uid: me}, safe, false, "run chmod go-w '/etc/my keys'"},
	} {
		what := "authorized keys"
		if tc.private {
			what = "host key"
		}
		err := strictModes(what, tc.file, tc.dirs, me, tc.private)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: refused: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: got %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}

// TestServeLimitFlags: each limit flag is checked, and a wrong one is
// bad input.
func TestServeLimitFlags(t *testing.T) {
	ok := serveOptions{loginGrace: 30 * time.Second, maxStartups: "10:30:100", sessions: 100, sessionsPerKey: 10,
		aliveInterval: 15 * time.Second, aliveCountMax: 3, unused: time.Minute}
	if _, err := ok.limits(); err != nil {
		t.Fatalf("the defaults: %v", err)
	}
	for _, tc := range []struct {
		change func(*serveOptions)
		want   string
	}{
		{func(o *serveOptions) { o.loginGrace = 0 }, "--login-grace-time 0s: want a positive duration"},
		{func(o *serveOptions) { o.maxStartups = "1:2" }, `--max-startups "1:2"`},
		{func(o *serveOptions) { o.perSource = -1 }, "--per-source-max-startups -1: want 0 (no cap) or more"},
		{func(o *serveOptions) { o.sessions = 0 }, "--max-sessions 0: want at least 1"},
		{func(o *serveOptions) { o.sessionsPerKey = 0 }, "--max-sessions-per-key 0: want at least 1"},
		{func(o *serveOptions) { o.aliveInterval = -time.Second }, "--client-alive-interval -1s"},
		{func(o *serveOptions) { o.aliveCountMax = 0 }, "--client-alive-count-max 0"},
		{func(o *serveOptions) { o.unused = -time.Second }, "--unused-connection-timeout -1s"},
	} {
		o := ok
		tc.change(&o)
		if _, err := o.limits(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v, want an error containing %q", err, tc.want)
		}
	}
}
