package service

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/sshdoctor/sshdoctor/host"
)

// fakeRunner answers commands from a table keyed by the command line, and
// counts the calls, so tests can check that nothing runs twice.
type fakeRunner struct {
	answers map[string]answer
	calls   map[string]int
}

type answer struct {
	out string
	err error
}

func newFake(answers map[string]answer) *fakeRunner {
	return &fakeRunner{answers: answers, calls: map[string]int{}}
}

func (r *fakeRunner) Run(_ context.Context, name string, args ...string) ([]byte, error) {
	key := strings.Join(append([]string{name}, args...), " ")
	r.calls[key]++
	a, ok := r.answers[key]
	if !ok {
		return nil, errors.New("fake: unexpected command " + key)
	}
	return []byte(a.out), a.err
}

// showCommand is the command line Gather runs.
var showCommand = "systemctl show --no-pager ssh.service sshd.service ssh.socket sshd.socket -p " + strings.Join(showProperties, ",")

// liveTree is a minimal live system whose systemd answers with a recorded
// `systemctl show`: a root with /run/systemd/system (what sd_booted looks
// for) and no sshd processes.
func liveTree(t *testing.T, fixture string) (host.System, *fakeRunner) {
	t.Helper()
	root := t.TempDir()
	for _, d := range []string{"run/systemd/system", "proc"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	out, err := os.ReadFile(filepath.Join("testdata/show", fixture+".txt"))
	if err != nil {
		t.Fatal(err)
	}
	r := newFake(map[string]answer{showCommand: {out: string(out)}})
	return host.System{Root: root, Live: true, Run: r}, r
}

// TestGatherSystemdFixtures replays what the lab's Debian 12 container said
// in each scenario (see TestCaptureFixtures).
func TestGatherSystemdFixtures(t *testing.T) {
	type want struct {
		svc, svcActive, svcSub, svcFile, svcResult string
		mainPID                                    bool
		sock, sockActive, sockFile                 string
		sockPorts                                  []int
	}
	for _, tc := range []struct {
		fixture string
		want    want
	}{
		{"healthy", want{"ssh.service", "active", "running", "enabled", "success", true, "ssh.socket", "inactive", "disabled", []int{22}}},
		{"stopped", want{"ssh.service", "inactive", "dead", "enabled", "success", false, "ssh.socket", "inactive", "disabled", []int{22}}},
		{"masked", want{"ssh.service", "inactive", "dead", "masked", "success", false, "ssh.socket", "inactive", "disabled", []int{22}}},
		{"failed-config", want{"ssh.service", "failed", "failed", "enabled", "exit-code", false, "ssh.socket", "inactive", "disabled", []int{22}}},
		{"conflict", want{"ssh.service", "failed", "failed", "enabled", "exit-code", false, "ssh.socket", "inactive", "disabled", []int{22}}},
		{"conflict-partial", want{"ssh.service", "active", "running", "enabled", "success", true, "ssh.socket", "inactive", "disabled", []int{22}}},
		{"socket", want{"ssh.service", "inactive", "dead", "disabled", "success", false, "ssh.socket", "active", "enabled", []int{22}}},
		{"socket-triggered", want{"ssh.service", "active", "running", "disabled", "success", true, "ssh.socket", "active", "enabled", []int{22}}},
	} {
		t.Run(tc.fixture, func(t *testing.T) {
			sys, r := liveTree(t, tc.fixture)
			f := Gather(context.Background(), sys)
			if f.Manager != ManagerSystemd {
				t.Fatalf("manager %q, notes %v", f.Manager, f.Notes)
			}
			s, k := f.Service, f.Socket
			if s == nil || k == nil {
				t.Fatalf("service %v socket %v, notes %v", s, k, f.Notes)
			}
			got := want{s.Name, s.ActiveState, s.SubState, s.UnitFileState, s.Result, s.MainPID > 0, k.Name, k.ActiveState, k.UnitFileState, k.Ports()}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
			if tc.fixture == "masked" && (!s.Masked() || s.Enabled()) {
				t.Errorf("masked unit: Masked=%v Enabled=%v", s.Masked(), s.Enabled())
			}
			if tc.fixture == "socket" && !reflect.DeepEqual(s.TriggeredBy, []string{"ssh.socket"}) {
				t.Errorf("TriggeredBy %v", s.TriggeredBy)
			}
			if r.calls[showCommand] != 1 || len(r.calls) != 1 {
				t.Errorf("commands run: %v; want one systemctl show", r.calls)
			}
		})
	}
}

func TestGatherSystemctlFails(t *testing.T) {
	sys, r := liveTree(t, "healthy")
	r.answers[showCommand] = answer{err: &host.ExitError{Cmd: "systemctl", Code: 1, Stderr: "Failed to connect to bus: No such file or directory\n"}}
	writeFile(t, sys.Root, "lib/systemd/system/ssh.service", readTestdata(t, "units/ssh.service"))
	f := Gather(context.Background(), sys)
	if f.Service == nil || f.Service.ActiveState != "" || f.Service.LoadState != "loaded" {
		t.Fatalf("fallback to unit files: %+v", f.Service)
	}
	if !strings.Contains(strings.Join(f.Notes, "\n"), "Failed to connect to bus") {
		t.Errorf("notes do not say why the state is unknown: %v", f.Notes)
	}
}

func TestParseSystemctlShowRedHatNames(t *testing.T) {
	// On Red Hat the service is sshd.service and ssh.service does not
	// exist; systemctl prints a block for each name asked.
	out := strings.Join([]string{
		"Id=ssh.service\nNames=ssh.service\nLoadState=not-found\nActiveState=inactive\nSubState=dead\n",
		"Id=sshd.service\nNames=sshd.service\nLoadState=loaded\nActiveState=active\nSubState=running\nUnitFileState=enabled\nMainPID=812\n",
		"Id=ssh.socket\nNames=ssh.socket\nLoadState=not-found\nActiveState=inactive\n",
		"Id=sshd.socket\nNames=sshd.socket\nLoadState=loaded\nActiveState=inactive\nAccept=yes\nListen=[::]:22 (Stream)\nUnitFileState=disabled\n",
	}, "\n")
	sys, r := liveTree(t, "healthy")
	r.answers[showCommand] = answer{out: out}
	f := Gather(context.Background(), sys)
	if f.Service == nil || f.Service.Name != "sshd.service" || f.Service.MainPID != 812 {
		t.Errorf("service %+v", f.Service)
	}
	if f.Socket == nil || f.Socket.Name != "sshd.socket" || !f.Socket.Accept {
		t.Errorf("socket %+v", f.Socket)
	}
}

func TestParseListen(t *testing.T) {
	for _, tc := range []struct {
		in   string
		addr string
		port int
	}{
		{"[::]:22 (Stream)", "::", 22},
		{"0.0.0.0:2222 (Stream)", "0.0.0.0", 2222},
		{"22", "::", 22},
		{"192.0.2.7:22", "192.0.2.7", 22},
		{"[fe80::1%eth0]:22", "fe80::1", 22},
		{"/run/sshd.sock (Stream)", "invalid IP", 0},
		{"vsock::22", "invalid IP", 0},
		{"99999", "invalid IP", 0},
	} {
		l := ParseListen(tc.in)
		if l.Addr.WithZone("").String() != tc.addr || l.Port != tc.port {
			t.Errorf("ParseListen(%q) = %s port %d, want %s port %d", tc.in, l.Addr, l.Port, tc.addr, tc.port)
		}
	}
}

func TestParseSystemctlShowErrors(t *testing.T) {
	if _, err := ParseSystemctlShow([]byte("Id=ssh.service\nnot a property\n")); err == nil {
		t.Error("a line without = was accepted")
	}
	blocks, err := ParseSystemctlShow([]byte("\n\nA=1\nListen=x\nListen=y\n\n\nB=2\n"))
	if err != nil || len(blocks) != 2 || !reflect.DeepEqual(blocks[0].All("Listen"), []string{"x", "y"}) || blocks[1].Get("B") != "2" {
		t.Errorf("blocks %v, %v", blocks, err)
	}
}

func FuzzParseSystemctlShow(f *testing.F) {
	files, _ := filepath.Glob("testdata/show/*.txt")
	for _, p := range files {
		data, _ := os.ReadFile(p)
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		blocks, err := ParseSystemctlShow(data)
		if err != nil {
			return
		}
		// Printing the blocks back as systemctl does parses to the same.
		var b strings.Builder
		for i, blk := range blocks {
			if i > 0 {
				b.WriteString("\n")
			}
			for _, p := range blk {
				b.WriteString(p.Key + "=" + p.Value + "\n")
			}
		}
		again, err := ParseSystemctlShow([]byte(b.String()))
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		if len(blocks) == 0 && len(again) == 0 {
			return
		}
		if !reflect.DeepEqual(blocks, again) {
			t.Fatalf("round trip:\n%q\n%q", blocks, again)
		}
		for i, blk := range blocks {
			u := unitFromProperties(unitNames[i%len(unitNames)], blk)
			for _, l := range u.Listen {
				if l.Port < 0 || l.Port > 65535 {
					t.Fatalf("port %d from %q", l.Port, l.Raw)
				}
			}
		}
	})
}

func readTestdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func writeFile(t *testing.T, root, p, data string) {
	t.Helper()
	full := filepath.Join(root, p)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(full, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, root, target, p string) {
	t.Helper()
	full := filepath.Join(root, p)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, full); err != nil {
		t.Fatal(err)
	}
}
