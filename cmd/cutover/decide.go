package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/cutover-sh/cutover/engine"
	"github.com/cutover-sh/cutover/engine/spec"
	"github.com/cutover-sh/cutover/sanitize"
)

// A run listens for decisions from other processes on this host on a
// Unix socket, one per run, in a directory of the state dir that only its
// owner may enter. The peer's credentials, from the kernel, name who
// decided: nobody types a name.

// decisionsDir holds the runs' sockets.
func decisionsDir(stateDir string) string { return filepath.Join(stateDir, "runs") }

type decisionRequest struct {
	// Op is "gates", "approve" or "reject".
	Op     string `json:"op"`
	Gate   string `json:"gate,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Seen is the hash of the diff shown to the person approving.
	Seen string `json:"seen,omitempty"`
}

type decisionReply struct {
	Run      string               `json:"run"`
	Pipeline string               `json:"pipeline"`
	Gates    []engine.GateWaiting `json:"gates,omitempty"`
	Message  string               `json:"message,omitempty"`
	Error    string               `json:"error,omitempty"`
}

// listenDecisions serves eng's gates on its socket until stop is called.
func listenDecisions(stateDir string, eng *engine.Engine, pipeline string) (path string, stop func(), err error) {
	dir := decisionsDir(stateDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", nil, fmt.Errorf("decisions: %w", err)
	}
	// Only its owner may enter: the socket's own mode is not honoured
	// everywhere, a directory's is.
	if err := os.Chmod(dir, 0o700); err != nil { //nolint:gosec // a directory: its owner must enter it
		return "", nil, fmt.Errorf("decisions: %w", err)
	}
	path = filepath.Join(dir, eng.RunID()+".sock")
	addr, closeAddr, err := socketAddr(path)
	if err != nil {
		return "", nil, fmt.Errorf("decisions: %w", err)
	}
	defer closeAddr()
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: addr, Net: "unix"})
	if err != nil {
		return "", nil, fmt.Errorf("decisions: %w", err)
	}
	// Unlinked by path: the name it was bound by may be /proc/self/fd's.
	ln.SetUnlinkOnClose(false)
	if err := os.Chmod(path, 0o600); err != nil {
		_ = ln.Close()
		_ = os.Remove(path)
		return "", nil, fmt.Errorf("decisions: %w", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.AcceptUnix()
			if err != nil {
				return
			}
			go serveDecision(c, eng, pipeline)
		}
	}()
	return path, func() {
		_ = ln.Close()
		_ = os.Remove(path)
		<-done
	}, nil
}

// socketAddr is the address to bind or dial for the socket at path: path
// itself, or, when it is longer than a socket address can hold (a deep
// --state-dir), the same file reached through a descriptor of its
// directory. close releases that descriptor once bound or connected.
func socketAddr(path string) (addr string, closeAddr func(), err error) {
	if len(path) <= maxSocketPath {
		return path, func() {}, nil
	}
	return shortSocketAddr(path)
}

// dialRun connects to the run's socket at path.
func dialRun(path string, timeout time.Duration) (net.Conn, error) {
	addr, closeAddr, err := socketAddr(path)
	if err != nil {
		return nil, err
	}
	defer closeAddr()
	d := net.Dialer{Timeout: timeout}
	return d.DialContext(context.Background(), "unix", addr)
}

// serveDecision answers one request on c.
func serveDecision(c *net.UnixConn, eng *engine.Engine, pipeline string) {
	defer func() { _ = c.Close() }()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	reply := decisionReply{Run: eng.RunID(), Pipeline: pipeline}
	answer := func() { _ = json.NewEncoder(c).Encode(reply) }
	actor, err := peerActor(c)
	if err != nil {
		reply.Error = err.Error()
		answer()
		return
	}
	var req decisionRequest
	if err := json.NewDecoder(io.LimitReader(c, 64<<10)).Decode(&req); err != nil {
		reply.Error = "bad request: " + err.Error()
		answer()
		return
	}
	switch req.Op {
	case "gates":
		reply.Gates = eng.Snapshot().Gates
	case "approve":
		err = eng.ApproveSeen(actor, req.Gate, req.Seen)
		reply.Message = "approved " + req.Gate + " as " + actor.String()
	case "reject":
		err = eng.Reject(actor, req.Gate, req.Reason)
		reply.Message = "rejected " + req.Gate + " as " + actor.String()
	default:
		err = fmt.Errorf("unknown op %q", req.Op)
	}
	if err != nil {
		reply.Message, reply.Error = "", err.Error()
	}
	answer()
}

// peerActor names the process at the other end of c by its uid, as the
// kernel reports it. Only the run's own user and root may decide: the
// directory's mode already keeps others out, and this holds if it is
// loosened.
func peerActor(c *net.UnixConn) (engine.Actor, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return engine.Actor{}, err
	}
	var peer uint32
	var credErr error
	if err := raw.Control(func(fd uintptr) { peer, credErr = peerUID(int(fd)) }); err != nil {
		return engine.Actor{}, err
	}
	if credErr != nil {
		return engine.Actor{}, fmt.Errorf("peer credentials: %w", credErr)
	}
	if int(peer) != os.Getuid() && peer != 0 {
		return engine.Actor{}, fmt.Errorf("uid %d may not decide this run's gates: only its owner (uid %d) and root may", peer, os.Getuid())
	}
	uid := strconv.FormatUint(uint64(peer), 10)
	name := "uid:" + uid
	if u, err := user.LookupId(uid); err == nil && u.Username != "" {
		name = u.Username
	}
	return engine.Actor{Name: name, ID: "uid " + uid + ", local socket"}, nil
}

// decisionOptions are approve's and reject's flags.
type decisionOptions struct {
	run    string
	yes    bool
	reason string
}

func newApproveCmd(s streams, g *globalOptions) *cobra.Command {
	var o decisionOptions
	cmd := &cobra.Command{
		Use:   "approve [GATE | SERVICE -n NAMESPACE]",
		Short: "Approve the gate a run waits on, on this host or through the cluster",
		Long: `Approve a gate from another terminal: a plain run whose input is closed,
a CI job, or a console someone else is at. It shows the question and, at a
blue-green gate, what approving changes, and asks for confirmation; --yes
skips that for scripts. The approval is bound to the diff shown: if the
preview changes meanwhile, it is refused.

With -n (or --context), SERVICE's release is found through the cluster, on
any machine: the run holding the Service's release lock publishes its gate
on the lock's Lease, and this command writes the decision there. The actor
is your Kubernetes identity (a SelfSubjectReview), so RBAC decides who may
approve: deploy/rbac.yaml's cutover-approver Role.

Without them, the run is found through its socket in the state dir on this
host (only its owner and root may use it), and the decision is journaled
with the name of the user who ran this command. With several runs waiting,
name one with --run; with several gates, name the gate (stage/step).

Racing decisions apply once.`,
		Example: `  cutover approve
  cutover approve production/approve-release --run 20261202T030000Z-4f2a9c --yes
  cutover approve claude-tiu-service -n production`,
		Args: args(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if throughCluster(cmd) {
				return decideThroughCluster(cmd.Context(), s, g, "approve", a, o)
			}
			return decide(s, g, "approve", a, o)
		},
	}
	o.add(cmd)
	return cmd
}

func newRejectCmd(s streams, g *globalOptions) *cobra.Command {
	var o decisionOptions
	cmd := &cobra.Command{
		Use:   "reject [GATE | SERVICE -n NAMESPACE] --reason REASON",
		Short: "Reject the gate a run waits on, on this host or through the cluster",
		Long: `Reject a gate from another terminal, on this host or through the cluster,
as approve approves one. --reason is required: it goes to the journal and
to the people the run notifies.`,
		Example: `  cutover reject --reason "error rate in staging is 3%"
  cutover reject claude-tiu-service -n production --reason "p95 is 4s in staging"`,
		Args: args(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if strings.TrimSpace(o.reason) == "" {
				return badInput(errors.New("--reason is required: say why, for the audit journal and the people waiting"))
			}
			if throughCluster(cmd) {
				return decideThroughCluster(cmd.Context(), s, g, "reject", a, o)
			}
			return decide(s, g, "reject", a, o)
		},
	}
	o.add(cmd)
	cmd.Flags().StringVar(&o.reason, "reason", "", "why, for the audit journal (required)")
	return cmd
}

func (o *decisionOptions) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&o.run, "run", "", "the run's ID (default: the only run of the state dir that listens)")
	cmd.Flags().BoolVarP(&o.yes, "yes", "y", false, "do not ask for confirmation")
}

// decide shows the gate op decides and, once confirmed, decides it.
func decide(s streams, g *globalOptions, op string, a []string, o decisionOptions) error {
	stateDir, err := g.journalDir()
	if err != nil {
		return err
	}
	sock, err := findRunSocket(stateDir, o.run)
	if err != nil {
		return err
	}
	got, err := askRun(sock, decisionRequest{Op: "gates"})
	if err != nil {
		return err
	}
	gate, err := pickGate(got, a)
	if err != nil {
		return err
	}
	_, _ = fmt.Fprintf(s.out, "Run %s (%s), gate %s:\n  %s\n%s\n", got.Run, got.Pipeline, gate.Gate, gate.Instruction, gateDeadline(gate))
	seen := ""
	if d := gate.Diff; d != nil && op == "approve" {
		_, _ = fmt.Fprintf(s.out, "What approving changes (%s live → %s preview), diff %s:\n%s", d.From, d.To, d.Hash, indent(d.Unified()))
		seen = d.Hash
	}
	if !o.yes {
		if !s.inTTY {
			return badInput(fmt.Errorf("%s %s: not a terminal, so cannot ask; pass --yes to confirm", op, gate.Gate))
		}
		_, _ = fmt.Fprintf(s.out, "Type yes to %s: ", op)
		line, _ := bufio.NewReader(s.in).ReadString('\n')
		if strings.TrimSpace(strings.ToLower(line)) != "yes" {
			return &exitError{code: exitAborted, err: errors.New("not confirmed; the gate still waits")}
		}
	}
	done, err := askRun(sock, decisionRequest{Op: op, Gate: gate.Gate, Reason: o.reason, Seen: seen})
	if err != nil {
		return err
	}
	_, _ = fmt.Fprintln(s.out, done.Message)
	return nil
}

// throughCluster reports whether a decision names a Service in a cluster
// (-n or --context) rather than a run on this host.
func throughCluster(cmd *cobra.Command) bool {
	for _, name := range []string{"namespace", "context"} {
		if f := cmd.Flag(name); f != nil && f.Changed {
			return true
		}
	}
	return false
}

// decideThroughCluster decides the gate published on SERVICE's release
// lock, as the caller's Kubernetes identity.
func decideThroughCluster(ctx context.Context, s streams, g *globalOptions, op string, a []string, o decisionOptions) error {
	if len(a) != 1 {
		return badInput(fmt.Errorf("%s through the cluster: name the Service (cutover %s SERVICE -n NAMESPACE)", op, op))
	}
	if o.run != "" {
		return badInput(errors.New("--run names a run on this host; through the cluster, the Service's release lock names it"))
	}
	ns, _, err := g.kube.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return badInput(fmt.Errorf("find the namespace: %w", err))
	}
	cl, err := g.contexts().Open("")
	if err != nil {
		return err
	}
	t := spec.Target{Namespace: ns, Service: a[0]}
	failed := func(err error) error { return &exitError{code: exitFailed, err: err} }
	actor, err := cl.WhoAmI(ctx)
	if err != nil {
		return failed(err)
	}
	n, holder, err := cl.ReadGate(ctx, t)
	if err != nil {
		return failed(err)
	}
	n = new(sanitize.Deep(*n))
	_, _ = fmt.Fprintf(s.out, "Service %s, run %s (%s), gate %s:\n  %s\n", t, n.Run, sanitize.Line(holder), n.Gate, n.Question)
	seen := ""
	if d := n.Diff; d != nil && op == "approve" {
		_, _ = fmt.Fprintf(s.out, "What approving changes (%s live → %s preview), diff %s:\n%s", d.From, d.To, d.Hash, indent(d.Unified()))
		seen = d.Hash
	}
	if !o.yes {
		if !s.inTTY {
			return badInput(fmt.Errorf("%s %s: not a terminal, so cannot ask; pass --yes to confirm", op, n.Gate))
		}
		_, _ = fmt.Fprintf(s.out, "Type yes to %s as %s: ", op, actor.Name)
		line, _ := bufio.NewReader(s.in).ReadString('\n')
		if strings.TrimSpace(strings.ToLower(line)) != "yes" {
			return &exitError{code: exitAborted, err: errors.New("not confirmed; the gate still waits")}
		}
	}
	outcome := spec.GateApprove
	if op == "reject" {
		outcome = spec.GateReject
	}
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := cl.DecideGate(dctx, t, engine.RemoteDecision{Gate: n.Gate, Outcome: outcome, Actor: actor, Reason: o.reason, Seen: seen}); err != nil {
		return failed(fmt.Errorf("%s %s of service %s: %w", op, n.Gate, t, err))
	}
	_, _ = fmt.Fprintf(s.out, "%s %s of service %s as %s\n", map[string]string{"approve": "approved", "reject": "rejected"}[op], n.Gate, t, actor.Name)
	return nil
}

// indent indents every line of s by two spaces.
func indent(s string) string {
	return "  " + strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n  ") + "\n"
}

// pickGate is the gate named in a, or the only one waiting.
func pickGate(r decisionReply, a []string) (engine.GateWaiting, error) {
	var names []string
	for _, g := range r.Gates {
		names = append(names, g.Gate)
	}
	switch {
	case len(r.Gates) == 0:
		return engine.GateWaiting{}, &exitError{code: exitFailed, err: fmt.Errorf("run %s (%s) has no gate waiting", r.Run, r.Pipeline)}
	case len(a) == 1:
		if i := slices.Index(names, a[0]); i >= 0 {
			return r.Gates[i], nil
		}
		return engine.GateWaiting{}, &exitError{code: exitFailed, err: fmt.Errorf("run %s has no gate %q waiting; waiting: %s", r.Run, a[0], strings.Join(names, ", "))}
	case len(r.Gates) > 1:
		return engine.GateWaiting{}, badInput(fmt.Errorf("run %s has %d gates waiting (%s); name one", r.Run, len(names), strings.Join(names, ", ")))
	}
	return r.Gates[0], nil
}

// gateDeadline says what happens to g if nobody decides it.
func gateDeadline(g engine.GateWaiting) string {
	return "If nobody decides it: " + engine.ExplainTimeout(g, time.Now()) + "."
}

// findRunSocket is run's socket in stateDir, or the only one that answers.
func findRunSocket(stateDir, run string) (string, error) {
	dir := decisionsDir(stateDir)
	if run != "" {
		if strings.ContainsAny(run, "/\x00") {
			return "", badInput(fmt.Errorf("--run %q: not a run ID", run))
		}
		path := filepath.Join(dir, run+".sock")
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return "", &exitError{code: exitFailed, err: fmt.Errorf("run %s: no socket in %s; is it running on this host, with this --state-dir?", run, dir)}
		} else if err != nil {
			return "", &exitError{code: exitFailed, err: fmt.Errorf("run %s: %w", run, err)}
		}
		return path, nil
	}
	paths, _ := filepath.Glob(filepath.Join(dir, "*.sock"))
	var live []string
	for _, p := range paths {
		// A run that was killed leaves its socket behind: it refuses.
		c, err := dialRun(p, 2*time.Second)
		if err != nil {
			if errors.Is(err, syscall.ECONNREFUSED) {
				continue
			}
			return "", &exitError{code: exitFailed, err: fmt.Errorf("run %s: %w", strings.TrimSuffix(filepath.Base(p), ".sock"), err)}
		}
		_ = c.Close()
		live = append(live, p)
	}
	switch len(live) {
	case 0:
		return "", &exitError{code: exitFailed, err: fmt.Errorf("no run of %s is waiting on this host", stateDir)}
	case 1:
		return live[0], nil
	}
	var ids []string
	for _, p := range live {
		ids = append(ids, strings.TrimSuffix(filepath.Base(p), ".sock"))
	}
	return "", badInput(fmt.Errorf("%d runs are running (%s); name one with --run", len(ids), strings.Join(ids, ", ")))
}

// askRun sends one request to the run at sock and reads its answer.
func askRun(sock string, req decisionRequest) (decisionReply, error) {
	fail := func(err error) (decisionReply, error) {
		return decisionReply{}, &exitError{code: exitFailed, err: err}
	}
	c, err := dialRun(sock, 5*time.Second)
	if err != nil {
		return fail(fmt.Errorf("run %s: %w", strings.TrimSuffix(filepath.Base(sock), ".sock"), err))
	}
	defer func() { _ = c.Close() }()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	if err := json.NewEncoder(c).Encode(req); err != nil {
		return fail(fmt.Errorf("run %s: %w", sock, err))
	}
	var r decisionReply
	if err := json.NewDecoder(io.LimitReader(c, 1<<20)).Decode(&r); err != nil {
		return fail(fmt.Errorf("run %s: no answer: %w", sock, err))
	}
	// What the run says is printed: it passes the sanitizer here too,
	// whatever process answered on the socket.
	r = sanitize.Deep(r)
	if r.Error != "" {
		return fail(fmt.Errorf("run %s: %s", r.Run, r.Error))
	}
	return r, nil
}
