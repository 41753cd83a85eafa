// Package testenv starts a real Kubernetes control plane on loopback for
// integration tests: etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler, and kwok to stand in for kubelets. testenv/build-controlplane
// builds and caches the binaries. It also starts a real Prometheus, the
// apps it scrapes, and a router that stands in for kube-proxy.
//
// Only tests import it. It imports client-go and nothing of cutover's, so
// that any package's tests can use it.
package testenv

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"maps"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Cluster is a running control plane. Stop it when done, even when a test
// fails: every process is stopped by its PID.
type Cluster struct {
	// Dir holds certificates, the kubeconfig, etcd's data and the logs.
	Dir string
	// Kubeconfig is a kubeconfig file for an admin (system:masters) user.
	Kubeconfig string
	// Config is the same admin access for client-go.
	Config *rest.Config
	Client kubernetes.Interface

	procs []*proc
}

type proc struct {
	bin  string
	args []string
	name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// BinDir returns where build-controlplane put the binaries: $CUTOVER_TESTENV_BIN
// if set, else the newest build under ~/.cache/cutover/testenv.
func BinDir() (string, error) {
	if d := os.Getenv("CUTOVER_TESTENV_BIN"); d != "" {
		return d, nil
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("find the test control plane: %w", err)
	}
	matches, _ := filepath.Glob(filepath.Join(cache, "cutover", "testenv", "v*", "kube-apiserver"))
	if len(matches) == 0 {
		return "", errors.New("no test control plane built: run testenv/build-controlplane (or set CUTOVER_TESTENV_BIN)")
	}
	return filepath.Dir(matches[len(matches)-1]), nil
}

// Start starts a control plane in dir with the binaries in bin and waits
// until it serves. Ports are chosen free, so several clusters can run at
// once. Process output goes to files in dir.
func Start(ctx context.Context, bin, dir string) (_ *Cluster, err error) {
	// A failed start stops what it started; the caller gets no cluster,
	// so the deferred Stop must not read the result.
	c := &Cluster{Dir: dir}
	defer func() {
		if err != nil {
			c.Stop()
		}
	}()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if err := writeCerts(dir); err != nil {
		return nil, err
	}
	ports, err := freePorts(7)
	if err != nil {
		return nil, err
	}
	etcdClient, etcdPeer, apiPort, cmPort, schedPort, kwokPort, kwokNodePort := ports[0], ports[1], ports[2], ports[3], ports[4], ports[5], ports[6]
	server := "https://127.0.0.1:" + strconv.Itoa(apiPort)
	c.Kubeconfig = filepath.Join(dir, "admin.kubeconfig")
	if err := writeKubeconfig(c.Kubeconfig, server, dir); err != nil {
		return nil, err
	}
	p := func(name string) string { return filepath.Join(dir, name) }
	etcdURL := "http://127.0.0.1:" + strconv.Itoa(etcdClient)
	peerURL := "http://127.0.0.1:" + strconv.Itoa(etcdPeer)
	if err := c.start(bin, "etcd",
		"--name=testenv", "--data-dir="+p("etcd"), "--unsafe-no-fsync",
		"--listen-client-urls="+etcdURL, "--advertise-client-urls="+etcdURL,
		"--listen-peer-urls="+peerURL, "--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=testenv="+peerURL, "--listen-metrics-urls=",
	); err != nil {
		return nil, err
	}
	if err := c.start(bin, "kube-apiserver",
		"--etcd-servers="+etcdURL,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", "--secure-port="+strconv.Itoa(apiPort),
		"--tls-cert-file="+p("admin.crt"), "--tls-private-key-file="+p("admin.key"), "--client-ca-file="+p("ca.crt"),
		"--service-account-issuer=https://kubernetes.default.svc", "--service-account-key-file="+p("sa.pub"),
		"--service-account-signing-key-file="+p("sa.key"),
		"--authorization-mode=Node,RBAC", "--service-cluster-ip-range=10.0.0.0/24",
		// Without it the apiserver reconciles its own endpoint forever and
		// logs loopback errors.
		"--endpoint-reconciler-type=none",
	); err != nil {
		return nil, err
	}
	if err := c.waitHealthy(ctx, server); err != nil {
		return nil, err
	}
	common := []string{
		"--kubeconfig=" + c.Kubeconfig, "--authentication-kubeconfig=" + c.Kubeconfig,
		"--authorization-kubeconfig=" + c.Kubeconfig, "--leader-elect=false", "--bind-address=127.0.0.1",
		"--authorization-always-allow-paths=/healthz,/readyz,/livez,/metrics",
	}
	if err := c.start(bin, "kube-controller-manager", append(common,
		"--secure-port="+strconv.Itoa(cmPort),
		"--service-account-private-key-file="+p("sa.key"), "--root-ca-file="+p("ca.crt"),
		"--use-service-account-credentials=false",
		// kwok renews node leases through the API server. A test that
		// keeps the API server down for half a minute must not also turn
		// every node NotReady when it comes back: that is another outage.
		"--node-monitor-grace-period=5m",
	)...); err != nil {
		return nil, err
	}
	if err := c.start(bin, "kube-scheduler", append(common, "--secure-port="+strconv.Itoa(schedPort))...); err != nil {
		return nil, err
	}
	if err := c.start(bin, "kwok",
		"--kubeconfig="+c.Kubeconfig, "--config="+filepath.Join(bin, "kwok-stages.yaml"),
		"--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake", "--cidr=10.244.0.0/16",
		"--node-ip=127.0.0.1", "--node-port="+strconv.Itoa(kwokNodePort),
		"--server-address=127.0.0.1:"+strconv.Itoa(kwokPort),
		// Without it kwok keeps no node leases, only a status heartbeat
		// every 10-20 minutes, and a cluster that lives past the grace
		// period sees every node go Unknown and its pods NotReady for good.
		// kwokctl passes the same.
		"--node-lease-duration-seconds=40",
	); err != nil {
		return nil, err
	}
	return c, nil
}

// start starts one component with its output in DIR/NAME.log.
func (c *Cluster) start(bin, name string, args ...string) error {
	logf, err := os.OpenFile(filepath.Join(c.Dir, name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	// Not CommandContext: the components outlive Start's context, and Stop
	// ends them by PID.
	cmd := exec.Command(filepath.Join(bin, name), args...) //nolint:gosec,noctx // the test's own binaries
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		return fmt.Errorf("start %s: %w", name, err)
	}
	pr := &proc{bin: bin, args: args, name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		pr.err = cmd.Wait()
		_ = logf.Close()
		close(pr.done)
	}()
	c.procs = append(c.procs, pr)
	return nil
}

// waitHealthy waits for the apiserver's /readyz and builds the clients.
func (c *Cluster) waitHealthy(ctx context.Context, server string) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig)
	if err != nil {
		return fmt.Errorf("read %s: %w", c.Kubeconfig, err)
	}
	// Tests poll and watch at once; client-go's default 5 requests/s would
	// make them wait on the client, not on the cluster.
	cfg.QPS, cfg.Burst = 200, 400
	c.Config = cfg
	if c.Client, err = kubernetes.NewForConfig(cfg); err != nil {
		return fmt.Errorf("client for %s: %w", server, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	var last error
	for {
		for _, p := range c.procs {
			select {
			case <-p.done:
				return fmt.Errorf("%s exited while the control plane started (%v); see %s", p.name, p.cmd.ProcessState, filepath.Join(c.Dir, p.name+".log"))
			default:
			}
		}
		body, err := c.Client.CoreV1().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		if err == nil && strings.TrimSpace(string(body)) == "ok" {
			return nil
		}
		if last = err; last == nil {
			last = fmt.Errorf("/readyz answered %q", body)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("kube-apiserver at %s not ready within 60s: %w", server, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// AddNode registers a node that kwok manages: it becomes Ready and runs the
// pods scheduled to it. Pods must tolerate the node's
// kwok.x-k8s.io/node=fake:NoSchedule taint.
func (c *Cluster) AddNode(ctx context.Context, name string) error {
	return c.AddLabeledNode(ctx, name, nil)
}

// AddLabeledNode is AddNode with extra node labels, for pods whose
// nodeSelector only a later node satisfies.
func (c *Cluster) AddLabeledNode(ctx context.Context, name string, extra map[string]string) error {
	labels := map[string]string{"type": "kwok", "kubernetes.io/hostname": name}
	maps.Copy(labels, extra)
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Annotations: map[string]string{"kwok.x-k8s.io/node": "fake"},
			Labels:      labels,
		},
		Spec: corev1.NodeSpec{Taints: []corev1.Taint{{Key: "kwok.x-k8s.io/node", Value: "fake", Effect: corev1.TaintEffectNoSchedule}}},
	}
	if _, err := c.Client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create node %s: %w", name, err)
	}
	return nil
}

// Stop stops every component, newest first, and waits for each to exit.
func (c *Cluster) Stop() {
	for i := len(c.procs) - 1; i >= 0; i-- {
		c.procs[i].stop(syscall.SIGTERM)
	}
	c.procs = nil
}

func (p *proc) stop(sig syscall.Signal) {
	_ = syscall.Kill(-p.cmd.Process.Pid, sig)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// KillAPIServer kills kube-apiserver with SIGKILL, as a crash would, and
// returns at once; the other components keep running. RestartAPIServer
// brings it back on the same port.
func (c *Cluster) KillAPIServer() error { return c.Kill("kube-apiserver") }

// Kill kills one component (etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler or kwok) with SIGKILL, as a crash would, and returns at
// once; Restart brings it back.
func (c *Cluster) Kill(name string) error {
	for _, p := range c.procs {
		if p.name == name {
			select {
			case <-p.done:
				return fmt.Errorf("%s is not running", name)
			default:
			}
			p.stop(syscall.SIGKILL)
			return nil
		}
	}
	return fmt.Errorf("%s was never started", name)
}

// Restart starts a component again with its first arguments, killing it
// first if it still runs.
func (c *Cluster) Restart(name string) error { return c.restart(name) }

// Pause stops components with SIGSTOP, as a node under pressure or a
// debugger would: their connections stay open and nothing they own moves
// until Continue.
func (c *Cluster) Pause(names ...string) error { return c.signal(syscall.SIGSTOP, names) }

// Continue resumes components Pause stopped.
func (c *Cluster) Continue(names ...string) error { return c.signal(syscall.SIGCONT, names) }

func (c *Cluster) signal(sig syscall.Signal, names []string) error {
	var errs []error
	for _, name := range names {
		i := slices.IndexFunc(c.procs, func(p *proc) bool { return p.name == name })
		if i < 0 {
			errs = append(errs, fmt.Errorf("%s was never started", name))
			continue
		}
		if err := syscall.Kill(-c.procs[i].cmd.Process.Pid, sig); err != nil {
			errs = append(errs, fmt.Errorf("signal %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// LogTail returns the last n lines a component wrote to its log, or a
// line saying why it cannot.
func (c *Cluster) LogTail(name string, n int) string {
	b, err := os.ReadFile(filepath.Join(c.Dir, name+".log"))
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// RestartAPIServer starts kube-apiserver again with its first arguments and
// waits until it is ready.
func (c *Cluster) RestartAPIServer(ctx context.Context) error {
	if err := c.restart("kube-apiserver"); err != nil {
		return err
	}
	return c.waitHealthy(ctx, c.Config.Host)
}

// RestartControllers restarts kube-controller-manager, kube-scheduler and
// kwok, as the static pods of a control-plane node that came back would
// be. Left running across an API server outage, they reconnect on their
// own, but with a backoff that grows with the machine's load: one CI run
// on this 2-core machine waited over three minutes for it.
func (c *Cluster) RestartControllers() error {
	for _, name := range []string{"kube-controller-manager", "kube-scheduler", "kwok"} {
		if err := c.restart(name); err != nil {
			return err
		}
	}
	return nil
}

// restart kills one component, if it still runs, and starts it again with
// its first arguments.
func (c *Cluster) restart(name string) error {
	i := slices.IndexFunc(c.procs, func(p *proc) bool { return p.name == name })
	if i < 0 {
		return fmt.Errorf("%s was never started", name)
	}
	old := c.procs[i]
	select {
	case <-old.done:
	default:
		old.stop(syscall.SIGKILL)
	}
	c.procs = slices.Delete(c.procs, i, i+1)
	return c.start(old.bin, old.name, old.args...)
}

// freePorts asks the kernel for n free loopback ports.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// writeCerts writes a CA, one certificate that serves the apiserver and is
// every component's client certificate (CN=kubernetes-admin,
// O=system:masters), and the service-account key pair.
func writeCerts(dir string) error {
	caKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return fmt.Errorf("generate CA key: %w", err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "cutover-testenv-ca"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return fmt.Errorf("create CA certificate: %w", err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return fmt.Errorf("generate admin key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "kubernetes-admin", Organization: []string{"system:masters"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames:    []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("10.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return fmt.Errorf("create admin certificate: %w", err)
	}
	saKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return fmt.Errorf("generate service-account key: %w", err)
	}
	saPub, err := x509.MarshalPKIXPublicKey(&saKey.PublicKey)
	if err != nil {
		return fmt.Errorf("encode service-account key: %w", err)
	}
	files := []struct {
		name, typ string
		der       []byte
	}{
		{"ca.crt", "CERTIFICATE", caDER},
		{"admin.crt", "CERTIFICATE", der},
		{"admin.key", "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key)},
		{"sa.key", "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(saKey)},
		{"sa.pub", "PUBLIC KEY", saPub},
	}
	for _, f := range files {
		if err := writePEM(filepath.Join(dir, f.name), f.typ, f.der); err != nil {
			return err
		}
	}
	return nil
}

func writePEM(path, typ string, der []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := pem.Encode(f, &pem.Block{Type: typ, Bytes: der}); err != nil {
		_ = f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}

func writeKubeconfig(path, server, dir string) error {
	p := func(name string) string { return filepath.Join(dir, name) }
	text := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: testenv
  cluster:
    server: %s
    certificate-authority: %s
users:
- name: admin
  user:
    client-certificate: %s
    client-key: %s
contexts:
- name: testenv
  context: {cluster: testenv, user: admin, namespace: default}
current-context: testenv
`, server, p("ca.crt"), p("admin.crt"), p("admin.key"))
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		return fmt.Errorf("write kubeconfig: %w", err)
	}
	return nil
}
