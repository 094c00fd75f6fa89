package diag_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"fmt"
	"io"
	"math/big"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/ssh"

	"github.com/sshdoctor/sshdoctor/internal/cli"
	"github.com/sshdoctor/sshdoctor/probe"
	"github.com/sshdoctor/sshdoctor/report"
)

// Hostile and broken servers on loopback. Each must yield the right code
// with its evidence, in bounded time, and nothing from the network may
// reach the terminal raw.

const escBanner = "SSH-2.0-\x1b]0;pwned\x07\x1b[2J"

// readIdent consumes the client's identification line, as sshd does before
// it answers.
func readIdent(c net.Conn) *bufio.Reader {
	br := bufio.NewReader(c)
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, _ = br.ReadString('\n')
	_ = c.SetReadDeadline(time.Time{})
	return br
}

// hold keeps the connection open until the client closes it.
func hold(c net.Conn) { _, _ = io.Copy(io.Discard, c) }

// kexInit builds a clear-text KEXINIT packet offering one algorithm per
// category that ssh's defaults accept.
func kexInit() []byte {
	lists := []string{"curve25519-sha256", "ssh-ed25519", "aes128-ctr", "aes128-ctr", "hmac-sha2-256", "hmac-sha2-256", "none", "none", "", ""}
	p := []byte{20}
	p = append(p, make([]byte, 16)...)
	for _, l := range lists {
		p = binary.BigEndian.AppendUint32(p, uint32(len(l)))
		p = append(p, l...)
	}
	p = append(p, 0, 0, 0, 0, 0)
	return frame(p)
}

func frame(payload []byte) []byte {
	pad := 8 - (5+len(payload))%8
	if pad < 4 {
		pad += 8
	}
	b := binary.BigEndian.AppendUint32(nil, uint32(1+len(payload)+pad))
	b = append(b, byte(pad))
	b = append(b, payload...)
	return append(b, make([]byte, pad)...)
}

func selfSignedTLS(t *testing.T) *tls.Config {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "hostile.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: k}}}
}

// sshElsewhere reports whether an SSH server answers on one of the default
// alternative ports of loopback, which would make ssh.other-port the
// verdict of a broken port: then the test checks the finding is there.
func sshElsewhere(port int) bool {
	for _, p := range probe.DefaultAltPorts {
		if p == port {
			continue
		}
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(p), time.Second)
		if err != nil {
			continue
		}
		_ = c.SetDeadline(time.Now().Add(time.Second))
		line, _ := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if strings.HasPrefix(line, "SSH-") {
			return true
		}
	}
	return false
}

func assertSafeText(t *testing.T, out string) {
	t.Helper()
	if i := strings.IndexAny(out, "\x1b\x07\x00\x7f\u009b\u202e"); i >= 0 {
		t.Errorf("raw control character %q in the human output at byte %d:\n%q", out[i], i, out)
	}
	// Invalid UTF-8 (a raw 0x9b is an 8-bit CSI on some terminals) must
	// have been escaped too.
	if !utf8.ValidString(out) {
		t.Errorf("invalid UTF-8 in the human output:\n%q", out)
	}
}

func TestHostileServers(t *testing.T) {
	tests := []struct {
		name    string
		handler func(t *testing.T) func(net.Conn)
		code    string
		check   func(t *testing.T, r *report.Report, out string)
	}{
		{
			name: "escape sequences in the banner",
			handler: func(*testing.T) func(net.Conn) {
				return func(c net.Conn) {
					readIdent(c)
					_, _ = c.Write([]byte(escBanner + "\r\n"))
				}
			},
			code: "ssh.kex-failed",
			check: func(t *testing.T, r *report.Report, out string) {
				want := `SSH-2.0-\e]0;pwned\x07\e[2J`
				if got := r.Find("ssh.kex-failed").Evidence.Get("server_version"); got != want {
					t.Errorf("server evidence %q, want %q", got, want)
				}
				if !strings.Contains(out, want) {
					t.Errorf("the escaped banner is not shown:\n%s", out)
				}
			},
		},
		{
			name: "endless lines before the banner",
			handler: func(*testing.T) func(net.Conn) {
				return func(c net.Conn) {
					for {
						if _, err := c.Write([]byte("Welcome! Please wait...\r\n")); err != nil {
							return
						}
					}
				}
			},
			code: "ssh.not-ssh",
			check: func(t *testing.T, r *report.Report, out string) {
				if got := r.Find("ssh.not-ssh").Evidence.Get("reason"); got != "too many lines before the identification (more than 1024)" {
					t.Errorf("reason %v", got)
				}
			},
		},
		{
			name: "slow drip",
			handler: func(*testing.T) func(net.Conn) {
				return func(c net.Conn) {
					for {
						if _, err := c.Write([]byte("S")); err != nil {
							return
						}
						time.Sleep(100 * time.Millisecond)
					}
				}
			},
			code: "ssh.no-banner",
			check: func(t *testing.T, r *report.Report, out string) {
				n, _ := r.Find("ssh.no-banner").Evidence.Get("bytes_received").(int)
				if n < 2 {
					t.Errorf("bytes_received %d: the drip is not counted", n)
				}
			},
		},
		{
			name: "10 KB line without a newline",
			handler: func(*testing.T) func(net.Conn) {
				return func(c net.Conn) {
					_, _ = c.Write(bytes.Repeat([]byte("A"), 10*1024))
					hold(c)
				}
			},
			code: "ssh.not-ssh",
			check: func(t *testing.T, r *report.Report, out string) {
				fd := r.Find("ssh.not-ssh")
				if got := fd.Evidence.Get("reason"); got != "a line longer than 8192 bytes" {
					t.Errorf("reason %v", got)
				}
				if got, _ := fd.Evidence.Get("first_bytes").(string); len(got) > 96 {
					t.Errorf("first_bytes is %d bytes long", len(got))
				}
			},
		},
		{
			name: "HTTP server",
			handler: func(*testing.T) func(net.Conn) {
				return func(c net.Conn) {
					readIdent(c)
					_, _ = c.Write([]byte("HTTP/1.1 400 Bad Request\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n<html>bad</html>"))
				}
			},
			code: "ssh.not-ssh",
			check: func(t *testing.T, r *report.Report, out string) {
				fd := r.Find("ssh.not-ssh")
				if fd.Evidence.Get("looks_like") != "HTTP" {
					t.Errorf("looks_like %v", fd.Evidence.Get("looks_like"))
				}
				if fb, _ := fd.Evidence.Get("first_bytes").(string); !strings.HasPrefix(fb, `HTTP/1.1 400 Bad Request\r\n`) {
					t.Errorf("first_bytes %q", fb)
				}
			},
		},
		{
			name: "TLS server",
			handler: func(t *testing.T) func(net.Conn) {
				cfg := selfSignedTLS(t)
				return func(c net.Conn) {
					tc := tls.Server(c, cfg)
					_ = tc.SetDeadline(time.Now().Add(10 * time.Second))
					if tc.Handshake() == nil {
						hold(tc)
					}
				}
			},
			code: "ssh.not-ssh",
			check: func(t *testing.T, r *report.Report, out string) {
				if got := r.Find("ssh.not-ssh").Evidence.Get("looks_like"); got != "TLS" {
					t.Errorf("looks_like %v", got)
				}
			},
		},
		{
			name:    "accepts and never speaks",
			handler: func(*testing.T) func(net.Conn) { return hold },
			code:    "ssh.no-banner",
			check: func(t *testing.T, r *report.Report, out string) {
				if got := r.Find("ssh.no-banner").Evidence.Get("bytes_received"); got != 0 {
					t.Errorf("bytes_received %v", got)
				}
			},
		},
		{
			name:    "closes at once",
			handler: func(*testing.T) func(net.Conn) { return func(net.Conn) {} },
			code:    "ssh.closed-before-banner",
			check: func(t *testing.T, r *report.Report, out string) {
				if got := r.Find("ssh.closed-before-banner").Evidence.Get("how"); got != "closed" && got != "reset" {
					t.Errorf("how %v", got)
				}
			},
		},
		{
			name: "Exceeded MaxStartups",
			handler: func(*testing.T) func(net.Conn) {
				return func(c net.Conn) {
					readIdent(c)
					_, _ = c.Write([]byte("Exceeded MaxStartups\r\n"))
				}
			},
			code: "ssh.closed-before-banner",
			check: func(t *testing.T, r *report.Report, out string) {
				fd := r.Find("ssh.closed-before-banner")
				if got, _ := fd.Evidence.Get("server_said").([]string); len(got) != 1 || got[0] != "Exceeded MaxStartups" {
					t.Errorf("server_said %v", fd.Evidence.Get("server_said"))
				}
				if !strings.Contains(fd.Detail, "MaxStartups") {
					t.Errorf("detail %q", fd.Detail)
				}
			},
		},
		{
			name: "KEXINIT with packet length 0xffffffff",
			handler: func(*testing.T) func(net.Conn) {
				return func(c net.Conn) {
					readIdent(c)
					_, _ = c.Write(append([]byte("SSH-2.0-Hostile_1\r\n"), 0xff, 0xff, 0xff, 0xff, 4, 20, 0, 0, 0))
					hold(c)
				}
			},
			code:  "ssh.kex-failed",
			check: wantKexError,
		},
		{
			name: "KEXINIT with padding beyond the packet",
			handler: func(*testing.T) func(net.Conn) {
				return func(c net.Conn) {
					readIdent(c)
					_, _ = c.Write(append([]byte("SSH-2.0-Hostile_1\r\n"), 0, 0, 0, 12, 200, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))
					hold(c)
				}
			},
			code:  "ssh.kex-failed",
			check: wantKexError,
		},
		{
			name: "KEXINIT with a name-list longer than the packet",
			handler: func(*testing.T) func(net.Conn) {
				return func(c net.Conn) {
					readIdent(c)
					p := append([]byte{20}, make([]byte, 16)...)
					p = append(p, 0x7f, 0xff, 0xff, 0xff, 'x')
					_, _ = c.Write(append([]byte("SSH-2.0-Hostile_1\r\n"), frame(p)...))
					hold(c)
				}
			},
			code:  "ssh.kex-failed",
			check: wantKexError,
		},
		{
			name: "KEXINIT then silence",
			handler: func(*testing.T) func(net.Conn) {
				return func(c net.Conn) {
					readIdent(c)
					_, _ = c.Write(append([]byte("SSH-2.0-OpenSSH_9.2p1 Stalled\r\n"), kexInit()...))
					hold(c)
				}
			},
			code: "ssh.kex-stalled",
			check: func(t *testing.T, r *report.Report, out string) {
				fd := r.Find("ssh.kex-stalled")
				if w, _ := fd.Evidence.Get("waited_for").(string); !strings.Contains(w, "key exchange reply") {
					t.Errorf("waited_for %q", w)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			port := serve(t, tt.handler(t))
			r, _ := run(t, options(t, port))
			out := text(t, r)
			assertSafeText(t, out)
			if r.Verdict == nil {
				t.Fatalf("no verdict:\n%s", out)
			}
			if r.Verdict.Code != tt.code {
				if r.Verdict.Code == "ssh.other-port" && r.Has(tt.code) && sshElsewhere(port) {
					t.Logf("an SSH server on another loopback port makes ssh.other-port the verdict")
				} else {
					t.Fatalf("verdict %s, want %s\n%s", r.Verdict.Code, tt.code, out)
				}
			}
			tt.check(t, r, out)
			if doc := jsonDoc(t, r); strings.ContainsAny(doc, "\x1b\x07") {
				t.Errorf("raw control characters in the JSON document")
			}
		})
	}
}

func wantKexError(t *testing.T, r *report.Report, out string) {
	t.Helper()
	fd := r.Find("ssh.kex-failed")
	if e, _ := fd.Evidence.Get("error").(string); e == "" {
		t.Errorf("no error in the evidence: %+v", fd.Evidence)
	}
	if fd.Evidence.Get("server_version") != "SSH-2.0-Hostile_1" {
		t.Errorf("server evidence %v", fd.Evidence.Get("server_version"))
	}
}

// A real SSH server whose version string carries DEL, a raw C1 byte and a
// bidi override (all of which x/crypto lets through): the whole check runs,
// and none of it reaches the terminal raw.
func TestHostileVersionThroughFullCheck(t *testing.T) {
	s := startSSH(t, &ssh.ServerConfig{ServerVersion: "SSH-2.0-Evil\x7f\x9b2J\u202eSoft"})
	r, _ := run(t, options(t, s.port))
	out := text(t, r)
	assertSafeText(t, out)
	if bytes.IndexByte([]byte(out), 0x9b) >= 0 {
		t.Errorf("raw 0x9b (8-bit CSI) in the output:\n%q", out)
	}
	if !strings.Contains(out, `SSH-2.0-Evil\x7f\x9b2J\u{202e}Soft`) {
		t.Errorf("the escaped version is not shown:\n%s", out)
	}
	wantVerdict(t, r, "auth.no-keys")
}

// The same through the command line, as a user runs it.
func TestHostileBannerThroughCLI(t *testing.T) {
	port := serve(t, func(c net.Conn) {
		readIdent(c)
		_, _ = c.Write([]byte(escBanner + "\r\n"))
	})
	var stdout, stderr bytes.Buffer
	done := make(chan int, 1)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	go func() {
		done <- cli.Main(ctx, []string{"check", "-F", "none", "--known-hosts", "/dev/null", "--timeout", "2s", "-p", fmt.Sprint(port), "127.0.0.1"}, &stdout, &stderr)
	}()
	var code int
	select {
	case code = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("sshdoctor check did not return")
	}
	if code != report.ExitFailed {
		t.Errorf("exit %d, want 1; stderr: %s", code, stderr.String())
	}
	assertSafeText(t, stdout.String())
	assertSafeText(t, stderr.String())
	if !strings.Contains(stdout.String(), `SSH-2.0-\e]0;pwned\x07\e[2J`) {
		t.Errorf("the banner is not shown escaped:\n%s", stdout.String())
	}
}
