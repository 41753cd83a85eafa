package testenv

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// Prometheus is a real Prometheus server on loopback, scraping the targets
// it was started with every second. Stop it when done.
type Prometheus struct {
	// URL is the server's address, http://127.0.0.1:PORT.
	URL  string
	Dir  string
	proc *proc
	// bin and args start it again after Kill.
	bin  string
	args []string
}

// PrometheusBinary returns the prometheus binary to run: $CUTOVER_PROMETHEUS,
// else prometheus on PATH (Debian's package; testenv/test-all installs it).
func PrometheusBinary() (string, error) {
	if p := os.Getenv("CUTOVER_PROMETHEUS"); p != "" {
		return p, nil
	}
	p, err := exec.LookPath("prometheus")
	if err != nil {
		return "", errors.New("no prometheus on PATH: install Debian's prometheus package (testenv/test-all does) or set CUTOVER_PROMETHEUS")
	}
	return p, nil
}

// StartPrometheus starts Prometheus in dir, scraping targets (host:port)
// every second and loading ruleFiles, and waits until it is ready.
func StartPrometheus(ctx context.Context, dir string, targets []string, ruleFiles ...string) (*Prometheus, error) {
	bin, err := PrometheusBinary()
	if err != nil {
		return nil, err
	}
	ports, err := freePorts(1)
	if err != nil {
		return nil, err
	}
	var cfg strings.Builder
	cfg.WriteString("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n")
	if len(ruleFiles) > 0 {
		cfg.WriteString("rule_files:\n")
		for _, f := range ruleFiles {
			abs, err := filepath.Abs(f)
			if err != nil {
				return nil, err
			}
			fmt.Fprintf(&cfg, "  - %q\n", abs)
		}
	}
	cfg.WriteString("scrape_configs:\n  - job_name: app\n    static_configs:\n      - targets: [")
	for i, t := range targets {
		if i > 0 {
			cfg.WriteString(", ")
		}
		fmt.Fprintf(&cfg, "%q", t)
	}
	cfg.WriteString("]\n")
	conf := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(conf, []byte(cfg.String()), 0o600); err != nil {
		return nil, fmt.Errorf("write %s: %w", conf, err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(ports[0])
	p := &Prometheus{URL: "http://" + addr, Dir: dir, bin: bin, args: []string{
		"--config.file=" + conf, "--web.listen-address=" + addr,
		"--storage.tsdb.path=" + filepath.Join(dir, "data"), "--web.enable-lifecycle",
	}}
	if err := p.start(); err != nil {
		return nil, err
	}
	if err := p.waitReady(ctx); err != nil {
		p.Stop()
		return nil, err
	}
	return p, nil
}

func (p *Prometheus) start() error {
	logf, err := os.OpenFile(filepath.Join(p.Dir, "prometheus.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	// Not CommandContext: the server outlives ctx, and Stop ends it by PID.
	cmd := exec.Command(p.bin, p.args...) //nolint:gosec,noctx // the test's own binary
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		return fmt.Errorf("start prometheus: %w", err)
	}
	pr := &proc{name: "prometheus", cmd: cmd, done: make(chan struct{})}
	p.proc = pr
	go func() {
		pr.err = cmd.Wait()
		_ = logf.Close()
		close(pr.done)
	}()
	return nil
}

// Kill kills the server with SIGKILL, as a crash would, and waits for it
// to exit; Restart starts it again on the same address and data.
func (p *Prometheus) Kill() {
	select {
	case <-p.proc.done:
	default:
		p.proc.stop(syscall.SIGKILL)
	}
}

// Restart starts a killed server again and waits until it is ready.
func (p *Prometheus) Restart(ctx context.Context) error {
	p.Kill()
	if err := p.start(); err != nil {
		return err
	}
	return p.waitReady(ctx)
}

func (p *Prometheus) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL+"/-/ready", nil)
		if err != nil {
			return err
		}
		if resp, err := http.DefaultClient.Do(req); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-p.proc.done:
			return fmt.Errorf("prometheus exited while starting (%v); see %s", p.proc.cmd.ProcessState, filepath.Join(p.Dir, "prometheus.log"))
		case <-ctx.Done():
			return fmt.Errorf("prometheus at %s not ready within 30s", p.URL)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Stop stops the server by its PID and waits for it to exit. A stopped
// server refuses connections, as one that went down would.
func (p *Prometheus) Stop() {
	select {
	case <-p.proc.done:
	default:
		p.proc.stop(syscall.SIGTERM)
	}
}

// WaitForRequests waits until Prometheus has scraped the app often enough
// to give service a request rate: before that, any rate query is empty,
// and a gate rightly calls it inconclusive.
func (p *Prometheus) WaitForRequests(ctx context.Context, service string) error {
	c, err := api.NewClient(api.Config{Address: p.URL})
	if err != nil {
		return err
	}
	query := fmt.Sprintf(`sum(rate(http_requests_total{service=%q}[5s]))`, service)
	for {
		if v, _, _, err := v1.NewAPI(c).Query(ctx, query, time.Now()); err == nil {
			if vec, ok := v.(model.Vector); ok && len(vec) == 1 && vec[0].Value > 0 {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("prometheus at %s never had a request rate for service %s: %w", p.URL, service, ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
}
