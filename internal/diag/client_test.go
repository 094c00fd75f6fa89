package diag_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/sshdoctor/sshdoctor/dest"
	"github.com/sshdoctor/sshdoctor/internal/diag"
	"github.com/sshdoctor/sshdoctor/probe"
	"github.com/sshdoctor/sshdoctor/report"
)

// Everything here talks to listeners on 127.0.0.1 that the test starts.

const stepTimeout = 2 * time.Second

// options checks 127.0.0.1:port with no ssh configuration, an empty home
// (so no default keys), no agent and an empty known_hosts, like
// `sshdoctor check -F none --known-hosts /dev/null --timeout 2s -p PORT`.
func options(t *testing.T, port int) diag.CheckOptions {
	t.Helper()
	home := t.TempDir()
	env := func(k string) string {
		if k == "HOME" {
			return home
		}
		return ""
	}
	return diag.CheckOptions{
		Input:      "127.0.0.1",
		Dest:       dest.Options{ConfigFile: "none", Port: port, Home: home, Env: env},
		KnownHosts: []string{os.DevNull},
		Timeout:    stepTimeout,
		Env:        env,
		// The fake servers run on loopback: inspecting this machine's own
		// sshd as well would only add noise.
		NoServer: true,
	}
}

// run runs diag.Check and fails the test if it does not return in good
// time. The limit is a safety net, far above what any step may take.
func run(t *testing.T, o diag.CheckOptions) (*report.Report, *probe.Facts) {
	t.Helper()
	limit := 6*o.Timeout + 10*time.Second
	ctx, cancel := context.WithTimeout(context.Background(), limit+10*time.Second)
	defer cancel()
	type result struct {
		r   *report.Report
		f   *probe.Facts
		err error
	}
	done := make(chan result, 1)
	start := time.Now()
	go func() {
		r, f, err := diag.Check(ctx, o)
		done <- result{r, f, err}
	}()
	select {
	case res := <-done:
		t.Logf("diag.Check returned after %v", time.Since(start).Round(time.Millisecond))
		if res.err != nil {
			t.Fatalf("diag.Check: %v", res.err)
		}
		return res.r, res.f
	case <-time.After(limit):
		t.Fatalf("diag.Check did not return within %v (timeout %v per step)", limit, o.Timeout)
		return nil, nil
	}
}

func text(t *testing.T, r *report.Report) string {
	t.Helper()
	var b bytes.Buffer
	if err := report.WriteText(&b, r, report.TextOptions{}); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func jsonDoc(t *testing.T, r *report.Report) string {
	t.Helper()
	var b bytes.Buffer
	if err := report.WriteJSON(&b, r); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func wantVerdict(t *testing.T, r *report.Report, code string) {
	t.Helper()
	if r.Verdict == nil || r.Verdict.Code != code {
		got := "none"
		if r.Verdict != nil {
			got = r.Verdict.Code
		}
		t.Fatalf("verdict %s, want %s\n%s", got, code, text(t, r))
	}
	if r.OK || r.ExitCode() != report.ExitFailed {
		t.Errorf("OK %v exit %d for a failing report", r.OK, r.ExitCode())
	}
}

func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return p
}

func TestCheckRefused(t *testing.T) {
	port := closedPort(t)
	r, f := run(t, options(t, port))
	wantVerdict(t, r, "tcp.refused")
	fd := r.Find("tcp.refused")
	if fd.Evidence.Get("port") != port || fd.Evidence.Get("ssh_says") != "Connection refused" {
		t.Errorf("evidence %+v", fd.Evidence)
	}
	if r.Target == nil || r.Target.Host != "127.0.0.1" || r.Target.Port != port || !slices.Equal(r.Target.Addresses, []string{"127.0.0.1"}) {
		t.Errorf("target %+v", r.Target)
	}
	var steps []string
	for _, s := range r.Steps {
		steps = append(steps, s.Name+":"+s.Status)
	}
	if got, want := strings.Join(steps, " "), "destination:ok dns:ok tcp:fail banner:skip kex:skip hostkey:skip auth:skip"; got != want {
		t.Errorf("steps %s, want %s", got, want)
	}
	if f.AltPorts == nil {
		t.Errorf("no search for SSH on other ports after a refusal")
	}
}

func TestCheckBadDestination(t *testing.T) {
	o := options(t, 0)
	for _, in := range []string{"", "host:0", "[::1", "user@", "-oProxyCommand=x"} {
		o.Input = in
		_, _, err := diag.Check(context.Background(), o)
		var de *dest.Error
		if !errors.As(err, &de) {
			t.Errorf("Check(%q): err = %v, want a *dest.Error", in, err)
		}
	}
}

type fakeResolver struct{ err error }

func (r fakeResolver) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	return nil, r.err
}

func TestCheckDNS(t *testing.T) {
	o := options(t, 22)
	o.Input = "web1.invalid"
	o.Resolver = fakeResolver{&net.DNSError{Err: "no such host", Name: "web1.invalid", IsNotFound: true}}
	r, _ := run(t, o)
	wantVerdict(t, r, "dns.unresolved")

	o.Resolver = fakeResolver{&net.DNSError{Err: "i/o timeout", Name: "web1.invalid", IsTimeout: true}}
	r, _ = run(t, o)
	wantVerdict(t, r, "dns.failed")
}

// sshServer is an x/crypto SSH server on 127.0.0.1 that accepts the given
// keys for any user.
type sshServer struct {
	port    int
	hostKey ssh.Signer
	mu      sync.Mutex
	asked   int
}

func startSSH(t *testing.T, cfg *ssh.ServerConfig, accept ...ssh.PublicKey) *sshServer {
	t.Helper()
	_, hk, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(hk)
	if err != nil {
		t.Fatal(err)
	}
	s := &sshServer{hostKey: signer}
	if cfg == nil {
		cfg = &ssh.ServerConfig{}
	}
	cfg.AddHostKey(signer)
	cfg.PublicKeyCallback = func(_ ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
		s.mu.Lock()
		s.asked++
		s.mu.Unlock()
		for _, a := range accept {
			if bytes.Equal(a.Marshal(), key.Marshal()) {
				return nil, nil
			}
		}
		return nil, errors.New("not authorized")
	}
	s.port = serve(t, func(c net.Conn) {
		sc, chans, reqs, err := ssh.NewServerConn(c, cfg)
		if err != nil {
			return
		}
		defer sc.Close()
		go ssh.DiscardRequests(reqs)
		for ch := range chans {
			_ = ch.Reject(ssh.Prohibited, "test server")
		}
	})
	return s
}

func (s *sshServer) queries() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.asked
}

// serve runs handler for every connection to a new 127.0.0.1 listener and
// closes the listener and every connection when the test ends.
func serve(t *testing.T, handler func(net.Conn)) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				handler(c)
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

// writeKey writes an ed25519 identity file (and its .pub) with a mode.
func writeKey(t *testing.T, dir, name string, mode os.FileMode) (string, ssh.PublicKey) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	blk, err := ssh.MarshalPrivateKey(priv, name)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, pem.EncodeToMemory(blk), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	pub, err := ssh.NewPublicKey(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p+".pub", ssh.MarshalAuthorizedKey(pub), 0o644); err != nil {
		t.Fatal(err)
	}
	return p, pub
}

func TestCheckHealthy(t *testing.T) {
	dir := t.TempDir()
	bad, _ := writeKey(t, dir, "id_old", 0o600)
	good, pub := writeKey(t, dir, "id_work", 0o600)
	s := startSSH(t, nil, pub)
	o := options(t, s.port)
	o.Dest.Identities = []string{bad, good}
	r, f := run(t, o)
	if !r.OK || r.Verdict != nil {
		t.Fatalf("not OK:\n%s", text(t, r))
	}
	if !r.Has("hostkey.unknown") {
		t.Errorf("no hostkey.unknown with an empty known_hosts")
	}
	if acc := f.SSH.Auth.Accepted(); acc == nil || acc.Key.Path != good {
		t.Errorf("accepted %+v, want %s", acc, good)
	}
	if !strings.Contains(r.OKSummary, ssh.FingerprintSHA256(pub)) {
		t.Errorf("OK summary %q does not name the key", r.OKSummary)
	}
	if doc := jsonDoc(t, r); !strings.Contains(doc, `"verdict": null`) || !strings.Contains(doc, `"ok": true`) {
		t.Errorf("JSON:\n%s", doc)
	}
}

func TestCheckHostKeyChanged(t *testing.T) {
	dir := t.TempDir()
	key, pub := writeKey(t, dir, "id_ed25519", 0o600)
	s := startSSH(t, nil, pub)
	_, stale := writeKey(t, dir, "stale_host_key", 0o600)
	kh := filepath.Join(dir, "known_hosts")
	line := "[127.0.0.1]:" + strconv.Itoa(s.port) + " " + string(ssh.MarshalAuthorizedKey(stale))
	if err := os.WriteFile(kh, []byte("# first line\n"+line), 0o600); err != nil {
		t.Fatal(err)
	}
	o := options(t, s.port)
	o.KnownHosts = []string{kh}
	o.Dest.Identities = []string{key}
	r, _ := run(t, o)
	wantVerdict(t, r, "hostkey.changed")
	fd := r.Find("hostkey.changed")
	if got := fd.Evidence.Get("known_at"); !slices.Equal(got.([]string), []string{kh + ":2"}) {
		t.Errorf("known_at = %v", got)
	}
	if s.queries() != 0 {
		t.Errorf("the client's public key was sent to a host whose key changed (%d queries)", s.queries())
	}
}

func TestCheckKeyNotAccepted(t *testing.T) {
	dir := t.TempDir()
	key, _ := writeKey(t, dir, "id_ed25519", 0o600)
	s := startSSH(t, nil)
	o := options(t, s.port)
	o.Dest.Identities = []string{key}
	r, _ := run(t, o)
	wantVerdict(t, r, "auth.key-not-accepted")
}

func TestCheckNoKeys(t *testing.T) {
	s := startSSH(t, nil)
	r, _ := run(t, options(t, s.port))
	wantVerdict(t, r, "auth.no-keys")
}

func TestCheckTooManyKeys(t *testing.T) {
	dir := t.TempDir()
	var ids []string
	for _, n := range []string{"k1", "k2", "k3"} {
		p, _ := writeKey(t, dir, n, 0o600)
		ids = append(ids, p)
	}
	good, pub := writeKey(t, dir, "good", 0o600)
	s := startSSH(t, &ssh.ServerConfig{MaxAuthTries: 3}, pub)
	o := options(t, s.port)
	o.Dest.Identities = append(ids, good)
	r, _ := run(t, o)
	wantVerdict(t, r, "auth.too-many-keys")
	fd := r.Find("auth.too-many-keys")
	if fd.Evidence.Get("position") != 4 || fd.Evidence.Get("max_auth_tries_inferred") != 3 {
		t.Errorf("evidence %+v, want position 4 and MaxAuthTries 3", fd.Evidence)
	}
}

func TestCheckKeyPermissions(t *testing.T) {
	dir := t.TempDir()
	key, pub := writeKey(t, dir, "id_ed25519", 0o644)
	s := startSSH(t, nil, pub)
	o := options(t, s.port)
	o.Dest.Identities = []string{key}
	r, _ := run(t, o)
	wantVerdict(t, r, "client.key-permissions")
	if got := r.Find("client.key-permissions").Evidence.Get("mode"); got != "0644" {
		t.Errorf("mode evidence %v", got)
	}
}

// A server that verifies RSA user keys only with ssh-rsa (SHA-1) while its
// own host key is RSA with rsa-sha2-* signatures (OpenSSH 8.8+ turned the
// ssh-rsa host key algorithm off): the follow-up query that names ssh-rsa
// must still agree on a host key algorithm, or the SHA-1-only server goes
// unnoticed.
func TestCheckSHA1OnlyServerWithRSAHostKey(t *testing.T) {
	hk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	hostSigner, err := ssh.NewSignerFromKey(hk)
	if err != nil {
		t.Fatal(err)
	}
	uk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	userPub, err := ssh.NewPublicKey(&uk.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	blk, err := ssh.MarshalPrivateKey(uk, "rsa user key")
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "id_rsa")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(blk), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := &ssh.ServerConfig{PublicKeyAuthAlgorithms: []string{ssh.KeyAlgoRSA, ssh.KeyAlgoED25519}}
	// Like OpenSSH 8.8+: the RSA host key signs with rsa-sha2-* only.
	modern, err := ssh.NewSignerWithAlgorithms(hostSigner.(ssh.AlgorithmSigner), []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256})
	if err != nil {
		t.Fatal(err)
	}
	cfg.AddHostKey(modern)
	cfg.PublicKeyCallback = func(_ ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
		if bytes.Equal(key.Marshal(), userPub.Marshal()) {
			return nil, nil
		}
		return nil, errors.New("not authorized")
	}
	port := serve(t, func(c net.Conn) {
		sc, chans, reqs, err := ssh.NewServerConn(c, cfg)
		if err != nil {
			return
		}
		defer sc.Close()
		go ssh.DiscardRequests(reqs)
		for ch := range chans {
			_ = ch.Reject(ssh.Prohibited, "test server")
		}
	})
	o := options(t, port)
	o.Dest.Identities = []string{keyFile}
	r, _ := run(t, o)
	wantVerdict(t, r, "auth.signature-algorithm")
}
