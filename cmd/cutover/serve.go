package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/ssh"
	"charm.land/wish/v2"
	"charm.land/wish/v2/activeterm"
	"charm.land/wish/v2/bubbletea"
	"github.com/spf13/cobra"
	gossh "golang.org/x/crypto/ssh"

	"github.com/cutover-sh/cutover/engine"
	"github.com/cutover-sh/cutover/human"
	"github.com/cutover-sh/cutover/sanitize"
	"github.com/cutover-sh/cutover/tui"
)

type serveOptions struct {
	run                            runOptions
	listen, hostKey, authorizedKey string

	loginGrace, aliveInterval, unused time.Duration
	maxStartups                       string
	perSource                         int
	sessions, sessionsPerKey          int
	aliveCountMax                     int
}

// limits checks the limit flags.
func (o *serveOptions) limits() (limits, error) {
	ms, err := parseMaxStartups(o.maxStartups)
	if err != nil {
		return limits{}, err
	}
	l := limits{loginGrace: o.loginGrace, startups: ms, perSource: o.perSource, sessions: o.sessions, sessionsPerKey: o.sessionsPerKey,
		aliveInterval: o.aliveInterval, aliveCountMax: o.aliveCountMax, unused: o.unused}
	switch {
	case l.loginGrace <= 0:
		return l, fmt.Errorf("--login-grace-time %s: want a positive duration: an unauthenticated connection may not stay forever", l.loginGrace)
	case l.perSource < 0:
		return l, fmt.Errorf("--per-source-max-startups %d: want 0 (no cap) or more", l.perSource)
	case l.sessions < 1:
		return l, fmt.Errorf("--max-sessions %d: want at least 1", l.sessions)
	case l.sessionsPerKey < 1:
		return l, fmt.Errorf("--max-sessions-per-key %d: want at least 1", l.sessionsPerKey)
	case l.aliveInterval < 0:
		return l, fmt.Errorf("--client-alive-interval %s: want 0 (no keepalives) or a positive duration", l.aliveInterval)
	case l.aliveCountMax < 1:
		return l, fmt.Errorf("--client-alive-count-max %d: want at least 1", l.aliveCountMax)
	case l.unused < 0:
		return l, fmt.Errorf("--unused-connection-timeout %s: want 0 (never) or a positive duration", l.unused)
	}
	return l, nil
}

func newServeCmd(s streams, g *globalOptions) *cobra.Command {
	o := &serveOptions{}
	cmd := &cobra.Command{
		Use:   "serve PIPELINE",
		Short: "Serve the release console over SSH to many engineers at once",
		Long: `Run a pipeline in this long-lived process and serve its console over SSH:
every engineer who connects gets the live console of the same release, from
where it stands now. A dropped SSH session, or quitting the console, leaves
the release running.

Only the keys in --authorized-keys get in (OpenSSH's authorized_keys format;
passwords and keyboard-interactive are off). A key's role is its option:

  role=operator ssh-ed25519 AAAAC3... alice@laptop   approve, promote, roll back, abort, maintenance
  ssh-ed25519 AAAAC3... bob@desk                     a viewer: read-only

Every action is journaled as the key's comment and SHA256 fingerprint. The
file is read again at each login, so a key added or removed counts at once.
Like sshd's StrictModes, it is refused if anyone but its owner (root or the
user cutover serve runs as) could change it, or its directory; the host key
is refused if anyone else could read it.

Connections are held to sshd's bounds (see the flags): a login grace time,
MaxStartups, PerSourceMaxStartups (one IPv4 address, or one IPv6 /64, may
not take every unauthenticated slot), sessions per key and in all, keepalives, and a timeout for a
connection with no session. The connections together never take the file
descriptors the release's steps need: with a small open-files limit, the
caps are lowered, and the log says so. Agent, X11 and port forwarding are
refused.

SIGTERM (or SIGQUIT, Ctrl-\) stops the server and suspends its run; started
again with --resume, it takes the run up where it stopped. While a blue-green
release is in flight, the signal is refused with the reason and carried out
once the release is over; a second one stops it at once.`,
		Example: `  cutover serve pipeline.yaml --authorized-keys /etc/cutover/authorized_keys
  ssh -p 2222 bastion`,
		Args:              args(cobra.ExactArgs(1)),
		ValidArgsFunction: completeYAML,
		RunE: func(cmd *cobra.Command, a []string) error {
			return serve(cmd.Context(), s, g, o, a[0])
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.listen, "listen", "127.0.0.1:2222", "host:port to serve SSH on")
	f.StringVar(&o.hostKey, "host-key", "", "the server's private host key; generated once (ed25519, mode 0600) if missing (default <state-dir>/ssh_host_ed25519_key)")
	f.StringVar(&o.authorizedKey, "authorized-keys", "", "who may connect, and each key's role (required)")
	f.StringArrayVar(&o.run.set, "set", nil, "set a variable, KEY=VALUE (repeatable); wins over the environment")
	f.IntVar(&o.run.parallel, "parallel", 4, "how many independent stages may run at once")
	f.BoolVar(&o.run.resume, "resume", false, "continue this pipeline's last run, which a stopped server left unfinished")
	f.DurationVar(&o.loginGrace, "login-grace-time", 30*time.Second, "close a connection not authenticated within this time (sshd's LoginGraceTime)")
	f.StringVar(&o.maxStartups, "max-startups", "10:30:100", "unauthenticated connections, start:rate:full: from start on, refuse rate% of new ones, rising to all at full (sshd's MaxStartups)")
	f.IntVar(&o.perSource, "per-source-max-startups", 10, "unauthenticated connections from one address block, an IPv4 address or an IPv6 /64; 0: no cap (sshd's PerSourceMaxStartups)")
	f.IntVar(&o.sessions, "max-sessions", 100, "sessions open at once, in all")
	f.IntVar(&o.sessionsPerKey, "max-sessions-per-key", 10, "sessions open at once with one key")
	f.DurationVar(&o.aliveInterval, "client-alive-interval", 15*time.Second, "ask each client for an answer this often; 0 asks none (sshd's ClientAliveInterval)")
	f.IntVar(&o.aliveCountMax, "client-alive-count-max", 3, "drop a client that answered none of this many (sshd's ClientAliveCountMax)")
	f.DurationVar(&o.unused, "unused-connection-timeout", time.Minute, "close an authenticated connection with no session for this long; 0 never (sshd's UnusedConnectionTimeout)")
	_ = cmd.MarkFlagRequired("authorized-keys")
	return cmd
}

// memberOf finds the member whose key a session proved. It reads the
// file again, so that a key removed meanwhile gets nothing.
func memberOf(path string, key ssh.PublicKey) (member, bool) {
	if key == nil {
		return member{}, false
	}
	ms, err := loadMembers(path)
	if err != nil {
		return member{}, false
	}
	for _, m := range ms {
		if ssh.KeysEqual(m.key, key) {
			return m, true
		}
	}
	return member{}, false
}

func serve(ctx context.Context, s streams, g *globalOptions, o *serveOptions, path string) error {
	lim, signer, err := o.prepare(g)
	if err != nil {
		return err
	}
	logf := serveLog(s.err)
	r, err := prepareRun(s, g, &o.run, path, osActor(s.lookupEnv))
	if err != nil {
		return err
	}
	defer func() { _ = r.journal.Close() }()
	stopDecisions := r.listen(s, g, &o.run)
	defer stopDecisions()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var points atomic.Int64
	points.Store(40)
	feed, err := panelFeed(ctx, r.p, r.eng, r.secrets, &points)
	if err != nil {
		return err
	}
	room := &room{programs: map[ssh.Session]*viewer{}}
	go room.fanOut(feed)

	// What is open now (the journal, the panels' clients) is counted in;
	// what the steps will open is in the reserve.
	fdLimit, inUse, err := openFilesLimit()
	if err != nil {
		return err
	}
	budget, reserve := connectionBudget(fdLimit, inUse)
	lowered, err := lim.fit(budget)
	if err != nil {
		return fmt.Errorf("%w (open-files limit %d, %d open, %d kept for the release's steps)", err, fdLimit, inUse, reserve)
	}
	if lowered != "" {
		logf("the open-files limit is %d: %s, so that its connections leave %d descriptors for the release's steps", fdLimit, lowered, reserve)
	}
	adm := newAdmission(lim, logf)
	srv, err := o.server(signer, adm, logf, func(sess ssh.Session) *tea.Program {
		return room.join(ctx, sess, r, o.authorizedKey, &points)
	}, room.leave)
	if err != nil {
		return err
	}
	l, err := (&net.ListenConfig{}).Listen(ctx, "tcp", o.listen)
	if err != nil {
		return fmt.Errorf("ssh server: %w", err)
	}
	logf("serving %s over SSH on %s (host key %s)", r.p.Metadata.Name, l.Addr(), o.hostKey)
	logf("limits: login grace %s, max startups %s (%s), %d sessions (%d per key), keepalive every %s (%d unanswered drop), unused connections closed after %s, at most %d connections (open-files limit %d)",
		human.Duration(lim.loginGrace), lim.startups, lim.perSourceText(), lim.sessions, lim.sessionsPerKey, human.Duration(lim.aliveInterval), lim.aliveCountMax, human.Duration(lim.unused), lim.conns, fdLimit)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(adm.listener(l)) }()

	done := make(chan runResult, 1)
	go func() {
		final, err := r.eng.Run(ctx)
		logf("run %s %s", final.Run, final.Status)
		done <- runResult{final, err}
	}()
	last, err := awaitStop(r, done, served, logf)
	if err != nil {
		return err
	}
	room.closeAll()
	// A console whose client stopped reading cannot take its quit; closing
	// the connections after a grace period unblocks it.
	shut, cancelShut := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancelShut()
	if err := srv.Shutdown(shut); err != nil && !errors.Is(err, ssh.ErrServerClosed) {
		_ = srv.Close()
	}
	// A server that stopped when asked exits 0 whatever its run did: the
	// journal and the log say how the run ended.
	return last.err
}

// prepare checks serve's flags and files before anything starts: the
// limits, the authorized keys and the host key, generated once if missing.
func (o *serveOptions) prepare(g *globalOptions) (limits, gossh.Signer, error) {
	lim, err := o.limits()
	if err != nil {
		return lim, nil, badInput(err)
	}
	members, err := loadMembers(o.authorizedKey)
	if err != nil {
		return lim, nil, badInput(err)
	}
	if len(members) == 0 {
		return lim, nil, badInput(fmt.Errorf("%s lists no keys: nobody could connect", o.authorizedKey))
	}
	if o.hostKey == "" {
		dir, err := g.journalDir()
		if err != nil {
			return lim, nil, err
		}
		o.hostKey = filepath.Join(dir, "ssh_host_ed25519_key")
	}
	if err := os.MkdirAll(filepath.Dir(o.hostKey), 0o700); err != nil {
		return lim, nil, err
	}
	signer, err := hostKey(o.hostKey)
	if err != nil {
		return lim, nil, badInput(err)
	}
	return lim, signer, nil
}

// serveLog returns the server's log: one timestamped line per call, each
// passed through the one sanitizer, since key comments, the user name a
// client chose, addresses and error texts all reach it.
func serveLog(w io.Writer) func(format string, a ...any) {
	var mu sync.Mutex
	return func(format string, a ...any) {
		line := sanitize.Line(fmt.Sprintf(format, a...))
		mu.Lock()
		defer mu.Unlock()
		_, _ = fmt.Fprintln(w, time.Now().UTC().Format("2006-01-02T15:04:05.000Z")+" "+line)
	}
}

// server builds the SSH server: key login only, from the authorized keys
// read again at every login, held to adm's limits; console makes each
// session's console, and leave is told when a session ends.
func (o *serveOptions) server(signer gossh.Signer, adm *admission, logf func(string, ...any),
	console func(ssh.Session) *tea.Program, leave func(ssh.Session)) (*ssh.Server, error) {
	srv, err := wish.NewServer(
		wish.WithAddress(o.listen),
		func(srv *ssh.Server) error {
			srv.AddHostKey(signer)
			srv.ConnCallback = adm.track
			srv.ServerConfigCallback = adm.config
			srv.ChannelHandlers = adm.channels()
			srv.RequestHandlers = adm.requests()
			return nil
		},
		wish.WithPublicKeyAuth(func(sctx ssh.Context, key ssh.PublicKey) bool {
			ms, err := loadMembers(o.authorizedKey)
			if err != nil {
				// Fail closed: a file broken while serving admits nobody.
				logf("rejected every key: %v", err)
				return false
			}
			// Who the session is comes from the key it proved
			// (sess.PublicKey), never from this callback, which also
			// answers keys a client only asks about.
			for _, m := range ms {
				if ssh.KeysEqual(m.key, key) {
					return true
				}
			}
			logf("rejected key %s (%s) for user %q from %s: not in %s",
				gossh.FingerprintSHA256(key), key.Type(), sctx.User(), sctx.RemoteAddr(), o.authorizedKey)
			return false
		}),
		wish.WithMiddleware(
			bubbletea.MiddlewareWithProgramHandler(console),
			// Outermost: a session is counted in and out around its console.
			func(next ssh.Handler) ssh.Handler {
				return func(sess ssh.Session) {
					m, ok := memberOf(o.authorizedKey, sess.PublicKey())
					if !ok {
						logf("refused a session from %s: its key is no longer in %s", sess.RemoteAddr(), o.authorizedKey)
						return
					}
					who := m.actor(sess.User())
					logf("%s (%s) connected from %s", who, m.role, sess.RemoteAddr())
					next(sess)
					leave(sess)
					logf("%s (%s) left", who, m.role)
				}
			},
			activeterm.Middleware(),
		),
	)
	if err != nil {
		return nil, fmt.Errorf("ssh server: %w", err)
	}
	return srv, nil
}

// runResult is how a run ended.
type runResult struct {
	final engine.Snapshot
	err   error
}

// awaitStop serves until a signal stops the server, and returns how the
// run ended: suspended, if it was still in flight. A server stopped
// mid-release refuses the first SIGTERM or SIGQUIT and says why; SIGHUP
// is only logged.
func awaitStop(r *preparedRun, done chan runResult, served <-chan error, logf func(string, ...any)) (runResult, error) {
	sigs := make(chan os.Signal, 2)
	// SIGQUIT (Ctrl-\ in the terminal that started it) as SIGTERM: Go's
	// default for it, a goroutine dump and exit 2, would leave the run's
	// steps running and the journal with no word of the stop.
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGQUIT)
	defer signal.Stop(sigs)
	// SIGHUP (the terminal that started the server closed) is caught and
	// only logged: the release goes on, served over SSH to the people
	// driving it. Caught rather than ignored, since an ignored signal
	// would be ignored by every step too.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	var last *runResult
	forced := false
	// refused ticks once a second after a stop was refused mid-release:
	// the stop was still asked for, and is carried out once the release
	// is over. systemd's stop (one SIGTERM, then a wait) relies on it.
	refused := time.NewTicker(time.Second)
	refused.Stop()
	defer refused.Stop()
	for stop := false; !stop; {
		select {
		case res := <-done:
			// The run is over; the consoles stay up to show how it ended,
			// unless a stop was asked for while it ran.
			last = &res
			done = nil
			if forced {
				logf("the run is over: stopping, as asked")
				stop = true
			}
		case <-refused.C:
			if len(r.eng.ActiveReleases()) == 0 {
				logf("the release is over: stopping, as asked")
				stop = true
			}
		case err := <-served:
			if last == nil {
				_ = r.eng.Suspend(r.actor, fmt.Sprintf("the SSH server failed: %v", err))
				<-done
			}
			return runResult{}, fmt.Errorf("ssh server: %w", err)
		case <-hup:
			logf("SIGHUP: ignored; the run goes on, served over SSH (SIGTERM stops the server)")
		case sig := <-sigs:
			if inFlight := r.eng.ActiveReleases(); len(inFlight) > 0 && last == nil && !forced {
				logf("%s: not stopping yet: the release of %v is in flight, and stopping now would leave it half done. The server stops once it is over; send the signal again to stop at once.", sig, inFlight)
				forced = true
				refused.Reset(time.Second)
				continue
			}
			logf("%s: stopping", sig)
			stop = true
		}
	}
	if last == nil {
		// Suspended, not aborted: a server restarted with --resume takes
		// the run up where it stopped.
		if err := r.eng.Suspend(r.actor, "cutover serve stopped"); err != nil {
			logf("suspend the run: %v", err)
		}
		res := <-done
		last = &res
		logf("run %s suspended; start cutover serve again with --resume to continue it", last.final.Run)
	}
	return *last, nil
}

// room is everyone connected: each session's console, and who they are.
type room struct {
	mu sync.Mutex
	// programs is keyed by the session: one connection may carry several.
	programs map[ssh.Session]*viewer
}

type viewer struct {
	prog   *tea.Program
	sub    *engine.Subscription
	label  string
	panels chan []engine.PanelData
	// watchers holds the latest list of who watches, until the console
	// takes it: Send blocks until a program runs.
	watchers chan []string
	joined   time.Time
}

// join builds a session's console over the shared engine: its own
// subscription (a late joiner starts from the current snapshot), its own
// size, colors, focus and scroll, and the key's identity and role.
func (rm *room) join(ctx context.Context, sess ssh.Session, r *preparedRun, keys string, points *atomic.Int64) *tea.Program {
	m, ok := memberOf(keys, sess.PublicKey())
	if !ok {
		return nil // not through the key login: no console
	}
	actor := m.actor(sess.User())
	sub := r.eng.Subscribe(1 << 14)
	v := &viewer{label: fmt.Sprintf("%s (%s)", actor.Name, m.role), panels: make(chan []engine.PanelData, 1),
		watchers: make(chan []string, 1), joined: time.Now()}
	var panels <-chan []engine.PanelData
	if r.p.Prometheus != nil {
		panels = v.panels
	}
	co := consoleOptions(r.p, r.eng, r.contexts.Open)
	co.Events, co.Panels, co.Actor = sub, panels, actor
	co.ReadOnly, co.Shared, co.Keys = m.role != roleOperator, true, tui.DefaultKeyMap()
	co.Guard = func(seen uint64) tui.Controller { return r.eng.Guard(seen) }
	co.PanelPoints = func(n int) {
		// The widest console decides how many points are fetched.
		for cur := points.Load(); int64(n) > cur && !points.CompareAndSwap(cur, int64(n)); cur = points.Load() {
		}
	}
	model := tui.New(co)
	// No context of its own: when the session ends, Wish quits the
	// program, which is a clean end, not a kill. The server handles its
	// own signals: a SIGTERM refused mid-release must not close every
	// console.
	opts := append(bubbletea.MakeOptions(sess), tea.WithFPS(30), tea.WithoutSignalHandler())
	v.prog, v.sub = tea.NewProgram(model, opts...), sub
	rm.mu.Lock()
	rm.programs[sess] = v
	rm.mu.Unlock()
	go func() {
		// The server stopping ends every subscription; a session ending
		// ends its own, in leave.
		<-ctx.Done()
		sub.Close()
	}()
	go func() {
		for w := range v.watchers {
			v.prog.Send(tui.WatchersMsg(w))
		}
	}()
	rm.announce()
	return v.prog
}

func (rm *room) leave(sess ssh.Session) {
	rm.mu.Lock()
	if v := rm.programs[sess]; v != nil {
		close(v.watchers)
		v.sub.Close()
		delete(rm.programs, sess)
	}
	rm.mu.Unlock()
	rm.announce()
}

// announce tells every console who watches now, longest connected first.
func (rm *room) announce() {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	vs := make([]*viewer, 0, len(rm.programs))
	for _, v := range rm.programs {
		vs = append(vs, v)
	}
	slices.SortFunc(vs, func(a, b *viewer) int { return a.joined.Compare(b.joined) })
	labels := make([]string, len(vs))
	for i, v := range vs {
		labels[i] = v.label
	}
	for _, v := range vs {
		select {
		case <-v.watchers: // replaced: only the latest list matters
		default:
		}
		v.watchers <- labels
	}
}

// fanOut hands each panels refresh to every console, the latest only.
func (rm *room) fanOut(feed <-chan []engine.PanelData) {
	if feed == nil {
		return
	}
	for d := range feed {
		rm.mu.Lock()
		for _, v := range rm.programs {
			select {
			case <-v.panels:
			default:
			}
			v.panels <- d
		}
		rm.mu.Unlock()
	}
}

// closeAll asks every console to quit. Quit waits for the console to take
// it, so each is asked on its own, outside the lock.
func (rm *room) closeAll() {
	rm.mu.Lock()
	vs := make([]*viewer, 0, len(rm.programs))
	for _, v := range rm.programs {
		vs = append(vs, v)
	}
	rm.mu.Unlock()
	for _, v := range vs {
		go v.prog.Quit()
	}
}
