package service

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/sshdoctor/sshdoctor/host"
)

// debianTree writes an offline Debian 12 tree: the real unit files, an
// sshd binary stand-in with a version string, the dpkg database, and
// ssh.service enabled as the package leaves it.
func debianTree(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	writeFile(t, root, "lib/systemd/system/ssh.service", readTestdata(t, "units/ssh.service"))
	writeFile(t, root, "lib/systemd/system/ssh.socket", readTestdata(t, "units/ssh.socket"))
	symlink(t, root, "/lib/systemd/system/ssh.service", "etc/systemd/system/multi-user.target.wants/ssh.service")
	symlink(t, root, "/lib/systemd/system/ssh.service", "etc/systemd/system/sshd.service")
	writeFile(t, root, "var/lib/dpkg/status", readTestdata(t, "dpkg-status"))
	bin := "\x7fELF\x00junk\x00OpenSSH_2.*,OpenSSH_3.0*\x00OpenSSH_9.2\x00more\x00OpenSSH_9.2p1 Debian-2+deb12u3\x00tail"
	writeFile(t, root, "usr/sbin/sshd", bin)
	if err := os.Chmod(filepath.Join(root, "usr/sbin/sshd"), 0o755); err != nil {
		t.Fatal(err)
	}
	return root
}

func TestGatherOfflineDebian(t *testing.T) {
	root := debianTree(t)
	f := Gather(context.Background(), host.Offline(root))
	if f.Live || f.Manager != ManagerSystemd {
		t.Fatalf("live=%v manager=%q", f.Live, f.Manager)
	}
	if f.Binary.Path != "/usr/sbin/sshd" || f.Binary.Version != "OpenSSH_9.2p1 Debian-2+deb12u3" {
		t.Errorf("binary %+v", f.Binary)
	}
	if f.Binary.Package != "openssh-server 1:9.2p1-2+deb12u3" || f.Binary.PackageState != "install ok installed" {
		t.Errorf("package %q %q", f.Binary.Package, f.Binary.PackageState)
	}
	s := f.Service
	if s == nil || s.Name != "ssh.service" || s.LoadState != "loaded" || s.UnitFileState != "enabled" || s.ActiveState != "" {
		t.Fatalf("service %+v", s)
	}
	k := f.Socket
	if k == nil || k.UnitFileState != "disabled" || !reflect.DeepEqual(k.Ports(), []int{22}) || k.Accept {
		t.Fatalf("socket %+v", k)
	}
	if f.ProcessesRead || len(f.Processes) > 0 {
		t.Errorf("offline tree has processes: %+v", f.Processes)
	}
	if !strings.Contains(strings.Join(f.Notes, "\n"), "offline tree") {
		t.Errorf("notes do not say the running state is unknown: %v", f.Notes)
	}
}

func TestGatherOfflineMaskedAndSocketOverride(t *testing.T) {
	root := debianTree(t)
	os.Remove(filepath.Join(root, "etc/systemd/system/multi-user.target.wants/ssh.service"))
	os.Remove(filepath.Join(root, "etc/systemd/system/sshd.service"))
	symlink(t, root, "/dev/null", "etc/systemd/system/ssh.service")
	symlink(t, root, "/lib/systemd/system/ssh.socket", "etc/systemd/system/sockets.target.wants/ssh.socket")
	// systemctl edit ssh.socket: an empty ListenStream= clears the list.
	writeFile(t, root, "etc/systemd/system/ssh.socket.d/override.conf", "[Socket]\nListenStream=\nListenStream=2222\nListenStream=192.0.2.7:22\n")
	writeFile(t, root, "usr/lib/systemd/system/ssh.socket.d/10-vendor.conf", "[Socket]\nListenStream=4444\n")
	writeFile(t, root, "etc/ssh/sshd_not_to_be_run", "")
	f := Gather(context.Background(), host.Offline(root))
	if s := f.Service; s == nil || !s.Masked() || s.Enabled() {
		t.Errorf("service %+v", s)
	}
	k := f.Socket
	if k == nil || k.UnitFileState != "enabled" {
		t.Fatalf("socket %+v", k)
	}
	if !reflect.DeepEqual(k.Ports(), []int{2222, 22}) || k.Listen[1].Addr.String() != "192.0.2.7" {
		t.Errorf("socket listens on %+v", k.Listen)
	}
	wantDropIns := []string{"/usr/lib/systemd/system/ssh.socket.d/10-vendor.conf", "/etc/systemd/system/ssh.socket.d/override.conf"}
	if !reflect.DeepEqual(k.DropInPaths, wantDropIns) {
		t.Errorf("drop-ins %v, want %v", k.DropInPaths, wantDropIns)
	}
	if !f.NotToBeRun {
		t.Error("/etc/ssh/sshd_not_to_be_run not seen")
	}
}

func TestGatherOfflineRedHatAndUbuntuGenerator(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "usr/lib/systemd/system/sshd.service", "[Unit]\nDescription=OpenSSH server daemon\n[Service]\nExecStart=/usr/sbin/sshd -D $OPTIONS\n[Install]\nWantedBy=multi-user.target\n")
	symlink(t, root, "/usr/lib/systemd/system/sshd.service", "etc/systemd/system/multi-user.target.wants/sshd.service")
	f := Gather(context.Background(), host.Offline(root))
	if f.Service == nil || f.Service.Name != "sshd.service" || f.Service.UnitFileState != "enabled" || f.Socket != nil {
		t.Errorf("service %+v socket %+v", f.Service, f.Socket)
	}
	if f.Binary.Path != "" || len(f.Binary.Searched) == 0 {
		t.Errorf("binary %+v", f.Binary)
	}

	// Ubuntu 22.10+: the socket's ports come from a generator at boot.
	root = debianTree(t)
	writeFile(t, root, "usr/lib/systemd/system-generators/sshd-socket-generator", "#!/bin/sh\n")
	f = Gather(context.Background(), host.Offline(root))
	if f.Socket == nil || !strings.Contains(f.Socket.GeneratedBy, "sshd-socket-generator") {
		t.Errorf("socket %+v", f.Socket)
	}
}

func TestGatherSysvinit(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "etc/init.d/ssh", "#!/bin/sh\n")
	symlink(t, root, "../init.d/ssh", "etc/rc2.d/S01ssh")
	symlink(t, root, "../init.d/ssh", "etc/rc3.d/S01ssh")
	symlink(t, root, "../init.d/ssh", "etc/rc0.d/K01ssh")
	f := Gather(context.Background(), host.Offline(root))
	if f.Manager != ManagerSysvinit || f.Init == nil || !reflect.DeepEqual(f.Init.Runlevels, []string{"2", "3"}) || f.Init.Status != "" {
		t.Fatalf("manager %q init %+v", f.Manager, f.Init)
	}

	// Live, `service ssh status` answers with LSB exit codes.
	if err := os.MkdirAll(filepath.Join(root, "proc"), 0o755); err != nil {
		t.Fatal(err)
	}
	r := newFake(map[string]answer{"service ssh status": {out: "sshd is not running ... failed!\n", err: &host.ExitError{Cmd: "service", Code: 3}}})
	f = Gather(context.Background(), host.System{Root: root, Live: true, Run: r})
	if f.Init == nil || f.Init.Status != "stopped" || !strings.Contains(f.Init.StatusOutput, "not running") {
		t.Errorf("init %+v", f.Init)
	}
}

func TestGatherOpenRC(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "sbin/openrc-run", "")
	writeFile(t, root, "etc/init.d/sshd", "#!/sbin/openrc-run\n")
	symlink(t, root, "/etc/init.d/sshd", "etc/runlevels/default/sshd")
	if err := os.MkdirAll(filepath.Join(root, "proc"), 0o755); err != nil {
		t.Fatal(err)
	}
	r := newFake(map[string]answer{"rc-service sshd status": {out: " * status: crashed\n", err: &host.ExitError{Cmd: "rc-service", Code: 32}}})
	f := Gather(context.Background(), host.System{Root: root, Live: true, Run: r})
	if f.Manager != ManagerOpenRC || f.Init == nil || f.Init.Status != "crashed" || !reflect.DeepEqual(f.Init.Runlevels, []string{"default"}) {
		t.Errorf("manager %q init %+v", f.Manager, f.Init)
	}
}

func TestGatherNoManager(t *testing.T) {
	root := t.TempDir()
	// An sshd daemon and one of its session children in a fake /proc.
	writeFile(t, root, "proc/1/stat", "1 (tini) S 0 1 1 0 -1")
	writeFile(t, root, "proc/7/stat", "7 (sshd) S 1 7 7 0 -1")
	writeFile(t, root, "proc/7/cmdline", "sshd: /usr/sbin/sshd -D -e [listener] 0 of 10-100 startups\x00")
	writeFile(t, root, "proc/9/stat", "9 (sshd) S 7 9 9 0 -1")
	writeFile(t, root, "proc/9/cmdline", "sshd: root@pts/0\x00")
	f := Gather(context.Background(), host.System{Root: root, Live: true, Run: newFake(nil)})
	if f.Manager != ManagerUnknown || !f.ProcessesRead || len(f.Processes) != 1 || f.Processes[0].PID != 7 {
		t.Fatalf("manager %q processes %+v", f.Manager, f.Processes)
	}
	if !strings.Contains(strings.Join(f.Notes, "\n"), "only the process table") {
		t.Errorf("notes %v", f.Notes)
	}
}

func TestBinaryVersion(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"x\x00OpenSSH_9.2\x00y\x00OpenSSH_9.2p1 Debian-2+deb12u3\x00", "OpenSSH_9.2p1 Debian-2+deb12u3"},
		{"OpenSSH_8.7p1\x00OpenSSH_8.7\x00", "OpenSSH_8.7p1"},
		{"OpenSSH_7.0*,OpenSSH_7.1*\x00", ""},
		{"no version here", ""},
	} {
		if got := BinaryVersion([]byte(tc.in)); got != tc.want {
			t.Errorf("BinaryVersion(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	// The real binary, when this machine has one.
	if data, err := os.ReadFile("/usr/sbin/sshd"); err == nil {
		if v := BinaryVersion(data); !strings.HasPrefix(v, "OpenSSH_") {
			t.Errorf("/usr/sbin/sshd: version %q", v)
		}
	}
}

func TestDpkgPackage(t *testing.T) {
	status := []byte(readTestdata(t, "dpkg-status"))
	if st, p := DpkgPackage(status, "openssh-server"); st != "install ok installed" || p != "openssh-server 1:9.2p1-2+deb12u3" {
		t.Errorf("openssh-server: %q %q", st, p)
	}
	if st, p := DpkgPackage(status, "dropbear"); st != "" || p != "" {
		t.Errorf("dropbear: %q %q", st, p)
	}
}

func TestParseProcStat(t *testing.T) {
	comm, ppid, ok := ParseProcStat([]byte("4242 (a (b) c) S 17 4242 4242 0 -1 4194560"))
	if !ok || comm != "a (b) c" || ppid != 17 {
		t.Errorf("got %q %d %v", comm, ppid, ok)
	}
	if _, _, ok := ParseProcStat([]byte("4242 no parens")); ok {
		t.Error("accepted a stat without a name")
	}
}

func TestParseOSRelease(t *testing.T) {
	o := ParseOSRelease([]byte("PRETTY_NAME=\"Rocky Linux 9.4 (Blue Onyx)\"\nID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\n"))
	if o.ID != "rocky" || !o.Is("rhel") || o.Is("debian") || o.PrettyName != "Rocky Linux 9.4 (Blue Onyx)" {
		t.Errorf("%+v", o)
	}
}
