package probe

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// testServer is an x/crypto SSH server on loopback.
type testServer struct {
	addr    netip.AddrPort
	hostKey ssh.Signer
	mu      sync.Mutex
	queries []string // fingerprints the server was asked about, in order
}

func (s *testServer) asked() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.queries...)
}

// startSSHServer serves cfg on 127.0.0.1; accept lists the keys the
// server accepts for any user. cfg may be nil.
func startSSHServer(t *testing.T, cfg *ssh.ServerConfig, accept ...ssh.PublicKey) *testServer {
	t.Helper()
	_, hk, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(hk)
	if err != nil {
		t.Fatal(err)
	}
	s := &testServer{hostKey: signer}
	if cfg == nil {
		cfg = &ssh.ServerConfig{}
	}
	cfg.AddHostKey(signer)
	cfg.PublicKeyCallback = func(_ ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
		s.mu.Lock()
		s.queries = append(s.queries, ssh.FingerprintSHA256(key))
		s.mu.Unlock()
		for _, a := range accept {
			if bytes.Equal(a.Marshal(), key.Marshal()) {
				return nil, nil
			}
		}
		return nil, errors.New("not authorized")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	s.addr = netip.MustParseAddrPort(ln.Addr().String())
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(30 * time.Second))
				sc, chans, reqs, err := ssh.NewServerConn(c, cfg)
				if err != nil {
					return
				}
				defer sc.Close()
				go ssh.DiscardRequests(reqs)
				for ch := range chans {
					_ = ch.Reject(ssh.Prohibited, "test server")
				}
			}()
		}
	}()
	return s
}

func clientKey(t testing.TB, k crypto.Signer, name string) ClientKey {
	t.Helper()
	pk := sshPub(t, k)
	return ClientKey{Source: "file", Path: "/keys/" + name, PubFrom: "/keys/" + name + ".pub", Type: pk.Type(), Fingerprint: ssh.FingerprintSHA256(pk), Key: pk}
}

func dialBanner(ctx context.Context, addr netip.AddrPort) (net.Conn, BannerFacts, error) {
	c, a := Dialer{Timeout: 5 * time.Second}.Connect(ctx, addr)
	if c == nil {
		return nil, BannerFacts{}, fmt.Errorf("connect: %s", a.Message)
	}
	b := ReadBanner(c, time.Now().Add(5*time.Second))
	if b.Outcome != BannerSSH {
		c.Close()
		return nil, b, fmt.Errorf("banner: %s", b.Outcome)
	}
	return c, b, nil
}

func probeSSH(t *testing.T, s *testServer, o SSHOptions) SSHFacts {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, b, err := dialBanner(ctx, s.addr)
	if err != nil {
		t.Fatal(err)
	}
	if o.User == "" {
		o.User = "bob"
	}
	if o.Timeout == 0 {
		o.Timeout = 5 * time.Second
	}
	o.Redial = func(ctx context.Context) (net.Conn, BannerFacts, error) { return dialBanner(ctx, s.addr) }
	return ProbeSSH(ctx, c, b, o)
}

func results(a AuthFacts) string {
	var s []string
	for _, r := range a.Keys {
		s = append(s, fmt.Sprintf("%s:%s@%d.%d", strings.TrimPrefix(r.Key.Path, "/keys/"), r.Result, r.Conn, r.Position))
	}
	return strings.Join(s, " ")
}

func TestProbeSSHAccepted(t *testing.T) {
	keys := genKeys(t)
	good, bad := clientKey(t, keys["ed25519"], "good"), clientKey(t, keys["ecdsa"], "bad")
	s := startSSHServer(t, nil, good.Key)
	f := probeSSH(t, s, SSHOptions{Keys: []ClientKey{bad, good}})

	if !f.Kex.Done || f.Kex.Err != "" || f.Kex.Server == nil || len(f.Kex.Server.KexAlgos) == 0 {
		t.Errorf("kex: done %v err %q server KEXINIT %+v (%s)", f.Kex.Done, f.Kex.Err, f.Kex.Server, f.Kex.ServerErr)
	}
	if f.HostKey == nil || f.HostKey.Fingerprint != ssh.FingerprintSHA256(s.hostKey.PublicKey()) {
		t.Errorf("host key = %+v, want the server's", f.HostKey)
	}
	if got, want := results(f.Auth), "bad:refused@1.1 good:accepted@1.2"; got != want {
		t.Errorf("results = %s, want %s", got, want)
	}
	if acc := f.Auth.Accepted(); acc == nil || acc.Algorithm != ssh.KeyAlgoED25519 {
		t.Errorf("Accepted() = %+v", acc)
	}
	if !f.Auth.Reached || f.Auth.Connections != 1 || f.Auth.Err != "" {
		t.Errorf("auth: reached %v connections %d err %q", f.Auth.Reached, f.Auth.Connections, f.Auth.Err)
	}
	if len(f.Auth.Methods) == 0 || f.Auth.Methods[0] != "publickey" {
		t.Errorf("Methods = %q", f.Auth.Methods)
	}
}

func TestProbeSSHTooManyKeys(t *testing.T) {
	keys := genKeys(t)
	_, e2, _ := ed25519.GenerateKey(rand.Reader)
	k1, k2, k3 := clientKey(t, keys["ecdsa"], "k1"), clientKey(t, keys["rsa"], "k2"), clientKey(t, e2, "k3")
	good := clientKey(t, keys["ed25519"], "good")
	s := startSSHServer(t, &ssh.ServerConfig{MaxAuthTries: 3}, good.Key)
	f := probeSSH(t, s, SSHOptions{Keys: []ClientKey{k1, k2, k3, good}})

	// MaxAuthTries 3: two refusals are answered, the third is answered by
	// the disconnect itself; a second connection asks for the rest.
	if got, want := results(f.Auth), "k1:refused@1.1 k2:refused@1.2 k3:refused@1.3 good:accepted@2.1"; got != want {
		t.Errorf("results = %s, want %s", got, want)
	}
	if f.Auth.RefusedBeforeDisconnect != 3 || f.Auth.Connections != 2 || len(f.Auth.Disconnects) != 1 {
		t.Errorf("refused before disconnect %d, connections %d, disconnects %q", f.Auth.RefusedBeforeDisconnect, f.Auth.Connections, f.Auth.Disconnects)
	}
	if f.Auth.Err != "" {
		t.Errorf("Err = %q", f.Auth.Err)
	}
}

func TestProbeSSHNoSignatureAlgorithm(t *testing.T) {
	keys := genKeys(t)
	rsaKey := clientKey(t, keys["rsa"], "id_rsa")
	ed := clientKey(t, keys["ed25519"], "id_ed25519")
	// An old server that only verifies ssh-rsa (SHA-1) signatures, and a
	// client that refuses SHA-1.
	s := startSSHServer(t, &ssh.ServerConfig{PublicKeyAuthAlgorithms: []string{ssh.KeyAlgoRSA, ssh.KeyAlgoED25519}}, rsaKey.Key)
	f := probeSSH(t, s, SSHOptions{Keys: []ClientKey{rsaKey, ed},
		PubkeyAlgorithms: []string{ssh.KeyAlgoED25519, ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256}})
	if got, want := results(f.Auth), "id_rsa:no-signature-algorithm@1.0 id_ed25519:refused@1.2"; got != want {
		t.Errorf("results = %s, want %s", got, want)
	}
	for _, fp := range s.asked() {
		if fp == rsaKey.Fingerprint {
			t.Errorf("the RSA key was sent to the server although no signature algorithm is shared")
		}
	}
}

func TestProbeSSHSkipsExcludedTypes(t *testing.T) {
	keys := genKeys(t)
	ec := clientKey(t, keys["ecdsa"], "id_ecdsa")
	s := startSSHServer(t, nil)
	f := probeSSH(t, s, SSHOptions{Keys: []ClientKey{ec}, PubkeyAlgorithms: []string{ssh.KeyAlgoED25519}})
	if got, want := results(f.Auth), "id_ecdsa:skipped@0.0"; got != want {
		t.Errorf("results = %s, want %s", got, want)
	}
	if len(s.asked()) != 0 {
		t.Errorf("the server was asked about %q", s.asked())
	}
}

func TestProbeSSHHostKeyGateSendsNothing(t *testing.T) {
	keys := genKeys(t)
	k := clientKey(t, keys["ed25519"], "id_ed25519")
	s := startSSHServer(t, nil, k.Key)
	f := probeSSH(t, s, SSHOptions{Keys: []ClientKey{k}, HostKeyGate: func(*PresentedKey) error {
		return errors.New("host key refused: hostkey.changed")
	}})
	if f.Auth.Refused == "" || f.HostKey == nil {
		t.Errorf("Refused %q, host key %v: want the gate's reason and the key", f.Auth.Refused, f.HostKey)
	}
	if len(s.asked()) != 0 {
		t.Errorf("a public key was sent to a host whose key was refused: %q", s.asked())
	}
	if f.Auth.Accepted() != nil {
		t.Errorf("a key counts as accepted")
	}
}

func TestProbeSSHKexMismatch(t *testing.T) {
	s := startSSHServer(t, &ssh.ServerConfig{Config: ssh.Config{KeyExchanges: []string{ssh.KeyExchangeDH14SHA256}}})
	f := probeSSH(t, s, SSHOptions{KexAlgorithms: []string{ssh.KeyExchangeCurve25519}, Keys: []ClientKey{}})
	n := f.Kex.Negotiation
	if n == nil || !strings.Contains(n.What, "key exchange") {
		t.Fatalf("Negotiation = %+v (err %q), want a key exchange mismatch", n, f.Kex.Err)
	}
	if len(n.Client) == 0 || n.Client[0] != ssh.KeyExchangeCurve25519 {
		t.Errorf("client list = %q", n.Client)
	}
	found := false
	for _, a := range n.Server {
		found = found || a == ssh.KeyExchangeDH14SHA256
	}
	if !found {
		t.Errorf("server list = %q", n.Server)
	}
	if f.Kex.Server == nil {
		t.Errorf("the server's KEXINIT was not kept: %s", f.Kex.ServerErr)
	}
	if f.Kex.Done {
		t.Errorf("Done = true on a mismatch")
	}
}

func TestProbeSSHNoneAccepted(t *testing.T) {
	s := startSSHServer(t, &ssh.ServerConfig{NoClientAuth: true})
	f := probeSSH(t, s, SSHOptions{Keys: []ClientKey{}})
	if !f.Auth.NoneAccepted || !f.Kex.Done {
		t.Errorf("NoneAccepted %v Done %v, want both", f.Auth.NoneAccepted, f.Kex.Done)
	}
}

// A 254-byte identification ended by a bare LF is valid (ssh reads lines up
// to 8192 bytes) and ReadBanner accepts it; the replay to the SSH library
// must not push it past the library's own 255-byte limit.
func TestProbeSSHLongIdentification(t *testing.T) {
	ident := "SSH-2.0-" + strings.Repeat("x", 254-len("SSH-2.0-"))
	kex := packet(kexInitPayload(openSSHLists, false))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = c.Write(append([]byte(ident+"\n"), kex...))
		time.Sleep(3 * time.Second)
	}()
	ctx := context.Background()
	c, b, err := dialBanner(ctx, netip.MustParseAddrPort(ln.Addr().String()))
	if err != nil {
		t.Fatalf("a 254-byte identification: %v", err)
	}
	f := ProbeSSH(ctx, c, b, SSHOptions{User: "bob", Timeout: time.Second, Keys: []ClientKey{}})
	if strings.Contains(f.Kex.Err, "overflow reading version string") {
		t.Errorf("the replayed identification overflows the library: %s", f.Kex.Err)
	}
}

// With MaxAuthTries 1 the server disconnects at the first refused key, on
// every connection: the probe must still move on to the next key instead
// of asking about the same one again on each new connection.
func TestProbeSSHMaxAuthTriesOne(t *testing.T) {
	keys := genKeys(t)
	bad, good := clientKey(t, keys["ecdsa"], "bad"), clientKey(t, keys["ed25519"], "good")
	s := startSSHServer(t, &ssh.ServerConfig{MaxAuthTries: 1}, good.Key)
	f := probeSSH(t, s, SSHOptions{Keys: []ClientKey{bad, good}})
	if acc := f.Auth.Accepted(); acc == nil || acc.Key.Path != good.Path {
		t.Errorf("results = %s (%d connections), want the second key found accepted", results(f.Auth), f.Auth.Connections)
	}
}
