package main

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The tests run this test binary as flightd itself (TAEL_TEST_FLIGHTD=1), so
// they drive the real command line, signals and HTTP listener.
func TestMain(m *testing.M) {
	if os.Getenv("TAEL_TEST_FLIGHTD") == "1" {
		os.Exit(run(os.Args[1:]))
	}
	os.Exit(m.Run())
}

type proc struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	logs bytes.Buffer
	addr chan string
	// eof is closed once the log has been read to its end (the process
	// exited); Wait must not run before, or it may cut the log short.
	eof chan struct{}
}

var listenRE = regexp.MustCompile(`msg="http listening" addr=(\S+)`)

// startFlightd starts flightd with args and env and returns once it has said
// which HTTP address it listens on.
func startFlightd(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{addr: make(chan string, 1), eof: make(chan struct{})}
	p.cmd = exec.Command(os.Args[0], args...)
	// Every listener on a free port unless the test says otherwise.
	p.cmd.Env = append(append(os.Environ(), "TAEL_TEST_FLIGHTD=1", "TAEL_FLIGHT=127.0.0.1:0"), env...)
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.cmd.Process.Kill(); _ = p.cmd.Wait() })
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.logs.WriteString(line + "\n")
			p.mu.Unlock()
			if m := listenRE.FindStringSubmatch(line); m != nil {
				p.addr <- m[1]
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
		close(p.eof)
	}()
	return p
}

func (p *proc) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logs.String()
}

func (p *proc) waitAddr(t *testing.T) string {
	t.Helper()
	select {
	case a := <-p.addr:
		return "http://" + a
	case <-time.After(30 * time.Second):
		t.Fatalf("flightd did not listen within 30s; log:\n%s", p.log())
	}
	return ""
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func waitReady(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if code, _ := get(t, base+"/readyz"); code == http.StatusOK {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("flightd not ready within 30s")
}

func TestServeReadyMetricsAndCleanStop(t *testing.T) {
	dir := t.TempDir()
	// The data directory comes from the environment, the address from a flag.
	p := startFlightd(t, []string{"TAEL_DATA_DIR=" + dir, "TAEL_OTLP_GRPC=127.0.0.1:0"}, "serve", "--http", "127.0.0.1:0", "--otlp-http", "127.0.0.1:0")
	base := p.waitAddr(t)
	if code, body := get(t, base+"/healthz"); code != http.StatusOK || strings.TrimSpace(body) != "ok" {
		t.Fatalf("/healthz = %d %q", code, body)
	}
	waitReady(t, base)
	code, body := get(t, base+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics = %d", code)
	}
	for _, m := range []string{"tael_engine_applied_lsn", "tael_wal_fsyncs_total", "go_goroutines"} {
		if !strings.Contains(body, m) {
			t.Errorf("/metrics lacks %s", m)
		}
	}
	if _, err := os.Stat(dir + "/LOCK"); err != nil {
		t.Errorf("data directory not used: %v", err)
	}

	// A second flightd on the same directory refuses to start and says why.
	second := exec.Command(os.Args[0], "--data-dir", dir, "--http", "127.0.0.1:0", "--otlp-grpc", "127.0.0.1:0", "--otlp-http", "127.0.0.1:0")
	second.Env = append(os.Environ(), "TAEL_TEST_FLIGHTD=1", "TAEL_FLIGHT=127.0.0.1:0")
	out, err := second.CombinedOutput()
	if err == nil || !strings.Contains(string(out), dir) || !strings.Contains(string(out), "in use") {
		t.Fatalf("second flightd on %s: err=%v output:\n%s", dir, err, out)
	}

	start := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		<-p.eof
		errc <- p.cmd.Wait()
	}()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("flightd exited with %v after SIGTERM; log:\n%s", err, p.log())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("flightd still running 10s after SIGTERM; log:\n%s", p.log())
	}
	t.Logf("stopped in %v", time.Since(start))
	if !strings.Contains(p.log(), "flightd stopped cleanly") {
		t.Fatalf("no clean-stop log line:\n%s", p.log())
	}
}

// writeFile writes s to a new file and returns its path.
func writeFile(t *testing.T, s string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "tael.toml")
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBadFlags(t *testing.T) {
	cases := []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"unknown flag", nil, []string{"--nope"}, "flag provided but not defined"},
		{"bad duration", nil, []string{"--hot-window", "soon"}, "invalid value"},
		{"bad env duration", []string{"TAEL_HOT_WINDOW=soon"}, nil, "TAEL_HOT_WINDOW"},
		{"public address without auth", nil, []string{"--http", "0.0.0.0:7701"}, "--insecure"},
		{"unknown command", nil, []string{"frobnicate"}, "unknown command"},
		{"bad retention", nil, []string{"--retention-logs", "a week"}, "invalid value"},
		{"negative retention", []string{"TAEL_RETENTION_TRACES=-1h"}, nil, "must not be negative"},
		{"missing config", nil, []string{"--config", "/nonexistent/tael.toml"}, "--config"},
		{"config with an unknown setting", nil, []string{"--config", writeFile(t, "[retention]\ntraces = \"7d\"\nspans = \"1d\"\n")}, `unknown retention setting "spans"`},
		{"config with a bad duration", nil, []string{"--config", writeFile(t, "[retention]\nlogs = \"soon\"\n")}, "retention.logs"},
		{"config with an unknown table", nil, []string{"--config", writeFile(t, "[compaction]\nevery = 1\n")}, "unknown setting"},
		{"basic auth without a password", nil, []string{"--auth-basic", "ana"}, "user:password"},
		{"tls cert without key", nil, []string{"--tls-cert", "c.pem"}, "--tls-key"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], append(c.args, "--data-dir", t.TempDir())...)
			cmd.Env = append(append(os.Environ(), "TAEL_TEST_FLIGHTD=1"), c.env...)
			out, err := cmd.CombinedOutput()
			ee, ok := err.(*exec.ExitError)
			if !ok || ee.ExitCode() != 2 {
				t.Fatalf("exit = %v, want status 2; output:\n%s", err, out)
			}
			if !strings.Contains(string(out), c.want) {
				t.Fatalf("output lacks %q:\n%s", c.want, out)
			}
		})
	}
}

// TestConfigRetention checks that the TOML file sets retention and that
// flags and the environment win over it.
func TestConfigRetention(t *testing.T) {
	var c serveConfig
	fs := newServeFlags(&c)
	cfg := writeFile(t, "[retention]\ntraces = \"7d\"\nlogs = \"36h\"\nllm_payloads = \"2d\"\nrollups = \"400d\"\n")
	t.Setenv("TAEL_RETENTION_ROLLUPS", "30d")
	if err := parseFlags(fs, []string{"--config", cfg, "--retention-logs", "1h"}); err != nil {
		t.Fatal(err)
	}
	if err := c.storage.load(fs); err != nil {
		t.Fatal(err)
	}
	want := map[string]time.Duration{"traces": 7 * 24 * time.Hour, "logs": time.Hour, "llm-payloads": 48 * time.Hour, "rollups": 30 * 24 * time.Hour, "metrics": 0}
	for k, w := range want {
		if got := *c.storage.retention[k]; got != w {
			t.Errorf("retention %s = %s, want %s", k, got, w)
		}
	}
}
