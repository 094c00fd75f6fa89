package scenarios

import (
	"encoding/json"
	"testing"

	"github.com/sshdoctor/sshdoctor/report"

	"github.com/sshdoctor/sshdoctor/internal/lab"
)

// BenchmarkCheckRefused is the time to a verdict for a host where nothing
// listens, including the search for SSH on the alternative ports, measured
// as a user sees it: the whole `sshdoctor check` process, ssh -G included.
func BenchmarkCheckRefused(b *testing.B) {
	p := lab.NewPair(b)
	kh := benchFile(b)
	var steps float64
	for b.Loop() {
		out, _, code := p.Client.RunTool(b, nil, "check", "--json", "-F", "none", "--known-hosts", kh, "root@"+p.Server.Addr4.String())
		if code != 1 {
			b.Fatalf("exit %d", code)
		}
		steps += stepsMS(b, out)
	}
	b.ReportMetric(steps/float64(b.N), "verdict-ms/op")
}

// stepsMS is the sum of a report's step timings: the time to the verdict
// inside the tool, without process start-up and `ip netns exec`.
func stepsMS(b *testing.B, out string) float64 {
	var r report.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		b.Fatal(err)
	}
	ms := 0.0
	for _, s := range r.Steps {
		ms += s.MS
	}
	return ms
}

// BenchmarkCheckDropped is the time to a verdict for a port that a firewall
// drops, with --timeout 2s: the target is timeout + 0.2s at most, since the
// search on other ports runs alongside the main connect.
func BenchmarkCheckDropped(b *testing.B) {
	p := lab.NewPair(b)
	p.Server.IPTables(b, "-A", "INPUT", "-p", "tcp", "-j", "DROP")
	kh := benchFile(b)
	for b.Loop() {
		_, _, code := p.Client.RunTool(b, nil, "check", "--json", "-F", "none", "--known-hosts", kh, "--timeout", "2s", "root@"+p.Server.Addr4.String())
		if code != 1 {
			b.Fatalf("exit %d", code)
		}
	}
}

// BenchmarkCheckHealthy is a full check of a healthy host: every layer, a
// key accepted.
func BenchmarkCheckHealthy(b *testing.B) {
	p := lab.NewPair(b)
	key := lab.NewUserKey(b, "ed25519")
	p.Server.StartSSHD(b, lab.SSHDOptions{AuthorizedKeys: []string{key.AuthorizedLine}})
	kh := benchFile(b)
	for b.Loop() {
		_, _, code := p.Client.RunTool(b, nil, "check", "--json", "-F", "none", "--known-hosts", kh, "-i", key.PrivPath, "root@"+p.Server.Addr4.String())
		if code != 0 {
			b.Fatalf("exit %d", code)
		}
	}
}

func benchFile(b *testing.B) string {
	f := b.TempDir() + "/known_hosts"
	if err := writeEmpty(f); err != nil {
		b.Fatal(err)
	}
	return f
}

// BenchmarkServerInContainer is a full live `sshdoctor server --user root
// --from CLIENT` inside a booted Debian 12 container: every inspector
// (config with sshd -t/-T, systemd, sockets, journal, firewall, bans,
// SELinux, the account and its keys). The target is ≤ 1 s.
func BenchmarkServerInContainer(b *testing.B) {
	lab.Require(b, "systemd-nspawn", "debootstrap")
	p := lab.NewPair(b)
	c := p.Server.Boot(b, lab.ContainerOptions{BindRO: []string{lab.Tool(b) + ":/usr/local/bin/sshdoctor"}})
	for b.Loop() {
		out, err := c.Exec(b.Context(), "/usr/local/bin/sshdoctor", "server", "--json", "--user", "root", "--from", p.Client.Addr4.String()).Output()
		if err != nil && len(out) == 0 {
			b.Fatalf("server: %v", err)
		}
	}
}
