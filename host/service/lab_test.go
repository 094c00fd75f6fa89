//go:build linux

package service_test

// Live tests in the lab's systemd container. The gatherers must run inside
// the container's namespaces, as `sshdoctor server` would: sock_diag
// answers for the caller's network namespace, /proc/net/tcp for the
// reader's, journalctl and systemctl talk to the container's journald and
// systemd. Pointing host.System.Root at /proc/PID/root from outside is not
// enough: /proc/PID/root/proc/net resolves "self" to a process the
// container's procfs does not know, and sock_diag would read the test
// machine's sockets. So the test binary is bound into the container and
// runs itself there (TestInsideContainer), gathers with host.LiveSystem(),
// judges with check.SSHDService, and prints the findings as JSON.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sshdoctor/sshdoctor/check"
	"github.com/sshdoctor/sshdoctor/host"
	"github.com/sshdoctor/sshdoctor/host/logs"
	"github.com/sshdoctor/sshdoctor/host/selinux"
	"github.com/sshdoctor/sshdoctor/host/service"
	"github.com/sshdoctor/sshdoctor/host/sockets"
	"github.com/sshdoctor/sshdoctor/internal/lab"
)

const (
	insideEnv    = "SSHDOCTOR_SERVICE_INSIDE" // JSON of check.SSHDListen: run TestInsideContainer
	insideBin    = "/usr/local/bin/sshdoctor-service.test"
	resultMarker = "SSHDOCTOR-RESULT "
)

// insideResult is what TestInsideContainer prints.
type insideResult struct {
	Findings []check.Finding
	// GatherMS is how long the four gatherers took, run concurrently;
	// PartsMS how long each took.
	GatherMS float64
	PartsMS  map[string]float64
	// Commands are the processes the gatherers started, in order.
	Commands []string
	Service  service.Facts
	Sockets  sockets.Facts
	Logs     struct {
		Source  logs.Source
		Entries int
		Notes   []string
	}
}

// countingRunner records every command, so the test can check that no
// process is started twice.
type countingRunner struct {
	host.ExecRunner
	mu   sync.Mutex
	cmds []string
}

func (r *countingRunner) Run(ctx context.Context, name string, args ...string) ([]byte, error) {
	r.mu.Lock()
	r.cmds = append(r.cmds, strings.Join(append([]string{name}, args...), " "))
	r.mu.Unlock()
	return r.ExecRunner.Run(ctx, name, args...)
}

// gatherAll runs the four gatherers concurrently, as the server command
// does.
func gatherAll(ctx context.Context, sys host.System) (check.ServiceInput, time.Duration, map[string]float64) {
	start := time.Now()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		sv    service.Facts
		sk    sockets.Facts
		lg    logs.Facts
		se    selinux.Facts
		parts = map[string]float64{}
	)
	run := func(name string, f func()) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			f()
			mu.Lock()
			parts[name] = float64(time.Since(t0).Microseconds()) / 1000
			mu.Unlock()
		}()
	}
	run("service", func() { sv = service.Gather(ctx, sys) })
	run("sockets", func() { sk = sockets.Gather(ctx, sys, sockets.Options{}) })
	run("logs", func() { lg = logs.Gather(ctx, sys, logs.Options{}) })
	run("selinux", func() { se = selinux.Gather(ctx, sys) })
	wg.Wait()
	return check.ServiceInput{Service: &sv, Sockets: &sk, Logs: &lg, SELinux: &se}, time.Since(start), parts
}

// TestInsideContainer is the half that runs inside the container; it does
// nothing in a normal test run.
func TestInsideContainer(t *testing.T) {
	spec := os.Getenv(insideEnv)
	if spec == "" {
		t.Skip("runs inside the lab container only (see TestContainerScenarios)")
	}
	var listen check.SSHDListen
	if err := json.Unmarshal([]byte(spec), &listen); err != nil {
		t.Fatal(err)
	}
	r := &countingRunner{}
	sys := host.System{Root: "/", Live: true, Run: r}
	in, took, parts := gatherAll(context.Background(), sys)
	in.Listen = listen
	res := insideResult{Findings: check.SSHDService(in), GatherMS: float64(took.Microseconds()) / 1000, PartsMS: parts, Commands: r.cmds,
		Service: *in.Service, Sockets: *in.Sockets}
	res.Logs.Source, res.Logs.Entries, res.Logs.Notes = in.Logs.Source, len(in.Logs.Entries), in.Logs.Notes
	out, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println(resultMarker + string(out))
}

// labContainer boots the Debian container with this test binary inside.
func labContainer(t testing.TB) *lab.Container {
	t.Helper()
	lab.Require(t, "systemd-nspawn", "nsenter", "debootstrap")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := lab.NewPair(t)
	return p.Server.Boot(t, lab.ContainerOptions{BindRO: []string{exe + ":" + insideBin}})
}

// inspect runs the gatherers and the check inside the container.
func inspect(t testing.TB, c *lab.Container, listen check.SSHDListen) insideResult {
	t.Helper()
	spec, _ := json.Marshal(listen)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := c.Exec(ctx, "env", insideEnv+"="+string(spec), insideBin, "-test.run=^TestInsideContainer$", "-test.count=1").CombinedOutput()
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	sc.Buffer(make([]byte, 0, 1<<20), 16<<20)
	for sc.Scan() {
		if js, ok := strings.CutPrefix(sc.Text(), resultMarker); ok {
			var res insideResult
			if err := json.Unmarshal([]byte(js), &res); err != nil {
				t.Fatalf("result: %v", err)
			}
			return res
		}
	}
	t.Fatalf("no result from inside the container (%v):\n%s", err, out)
	return insideResult{}
}

func findingCodes(fs []check.Finding) string {
	var s []string
	for _, f := range fs {
		s = append(s, f.Code+"/"+string(f.Severity))
	}
	return strings.Join(s, " ")
}

func wantFinding(t *testing.T, res insideResult, code string, sev check.Severity) check.Finding {
	t.Helper()
	for _, f := range res.Findings {
		if f.Code == code && f.Severity == sev {
			return f
		}
	}
	js, _ := json.MarshalIndent(res.Service, "", "  ")
	t.Fatalf("want %s/%s, got: %s\nservice facts: %s\nsockets: %+v\nlogs: %+v", code, sev, findingCodes(res.Findings), js, res.Sockets, res.Logs)
	return check.Finding{}
}

func evString(f check.Finding, key string) string {
	v := f.Evidence.Get(key)
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

var defaultListen = check.SSHDListen{Ports: []int{22}, Endpoints: []check.SSHDEndpoint{{Host: "::", Port: 22}, {Host: "0.0.0.0", Port: 22}}}

func waitActive(t *testing.T, c *lab.Container, unit, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, _ := c.Exec(context.Background(), "systemctl", "show", "-p", "ActiveState", "--value", unit).Output()
		if strings.TrimSpace(string(out)) == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s is %q, want %s", unit, strings.TrimSpace(string(out)), want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestContainerScenarios provokes each failure for real in one container,
// in turn, and checks what `sshdoctor server` would report.
func TestContainerScenarios(t *testing.T) {
	c := labContainer(t)
	sh := func(t *testing.T, script string) {
		t.Helper()
		if out, err := c.Exec(context.Background(), "sh", "-c", script).CombinedOutput(); err != nil {
			t.Logf("%s: %v\n%s", script, err, out)
		}
	}

	t.Run("healthy", func(t *testing.T) {
		res := inspect(t, c, defaultListen)
		for _, f := range res.Findings {
			if f.Severity == check.SeverityError {
				t.Errorf("a healthy server has %s: %s", f.Code, f.Detail)
			}
		}
		if res.Service.Service == nil || res.Service.Service.ActiveState != "active" || res.Sockets.Source != sockets.SourceSockDiag || res.Logs.Source != logs.SourceJournal {
			t.Errorf("facts: service %+v, sockets %q, logs %q", res.Service.Service, res.Sockets.Source, res.Logs.Source)
		}
		if !strings.HasPrefix(res.Service.Binary.Version, "OpenSSH_9.2p1 Debian") {
			t.Errorf("version %q", res.Service.Binary.Version)
		}
		for i, cmd := range res.Commands {
			if slices.Contains(res.Commands[:i], cmd) {
				t.Errorf("started twice: %s", cmd)
			}
		}
		t.Logf("gathering took %.1f ms inside the container (%v); processes started: %q", res.GatherMS, res.PartsMS, res.Commands)
		if res.GatherMS > 1000 {
			t.Errorf("gathering took %.0f ms, the budget is 1 s", res.GatherMS)
		}
	})

	t.Run("stopped", func(t *testing.T) {
		sh(t, "systemctl stop ssh")
		res := inspect(t, c, defaultListen)
		f := wantFinding(t, res, "sshd.not-running", check.SeverityError)
		if evString(f, "active_state") != "inactive" {
			t.Errorf("evidence %+v", f.Evidence)
		}
		sh(t, "systemctl mask ssh")
		res = inspect(t, c, defaultListen)
		f = wantFinding(t, res, "sshd.not-running", check.SeverityError)
		if !strings.Contains(f.Detail, "masked") || f.Fix.Commands[0] != "systemctl unmask ssh.service" {
			t.Errorf("masked: %s %+v", f.Detail, f.Fix)
		}
		sh(t, "systemctl unmask ssh && systemctl start ssh")
	})

	t.Run("config-error", func(t *testing.T) {
		sh(t, "cp /etc/ssh/sshd_config /root/sshd_config.orig && echo 'Bogus yes' >> /etc/ssh/sshd_config && systemctl restart ssh")
		waitActive(t, c, "ssh.service", "failed")
		// sshd -t's stderr reaches the journal through a stream that may
		// lag behind systemd's own verdict: wait for it, as a person
		// reading the log a moment later would see it.
		sh(t, "for i in $(seq 100); do journalctl -u ssh --no-pager | grep -q 'Bad configuration option: Bogus' && break; sleep 0.1; done")
		res := inspect(t, c, defaultListen)
		f := wantFinding(t, res, "sshd.failed", check.SeverityError)
		if !strings.Contains(evString(f, "reason"), "Bad configuration option: Bogus") || !strings.Contains(f.Detail, "Bogus") {
			t.Errorf("reason %q, detail %q", evString(f, "reason"), f.Detail)
		}
		sh(t, "cp /root/sshd_config.orig /etc/ssh/sshd_config && systemctl reset-failed ssh && systemctl start ssh")
		waitActive(t, c, "ssh.service", "active")
	})

	t.Run("loopback", func(t *testing.T) {
		sh(t, "echo 'ListenAddress 127.0.0.1' > /etc/ssh/sshd_config.d/10-lo.conf && systemctl restart ssh")
		res := inspect(t, c, check.SSHDListen{Ports: []int{22}, Endpoints: []check.SSHDEndpoint{{Host: "127.0.0.1", Port: 22}}})
		f := wantFinding(t, res, "sshd.listen-restricted", check.SeverityError)
		if !strings.Contains(f.Detail, "127.0.0.1:22") {
			t.Errorf("detail %q", f.Detail)
		}
		sh(t, "rm /etc/ssh/sshd_config.d/10-lo.conf && systemctl restart ssh")
	})

	t.Run("port-conflict", func(t *testing.T) {
		sh(t, "systemctl stop ssh && systemd-run --unit=web22 python3 -m http.server 22")
		var pid string
		for i := 0; i < 100; i++ {
			out, _ := c.Exec(context.Background(), "sh", "-c", "ss -ltnpH 'sport = :22' | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2").Output()
			if pid = strings.TrimSpace(string(out)); pid != "" {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		res := inspect(t, c, defaultListen)
		f := wantFinding(t, res, "sshd.port-conflict", check.SeverityError)
		if evString(f, "program") != "python3" || evString(f, "pid") != pid || !strings.Contains(f.Detail, "python3 (PID "+pid+")") {
			t.Errorf("conflict %q, evidence %+v; python's pid is %s", f.Detail, f.Evidence, pid)
		}
		wantFinding(t, res, "sshd.not-running", check.SeverityError)
		sh(t, "systemctl stop web22; systemctl start ssh")
		waitActive(t, c, "ssh.service", "active")
	})

	t.Run("socket-activation", func(t *testing.T) {
		sh(t, "echo 'Port 2222' > /etc/ssh/sshd_config.d/20-port.conf && systemctl disable --now ssh && systemctl enable --now ssh.socket")
		waitActive(t, c, "ssh.socket", "active")
		res := inspect(t, c, check.SSHDListen{Ports: []int{2222}, Endpoints: []check.SSHDEndpoint{{Host: "::", Port: 2222}, {Host: "0.0.0.0", Port: 2222}}})
		f := wantFinding(t, res, "sshd.socket-activation", check.SeverityError)
		if !strings.Contains(f.Detail, "sshd_config says Port 2222 but ssh.socket listens on 22") {
			t.Errorf("detail %q", f.Detail)
		}
		for _, x := range res.Findings {
			if x.Code == "sshd.not-running" || x.Code == "sshd.not-listening" || x.Code == "sshd.not-enabled" {
				t.Errorf("socket activation also reported as %s: %s", x.Code, x.Detail)
			}
		}
		sh(t, "rm /etc/ssh/sshd_config.d/20-port.conf; systemctl disable --now ssh.socket; systemctl enable --now ssh")
	})
}

// BenchmarkGatherInContainer measures a full live inspection (service,
// sockets, logs, SELinux, concurrently) inside the lab container. The
// gather-ms metric is measured inside; ns/op adds starting the test binary
// through nsenter.
func BenchmarkGatherInContainer(b *testing.B) {
	c := labContainer(b)
	var total float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		total += inspect(b, c, defaultListen).GatherMS
	}
	b.ReportMetric(total/float64(b.N), "gather-ms")
}

// TestOtherNamespacesSSHDIgnored runs a real sshd in a lab namespace and
// checks that inspecting this machine does not take it for this machine's
// sshd: it listens in another network namespace, where no client of this
// machine reaches it.
func TestOtherNamespacesSSHDIgnored(t *testing.T) {
	p := lab.NewPair(t)
	s := p.Server.StartSSHD(t, lab.SSHDOptions{})
	pid := s.Proc.Cmd.Process.Pid
	f := service.Gather(context.Background(), host.LiveSystem())
	if !f.ProcessesRead {
		t.Fatalf("process table not read: %v", f.Notes)
	}
	for _, pr := range f.Processes {
		if pr.PID == pid {
			t.Fatalf("the lab namespace's sshd (PID %d) counts as this machine's: %+v", pid, f.Processes)
		}
	}
	if !strings.Contains(strings.Join(f.Notes, "\n"), "other network namespaces") {
		t.Errorf("notes do not mention the sshd left out: %v", f.Notes)
	}
	// Inside its namespace it is the machine's sshd.
	var inside service.Facts
	if err := p.Server.Do(func() error {
		inside = service.Gather(context.Background(), host.LiveSystem())
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(inside.Processes, func(pr service.Process) bool { return pr.PID == pid }) {
		t.Errorf("inside its namespace sshd %d is not found: %+v", pid, inside.Processes)
	}
}
