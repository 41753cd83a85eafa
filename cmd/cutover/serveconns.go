package main

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"time"

	"charm.land/ssh"
	gossh "golang.org/x/crypto/ssh"

	"github.com/cutover-sh/cutover/human"
)

// admission holds cutover serve's SSH connections to its limits from the
// accept on: it admits a connection or closes it there, before any
// handshake work, counting the unauthenticated ones in all and by source
// address block; closes one not authenticated within the login grace
// time; counts sessions in total and per key; drops a peer that answers no
// keepalive and a connection left without a session; and refuses every
// kind of forwarding.
type admission struct {
	lim  limits
	logf func(format string, a ...any)
	// noisy logs what a flood makes many of: the first of each kind at
	// once, then how many more every ten seconds.
	noisy *tally
	// roll is a uniform random number in [0, 100), for MaxStartups.
	roll func() int

	mu       sync.Mutex
	conns    int // open, authenticated or not
	startups int // open and not authenticated yet
	// perSource counts the startups by source address block (see
	// sourceBlock); a block with none has no entry, so that a flood from
	// many addresses leaves nothing behind.
	perSource map[netip.Prefix]int
	sessions  int
	perKey    map[string]int // open sessions by key fingerprint
}

func newAdmission(lim limits, logf func(string, ...any)) *admission {
	return &admission{
		lim: lim, logf: logf, noisy: &tally{logf: logf, every: 10 * time.Second, pending: map[string]int{}},
		// Who is refused needs no secret, only no pattern a client could
		// steer by; sshd uses arc4random the same way.
		roll:   func() int { return rand.IntN(100) }, //nolint:gosec // see above
		perKey: map[string]int{}, perSource: map[netip.Prefix]int{},
	}
}

// listener hands on each connection admit lets in, and closes the others
// as soon as they are accepted.
func (a *admission) listener(l net.Listener) net.Listener { return admissionListener{l, a} }

type admissionListener struct {
	net.Listener
	a *admission
}

func (l admissionListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if p := l.a.admit(c); p != nil {
			return p, nil
		}
	}
}

func (a *admission) admit(c net.Conn) *peer {
	block, _ := sourceBlock(c.RemoteAddr())
	a.mu.Lock()
	var kind, detail string
	switch {
	case a.conns >= a.lim.conns:
		kind = fmt.Sprintf("refused connections past the cap of %d open at once (--max-startups full + --max-sessions, within the open-files limit)", a.lim.conns)
		detail = fmt.Sprintf("%s, with %d not authenticated", c.RemoteAddr(), a.startups)
	// Before MaxStartups, so that the log blames one source's excess on
	// that source, not on the server being full.
	case a.lim.perSource > 0 && block.IsValid() && a.perSource[block] >= a.lim.perSource:
		// One kind for every source: a flood from many addresses is one
		// line every ten seconds, not one for each.
		kind = fmt.Sprintf("refused connections past --per-source-max-startups %d from one address block", a.lim.perSource)
		detail = fmt.Sprintf("%s, with %d not authenticated from %s", c.RemoteAddr(), a.perSource[block], block)
	case a.lim.startups.refuse(a.startups, a.roll()):
		kind = fmt.Sprintf("refused connections past --max-startups %s", a.lim.startups)
		detail = fmt.Sprintf("%s, with %d not authenticated", c.RemoteAddr(), a.startups)
	default:
		a.conns++
		a.startups++
		if block.IsValid() {
			a.perSource[block]++
		}
	}
	a.mu.Unlock()
	if kind != "" {
		_ = c.Close()
		a.noisy.add(kind, detail)
		return nil
	}
	p := &peer{Conn: c, a: a, block: block, done: make(chan struct{})}
	p.mu.Lock()
	p.grace = time.AfterFunc(a.lim.loginGrace, p.graceOver)
	p.mu.Unlock()
	return p
}

// peer is one admitted connection, counted until it closes.
type peer struct {
	net.Conn
	a *admission
	// done is closed with the connection.
	done chan struct{}

	// block is the source address block the peer counts in until it
	// authenticates; the zero Prefix counts in none.
	block netip.Prefix

	mu       sync.Mutex
	closed   bool
	authed   bool
	key      string // the proven key's fingerprint, once authenticated
	sessions int
	alive    bool // keepalives started
	grace    *time.Timer
	unused   *time.Timer
}

// peerKey is where a connection's context keeps its peer.
type peerKey struct{}

func (p *peer) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.grace.Stop()
	if p.unused != nil {
		p.unused.Stop()
	}
	close(p.done)
	authed := p.authed
	p.mu.Unlock()

	p.a.mu.Lock()
	p.a.conns--
	if !authed {
		p.a.startupEndedLocked(p.block)
	}
	p.a.mu.Unlock()
	return p.Conn.Close()
}

func (p *peer) graceOver() {
	p.mu.Lock()
	late := !p.authed && !p.closed
	p.mu.Unlock()
	if late {
		p.a.noisy.add(fmt.Sprintf("closed connections not authenticated within %s (--login-grace-time)", human.Duration(p.a.lim.loginGrace)), p.RemoteAddr().String())
		_ = p.Close()
	}
}

// authenticated counts the peer out of the unauthenticated ones, once it
// has proved key. It reports false if the connection is closing.
func (p *peer) authenticated(key string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	if p.authed {
		return true
	}
	p.authed, p.key = true, key
	p.grace.Stop()
	p.a.mu.Lock()
	p.a.startupEndedLocked(p.block)
	p.a.mu.Unlock()
	p.idleLocked()
	return true
}

// startupEndedLocked counts a connection from block out of the
// unauthenticated ones, when it authenticates or closes first. a.mu is
// held.
func (a *admission) startupEndedLocked(block netip.Prefix) {
	a.startups--
	if !block.IsValid() {
		return
	}
	if a.perSource[block]--; a.perSource[block] <= 0 {
		delete(a.perSource, block)
	}
}

// idleLocked starts counting the time the connection has no session.
func (p *peer) idleLocked() {
	switch {
	case p.a.lim.unused <= 0:
	case p.unused == nil:
		p.unused = time.AfterFunc(p.a.lim.unused, p.unusedOver)
	default:
		p.unused.Reset(p.a.lim.unused)
	}
}

func (p *peer) unusedOver() {
	p.mu.Lock()
	unused := p.sessions == 0 && !p.closed
	p.mu.Unlock()
	if unused {
		p.a.logf("closed the connection of key %s from %s: no session for %s (--unused-connection-timeout)", p.key, p.RemoteAddr(), p.a.lim.unused)
		_ = p.Close()
	}
}

// openSession counts a session in, if the caps allow it, and starts the
// connection's keepalives with its first.
func (p *peer) openSession(conn gossh.Conn) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || !p.authed {
		return errors.New("the connection is closing")
	}
	a := p.a
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case a.perKey[p.key] >= a.lim.sessionsPerKey:
		return fmt.Errorf("too many sessions: %d open with this key, the most one key may have (--max-sessions-per-key)", a.perKey[p.key])
	case a.sessions >= a.lim.sessions:
		return fmt.Errorf("too many sessions: %d open, the most this server serves (--max-sessions)", a.sessions)
	}
	a.sessions++
	a.perKey[p.key]++
	p.sessions++
	if p.unused != nil {
		p.unused.Stop()
	}
	if !p.alive && a.lim.aliveInterval > 0 {
		p.alive = true
		go p.keepAlive(conn)
	}
	return nil
}

func (p *peer) closeSession() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.a.mu.Lock()
	p.a.sessions--
	if p.a.perKey[p.key]--; p.a.perKey[p.key] <= 0 {
		delete(p.a.perKey, p.key)
	}
	p.a.mu.Unlock()
	if p.sessions--; p.sessions == 0 && !p.closed {
		p.idleLocked()
	}
}

// keepAlive asks the peer for an answer every interval, and drops it when
// it has answered none of count, as sshd's ClientAliveInterval and
// ClientAliveCountMax do: a peer that vanished without closing its TCP
// connection would otherwise hold its session, and its console, forever.
// It ends when the connection closes.
func (p *peer) keepAlive(conn gossh.Conn) {
	every, count := p.a.lim.aliveInterval, p.a.lim.aliveCountMax
	t := time.NewTicker(every)
	defer t.Stop()
	var answered chan struct{}
	missed := 0
	for {
		select {
		case <-p.done:
			return
		case <-t.C:
		}
		if answered != nil {
			select {
			case <-answered:
			default:
				// One request at a time: the last is still unanswered.
				if missed++; missed >= count {
					p.a.logf("closed the connection of key %s from %s: it answered none of %d keepalives %s apart (--client-alive-interval, --client-alive-count-max)",
						p.key, p.RemoteAddr(), count, every)
					_ = p.Close()
					return
				}
				continue
			}
		}
		missed = 0
		answered = make(chan struct{})
		// It returns when the peer answers or the connection closes.
		go func(answered chan struct{}) {
			// A client answers a request it does not know with a failure,
			// which is an answer all the same.
			if _, _, err := conn.SendRequest("keepalive@openssh.com", true, nil); err == nil {
				close(answered)
			}
		}(answered)
	}
}

// track keeps the peer in the connection's context, for the callbacks
// that only get the context.
func (a *admission) track(ctx ssh.Context, c net.Conn) net.Conn {
	if p, ok := c.(*peer); ok {
		ctx.SetValue(peerKey{}, p)
	}
	return c
}

// config is the connection's SSH configuration: a connection counts as
// authenticated once it has proved a key that was accepted, which is when
// the handshake succeeds.
func (a *admission) config(ctx ssh.Context) *gossh.ServerConfig {
	return &gossh.ServerConfig{
		VerifiedPublicKeyCallback: func(_ gossh.ConnMetadata, key gossh.PublicKey, perms *gossh.Permissions, _ string) (*gossh.Permissions, error) {
			p, _ := ctx.Value(peerKey{}).(*peer)
			if p == nil || !p.authenticated(gossh.FingerprintSHA256(key)) {
				return nil, errors.New("the connection is closing")
			}
			return perms, nil
		},
	}
}

// channels are the channels a client may open: sessions. Wish would
// refuse the others too, as unknown; here each is refused as forwarding,
// and logged.
func (a *admission) channels() map[string]ssh.ChannelHandler {
	return map[string]ssh.ChannelHandler{
		"session": a.session,
		// direct-tcpip (ssh -L, -D, -W), direct-streamlocal@openssh.com
		// and any other.
		"default": func(_ *ssh.Server, conn *gossh.ServerConn, nc gossh.NewChannel, _ ssh.Context) {
			to := ""
			var d struct {
				DestAddr   string
				DestPort   uint32
				OriginAddr string
				OriginPort uint32
			}
			if nc.ChannelType() == "direct-tcpip" && gossh.Unmarshal(nc.ExtraData(), &d) == nil {
				to = " to " + net.JoinHostPort(d.DestAddr, fmt.Sprint(d.DestPort))
			}
			a.logf("refused a %s channel%s for user %q from %s: forwarding is off", nc.ChannelType(), to, conn.User(), conn.RemoteAddr())
			_ = nc.Reject(gossh.Prohibited, "cutover serve: forwarding is off")
		},
	}
}

// requests answers a client's global requests: no to each, and to a
// remote forwarding (ssh -R) with a line in the log.
func (a *admission) requests() map[string]ssh.RequestHandler {
	forward := func(ctx ssh.Context, _ *ssh.Server, req *gossh.Request) (bool, []byte) {
		a.logf("refused %s (ssh -R) for user %q from %s: forwarding is off", req.Type, ctx.User(), ctx.RemoteAddr())
		return false, nil
	}
	return map[string]ssh.RequestHandler{
		"tcpip-forward":                          forward,
		"cancel-tcpip-forward":                   forward,
		"streamlocal-forward@openssh.com":        forward,
		"cancel-streamlocal-forward@openssh.com": forward,
		"default":                                func(ssh.Context, *ssh.Server, *gossh.Request) (bool, []byte) { return false, nil },
	}
}

// session serves a session channel within the caps, with agent and X11
// forwarding refused: Wish answers an agent request yes.
func (a *admission) session(srv *ssh.Server, conn *gossh.ServerConn, nc gossh.NewChannel, ctx ssh.Context) {
	p, _ := ctx.Value(peerKey{}).(*peer)
	if p == nil {
		_ = nc.Reject(gossh.Prohibited, "cutover serve: no session without a key login")
		return
	}
	if err := p.openSession(conn); err != nil {
		a.logf("refused a session for key %s (user %q) from %s: %v", p.key, conn.User(), conn.RemoteAddr(), err)
		_ = nc.Reject(gossh.ResourceShortage, "cutover serve: "+err.Error())
		return
	}
	defer p.closeSession()
	ssh.DefaultSessionHandler(srv, conn, refusingChannel{nc, func(req *gossh.Request) bool {
		what := forwardingRequest(req.Type)
		if what != "" {
			a.logf("refused %s (%s) for key %s (user %q) from %s", what, req.Type, p.key, conn.User(), conn.RemoteAddr())
		}
		return what != ""
	}}, ctx)
}

// forwardingRequest names the session requests that ask for forwarding.
func forwardingRequest(typ string) string {
	switch typ {
	case "auth-agent-req@openssh.com":
		return "agent forwarding"
	case "x11-req":
		return "X11 forwarding"
	}
	return ""
}

// refusingChannel is a new channel whose requests are answered no, when
// refuse says so, before Wish's session sees them.
type refusingChannel struct {
	gossh.NewChannel
	refuse func(*gossh.Request) bool
}

func (c refusingChannel) Accept() (gossh.Channel, <-chan *gossh.Request, error) {
	ch, in, err := c.NewChannel.Accept()
	if err != nil {
		return nil, nil, err
	}
	out := make(chan *gossh.Request)
	// It ends when the channel closes; the session reads out until then.
	go func() {
		defer close(out)
		for req := range in {
			if c.refuse(req) {
				_ = req.Reply(false, nil)
				continue
			}
			out <- req
		}
	}()
	return ch, out, nil
}

// tally logs the first event of each kind at once, and then how many more
// came every interval while they keep coming, so that a flood of
// connections cannot flood the log.
type tally struct {
	logf  func(format string, a ...any)
	every time.Duration

	mu sync.Mutex
	// pending counts the events of each kind since the last line; a kind
	// absent has had none for an interval.
	pending map[string]int
}

func (t *tally) add(kind, detail string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.pending[kind]; ok {
		t.pending[kind]++
		return
	}
	t.pending[kind] = 0
	t.logf("%s: %s", kind, detail)
	time.AfterFunc(t.every, func() { t.flush(kind) })
}

func (t *tally) flush(kind string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := t.pending[kind]
	if n == 0 {
		delete(t.pending, kind)
		return
	}
	t.logf("%s: %d more in the last %s", kind, n, t.every)
	t.pending[kind] = 0
	time.AfterFunc(t.every, func() { t.flush(kind) })
}
