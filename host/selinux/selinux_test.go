package selinux

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sshdoctor/sshdoctor/host"
)

func TestParseSemanagePorts(t *testing.T) {
	data, err := os.ReadFile("testdata/semanage-port-l.txt")
	if err != nil {
		t.Fatal(err)
	}
	ports, err := ParseSemanagePorts(data)
	if err != nil {
		t.Fatal(err)
	}
	f := &Facts{Ports: ports}
	for _, tc := range []struct {
		proto string
		port  int
		want  string
	}{
		{"tcp", 22, "ssh_port_t"},
		{"tcp", 2222, "ssh_port_t"},       // exact port beats unreserved_port_t's range
		{"tcp", 8022, "oa_system_port_t"}, // labelled by another type
		{"tcp", 2200, "unreserved_port_t"},
		{"udp", 2222, "unreserved_port_t"},
		{"tcp", 40000, ""}, // between the ranges: no label, port_t applies
	} {
		l, ok := f.Label(tc.proto, tc.port)
		if ok != (tc.want != "") || l.Type != tc.want {
			t.Errorf("%s/%d: %q %v, want %q", tc.proto, tc.port, l.Type, ok, tc.want)
		}
	}
	for _, bad := range []string{"ssh_port_t tcp 22-x", "ssh_port_t tcp", "ssh_port_t tcp 70000"} {
		if _, err := ParseSemanagePorts([]byte(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func TestGatherOfflineEnforcing(t *testing.T) {
	root := t.TempDir()
	for src, dst := range map[string]string{
		"testdata/selinux-config": "etc/selinux/config",
		"testdata/ports.local":    "var/lib/selinux/targeted/active/ports.local",
	} {
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(root, dst)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f := Gather(context.Background(), host.Offline(root))
	if !f.Enforcing() || f.ModeSource != "/etc/selinux/config" || f.Policy != "targeted" {
		t.Fatalf("facts %+v", f)
	}
	if l, ok := f.Label("tcp", 2200); !ok || l.Type != "ssh_port_t" || !l.Local {
		t.Errorf("2200 from ports.local: %+v %v", l, ok)
	}
	if l, ok := f.Label("tcp", 22); !ok || l.Type != "ssh_port_t" {
		t.Errorf("22 by default: %+v %v", l, ok)
	}
	if _, ok := f.Label("tcp", 2222); ok {
		t.Error("2222 has a label offline")
	}
	if !strings.Contains(f.PortsSource, "ports.local") || len(f.Notes) < 2 {
		t.Errorf("source %q notes %v", f.PortsSource, f.Notes)
	}
}

type fakeRunner map[string]string

func (r fakeRunner) Run(_ context.Context, name string, args ...string) ([]byte, error) {
	key := strings.Join(append([]string{name}, args...), " ")
	if out, ok := r[key]; ok {
		return []byte(out), nil
	}
	return nil, host.ErrNotFound
}

func TestGatherLive(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "sys/fs/selinux"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "sys/fs/selinux/enforce"), []byte("1"), 0o644); err != nil {
		t.Fatal(err)
	}
	semanage, _ := os.ReadFile("testdata/semanage-port-l.txt")
	f := Gather(context.Background(), host.System{Root: root, Live: true, Run: fakeRunner{"semanage port -l": string(semanage)}})
	if !f.Enforcing() || f.PortsSource != "semanage port -l" {
		t.Fatalf("facts %+v", f)
	}
	if l, ok := f.Label("tcp", 2222); !ok || l.Type != "ssh_port_t" {
		t.Errorf("2222: %+v", l)
	}

	// Permissive: the labels are not needed, and not read.
	if err := os.WriteFile(filepath.Join(root, "sys/fs/selinux/enforce"), []byte("0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f = Gather(context.Background(), host.System{Root: root, Live: true, Run: fakeRunner{}})
	if f.Mode != "permissive" || f.Ports != nil {
		t.Errorf("permissive: %+v", f)
	}
	// No SELinux at all (Debian): nothing to say.
	f = Gather(context.Background(), host.System{Root: t.TempDir(), Live: true, Run: fakeRunner{}})
	if f.Mode != "" || len(f.Notes) != 0 {
		t.Errorf("no SELinux: %+v", f)
	}
}

func FuzzParseSemanagePorts(f *testing.F) {
	data, _ := os.ReadFile("testdata/semanage-port-l.txt")
	f.Add(data)
	f.Add([]byte("portcon tcp 22 system_u:object_r:ssh_port_t:s0\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ports, err := ParseSemanagePorts(data)
		if err == nil {
			for _, p := range ports {
				if p.Low < 0 || p.High > 65535 || p.Low > p.High {
					t.Fatalf("bad range %+v", p)
				}
			}
		}
		for _, p := range ParsePortcon(data) {
			if p.Low < 0 || p.High > 65535 || p.Low > p.High {
				t.Fatalf("bad portcon range %+v", p)
			}
		}
	})
}
