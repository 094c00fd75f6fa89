package probe

import (
	"bytes"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"time"
)

// pipeServer returns the client end of an in-memory connection whose server
// end drains what the client sends and runs serve. The server end is
// closed when serve returns and close is true; otherwise it stays open
// until the test ends.
func pipeServer(t testing.TB, close bool, serve func(c net.Conn)) net.Conn {
	t.Helper()
	cli, srv := net.Pipe()
	go func() { _, _ = io.Copy(io.Discard, srv) }()
	go func() {
		serve(srv)
		if close {
			srv.Close()
		}
	}()
	t.Cleanup(func() { cli.Close(); srv.Close() })
	return cli
}

func send(data ...string) func(net.Conn) {
	return func(c net.Conn) {
		for _, d := range data {
			if _, err := c.Write([]byte(d)); err != nil {
				return
			}
		}
	}
}

// readBanner runs ReadBanner with a deadline and fails the test if it does
// not return well after it.
func readBanner(t testing.TB, c net.Conn, d time.Duration) BannerFacts {
	t.Helper()
	done := make(chan BannerFacts, 1)
	go func() { done <- ReadBanner(c, time.Now().Add(d)) }()
	select {
	case f := <-done:
		return f
	case <-time.After(d + 10*time.Second):
		t.Fatalf("ReadBanner did not return within its deadline (%v) plus 10s", d)
		return BannerFacts{}
	}
}

func TestReadBannerSSH(t *testing.T) {
	tests := []struct {
		name, data                       string
		ident, proto, software, comments string
		pre                              []string
		rest                             string
	}{
		{name: "OpenSSH", data: "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n",
			ident: "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3", proto: "2.0", software: "OpenSSH_9.2p1", comments: "Debian-2+deb12u3"},
		{name: "LF only", data: "SSH-2.0-dropbear_2022.83\n",
			ident: "SSH-2.0-dropbear_2022.83", proto: "2.0", software: "dropbear_2022.83"},
		{name: "1.99", data: "SSH-1.99-Cisco-1.25\r\n", ident: "SSH-1.99-Cisco-1.25", proto: "1.99", software: "Cisco-1.25"},
		{name: "lines before the identification", data: "Welcome to web1\r\nAuthorized use only\r\nSSH-2.0-OpenSSH_8.4\r\n",
			ident: "SSH-2.0-OpenSSH_8.4", proto: "2.0", software: "OpenSSH_8.4", pre: []string{"Welcome to web1", "Authorized use only"}},
		{name: "binary protocol follows", data: "SSH-2.0-OpenSSH_9.2\r\n\x00\x00\x01\x0c\x0a\x14",
			ident: "SSH-2.0-OpenSSH_9.2", proto: "2.0", software: "OpenSSH_9.2", rest: "\x00\x00\x01\x0c\x0a\x14"},
		{name: "split across writes", data: "SS|H-2.0-x|yz\r|\n",
			ident: "SSH-2.0-xyz", proto: "2.0", software: "xyz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := pipeServer(t, false, send(strings.Split(tt.data, "|")...))
			f := readBanner(t, c, 5*time.Second)
			if f.Outcome != BannerSSH {
				t.Fatalf("Outcome = %q (kind %q, reason %q), want ssh", f.Outcome, f.Kind, f.Reason)
			}
			if f.Ident != tt.ident || f.ProtoVersion != tt.proto || f.Software != tt.software || f.Comments != tt.comments {
				t.Errorf("got ident %q proto %q software %q comments %q", f.Ident, f.ProtoVersion, f.Software, f.Comments)
			}
			if !slices.Equal(f.PreLines, tt.pre) {
				t.Errorf("PreLines = %q, want %q", f.PreLines, tt.pre)
			}
			if tt.rest != "" && !bytes.HasPrefix(f.rest, []byte(tt.rest)) {
				t.Errorf("rest = %q, want it to start with %q (replayed to the SSH library)", f.rest, tt.rest)
			}
		})
	}
}

func TestReadBannerNotSSH(t *testing.T) {
	tests := []struct {
		name, data string
		close      bool
		outcome    BannerOutcome
		kind       string // exact, or prefix when it ends in '*'
		reason     string // substring
	}{
		{name: "HTTP", data: "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", close: true, outcome: BannerNotSSH, kind: "HTTP"},
		{name: "TLS alert", data: "\x15\x03\x03\x00\x02\x02\x46", close: true, outcome: BannerNotSSH, kind: "TLS"},
		{name: "SMTP", data: "220 mail.example.com ESMTP Postfix\r\n", outcome: BannerNotSSH, kind: "SMTP"},
		{name: "old protocol", data: "SSH-1.5-OldServer\r\n", outcome: BannerNotSSH, kind: "SSH protocol 1.5*", reason: "unsupported"},
		{name: "long line", data: strings.Repeat("A", 10*1024), outcome: BannerNotSSH, reason: "longer than 8192"},
		{name: "long identification", data: "SSH-2.0-" + strings.Repeat("A", 300) + "\n", outcome: BannerNotSSH, reason: "longer than 255"},
		{name: "long notice before the identification is fine", data: strings.Repeat("A", 300) + "\r\nSSH-2.0-OpenSSH_9.2\r\n", outcome: BannerSSH},
		{name: "binary before identification", data: "abc\x00def\n", outcome: BannerNotSSH, reason: "binary"},
		{name: "MaxStartups", data: "Exceeded MaxStartups\r\n", close: true, outcome: BannerClosed, kind: "text: sshd MaxStartups"},
		{name: "PerSourcePenalties", data: "Not allowed at this time\r\n", close: true, outcome: BannerClosed, kind: "text: sshd PerSourcePenalties"},
		{name: "closed at once", data: "", close: true, outcome: BannerClosed},
		{name: "silent", data: "", outcome: BannerTimeout, reason: "no data"},
		{name: "partial line then silence", data: "SSH-2.0-slo", outcome: BannerTimeout, reason: "data but no identification"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := pipeServer(t, tt.close, send(tt.data))
			f := readBanner(t, c, 300*time.Millisecond)
			if f.Outcome != tt.outcome {
				t.Fatalf("Outcome = %q (kind %q, reason %q), want %q", f.Outcome, f.Kind, f.Reason, tt.outcome)
			}
			if k, ok := strings.CutSuffix(tt.kind, "*"); ok {
				if !strings.HasPrefix(f.Kind, k) {
					t.Errorf("Kind = %q, want prefix %q", f.Kind, k)
				}
			} else if f.Kind != tt.kind {
				t.Errorf("Kind = %q, want %q", f.Kind, tt.kind)
			}
			if !strings.Contains(f.Reason, tt.reason) {
				t.Errorf("Reason = %q, want it to mention %q", f.Reason, tt.reason)
			}
			// An identification of another protocol version is kept as
			// evidence; anything else leaves Ident empty.
			if f.Ident != "" && f.Outcome != BannerSSH && !strings.HasPrefix(f.Kind, "SSH protocol") {
				t.Errorf("Ident = %q for a non-SSH answer", f.Ident)
			}
			if len(f.First) > firstBytesShown || !strings.HasPrefix(tt.data, string(f.First)) {
				t.Errorf("First = %q: not a prefix of what was sent, or too long", f.First)
			}
		})
	}
}

func TestReadBannerEndlessLines(t *testing.T) {
	c := pipeServer(t, false, func(c net.Conn) {
		for {
			if _, err := c.Write([]byte("still not ssh\r\n")); err != nil {
				return
			}
		}
	})
	f := readBanner(t, c, 5*time.Second)
	if f.Outcome != BannerNotSSH || !strings.Contains(f.Reason, "too many lines") {
		t.Errorf("Outcome %q reason %q, want not-ssh after too many lines", f.Outcome, f.Reason)
	}
}

func TestReadBannerSlowDrip(t *testing.T) {
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	c := pipeServer(t, false, func(c net.Conn) {
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			if _, err := c.Write([]byte("x")); err != nil {
				return
			}
		}
	})
	f := readBanner(t, c, 300*time.Millisecond)
	if f.Outcome != BannerTimeout {
		t.Fatalf("Outcome = %q, want timeout: the deadline is for the whole identification, not each read", f.Outcome)
	}
	if f.Received == 0 || f.Reason == "no data" {
		t.Errorf("Received %d, reason %q: the dripped bytes are not counted", f.Received, f.Reason)
	}
}

// OpenSSH's client reads up to 1024 lines of up to 8192 bytes before the
// identification (SSH_MAX_PRE_BANNER_LINES, SSH_MAX_BANNER_LEN in ssh.h;
// kex_exchange_identification in kex.c). A server that ssh talks to must
// not be called "not SSH".
func TestReadBannerAcceptsWhatOpenSSHAccepts(t *testing.T) {
	tests := map[string]string{
		"100 lines before the identification": strings.Repeat("banner line\r\n", 100) + "SSH-2.0-OpenSSH_9.2\r\n",
		"a 300-byte line before it":           strings.Repeat("=", 300) + "\r\nSSH-2.0-OpenSSH_9.2\r\n",
	}
	for name, data := range tests {
		t.Run(name, func(t *testing.T) {
			c := pipeServer(t, false, send(data))
			f := readBanner(t, c, 5*time.Second)
			if f.Outcome != BannerSSH {
				t.Errorf("Outcome = %q (reason %q), want ssh: OpenSSH accepts this server", f.Outcome, f.Reason)
			}
		})
	}
}

// OpenSSH refuses an identification holding NUL or a CR not followed by LF
// ("banner line contains invalid characters"), so such a line must not
// pass as a valid SSH identification, and Ident must never carry them.
func TestReadBannerRejectsInvalidCharacters(t *testing.T) {
	tests := map[string]string{
		"NUL in the identification":     "SSH-2.0-Open\x00SSH\r\n",
		"bare CR in the identification": "SSH-2.0-Open\rSSH\r\n",
	}
	for name, data := range tests {
		t.Run(name, func(t *testing.T) {
			c := pipeServer(t, false, send(data))
			f := readBanner(t, c, 2*time.Second)
			if f.Outcome == BannerSSH {
				t.Errorf("Outcome = ssh with Ident %q; ssh refuses this identification", f.Ident)
			}
			if strings.ContainsAny(f.Ident, "\x00\r\n") {
				t.Errorf("Ident %q holds CR, LF or NUL", f.Ident)
			}
		})
	}
}

func TestReadBannerOverLoopback(t *testing.T) {
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
		line := make([]byte, 64)
		n, _ := c.Read(line)
		if !bytes.HasPrefix(line[:n], []byte(ClientIdent+"\r\n")) {
			_, _ = c.Write([]byte("wrong client identification: " + string(line[:n]) + "\n"))
			return
		}
		_, _ = c.Write([]byte("SSH-2.0-Test_1.0\r\n"))
		time.Sleep(time.Second)
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	f := readBanner(t, c, 5*time.Second)
	if f.Outcome != BannerSSH || f.Ident != "SSH-2.0-Test_1.0" {
		t.Errorf("got %q %q (pre-lines %q), want the server's identification after ours", f.Outcome, f.Ident, f.PreLines)
	}
}

func TestSniff(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"HTTP status line", "HTTP/1.1 400 Bad Request\r\n", "HTTP"},
		{"HTTP/1.0", "HTTP/1.0 200 OK\r\n", "HTTP"},
		{"HTML page", "<!DOCTYPE html><html>", "HTTP"},
		{"bare HTML", "<html><body>", "HTTP"},
		{"TLS alert", "\x15\x03\x03\x00\x02\x02\x28", "TLS"},
		{"TLS handshake", "\x16\x03\x01\x00\xa5\x01", "TLS"},
		{"SMTP", "220 mx.example.com ESMTP Postfix (Debian/GNU)\r\n", "SMTP"},
		{"SMTP multi-line", "220-mail.example.com ESMTP Exim 4.96\r\n", "SMTP"},
		{"FTP", "220 ProFTPD Server (Debian) [::ffff:10.0.0.5]\r\n", "FTP"},
		{"vsftpd", "220 (vsFTPd 3.0.3)\r\n", "FTP"},
		{"other 220", "220 Welcome\r\n", "SMTP/FTP-style greeting"},
		{"telnet", "\xff\xfd\x18\xff\xfd\x20\xff\xfd\x23", "telnet"},
		{"telnet WILL", "\xff\xfb\x01", "telnet"},
		{"POP3", "+OK Dovecot ready.\r\n", "POP3"},
		{"IMAP", "* OK [CAPABILITY IMAP4rev1 SASL-IR] Dovecot ready.\r\n", "IMAP"},
		{"MySQL greeting", "\x4a\x00\x00\x00\x0a8.0.33\x00\x08\x00\x00\x00", "MySQL"},
		{"MariaDB greeting", "\x56\x00\x00\x00\x0a5.5.5-10.11.4-MariaDB\x00", "MySQL"},
		// A MySQL server refusing this client's address sends an error
		// packet (0xff) at once, then closes: it is still MySQL.
		{"MySQL host refused", "\x45\x00\x00\x00\xff\x6a\x04Host '10.0.0.1' is not allowed to connect to this MySQL server", "MySQL"},
		{"VNC", "RFB 003.008\n", "VNC"},
		{"Redis", "-ERR unknown command\r\n", "Redis"},
		{"sshd MaxStartups", "Exceeded MaxStartups\r\n", "text: sshd MaxStartups"},
		{"sshd penalty", "Not allowed at this time\r\n", "text: sshd PerSourcePenalties"},
		{"SSH itself", "SSH-2.0-OpenSSH_9.2\r\n", ""},
		{"unknown text", "hello there\r\n", ""},
		{"empty", "", ""},
		{"one byte", "\xff", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Sniff([]byte(tt.in)); got != tt.want {
				t.Errorf("Sniff(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzReadBanner(f *testing.F) {
	for _, s := range []string{
		"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n",
		"SSH-2.0-\x1b]0;pwned\x07\x1b[2J\r\n",
		"hello\r\nSSH-1.99-x\n\x00\x00\x00\x0c",
		"HTTP/1.1 400 Bad Request\r\n\r\n",
		"\x16\x03\x01\x00\x05hello",
		"Exceeded MaxStartups\r\n",
		"SSH-1.5-x\r\n",
		strings.Repeat("x\n", 70),
		strings.Repeat("A", 300),
	} {
		f.Add([]byte(s), true)
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, data []byte, closeAfter bool) {
		c := pipeServer(t, closeAfter, send(string(data)))
		deadline := 2 * time.Second
		if !closeAfter {
			deadline = 5 * time.Millisecond
		}
		b := readBanner(t, c, deadline)
		switch b.Outcome {
		case BannerSSH, BannerClosed, BannerReset, BannerTimeout, BannerNotSSH:
		default:
			t.Fatalf("unknown outcome %q", b.Outcome)
		}
		if b.Received > len(data) {
			t.Fatalf("Received %d > %d bytes sent", b.Received, len(data))
		}
		if len(b.First) > firstBytesShown || !bytes.HasPrefix(data, b.First) {
			t.Fatalf("First %q is not a prefix of the data (at most %d bytes)", b.First, firstBytesShown)
		}
		for _, l := range b.PreLines {
			if strings.Contains(l, "\n") {
				t.Fatalf("pre-banner line %q holds a newline", l)
			}
		}
		if b.Outcome != BannerSSH {
			if b.Ident != "" && b.Kind == "" {
				t.Fatalf("Ident %q set for outcome %q", b.Ident, b.Outcome)
			}
			return
		}
		if strings.ContainsAny(b.Ident, "\r\n\x00") {
			t.Fatalf("Ident %q holds CR, LF or NUL", b.Ident)
		}
		if !strings.HasPrefix(b.Ident, "SSH-") || !bytes.Contains(data, []byte(b.Ident)) {
			t.Fatalf("Ident %q was not sent as such", b.Ident)
		}
		if b.ProtoVersion != "2.0" && b.ProtoVersion != "1.99" {
			t.Fatalf("accepted protocol version %q", b.ProtoVersion)
		}
	})
}
