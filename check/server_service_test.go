package check_test

import (
	"context"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sshdoctor/sshdoctor/check"
	"github.com/sshdoctor/sshdoctor/host"
	"github.com/sshdoctor/sshdoctor/host/logs"
	"github.com/sshdoctor/sshdoctor/host/selinux"
	"github.com/sshdoctor/sshdoctor/host/service"
	"github.com/sshdoctor/sshdoctor/host/sockets"
)

// The codes of this file, with the contract's severity and the layer that
// orders them for the verdict.
var svcCodes = map[string]struct {
	sev   check.Severity
	layer check.Layer
}{
	"sshd.not-installed":     {check.SeverityError, check.LayerInstall},
	"sshd.not-running":       {check.SeverityError, check.LayerService},
	"sshd.failed":            {check.SeverityError, check.LayerService},
	"sshd.not-enabled":       {check.SeverityWarning, check.LayerService},
	"sshd.port-conflict":     {check.SeverityError, check.LayerService},
	"sshd.selinux-port":      {check.SeverityError, check.LayerConfig},
	"sshd.socket-activation": {check.SeverityInfo, check.LayerListen},
	"sshd.not-listening":     {check.SeverityError, check.LayerListen},
	"sshd.listen-restricted": {check.SeverityError, check.LayerListen},
	"sshd.max-startups":      {check.SeverityWarning, check.LayerLogs},
}

func TestServiceCodesRegistered(t *testing.T) {
	for code, want := range svcCodes {
		d, ok := check.Lookup(code)
		if !ok {
			t.Errorf("%s is not registered", code)
			continue
		}
		if d.Severity != want.sev || d.Layer != want.layer {
			t.Errorf("%s: severity %s layer %d, want %s %d", code, d.Severity, d.Layer, want.sev, want.layer)
		}
	}
}

// svcCheck runs the check and validates what every finding must have.
func svcCheck(t *testing.T, in check.ServiceInput) []check.Finding {
	t.Helper()
	fs := check.SSHDService(in)
	for _, f := range fs {
		if _, ok := svcCodes[f.Code]; !ok {
			t.Errorf("unexpected code %s", f.Code)
		}
		if f.Detail == "" || f.Title == "" {
			t.Errorf("%s: empty detail or title", f.Code)
		}
		if f.Severity != check.SeverityInfo && (f.Fix == nil || f.Fix.Summary == "") {
			t.Errorf("%s: a %s finding without a fix", f.Code, f.Severity)
		}
		if _, err := json.Marshal(f); err != nil {
			t.Errorf("%s: %v", f.Code, err)
		}
	}
	return fs
}

func svcCodesOf(fs []check.Finding) string {
	var s []string
	for _, f := range fs {
		s = append(s, f.Code+"/"+string(f.Severity))
	}
	return strings.Join(s, " ")
}

func svcOnly(t *testing.T, fs []check.Finding, code string, sev check.Severity) check.Finding {
	t.Helper()
	var found []check.Finding
	for _, f := range fs {
		if f.Code == code {
			found = append(found, f)
		}
	}
	if len(found) != 1 || found[0].Severity != sev {
		t.Fatalf("want one %s/%s, got: %s", code, sev, svcCodesOf(fs))
	}
	return found[0]
}

func svcEv(f check.Finding, key string) string {
	v := f.Evidence.Get(key)
	if v == nil {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func svcFixHas(f check.Finding, s string) bool {
	if f.Fix == nil {
		return false
	}
	return strings.Contains(f.Fix.Summary+"\n"+strings.Join(f.Fix.Commands, "\n")+"\n"+f.Fix.Warning, s)
}

// Hand-built facts of a Debian 12 machine.

func svcFacts(svc, sock *service.Unit) *service.Facts {
	return &service.Facts{
		Live: true, Root: "/", Manager: service.ManagerSystemd,
		OS:      service.OSRelease{ID: "debian"},
		Binary:  service.Binary{Path: "/usr/sbin/sshd", Version: "OpenSSH_9.2p1 Debian-2+deb12u3"},
		Service: svc, Socket: sock, ProcessesRead: true,
	}
}

func svcUnit(active, sub, fileState string) *service.Unit {
	return &service.Unit{Name: "ssh.service", Names: []string{"ssh.service", "sshd.service"}, LoadState: "loaded",
		ActiveState: active, SubState: sub, UnitFileState: fileState, Result: "success"}
}

func sockUnit(active, fileState string, ports ...int) *service.Unit {
	u := &service.Unit{Name: "ssh.socket", LoadState: "loaded", ActiveState: active, UnitFileState: fileState}
	for _, p := range ports {
		u.Listen = append(u.Listen, service.ParseListen("[::]:"+itoaSvc(p)+" (Stream)"))
	}
	return u
}

func itoaSvc(n int) string { b, _ := json.Marshal(n); return string(b) }

func lis(addr string, port int, comm string, pid int) sockets.Listener {
	l := sockets.Listener{Addr: netip.MustParseAddr(addr), Port: port, UID: 0}
	if comm != "" {
		l.Procs = []sockets.Process{{PID: pid, Comm: comm, Cmdline: comm}}
	}
	return l
}

func socks(ls ...sockets.Listener) *sockets.Facts {
	return &sockets.Facts{Source: sockets.SourceSockDiag, Listeners: ls, OwnersComplete: true}
}

// debianListen is sshd_config's default: Port 22 on every address.
var debianListen = check.SSHDListen{Ports: []int{22}, Endpoints: []check.SSHDEndpoint{{Host: "::", Port: 22}, {Host: "0.0.0.0", Port: 22}}}

func healthy() check.ServiceInput {
	return check.ServiceInput{
		Service: svcFacts(svcUnit("active", "running", "enabled"), sockUnit("inactive", "disabled", 22)),
		Sockets: socks(lis("0.0.0.0", 22, "sshd", 50), lis("::", 22, "sshd", 50)),
		Logs:    &logs.Facts{Source: logs.SourceJournal, Read: time.Now()},
		SELinux: &selinux.Facts{},
		Listen:  debianListen,
	}
}

func TestServiceHealthy(t *testing.T) {
	if fs := svcCheck(t, healthy()); len(fs) != 0 {
		t.Errorf("a healthy server has findings: %s", svcCodesOf(fs))
	}
}

func TestServiceNotInstalled(t *testing.T) {
	in := healthy()
	in.Service.Binary = service.Binary{Searched: []string{"/usr/sbin/sshd"}, Package: "openssh-server 1:9.2p1-2", PackageState: "deinstall ok config-files"}
	fs := svcCheck(t, in)
	if len(fs) != 1 {
		t.Fatalf("not installed, and more: %s", svcCodesOf(fs))
	}
	f := svcOnly(t, fs, "sshd.not-installed", check.SeverityError)
	if !strings.Contains(f.Detail, "removed") || !svcFixHas(f, "apt-get install -y openssh-server") {
		t.Errorf("%s / %+v", f.Detail, f.Fix)
	}
	in.Service.OS = service.OSRelease{ID: "rocky", IDLike: []string{"rhel", "centos", "fedora"}}
	in.Service.Live, in.Service.Root = false, "/mnt/disk"
	f = svcOnly(t, svcCheck(t, in), "sshd.not-installed", check.SeverityError)
	if !svcFixHas(f, "chroot /mnt/disk dnf install -y openssh-server") {
		t.Errorf("offline Rocky fix: %+v", f.Fix)
	}
}

func TestServiceStoppedMaskedDisabled(t *testing.T) {
	in := healthy()
	in.Service.Service = svcUnit("inactive", "dead", "enabled")
	in.Sockets = socks()
	fs := svcCheck(t, in)
	f := svcOnly(t, fs, "sshd.not-running", check.SeverityError)
	if svcEv(f, "unit") != "ssh.service" || !svcFixHas(f, "systemctl enable --now ssh.service") || len(fs) != 1 {
		t.Errorf("stopped: %s, %+v", svcCodesOf(fs), f.Fix)
	}

	in.Service.Service = svcUnit("inactive", "dead", "masked")
	in.Service.Service.LoadState = "masked"
	fs = svcCheck(t, in)
	f = svcOnly(t, fs, "sshd.not-running", check.SeverityError)
	if !strings.Contains(f.Detail, "masked") || f.Fix.Commands[0] != "systemctl unmask ssh.service" || len(fs) != 1 {
		t.Errorf("masked: %s, %s, %+v", svcCodesOf(fs), f.Detail, f.Fix)
	}

	// Running but disabled: it will not survive a reboot.
	in = healthy()
	in.Service.Service.UnitFileState = "disabled"
	f = svcOnly(t, svcCheck(t, in), "sshd.not-enabled", check.SeverityWarning)
	if svcEv(f, "service_file_state") != "disabled" || !svcFixHas(f, "systemctl enable ssh.service") {
		t.Errorf("disabled: %+v", f)
	}

	// Debian's opt-out file.
	in = healthy()
	in.Service.Service = svcUnit("inactive", "dead", "enabled")
	in.Service.NotToBeRun = true
	in.Sockets = socks()
	f = svcOnly(t, svcCheck(t, in), "sshd.not-running", check.SeverityError)
	if !svcFixHas(f, "rm /etc/ssh/sshd_not_to_be_run") {
		t.Errorf("not to be run: %+v", f.Fix)
	}
}

// svcJournal loads a journal recorded in the lab container.
func svcJournal(t *testing.T, name string) *logs.Facts {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("../host/logs/testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	es, err := logs.ParseJournalJSON(data)
	if err != nil {
		t.Fatal(err)
	}
	return &logs.Facts{Source: logs.SourceJournal, Entries: es, Read: es[len(es)-1].Time.Add(time.Minute)}
}

func TestServiceFailedWithReason(t *testing.T) {
	in := healthy()
	in.Service.Service = svcUnit("failed", "failed", "enabled")
	in.Service.Service.Result = "exit-code"
	in.Sockets = socks()
	in.Logs = svcJournal(t, "journal-failed-config.json")
	fs := svcCheck(t, in)
	f := svcOnly(t, fs, "sshd.failed", check.SeverityError)
	if svcEv(f, "reason") != "/etc/ssh/sshd_config: line 123: Bad configuration option: Bogus" ||
		!strings.Contains(f.Detail, "Bad configuration option: Bogus") || !strings.Contains(f.Fix.Summary, "line 123 of /etc/ssh/sshd_config") {
		t.Errorf("failed: %s\n%+v\n%+v", f.Detail, f.Evidence, f.Fix)
	}
	if !strings.Contains(svcEv(f, "log"), "terminating, 1 bad configuration options") {
		t.Errorf("log lines: %s", svcEv(f, "log"))
	}
	if strings.Contains(svcCodesOf(fs), "sshd.not-running") || strings.Contains(svcCodesOf(fs), "sshd.not-listening") {
		t.Errorf("a failed service is also reported as: %s", svcCodesOf(fs))
	}

	// Host keys: the newest failure in a journal that holds both.
	in.Logs = svcJournal(t, "journal-failed-hostkeys.json")
	f = svcOnly(t, svcCheck(t, in), "sshd.failed", check.SeverityError)
	if svcEv(f, "reason") != "sshd: no hostkeys available -- exiting." || f.Fix.Commands[0] != "ssh-keygen -A" {
		t.Errorf("hostkeys: %s %+v", svcEv(f, "reason"), f.Fix)
	}

	// Restarting after a failure counts as failing.
	in.Service.Service = svcUnit("activating", "auto-restart", "enabled")
	svcOnly(t, svcCheck(t, in), "sshd.failed", check.SeverityError)

	// No log at all: said.
	in.Logs = &logs.Facts{}
	f = svcOnly(t, svcCheck(t, in), "sshd.failed", check.SeverityError)
	if !strings.Contains(f.Detail, "could not be read") || !svcFixHas(f, "journalctl -u ssh.service") {
		t.Errorf("no log: %s %+v", f.Detail, f.Fix)
	}
}

// TestServicePortConflict replays the lab scenario: python3 -m http.server
// --bind :: 22 holds port 22 for IPv4 and IPv6, and ssh.service failed.
func TestServicePortConflict(t *testing.T) {
	in := healthy()
	in.Service.Service = svcUnit("failed", "failed", "enabled")
	in.Service.Service.Result = "exit-code"
	dual := lis("::", 22, "python3", 190)
	no := false
	dual.V6Only = &no
	dual.Procs[0].Cmdline = "python3 -m http.server --bind :: 22"
	in.Sockets = socks(dual)
	in.Logs = svcJournal(t, "journal-conflict.json")
	fs := svcCheck(t, in)
	f := svcOnly(t, fs, "sshd.port-conflict", check.SeverityError)
	if svcEv(f, "program") != "python3" || svcEv(f, "pid") != "190" || !strings.Contains(f.Detail, "python3 (PID 190)") {
		t.Errorf("conflict: %s %+v", f.Detail, f.Evidence)
	}
	if !strings.Contains(svcEv(f, "sshd_log"), "Bind to port 22 on 0.0.0.0 failed: Address already in use") {
		t.Errorf("bind errors: %s", svcEv(f, "sshd_log"))
	}
	failed := svcOnly(t, fs, "sshd.failed", check.SeverityError)
	if !strings.Contains(svcEv(failed, "reason"), "Address already in use") {
		t.Errorf("failed reason: %s", svcEv(failed, "reason"))
	}
	if v := check.Verdict(fs); v == nil || v.Code != "sshd.port-conflict" {
		t.Errorf("verdict %v, want the conflict that caused the failure", v)
	}

	// Stopped sshd and a program on 22: not running, and the conflict.
	in.Service.Service = svcUnit("inactive", "dead", "enabled")
	fs = svcCheck(t, in)
	svcOnly(t, fs, "sshd.not-running", check.SeverityError)
	svcOnly(t, fs, "sshd.port-conflict", check.SeverityError)
}

// TestServicePartialConflict replays python3 -m http.server 22 (IPv4
// only), after which sshd started on [::]:22 alone.
func TestServicePartialConflict(t *testing.T) {
	in := healthy()
	in.Sockets = socks(lis("0.0.0.0", 22, "python3", 170), lis("::", 22, "sshd", 175))
	in.Logs = svcJournal(t, "journal-conflict-partial.json")
	fs := svcCheck(t, in)
	f := svcOnly(t, fs, "sshd.port-conflict", check.SeverityError)
	if !strings.Contains(f.Detail, "sshd has only [::]:22") || svcEv(f, "address") != "0.0.0.0:22" {
		t.Errorf("partial conflict: %s", f.Detail)
	}
	if len(fs) != 1 {
		t.Errorf("findings: %s", svcCodesOf(fs))
	}
}

func TestServiceSocketActivation(t *testing.T) {
	in := healthy()
	in.Service.Service = svcUnit("inactive", "dead", "disabled")
	in.Service.Service.TriggeredBy = []string{"ssh.socket"}
	in.Service.Socket = sockUnit("active", "enabled", 22)
	dual := lis("::", 22, "systemd", 1)
	no := false
	dual.V6Only = &no
	in.Sockets = socks(dual)
	fs := svcCheck(t, in)
	f := svcOnly(t, fs, "sshd.socket-activation", check.SeverityInfo)
	if len(fs) != 1 || !strings.Contains(f.Detail, "do not decide") {
		t.Errorf("socket activation: %s %s", svcCodesOf(fs), f.Detail)
	}

	// sshd_config moved the port; the socket did not follow.
	in.Listen = check.SSHDListen{Ports: []int{2222}, Endpoints: []check.SSHDEndpoint{{Host: "::", Port: 2222}, {Host: "0.0.0.0", Port: 2222}}, Where: "/etc/ssh/sshd_config.d/20-port.conf line 1"}
	fs = svcCheck(t, in)
	f = svcOnly(t, fs, "sshd.socket-activation", check.SeverityError)
	if !strings.Contains(f.Detail, "sshd_config says Port 2222 but ssh.socket listens on 22") {
		t.Errorf("mismatch detail: %s", f.Detail)
	}
	if !svcFixHas(f, "ListenStream=2222") || !svcFixHas(f, "systemctl restart ssh.socket") || !svcFixHas(f, "disable --now ssh.socket") {
		t.Errorf("mismatch fix: %+v", f.Fix)
	}
	if strings.Contains(svcCodesOf(fs), "not-listening") || strings.Contains(svcCodesOf(fs), "not-running") || strings.Contains(svcCodesOf(fs), "not-enabled") {
		t.Errorf("socket activation also reported as: %s", svcCodesOf(fs))
	}
	if v := check.Verdict(fs); v == nil || v.Code != "sshd.socket-activation" {
		t.Errorf("verdict %v", v)
	}

	// Ubuntu's generator: daemon-reload regenerates the ports.
	in.Service.Socket.GeneratedBy = "/run/systemd/generator/ssh.socket.d/addresses.conf"
	f = svcOnly(t, svcCheck(t, in), "sshd.socket-activation", check.SeverityError)
	if f.Fix.Commands[0] != "systemctl daemon-reload" {
		t.Errorf("generator fix: %+v", f.Fix)
	}
}

func TestServiceListening(t *testing.T) {
	// ListenAddress 127.0.0.1.
	in := healthy()
	in.Listen = check.SSHDListen{Ports: []int{22}, Endpoints: []check.SSHDEndpoint{{Host: "127.0.0.1", Port: 22}}}
	in.Sockets = socks(lis("127.0.0.1", 22, "sshd", 85))
	f := svcOnly(t, svcCheck(t, in), "sshd.listen-restricted", check.SeverityError)
	if !strings.Contains(f.Detail, "only on 127.0.0.1:22") {
		t.Errorf("loopback: %s", f.Detail)
	}

	// --from: the route back leaves from 10.0.0.2; sshd is on another
	// address.
	in = healthy()
	in.Listen = check.SSHDListen{Ports: []int{22}, Endpoints: []check.SSHDEndpoint{{Host: "192.168.7.2", Port: 22}}}
	in.Sockets = socks(lis("192.168.7.2", 22, "sshd", 85))
	in.Sockets.Route = &sockets.Route{From: netip.MustParseAddr("10.0.0.1"), Src: netip.MustParseAddr("10.0.0.2"), Dev: "eth0"}
	f = svcOnly(t, svcCheck(t, in), "sshd.listen-restricted", check.SeverityError)
	if svcEv(f, "local_address") != "10.0.0.2" || !svcFixHas(f, "ListenAddress 10.0.0.2") {
		t.Errorf("from: %+v", f)
	}
	in.Sockets.Listeners = []sockets.Listener{lis("0.0.0.0", 22, "sshd", 85)}
	in.Listen = debianListen
	in.Sockets.Listeners = append(in.Sockets.Listeners, lis("::", 22, "sshd", 85))
	if fs := svcCheck(t, in); len(fs) != 0 {
		t.Errorf("wildcard covers --from: %s", svcCodesOf(fs))
	}

	// Port changed to 2222 without a restart: sshd still on 22.
	in = healthy()
	in.Listen = check.SSHDListen{Ports: []int{2222}, Endpoints: []check.SSHDEndpoint{{Host: "::", Port: 2222}, {Host: "0.0.0.0", Port: 2222}}}
	f = svcOnly(t, svcCheck(t, in), "sshd.not-listening", check.SeverityError)
	if !strings.Contains(f.Detail, "0.0.0.0:22") || !strings.Contains(f.Detail, "[::]:2222") || !svcFixHas(f, "systemctl restart ssh.service") {
		t.Errorf("not listening: %s", f.Detail)
	}

	// Not root: owners unknown, so no guess that sshd is missing.
	in = healthy()
	for i := range in.Sockets.Listeners {
		in.Sockets.Listeners[i].Procs = nil
	}
	in.Sockets.OwnersComplete = false
	if fs := svcCheck(t, in); len(fs) != 0 {
		t.Errorf("unknown owners: %s", svcCodesOf(fs))
	}
}

func TestServiceSELinux(t *testing.T) {
	in := healthy()
	in.Listen = check.SSHDListen{Ports: []int{2222, 8022, 22}}
	in.Sockets = socks(lis("0.0.0.0", 22, "sshd", 50), lis("0.0.0.0", 2222, "sshd", 50), lis("0.0.0.0", 8022, "sshd", 50))
	in.SELinux = &selinux.Facts{Mode: "enforcing", PortsSource: "semanage port -l", Ports: []selinux.PortLabel{
		{Type: "ssh_port_t", Proto: "tcp", Low: 22, High: 22},
		{Type: "oa_system_port_t", Proto: "tcp", Low: 8022, High: 8022},
		{Type: "unreserved_port_t", Proto: "tcp", Low: 1024, High: 32767},
	}}
	fs := svcCheck(t, in)
	var got []string
	for _, f := range fs {
		if f.Code == "sshd.selinux-port" {
			got = append(got, f.Fix.Commands[0])
		}
	}
	want := []string{"semanage port -a -t ssh_port_t -p tcp 2222", "semanage port -m -t ssh_port_t -p tcp 8022"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("selinux fixes %q, want %q (all: %s)", got, want, svcCodesOf(fs))
	}
	in.SELinux.Mode = "permissive"
	if fs := svcCheck(t, in); strings.Contains(svcCodesOf(fs), "selinux") {
		t.Errorf("permissive: %s", svcCodesOf(fs))
	}
}

func TestServiceMaxStartups(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	entry := func(ago time.Duration, msg string) logs.Entry {
		return logs.Entry{Time: now.Add(-ago), Ident: "sshd", PID: 612, Message: msg, Event: logs.ParseMessage(msg)}
	}
	in := healthy()
	in.Logs = &logs.Facts{Source: logs.SourceJournal, Read: now, Entries: []logs.Entry{
		entry(3*time.Hour, "drop connection #10 from [198.51.100.1]:1 on [192.0.2.10]:22 past MaxStartups"),
		entry(30*time.Minute, "error: beginning MaxStartups throttling"),
		entry(30*time.Minute, "drop connection #10 from [203.0.113.9]:50130 on [192.0.2.10]:22 past MaxStartups"),
		entry(29*time.Minute, "drop connection #11 from [203.0.113.9]:50131 on [192.0.2.10]:22 past MaxStartups"),
		entry(28*time.Minute, "drop connection #12 from [198.51.100.4]:40000 on [192.0.2.10]:22 past MaxStartups"),
	}}
	f := svcOnly(t, svcCheck(t, in), "sshd.max-startups", check.SeverityWarning)
	if svcEv(f, "drops") != "3" || svcEv(f, "top_sources") != `["203.0.113.9 (2)","198.51.100.4 (1)"]` || !svcFixHas(f, "MaxStartups 50:30:200") {
		t.Errorf("max-startups: %+v", f)
	}
	// Drops in the last minutes: happening now.
	in.Logs.Entries = append(in.Logs.Entries, entry(2*time.Minute, "drop connection #13 from [203.0.113.9]:50140 on [192.0.2.10]:22 past MaxStartups"))
	svcOnly(t, svcCheck(t, in), "sshd.max-startups", check.SeverityError)
	// Only old drops: nothing.
	in.Logs.Entries = in.Logs.Entries[:1]
	if fs := svcCheck(t, in); len(fs) != 0 {
		t.Errorf("old drops: %s", svcCodesOf(fs))
	}
	// OpenSSH 9.8 penalties.
	in.Logs.Entries = append(in.Logs.Entries, entry(5*time.Minute, "drop connection #0 from [198.51.100.4]:5555 on [192.0.2.10]:22 penalty: failed authentication"))
	f = svcOnly(t, svcCheck(t, in), "sshd.max-startups", check.SeverityError)
	if !svcFixHas(f, "PerSourcePenaltyExemptList 198.51.100.4") || f.Fix.Warning == "" {
		t.Errorf("penalty: %+v", f.Fix)
	}

	// The lab's real drops (journal-events.json).
	in.Logs = svcJournal(t, "journal-events.json")
	f = svcOnly(t, svcCheck(t, in), "sshd.max-startups", check.SeverityError)
	if !strings.Contains(svcEv(f, "log"), "past MaxStartups") {
		t.Errorf("lab drops: %s", svcEv(f, "log"))
	}
}

// svcRunner replays one recorded `systemctl show`.
type svcRunner struct{ out []byte }

func (r svcRunner) Run(_ context.Context, name string, args ...string) ([]byte, error) {
	if name == "systemctl" && len(args) > 0 && args[0] == "show" {
		return r.out, nil
	}
	return nil, host.ErrNotFound
}

// TestServiceFromRecordedFacts runs the gatherer on what the lab's
// container said (systemctl show, /proc/net/tcp{,6}, the journal) and
// checks what a user would be told.
func TestServiceFromRecordedFacts(t *testing.T) {
	for _, tc := range []struct {
		show, journal string
		listeners     []sockets.Listener
		listen        check.SSHDListen
		want          string
	}{
		{"healthy", "journal-events.json", []sockets.Listener{lis("0.0.0.0", 22, "sshd", 50), lis("::", 22, "sshd", 50)}, debianListen, "sshd.max-startups/error"},
		{"stopped", "", nil, debianListen, "sshd.not-running/error"},
		{"masked", "", nil, debianListen, "sshd.not-running/error"},
		{"failed-config", "journal-failed-config.json", nil, debianListen, "sshd.failed/error"},
		{"socket", "", []sockets.Listener{lis("::", 22, "systemd", 1)}, check.SSHDListen{Ports: []int{2222}}, "sshd.socket-activation/error"},
	} {
		t.Run(tc.show, func(t *testing.T) {
			root := t.TempDir()
			for _, d := range []string{"run/systemd/system", "proc", "usr/sbin"} {
				if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(filepath.Join(root, "usr/sbin/sshd"), []byte("OpenSSH_9.2\x00"), 0o755); err != nil {
				t.Fatal(err)
			}
			out, err := os.ReadFile(filepath.Join("../host/service/testdata/show", tc.show+".txt"))
			if err != nil {
				t.Fatal(err)
			}
			sf := service.Gather(context.Background(), host.System{Root: root, Live: true, Run: svcRunner{out}})
			in := check.ServiceInput{Service: &sf, Sockets: socks(tc.listeners...), Listen: tc.listen, Logs: &logs.Facts{Source: logs.SourceJournal}}
			if tc.journal != "" {
				in.Logs = svcJournal(t, tc.journal)
			}
			if got := svcCodesOf(svcCheck(t, in)); got != tc.want {
				t.Errorf("findings %q, want %q", got, tc.want)
			}
		})
	}
}

func TestServiceOfflineAndInit(t *testing.T) {
	// Offline: no running state, enablement with --root.
	in := healthy()
	in.Service = svcFacts(&service.Unit{Name: "ssh.service", LoadState: "loaded", UnitFileState: "disabled"}, nil)
	in.Service.Live, in.Service.Root = false, "/mnt/disk"
	in.Sockets = &sockets.Facts{}
	f := svcOnly(t, svcCheck(t, in), "sshd.not-enabled", check.SeverityWarning)
	if f.Fix.Commands[0] != "systemctl --root=/mnt/disk enable ssh.service" {
		t.Errorf("offline enable: %+v", f.Fix)
	}

	// sysvinit, stopped, not enabled.
	in = healthy()
	in.Service.Manager = service.ManagerSysvinit
	in.Service.Service, in.Service.Socket = nil, nil
	in.Service.Init = &service.InitScript{Manager: service.ManagerSysvinit, Name: "ssh", Path: "/etc/init.d/ssh", Status: "stopped", StatusOutput: "sshd is not running ... failed!"}
	in.Sockets = socks()
	fs := svcCheck(t, in)
	if f := svcOnly(t, fs, "sshd.not-running", check.SeverityError); !svcFixHas(f, "service ssh start") {
		t.Errorf("sysvinit: %+v", f.Fix)
	}
	if f := svcOnly(t, fs, "sshd.not-enabled", check.SeverityWarning); !svcFixHas(f, "update-rc.d ssh enable") {
		t.Errorf("sysvinit enable: %+v", f.Fix)
	}

	// No manager: the process table decides.
	in.Service.Manager, in.Service.Init = service.ManagerUnknown, nil
	svcOnly(t, svcCheck(t, in), "sshd.not-running", check.SeverityError)
	in.Service.Processes = []service.Process{{PID: 7, PPID: 1, Cmdline: "sshd: /usr/sbin/sshd -D [listener]"}}
	in.Sockets = socks(lis("0.0.0.0", 22, "sshd", 7), lis("::", 22, "sshd", 7))
	if fs := svcCheck(t, in); len(fs) != 0 {
		t.Errorf("sshd in a container without a manager: %s", svcCodesOf(fs))
	}
}

func TestServiceRunsOutsideItsManager(t *testing.T) {
	// systemd's unit is stopped, but an sshd started by hand runs.
	in := healthy()
	in.Service.Service = svcUnit("inactive", "dead", "enabled")
	in.Service.Processes = []service.Process{{PID: 4242, PPID: 1, Cmdline: "/usr/sbin/sshd"}}
	fs := svcCheck(t, in)
	f := svcOnly(t, fs, "sshd.not-running", check.SeverityWarning)
	if svcEv(f, "sshd_pid") != "4242" || !strings.Contains(f.Detail, "outside it") {
		t.Errorf("stray sshd: %s %+v", f.Detail, f.Evidence)
	}
	if len(fs) != 1 {
		t.Errorf("findings: %s", svcCodesOf(fs))
	}

	// sysvinit says stopped, yet sshd runs; its Port moved without a
	// restart: the restart command is the init script's.
	in = healthy()
	in.Service.Manager, in.Service.Service, in.Service.Socket = service.ManagerSysvinit, nil, nil
	in.Service.Init = &service.InitScript{Manager: service.ManagerSysvinit, Name: "ssh", Path: "/etc/init.d/ssh", Status: "stopped", Runlevels: []string{"2"}}
	in.Service.Processes = []service.Process{{PID: 77, PPID: 1}}
	in.Listen = check.SSHDListen{Ports: []int{2222}, Endpoints: []check.SSHDEndpoint{{Host: "0.0.0.0", Port: 2222}}}
	fs = svcCheck(t, in)
	f = svcOnly(t, fs, "sshd.not-listening", check.SeverityError)
	if !svcFixHas(f, "service ssh restart") || len(fs) != 1 {
		t.Errorf("sysvinit restart: %s %+v", svcCodesOf(fs), f.Fix)
	}
}
