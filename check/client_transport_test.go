package check_test

import (
	"strings"
	"testing"
	"time"

	"github.com/sshdoctor/sshdoctor/check"
	"github.com/sshdoctor/sshdoctor/probe"
)

func bannerFacts(b *probe.BannerFacts) *probe.Facts {
	f := newFacts()
	f.TCP = []probe.TCPAttempt{openAttempt()}
	f.Banner = b
	return f
}

func TestBanner(t *testing.T) {
	tests := []struct {
		name   string
		banner *probe.BannerFacts
		tls    string
		code   string
		ev     map[string]string
		says   string
		fix    string
	}{
		{name: "not reached", banner: nil},
		{name: "SSH", banner: sshBanner()},
		{name: "HTTP", code: "ssh.not-ssh",
			banner: &probe.BannerFacts{Outcome: probe.BannerNotSSH, Kind: "HTTP", First: []byte("HTTP/1.1 400 Bad Request\r\n"), Received: 26, Elapsed: 3 * time.Millisecond},
			ev:     map[string]string{"looks_like": "HTTP", "first_bytes": `HTTP/1.1 400 Bad Request\r\n`, "bytes_received": "26"},
			says:   "looks like HTTP",
			fix:    "sudo ss -ltnp 'sport = :22'"},
		{name: "TLS found by the follow-up handshake", code: "ssh.not-ssh", tls: "TLS 1.3, certificate for web1.example.com",
			banner: &probe.BannerFacts{Outcome: probe.BannerClosed, Elapsed: time.Millisecond},
			ev:     map[string]string{"looks_like": "TLS", "tls": "TLS 1.3, certificate for web1.example.com", "bytes_received": "0"}},
		{name: "long line", code: "ssh.not-ssh",
			banner: &probe.BannerFacts{Outcome: probe.BannerNotSSH, Reason: "a line longer than 255 bytes", First: []byte(strings.Repeat("A", 96)), Received: 10240},
			ev:     map[string]string{"looks_like": "unknown", "reason": "a line longer than 255 bytes"}},
		{name: "hostile bytes are escaped", code: "ssh.not-ssh",
			banner: &probe.BannerFacts{Outcome: probe.BannerNotSSH, Reason: "binary data", First: []byte("\x1b]0;pwned\x07\x1b[2J\x00\xff"), Received: 13},
			ev:     map[string]string{"first_bytes": `\e]0;pwned\x07\e[2J\x00\xff`}},
		{name: "silent", code: "ssh.no-banner",
			banner: &probe.BannerFacts{Outcome: probe.BannerTimeout, Reason: "no data", Elapsed: 5 * time.Second},
			ev:     map[string]string{"bytes_received": "0", "after_ms": "5000", "first_bytes": "<missing>"},
			says:   "sent no identification"},
		{name: "slow, with lines before", code: "ssh.no-banner",
			banner: &probe.BannerFacts{Outcome: probe.BannerTimeout, PreLines: []string{"hello\x1b[31m"}, First: []byte("hello\x1b[31m\r\nSSH-2"), Received: 18, Elapsed: 5 * time.Second},
			ev:     map[string]string{"lines_before_identification": `hello\e[31m`, "bytes_received": "18"},
			says:   "sent 18 bytes"},
		{name: "MaxStartups", code: "ssh.closed-before-banner",
			banner: &probe.BannerFacts{Outcome: probe.BannerClosed, Kind: "text: sshd MaxStartups", PreLines: []string{"Exceeded MaxStartups"}, First: []byte("Exceeded MaxStartups\r\n"), Received: 22},
			ev:     map[string]string{"server_said": "Exceeded MaxStartups", "how": "closed"},
			says:   "MaxStartups",
			fix:    "journalctl"},
		{name: "PerSourcePenalties", code: "ssh.closed-before-banner",
			banner: &probe.BannerFacts{Outcome: probe.BannerClosed, Kind: "text: sshd PerSourcePenalties", PreLines: []string{"Not allowed at this time"}, Received: 26},
			says:   "PerSourcePenalties"},
		{name: "reset", code: "ssh.closed-before-banner",
			banner: &probe.BannerFacts{Outcome: probe.BannerReset},
			ev:     map[string]string{"how": "reset", "bytes_received": "0"},
			says:   "reset it"},
		{name: "closed silently", code: "ssh.closed-before-banner",
			banner: &probe.BannerFacts{Outcome: probe.BannerClosed},
			ev:     map[string]string{"how": "closed"},
			says:   "MaxStartups"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := bannerFacts(tt.banner)
			f.TLS = tt.tls
			fs := check.Banner(f)
			if tt.code == "" {
				if len(fs) != 0 {
					t.Fatalf("findings [%s], want none", codes(fs))
				}
				return
			}
			fd := only(t, fs, tt.code, check.SeverityError)
			wantEvidence(t, fd, tt.ev)
			if !strings.Contains(fd.Detail, tt.says) {
				t.Errorf("detail %q does not say %q", fd.Detail, tt.says)
			}
			if tt.fix != "" && !fixHas(fd, tt.fix) {
				t.Errorf("fix %+v lacks %q", fd.Fix, tt.fix)
			}
			if strings.ContainsAny(fd.Detail+ev(fd, "first_bytes")+ev(fd, "server_said"), "\x1b\x07\x00") {
				t.Errorf("raw control characters in the finding: %+v", fd)
			}
		})
	}
}

func TestBannerNotSSHWithOtherPort(t *testing.T) {
	f := bannerFacts(&probe.BannerFacts{Outcome: probe.BannerNotSSH, Kind: "HTTP", First: []byte("HTTP/1.1 400")})
	f.AltPorts = []probe.AltPort{{Port: 2222, Outcome: probe.TCPOpen, Banner: "SSH-2.0-OpenSSH_9.2"}}
	fs := check.Banner(f)
	if got := codes(fs); got != "ssh.other-port/error ssh.not-ssh/error" {
		t.Fatalf("findings [%s]", got)
	}
	if v := check.Verdict(fs); v.Code != "ssh.other-port" {
		t.Errorf("verdict %s, want ssh.other-port: sshd moved, something else took the port", v.Code)
	}
}

// kexFacts is a banner that worked and a server KEXINIT; lists left nil take
// OpenSSH 9.2's server defaults.
func kexFacts(server probe.KexInit) *probe.Facts {
	def := func(l *[]string, d string) {
		if *l == nil {
			*l = strings.Split(d, ",")
		}
	}
	def(&server.KexAlgos, "sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,diffie-hellman-group14-sha256,kex-strict-s-v00@openssh.com")
	def(&server.HostKeyAlgos, "rsa-sha2-512,rsa-sha2-256,ecdsa-sha2-nistp256,ssh-ed25519")
	def(&server.CiphersClientTo, "chacha20-poly1305@openssh.com,aes128-ctr,aes256-ctr,aes128-gcm@openssh.com")
	def(&server.CiphersServerTo, strings.Join(server.CiphersClientTo, ","))
	def(&server.MACsClientTo, "umac-64-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-256")
	def(&server.MACsServerTo, strings.Join(server.MACsClientTo, ","))
	f := bannerFacts(sshBanner())
	f.SSH = &probe.SSHFacts{Kex: probe.KexFacts{Server: &server}}
	return f
}

func TestKexMatches(t *testing.T) {
	f := kexFacts(probe.KexInit{})
	f.SSH.Kex.Done = true
	if fs := check.Kex(f); len(fs) != 0 {
		t.Errorf("findings [%s] for a server offering OpenSSH's defaults", codes(fs))
	}
	f.SSH = nil
	if fs := check.Kex(f); len(fs) != 0 {
		t.Errorf("findings [%s] without SSH facts", codes(fs))
	}
}

func TestKexMismatchPerCategory(t *testing.T) {
	tests := []struct {
		name     string
		server   probe.KexInit
		category string
		option   string
		command  string
		warning  string
	}{
		{name: "key exchange", server: probe.KexInit{KexAlgos: []string{"diffie-hellman-group1-sha1", "ext-info-s", "kex-strict-s-v00@openssh.com"}},
			category: "key exchange algorithm", option: "KexAlgorithms +diffie-hellman-group1-sha1",
			command: "ssh -o KexAlgorithms=+diffie-hellman-group1-sha1 bob@web1", warning: "Logjam"},
		{name: "host key", server: probe.KexInit{HostKeyAlgos: []string{"ssh-rsa", "ssh-dss"}},
			category: "host key algorithm", option: "HostKeyAlgorithms +ssh-rsa",
			command: "ssh -o HostKeyAlgorithms=+ssh-rsa bob@web1", warning: "SHA-1"},
		{name: "cipher", server: probe.KexInit{CiphersClientTo: []string{"aes128-cbc", "3des-cbc"}},
			category: "cipher", option: "Ciphers +aes128-cbc",
			command: "ssh -o Ciphers=+aes128-cbc bob@web1", warning: "CBC"},
		{name: "MAC", server: probe.KexInit{CiphersClientTo: []string{"aes128-ctr"}, MACsClientTo: []string{"hmac-md5", "hmac-sha1-96"}},
			// Of two weak MACs the fix enables the less weak one.
			category: "MAC", option: "MACs +hmac-sha1-96",
			command: "ssh -o MACs=+hmac-sha1-96 bob@web1", warning: "truncated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := kexFacts(tt.server)
			fd := only(t, check.Kex(f), "ssh.kex-mismatch", check.SeverityError)
			wantEvidence(t, fd, map[string]string{"category": tt.category, "option": tt.option,
				"server_version": "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3"})
			if ev(fd, "client") == "<missing>" || ev(fd, "server") == "<missing>" {
				t.Errorf("both lists must be in the evidence: %+v", fd.Evidence)
			}
			if strings.Contains(ev(fd, "server"), "kex-strict") || strings.Contains(ev(fd, "server"), "ext-info") {
				t.Errorf("pseudo-algorithms shown as the server's offer: %s", ev(fd, "server"))
			}
			if !fixHas(fd, tt.command) {
				t.Errorf("fix %+v lacks %q", fd.Fix, tt.command)
			}
			if !fixHas(fd, "Host web1\\n    "+tt.option) {
				t.Errorf("fix %+v does not write the option into a Host web1 block", fd.Fix)
			}
			if !strings.Contains(fd.Fix.Warning, tt.warning) {
				t.Errorf("warning %q does not mention %q", fd.Fix.Warning, tt.warning)
			}
		})
	}
}

func TestKexMismatchMACIgnoredWithAEAD(t *testing.T) {
	f := kexFacts(probe.KexInit{CiphersClientTo: []string{"chacha20-poly1305@openssh.com"}, MACsClientTo: []string{"hmac-md5"}})
	f.SSH.Kex.Done = true
	if fs := check.Kex(f); len(fs) != 0 {
		t.Errorf("findings [%s]: with an AEAD cipher the MACs are not used", codes(fs))
	}
}

func TestKexMismatchPicksWhatTheClientImplements(t *testing.T) {
	f := kexFacts(probe.KexInit{HostKeyAlgos: []string{"ssh-dss", "ssh-rsa"}})
	f.ClientAlgorithms = &probe.ClientAlgorithms{HostKey: []string{"ssh-ed25519", "ssh-rsa", "rsa-sha2-512"}}
	fd := only(t, check.Kex(f), "ssh.kex-mismatch", check.SeverityError)
	wantEvidence(t, fd, map[string]string{"option": "HostKeyAlgorithms +ssh-rsa"})

	f.ClientAlgorithms = &probe.ClientAlgorithms{HostKey: []string{"ssh-ed25519"}}
	fd = only(t, check.Kex(f), "ssh.kex-mismatch", check.SeverityError)
	if ev(fd, "option") != "<missing>" || len(fd.Fix.Commands) != 0 {
		t.Errorf("an option is suggested that the local ssh does not implement: %+v", fd.Fix)
	}
	if !strings.Contains(fd.Fix.Summary, "server") {
		t.Errorf("fix %q does not say the server must change", fd.Fix.Summary)
	}
}

func TestKexMismatchOtherPort(t *testing.T) {
	f := kexFacts(probe.KexInit{HostKeyAlgos: []string{"ssh-rsa"}})
	f.Target.Port = 2222
	f.Target.Alias = f.Target.HostName
	fd := only(t, check.Kex(f), "ssh.kex-mismatch", check.SeverityError)
	if !fixHas(fd, "ssh -o HostKeyAlgorithms=+ssh-rsa -p 2222 bob@192.0.2.10") {
		t.Errorf("fix %+v does not keep the port", fd.Fix.Commands)
	}
}

func TestKexStalled(t *testing.T) {
	f := kexFacts(probe.KexInit{})
	f.SSH.Kex.TimedOut = true
	f.SSH.Kex.Err = "read tcp: i/o timeout"
	f.SSH.Kex.BytesAfterKexInit = 0
	fd := only(t, check.Kex(f), "ssh.kex-stalled", check.SeverityError)
	wantEvidence(t, fd, map[string]string{"bytes_after_kexinit": "0", "server_version": "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3"})
	if !strings.Contains(ev(fd, "waited_for"), "key exchange reply") {
		t.Errorf("waited_for = %q", ev(fd, "waited_for"))
	}
	if !fixHas(fd, "mtu 1400") {
		t.Errorf("fix %+v does not test a lower MTU", fd.Fix)
	}
}

// With no KEXINIT at all, nothing was compared, so the finding must not
// claim that the algorithms match.
func TestKexStalledBeforeKexInit(t *testing.T) {
	f := bannerFacts(sshBanner())
	f.SSH = &probe.SSHFacts{Kex: probe.KexFacts{TimedOut: true, ServerErr: "the server's KEXINIT never arrived in full", Err: "i/o timeout"}}
	fd := only(t, check.Kex(f), "ssh.kex-stalled", check.SeverityError)
	if !strings.Contains(ev(fd, "waited_for"), "KEXINIT") {
		t.Errorf("waited_for = %q", ev(fd, "waited_for"))
	}
	if strings.Contains(fd.Detail, "algorithms match") {
		t.Errorf("detail %q claims the algorithms match, but the server's list never arrived", fd.Detail)
	}
}

func TestKexLibraryOutcomes(t *testing.T) {
	f := bannerFacts(sshBanner())
	f.SSH = &probe.SSHFacts{Kex: probe.KexFacts{Err: "ssh: no common algorithm for host key",
		Negotiation: &probe.NegotiationFailure{What: "host key", Client: []string{"ssh-ed25519"}, Server: []string{"ssh-dss"}}}}
	fd := only(t, check.Kex(f), "ssh.kex-mismatch", check.SeverityError)
	wantEvidence(t, fd, map[string]string{"category": "host key", "client": "ssh-ed25519", "server": "ssh-dss"})

	f.SSH = &probe.SSHFacts{Kex: probe.KexFacts{Err: "ssh: handshake failed: EOF", LibraryLists: true}}
	only(t, check.Kex(f), "probe.incomplete", check.SeverityInfo)

	f.SSH = &probe.SSHFacts{Kex: probe.KexFacts{Err: "ssh: handshake failed: ssh: invalid packet length, packet too small"}}
	fd = only(t, check.Kex(f), "ssh.kex-failed", check.SeverityError)
	if !strings.Contains(fd.Detail, "packet too small") || ev(fd, "error") == "<missing>" {
		t.Errorf("kex-failed does not carry the error: %+v", fd)
	}
}

// "web1:2222" is not ssh syntax, so a fix command for a port typed on the
// command line must carry -p even when web1 is a Host alias.
func TestKexMismatchTypedPortOnAlias(t *testing.T) {
	f := kexFacts(probe.KexInit{HostKeyAlgos: []string{"ssh-rsa"}})
	f.Target.Dest.Port = 2222
	f.Target.Port = 2222
	fd := only(t, check.Kex(f), "ssh.kex-mismatch", check.SeverityError)
	if !fixHas(fd, "-p 2222") {
		t.Errorf("fix %q loses the port the user typed: ssh would connect to the configured port instead", fd.Fix.Commands)
	}
}
