package probe

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"
)

// BannerOutcome classifies what came back before the SSH identification.
type BannerOutcome string

// The outcomes of reading the server's identification string.
const (
	// BannerSSH: an SSH-2.0 (or SSH-1.99) identification string arrived.
	BannerSSH BannerOutcome = "ssh"
	// BannerClosed: the server closed the connection before identifying.
	BannerClosed BannerOutcome = "closed"
	// BannerReset: the server reset the connection before identifying.
	BannerReset BannerOutcome = "reset"
	// BannerTimeout: no identification within the time limit.
	BannerTimeout BannerOutcome = "timeout"
	// BannerNotSSH: something that is not SSH answered.
	BannerNotSSH BannerOutcome = "not-ssh"
)

// Limits on what a server may send before its identification, as
// OpenSSH's client applies them: the identification line itself is at most
// 255 bytes (RFC 4253 section 4.2), and up to 1024 other lines of up to 8192
// bytes may come first (SSH_MAX_PRE_BANNER_LINES, SSH_MAX_BANNER_LEN).
const (
	MaxBannerLine    = 255
	MaxPreBanner     = 1024
	MaxPreBannerLine = 8192
	keptPreLines     = 64 // pre-banner lines kept as evidence
	firstBytesShown  = 96
)

// BannerFacts is what the server sent before the binary protocol began.
type BannerFacts struct {
	Outcome BannerOutcome
	// Ident is the identification line without CR LF; empty unless Outcome
	// is BannerSSH.
	Ident string
	// ProtoVersion ("2.0"), Software ("OpenSSH_9.2p1") and Comments
	// ("Debian-2+deb12u3") split Ident; empty when absent.
	ProtoVersion, Software, Comments string
	// PreLines are the first lines the server sent before Ident (RFC 4253
	// allows them); at most 64 are kept, PreLineCount counts them all.
	PreLines     []string
	PreLineCount int
	// First holds the first bytes received (at most 96), for evidence when
	// the answer is not SSH. Raw: escape before display.
	First []byte
	// Kind names what answered when it is not SSH ("HTTP", "TLS", ...);
	// empty when unknown or SSH.
	Kind string
	// Received counts the bytes read before the outcome was decided.
	Received int
	// Reason explains a not-ssh or timeout outcome ("line longer than 255
	// bytes", "no data"); empty otherwise.
	Reason string
	// Elapsed is the time from sending our identification to the outcome.
	Elapsed time.Duration
	// raw is the identification line as received, terminator included, and
	// rest what was read after it: the beginning of the binary protocol.
	// Both are replayed to the SSH library.
	raw, rest []byte
}

// ClientIdent is the identification sshdoctor sends. Servers see it in their
// logs, so it says who is asking.
const ClientIdent = "SSH-2.0-sshdoctor"

// ReadBanner sends our identification (as ssh does, at once, which makes
// servers of other protocols answer too) and reads the server's under the
// limits above, until the deadline. It never returns more than it read.
func ReadBanner(conn net.Conn, deadline time.Time) BannerFacts {
	var f BannerFacts
	start := time.Now()
	defer func() { f.Elapsed = time.Since(start) }()
	_ = conn.SetDeadline(deadline)
	defer conn.SetDeadline(time.Time{})
	if _, err := conn.Write([]byte(ClientIdent + "\r\n")); err != nil {
		f.Outcome, f.Reason = outcomeOf(err), "writing our identification: "+err.Error()
		return f
	}
	var buf []byte
	chunk := make([]byte, 4096)
	for {
		// Decide on what is already buffered.
		if done := f.scan(&buf); done {
			return f
		}
		n, err := conn.Read(chunk)
		if n > 0 {
			if len(f.First) < firstBytesShown {
				f.First = append(f.First, chunk[:min(n, firstBytesShown-len(f.First))]...)
			}
			f.Received += n
			buf = append(buf, chunk[:n]...)
			continue
		}
		if err != nil {
			if f.scan(&buf) {
				return f
			}
			f.Outcome = outcomeOf(err)
			switch kind := Sniff(f.First); {
			case strings.HasPrefix(kind, "text:"):
				f.Kind = kind // sshd's own words before it closed
			case kind != "":
				f.Outcome, f.Kind = BannerNotSSH, kind
			}
			switch {
			case f.Outcome == BannerTimeout && f.Received == 0:
				f.Reason = "no data"
			case f.Outcome == BannerTimeout:
				f.Reason = "data but no identification before the time limit"
			}
			return f
		}
	}
}

// scan consumes complete lines from buf; it reports true once the outcome
// is decided.
func (f *BannerFacts) scan(buf *[]byte) bool {
	for {
		b := *buf
		// Binary protocols identify themselves in their first bytes.
		if f.PreLineCount == 0 && len(b) > 0 && !bytes.HasPrefix(b, []byte("SSH-")) {
			if kind := Sniff(b); kind != "" && !strings.HasPrefix(kind, "text") {
				f.Outcome, f.Kind = BannerNotSSH, kind
				return true
			}
		}
		isIdent := bytes.HasPrefix(b, []byte("SSH-"))
		limit := MaxPreBannerLine
		if isIdent {
			limit = MaxBannerLine
		}
		i := bytes.IndexByte(b, '\n')
		if i < 0 && len(b) < limit || i < 0 && len(b) < 4 && bytes.HasPrefix([]byte("SSH-"), b) {
			return false // wait for more
		}
		if i < 0 || i+1 > limit {
			f.Outcome, f.Kind = BannerNotSSH, Sniff(f.First)
			f.Reason = fmt.Sprintf("a line longer than %d bytes", limit)
			if isIdent {
				f.Reason = "an identification line longer than 255 bytes"
			}
			return true
		}
		raw := b[:i+1]
		*buf = b[i+1:]
		line := strings.TrimSuffix(strings.TrimSuffix(string(raw), "\n"), "\r")
		if isIdent {
			if strings.ContainsAny(line, "\x00\r") {
				// ssh: "banner line contains invalid characters"
				f.Outcome, f.Reason = BannerNotSSH, "the identification line contains invalid characters (NUL or CR)"
				return true
			}
			f.Ident = line
			f.raw = append([]byte(nil), raw...)
			f.parseIdent()
			f.rest = append([]byte(nil), *buf...)
			if f.ProtoVersion != "2.0" && f.ProtoVersion != "1.99" {
				f.Outcome, f.Kind = BannerNotSSH, "SSH protocol "+f.ProtoVersion+" (ssh speaks only 2.0)"
				f.Reason = "unsupported protocol version"
				return true
			}
			f.Outcome = BannerSSH
			return true
		}
		if strings.ContainsRune(line, 0) {
			f.Outcome, f.Reason = BannerNotSSH, "binary data before the identification"
			f.Kind = Sniff(f.First)
			return true
		}
		f.PreLineCount++
		if len(f.PreLines) < keptPreLines {
			f.PreLines = append(f.PreLines, line)
		}
		if f.PreLineCount == 1 {
			if kind := Sniff([]byte(line)); kind != "" && !strings.HasPrefix(kind, "text:") {
				f.Outcome, f.Kind = BannerNotSSH, kind
				return true
			}
		}
		if f.PreLineCount > MaxPreBanner {
			f.Outcome, f.Reason = BannerNotSSH, "too many lines before the identification (more than 1024)"
			return true
		}
	}
}

func (f *BannerFacts) parseIdent() {
	rest := strings.TrimPrefix(f.Ident, "SSH-")
	proto, rest, _ := strings.Cut(rest, "-")
	f.ProtoVersion = proto
	f.Software, f.Comments, _ = strings.Cut(rest, " ")
}

// identLine returns the identification line as received, for replay.
func (f *BannerFacts) identLine() []byte {
	if f.raw != nil {
		return f.raw
	}
	return []byte(f.Ident + "\r\n")
}

func outcomeOf(err error) BannerOutcome {
	var ne net.Error
	switch {
	case errors.Is(err, io.EOF):
		return BannerClosed
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return BannerReset
	case errors.As(err, &ne) && ne.Timeout():
		return BannerTimeout
	default:
		return BannerClosed
	}
}

// Sniff names the protocol that the first bytes of an answer belong to, or
// returns "" when it cannot tell. Texts the SSH daemon itself sends when it
// drops a connection are recognised too ("text: ..."), since they explain a
// closed connection.
func Sniff(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	s := string(b)
	up := strings.ToUpper(s)
	switch {
	case b[0] == 0xff && len(b) > 1 && b[1] >= 0xfa:
		return "telnet"
	case len(b) >= 3 && (b[0] == 0x16 || b[0] == 0x15) && b[1] == 0x03 && b[2] <= 0x04:
		return "TLS"
	case strings.HasPrefix(s, "HTTP/"):
		return "HTTP"
	case strings.HasPrefix(s, "<!DOCTYPE") || strings.HasPrefix(up, "<HTML"):
		return "HTTP"
	case strings.HasPrefix(s, "220"):
		switch {
		case strings.Contains(up, "FTP"):
			return "FTP"
		case strings.Contains(up, "SMTP") || strings.Contains(up, "MAIL"):
			return "SMTP"
		default:
			return "SMTP/FTP-style greeting"
		}
	case strings.HasPrefix(s, "+OK"):
		return "POP3"
	case strings.HasPrefix(s, "* OK"):
		return "IMAP"
	case strings.HasPrefix(s, "RFB "):
		return "VNC"
	case strings.HasPrefix(s, "-ERR") || strings.HasPrefix(s, "-NOAUTH") || strings.HasPrefix(s, "-DENIED"):
		return "Redis"
	case len(b) >= 5 && b[3] == 0 && (b[4] == 0x0a || b[4] == 0xff):
		return "MySQL" // a handshake (protocol 10), or an error packet refusing us
	case strings.HasPrefix(s, "Exceeded MaxStartups"):
		return "text: sshd MaxStartups"
	case strings.HasPrefix(s, "Not allowed at this time"):
		return "text: sshd PerSourcePenalties"
	}
	return ""
}
