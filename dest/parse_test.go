package dest

import (
	"errors"
	"net/netip"
	"strconv"
	"strings"
	"testing"
)

func TestParseForms(t *testing.T) {
	tests := []struct {
		in   string
		user string
		host string
		port int
	}{
		{"web1", "", "web1", 0},
		{"web1.example.com", "", "web1.example.com", 0},
		{"bob@web1", "bob", "web1", 0},
		{"web1:2222", "", "web1", 2222},
		{"bob@web1:2222", "bob", "web1", 2222},
		{"10.0.0.5", "", "10.0.0.5", 0},
		{"10.0.0.5:22", "", "10.0.0.5", 22},
		{"[::1]", "", "::1", 0},
		{"[::1]:2222", "", "::1", 2222},
		{"bob@[2001:db8::1]:22", "bob", "2001:db8::1", 22},
		{"[fe80::1%eth0]:22", "", "fe80::1%eth0", 22},
		{"::1", "", "::1", 0},
		{"2001:db8::5", "", "2001:db8::5", 0},
		{"bob@2001:db8::5", "bob", "2001:db8::5", 0},
		{"ssh://web1", "", "web1", 0},
		{"ssh://bob@web1", "bob", "web1", 0},
		{"ssh://bob@web1:2222", "bob", "web1", 2222},
		{"ssh://web1:2222/", "", "web1", 2222},
		{"SSH://Bob@web1", "Bob", "web1", 0},
		{"ssh://[::1]:2222", "", "::1", 2222},
		{"ssh://bob@[2001:db8::1]", "bob", "2001:db8::1", 0},
		// ssh splits the user from the host at the last '@'.
		{"bob@corp@web1", "bob@corp", "web1", 0},
		{"web1:65535", "", "web1", 65535},
		{"web1:1", "", "web1", 1},
		{"  web1  ", "", "web1", 0},
		{"host_with-dashes.and_underscores", "", "host_with-dashes.and_underscores", 0},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			d, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if d.User != tt.user || d.Host != tt.host || d.Port != tt.port {
				t.Errorf("Parse(%q) = user %q host %q port %d, want user %q host %q port %d",
					tt.in, d.User, d.Host, d.Port, tt.user, tt.host, tt.port)
			}
			if d.Input != tt.in {
				t.Errorf("Input = %q, want the text as typed %q", d.Input, tt.in)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct {
		in   string
		want string // in the message
	}{
		{"", "empty"},
		{"   ", "empty"},
		{"web1:0", "out of range"},
		{"web1:65536", "out of range"},
		{"web1:99999", "out of range"},
		{"web1:99999999999", "out of range"},
		{"web1:abc", "not a number"},
		{"web1:-22", "out of range"},
		{"web1:+x", "not a number"},
		{"web1:", "empty"},
		{":22", "no host"},
		{"[::1", "never closed"},
		{"[::1]x", "after ']'"},
		{"[notv6]:22", "not an IPv6 address"},
		{"[10.0.0.5]:22", "not an IPv6 address"},
		{"[]:22", "no address"},
		{"::1]:22", "without '['"},
		{"1:2:3", "not a valid IPv6"},
		{"user@", "host is empty"},
		{"@web1", "user name before '@' is empty"},
		{"web 1", "white space"},
		{"bob@web1\tx", "white space"},
		{"-oProxyCommand=x", "flag"},
		{"bob@-oProxyCommand=x", "flag"},
		{"-bob@web1", "starts with '-'"},
		{"web1;reboot", "character"},
		{"$(reboot)", "character"},
		{"`id`@web1", "character"},
		{"ssh://", "no host"},
		{"ssh://web1/path", "path"},
		{"ssh://web1?x=1", "path"},
		{"web1\x00", "character"},
		{"web1\x1b[2J", "character"},
	}
	for _, tt := range tests {
		t.Run(strconv.Quote(tt.in), func(t *testing.T) {
			d, err := Parse(tt.in)
			if err == nil {
				t.Fatalf("Parse(%q) = %+v, want an error", tt.in, d)
			}
			var de *Error
			if !errors.As(err, &de) {
				t.Fatalf("Parse(%q) error %T is not a *dest.Error", tt.in, err)
			}
			if !strings.Contains(de.Msg, tt.want) {
				t.Errorf("Parse(%q) message %q does not say %q", tt.in, de.Msg, tt.want)
			}
			if de.Hint == "" {
				t.Errorf("Parse(%q) gives no hint", tt.in)
			}
			if strings.ContainsAny(err.Error(), "\n\r\x1b") {
				t.Errorf("Parse(%q) error %q is not one clean line", tt.in, err.Error())
			}
		})
	}
}

func TestParseTrimsNewline(t *testing.T) {
	d, err := Parse("web1\n")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if d.Host != "web1" {
		t.Errorf("Host = %q, want web1", d.Host)
	}
}

// format writes d back in the host:port form Parse accepts.
func format(d Dest) string {
	s := d.Host
	if strings.Contains(s, ":") {
		s = "[" + s + "]"
	}
	if d.Port != 0 {
		s += ":" + strconv.Itoa(d.Port)
	}
	if d.User != "" {
		s = d.User + "@" + s
	}
	return s
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"web1", "bob@web1", "web1:2222", "bob@web1:2222", "[::1]:22", "[::1]", "::1",
		"ssh://bob@web1:2222", "ssh://[::1]:22/", "bob@corp@web1", "", "web1:0",
		"web1:65536", "web1:abc", "[::1", "[notv6]:22", "user@", "a b", "-oProxyCommand=x",
		"[fe80::1%eth0]:22", "SSH://x", "ssh://web1?x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		d, err := Parse(in)
		if err != nil {
			var de *Error
			if !errors.As(err, &de) {
				t.Fatalf("Parse(%q): error %T is not a *dest.Error", in, err)
			}
			if de.Msg == "" || de.Hint == "" {
				t.Fatalf("Parse(%q): error without message or hint: %+v", in, de)
			}
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Fatalf("Parse(%q): error is not one line: %q", in, err)
			}
			return
		}
		if d.Host == "" {
			t.Fatalf("Parse(%q) accepted an empty host", in)
		}
		if d.Host[0] == '-' || strings.HasPrefix(d.User, "-") {
			t.Fatalf("Parse(%q) accepted something that ssh would read as a flag: %+v", in, d)
		}
		if strings.ContainsAny(d.Host+d.User, " \t\r\n\x00") {
			t.Fatalf("Parse(%q) accepted white space or NUL: %+v", in, d)
		}
		if d.Port < 0 || d.Port > 65535 {
			t.Fatalf("Parse(%q) port %d out of range", in, d.Port)
		}
		if strings.Contains(d.Host, ":") {
			if _, err := netip.ParseAddr(d.Host); err != nil {
				t.Fatalf("Parse(%q) host %q has a colon but is no IPv6 address", in, d.Host)
			}
		}
		// What Parse accepted, written back, parses to the same thing.
		again, err := Parse(format(d))
		if err != nil {
			t.Fatalf("Parse(%q) = %+v, but its canonical form %q fails: %v", in, d, format(d), err)
		}
		if again.User != d.User || again.Host != d.Host || again.Port != d.Port {
			t.Fatalf("round trip of %q: %+v then %+v", in, d, again)
		}
	})
}
