package scenarios

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/sshdoctor/sshdoctor/internal/lab"
)

func TestCheckSignatureAlgorithm(t *testing.T) {
	p := lab.NewPair(t)
	key := lab.NewUserKey(t, "rsa")
	// A server that verifies RSA keys only with SHA-1 signatures (ssh-rsa),
	// which OpenSSH 8.8+ clients no longer make by default.
	s := p.Server.StartSSHD(t, lab.SSHDOptions{
		AuthorizedKeys: []string{key.AuthorizedLine},
		Extra:          []string{"PubkeyAcceptedAlgorithms ssh-ed25519,ssh-rsa"},
	})
	if err := s.Login(t, key); err == nil {
		t.Fatal("the default ssh client should fail against this server")
	}
	r, code := run(t, p.Client, nil, append(noKeys(t), "-i", key.PrivPath, "root@"+p.Server.Addr4.String())...)
	ev := verdict(t, r, code, "auth.signature-algorithm")
	if ev["server_accepts"] != "ssh-rsa" || !strings.Contains(fmt.Sprint(ev["key"]), sshFingerprint(key.Public)) {
		t.Errorf("evidence = %v", ev)
	}
	// The option the fix names makes the real ssh client log in.
	if err := s.Login(t, key, "-o", "PubkeyAcceptedAlgorithms=^ssh-rsa"); err != nil {
		t.Errorf("the suggested option does not work: %v", err)
	}
}

func TestCheckTooManyKeys(t *testing.T) {
	lab.Require(t, "ssh-agent", "ssh-add")
	p := lab.NewPair(t)
	good := lab.NewUserKey(t, "ed25519")
	p.Server.StartSSHD(t, lab.SSHDOptions{AuthorizedKeys: []string{good.AuthorizedLine}})
	sock := filepath.Join(t.TempDir(), "agent.sock")
	p.Client.Start(t, "ssh-agent", "-D", "-a", sock)
	waitFor(t, func() bool { _, err := os.Stat(sock); return err == nil })
	for range 7 {
		k := lab.NewUserKey(t, "ed25519")
		p.Client.Run(t, "env", "SSH_AUTH_SOCK="+sock, "ssh-add", "-q", k.PrivPath)
	}
	p.Client.Run(t, "env", "SSH_AUTH_SOCK="+sock, "ssh-add", "-q", good.PrivPath)
	r, code := run(t, p.Client, []string{"SSH_AUTH_SOCK=" + sock}, append(noKeys(t), "root@"+p.Server.Addr4.String())...)
	ev := verdict(t, r, code, "auth.too-many-keys")
	if ev["position"] != float64(8) || ev["max_auth_tries_inferred"] != float64(6) {
		t.Errorf("evidence = %v, want position 8 and MaxAuthTries 6", ev)
	}
	if !strings.Contains(fmt.Sprint(ev["accepted_key"]), sshFingerprint(good.Public)) {
		t.Errorf("accepted_key = %v", ev["accepted_key"])
	}
	fix := r.Find("auth.too-many-keys").Fix
	if fix == nil || !strings.Contains(strings.Join(fix.Commands, "\n"), "IdentitiesOnly") {
		t.Errorf("fix = %+v", fix)
	}
}

func TestCheckNoKeys(t *testing.T) {
	p := lab.NewPair(t)
	p.Server.StartSSHD(t, lab.SSHDOptions{})
	r, code := run(t, p.Client, nil, append(noKeys(t), "root@"+p.Server.Addr4.String())...)
	verdict(t, r, code, "auth.no-keys")
}

func TestCheckMethodUnavailable(t *testing.T) {
	p := lab.NewPair(t)
	key := lab.NewUserKey(t, "ed25519")
	p.Server.StartSSHD(t, lab.SSHDOptions{
		AuthorizedKeys: []string{key.AuthorizedLine},
		Extra:          []string{"PubkeyAuthentication no", "PasswordAuthentication yes"},
	})
	// In batch mode ssh will not ask for a password, and the server takes
	// nothing else.
	r, code := run(t, p.Client, nil, append(noKeys(t), "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-i", key.PrivPath, "root@"+p.Server.Addr4.String())...)
	ev := verdict(t, r, code, "auth.method-unavailable")
	if fmt.Sprint(ev["server_methods"]) != "[password]" {
		t.Errorf("evidence = %v", ev)
	}
}

func TestCheckKexStalledByMTUBlackHole(t *testing.T) {
	n := lab.NewRouted(t)
	// A small KEXINIT passes the narrow link, the RSA key exchange reply
	// does not: the path-MTU black hole that ssh users meet as a hang.
	n.Server.StartSSHD(t, lab.SSHDOptions{HostKeyTypes: []string{"rsa"}, Extra: []string{
		"KexAlgorithms curve25519-sha256", "Ciphers chacha20-poly1305@openssh.com",
		"MACs hmac-sha2-256-etm@openssh.com", "HostKeyAlgorithms rsa-sha2-512",
	}})
	n.MTUBlackHole(t, 576)
	r, code := run(t, n.Client, nil, append(noKeys(t), "--timeout", "2s", "root@"+n.Server.Addr4.String())...)
	ev := verdict(t, r, code, "ssh.kex-stalled")
	if !strings.Contains(fmt.Sprint(ev["waited_for"]), "reply") {
		t.Errorf("evidence = %v, want a stall waiting for the key exchange reply", ev)
	}
}

func TestCheckNeighbourDoesNotAnswer(t *testing.T) {
	p := lab.NewPair(t)
	// An address on the client's own link that nobody holds: ARP fails.
	ghost := netip.AddrFrom4(p.Client.Addr4.As4())
	b := ghost.As4()
	b[3] = 99
	ghost = netip.AddrFrom4(b)
	r, code := run(t, p.Client, nil, append(noKeys(t), "--timeout", "5s", "root@"+ghost.String())...)
	ev := verdict(t, r, code, "net.unreachable")
	if ev["address"] != ghost.String() {
		t.Errorf("evidence = %v", ev)
	}
}

// fakeDNS serves A queries in h: names in answers resolve, "fail." names get
// SERVFAIL, everything else NXDOMAIN. It points the client namespace's
// resolv.conf at it (ip netns exec bind-mounts /etc/netns/NAME/resolv.conf).
func fakeDNS(t *testing.T, client, server *lab.Host, answers map[string]netip.Addr) {
	t.Helper()
	var pc net.PacketConn
	if err := server.Do(func() (err error) {
		pc, err = net.ListenPacket("udp", ":53")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			var p dnsmessage.Parser
			h, err := p.Start(buf[:n])
			if err != nil {
				continue
			}
			q, err := p.Question()
			if err != nil {
				continue
			}
			resp := dnsmessage.Message{Header: dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true}, Questions: []dnsmessage.Question{q}}
			name := q.Name.String()
			a, ok := answers[name]
			switch {
			case strings.HasPrefix(name, "fail."):
				resp.RCode = dnsmessage.RCodeServerFailure
			case ok && q.Type == dnsmessage.TypeA:
				resp.Answers = []dnsmessage.Resource{{Header: dnsmessage.ResourceHeader{Name: q.Name, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET, TTL: 60}, Body: &dnsmessage.AResource{A: a.As4()}}}
			case ok:
			default:
				resp.RCode = dnsmessage.RCodeNameError
			}
			out, err := resp.Pack()
			if err == nil {
				_, _ = pc.WriteTo(out, from)
			}
		}
	}()
	dir := filepath.Join("/etc/netns", client.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	conf := fmt.Sprintf("nameserver %s\noptions timeout:1 attempts:1\n", server.Addr4)
	if err := os.WriteFile(filepath.Join(dir, "resolv.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCheckDNS(t *testing.T) {
	p := lab.NewPair(t)
	key := lab.NewUserKey(t, "ed25519")
	p.Server.StartSSHD(t, lab.SSHDOptions{AuthorizedKeys: []string{key.AuthorizedLine}})
	fakeDNS(t, p.Client, p.Server, map[string]netip.Addr{"web.sshdoctor.test.": p.Server.Addr4})

	r, code := run(t, p.Client, nil, append(noKeys(t), "root@nosuch.sshdoctor.test")...)
	ev := verdict(t, r, code, "dns.unresolved")
	if ev["name"] != "nosuch.sshdoctor.test" {
		t.Errorf("evidence = %v", ev)
	}
	r, code = run(t, p.Client, nil, append(noKeys(t), "root@fail.sshdoctor.test")...)
	verdict(t, r, code, "dns.failed")

	r, code = run(t, p.Client, nil, append(noKeys(t), "-i", key.PrivPath, "root@web.sshdoctor.test")...)
	if code != 0 || len(r.Target.Addresses) != 1 || r.Target.Addresses[0] != p.Server.Addr4.String() {
		t.Errorf("a name that resolves: exit %d, target %+v\n%s", code, r.Target, dump(r))
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for range 200 {
		if cond() {
			return
		}
		sleep()
	}
	t.Fatal("condition never became true")
}

func sleep() { time.Sleep(25 * time.Millisecond) }
