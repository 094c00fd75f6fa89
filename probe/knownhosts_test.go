package probe

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

// newHostKey returns a fresh ed25519 public key and its "type base64" form.
func newHostKey(t testing.TB) (ssh.PublicKey, string) {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pk, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pk)))
}

func hashHost(salt []byte, name string) string {
	m := hmac.New(sha1.New, salt)
	m.Write([]byte(name))
	return "|1|" + base64.StdEncoding.EncodeToString(salt) + "|" + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func TestParseKnownHostsLine(t *testing.T) {
	pk, key := newHostKey(t)
	tests := []struct {
		name, line string
		marker     string
		hosts      string
		comment    string
		match      []string
		noMatch    []string
	}{
		{name: "plain", line: "web1 " + key + " root@web1", hosts: "web1", comment: "root@web1",
			match: []string{"web1", "WEB1"}, noMatch: []string{"web2", "[web1]:2222", "web1.example.com"}},
		{name: "several names", line: "web1,10.0.0.5 " + key, hosts: "web1,10.0.0.5",
			match: []string{"web1", "10.0.0.5"}, noMatch: []string{"10.0.0.50"}},
		{name: "non-standard port", line: "[web1]:2222 " + key, hosts: "[web1]:2222",
			match: []string{"[web1]:2222"}, noMatch: []string{"web1", "[web1]:22"}},
		{name: "IPv6 with port", line: "[2001:db8::1]:2222 " + key,
			hosts: "[2001:db8::1]:2222", match: []string{"[2001:db8::1]:2222"}, noMatch: []string{"2001:db8::1"}},
		{name: "wildcard", line: "*.example.com " + key, hosts: "*.example.com",
			match: []string{"web1.example.com", "a.b.example.com"}, noMatch: []string{"example.com", "web1.example.org"}},
		{name: "question mark", line: "10.0.0.? " + key, hosts: "10.0.0.?",
			match: []string{"10.0.0.5"}, noMatch: []string{"10.0.0.55", "10.0.0."}},
		{name: "negation excludes", line: "*.example.com,!bad.example.com " + key, hosts: "*.example.com,!bad.example.com",
			match: []string{"good.example.com"}, noMatch: []string{"bad.example.com"}},
		{name: "negation alone matches nothing", line: "!web1 " + key, hosts: "!web1",
			noMatch: []string{"web1", "web2"}},
		{name: "cert authority", line: "@cert-authority *.example.com " + key, marker: "@cert-authority", hosts: "*.example.com",
			match: []string{"web1.example.com"}},
		{name: "revoked", line: "@revoked * " + key + " leaked", marker: "@revoked", hosts: "*", comment: "leaked",
			match: []string{"anything", "[x]:2222"}},
		{name: "leading blanks and tabs", line: "  \tweb1\t" + key, hosts: "web1", match: []string{"web1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, ok, err := ParseKnownHostsLine(tt.line)
			if err != nil || !ok {
				t.Fatalf("ParseKnownHostsLine(%q) = ok %v, err %v", tt.line, ok, err)
			}
			if e.Marker != tt.marker || e.Hosts != tt.hosts || e.Comment != tt.comment || e.Hashed {
				t.Errorf("got marker %q hosts %q comment %q hashed %v", e.Marker, e.Hosts, e.Comment, e.Hashed)
			}
			if string(e.Key.Marshal()) != string(pk.Marshal()) {
				t.Errorf("key differs")
			}
			for _, n := range tt.match {
				if !e.Matches(n) {
					t.Errorf("%q does not match %q", tt.hosts, n)
				}
			}
			for _, n := range tt.noMatch {
				if e.Matches(n) {
					t.Errorf("%q matches %q", tt.hosts, n)
				}
			}
		})
	}
}

func TestParseKnownHostsLineSkips(t *testing.T) {
	for _, line := range []string{"", "   ", "# a comment", "  # indented comment"} {
		_, ok, err := ParseKnownHostsLine(line)
		if ok || err != nil {
			t.Errorf("ParseKnownHostsLine(%q) = ok %v, err %v; want skipped silently", line, ok, err)
		}
	}
}

func TestParseKnownHostsLineBad(t *testing.T) {
	_, key := newHostKey(t)
	blob := strings.Fields(key)[1]
	tests := map[string]string{
		"unknown marker":     "@trusted web1 " + key,
		"no key":             "web1 ssh-ed25519",
		"marker only":        "@revoked",
		"host only":          "web1",
		"not base64":         "web1 ssh-ed25519 !!!notbase64!!!",
		"not a key":          "web1 ssh-ed25519 " + base64.StdEncoding.EncodeToString([]byte("hello")),
		"type mismatch":      "web1 ssh-rsa " + blob,
		"malformed hash":     "|1|onlysalt " + key,
		"hash salt not b64":  "|1|!!!|AAAA " + key,
		"hash value not b64": "|1|AAAA|!!! " + key,
	}
	for name, line := range tests {
		t.Run(name, func(t *testing.T) {
			e, ok, err := ParseKnownHostsLine(line)
			if err == nil {
				t.Errorf("ParseKnownHostsLine(%q) = %+v, ok %v; want an error", line, e, ok)
			}
			if ok {
				t.Errorf("ok = true with error %v", err)
			}
		})
	}
}

func TestKnownHostsHashedComputed(t *testing.T) {
	_, key := newHostKey(t)
	salt := []byte("0123456789abcdefghij")
	for _, name := range []string{"web1", "[web1]:2222", "10.0.0.5"} {
		e, ok, err := ParseKnownHostsLine(hashHost(salt, name) + " " + key)
		if err != nil || !ok {
			t.Fatalf("hashed line: ok %v err %v", ok, err)
		}
		if !e.Hashed {
			t.Errorf("Hashed = false for %s", e.Hosts)
		}
		if !e.Matches(name) {
			t.Errorf("hashed entry for %q does not match it", name)
		}
		if e.Matches(name + "x") {
			t.Errorf("hashed entry for %q matches %q", name, name+"x")
		}
	}
}

// TestKnownHostsHashedBySSHKeygen checks lines hashed by OpenSSH itself.
func TestKnownHostsHashedBySSHKeygen(t *testing.T) {
	keygen, err := exec.LookPath("ssh-keygen")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("ssh-keygen is not installed (apt-get install openssh-client); CI must run this test")
		}
		t.Skip("ssh-keygen is not installed (apt-get install openssh-client)")
	}
	_, key := newHostKey(t)
	file := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(file, []byte("web1 "+key+"\n[web1]:2222 "+key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(keygen, "-H", "-f", file).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen -H: %v: %s", err, out)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), "web1") {
		t.Fatalf("ssh-keygen -H left a clear-text name: %s", data)
	}
	kh := LookupKnownHosts([]string{file}, []string{"web1"})
	if len(kh.Matches) != 1 || kh.Matches[0].Line != 1 || !kh.Matches[0].Hashed {
		t.Errorf("web1: matches %+v, want line 1, hashed", kh.Matches)
	}
	kh = LookupKnownHosts([]string{file}, []string{KnownHostName("web1", 2222)})
	if len(kh.Matches) != 1 || kh.Matches[0].Line != 2 {
		t.Errorf("[web1]:2222: matches %+v, want line 2", kh.Matches)
	}
	if len(kh.BadLines) != 0 {
		t.Errorf("BadLines = %q", kh.BadLines)
	}
}

func TestLookupKnownHosts(t *testing.T) {
	k1, key1 := newHostKey(t)
	_, key2 := newHostKey(t)
	dir := t.TempDir()
	a := filepath.Join(dir, "a")
	b := filepath.Join(dir, "b")
	missing := filepath.Join(dir, "missing")
	if err := os.WriteFile(a, []byte("# comment\nweb2 "+key2+"\nweb1 "+key1+"\ngarbage line\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b, []byte("@cert-authority *.example.com "+key2+"\n[web1]:2222 "+key2+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	kh := LookupKnownHosts([]string{a, missing, b}, []string{"web1"})
	if !slices.Equal(kh.Missing, []string{missing}) {
		t.Errorf("Missing = %q", kh.Missing)
	}
	if len(kh.Matches) != 1 || kh.Matches[0].File != a || kh.Matches[0].Line != 3 || string(kh.Matches[0].Key.Marshal()) != string(k1.Marshal()) {
		t.Errorf("Matches = %+v, want %s:3 only", kh.Matches, a)
	}
	if len(kh.BadLines) != 1 || !strings.HasPrefix(kh.BadLines[0], a+":4: ") {
		t.Errorf("BadLines = %q, want %s:4", kh.BadLines, a)
	}
}

func TestKnownHostsNames(t *testing.T) {
	ip := net.ParseIP("10.0.0.5")
	tests := []struct {
		host  string
		port  int
		alias string
		check bool
		want  []string
	}{
		{"web1", 22, "", false, []string{"web1"}},
		{"web1", 2222, "", false, []string{"[web1]:2222"}},
		{"web1", 22, "", true, []string{"web1", "10.0.0.5"}},
		{"web1", 2222, "", true, []string{"[web1]:2222", "[10.0.0.5]:2222"}},
		{"web1", 22, "myalias", true, []string{"myalias"}},
		{"10.0.0.5", 22, "", true, []string{"10.0.0.5"}},
	}
	for _, tt := range tests {
		if got := KnownHostsNames(tt.host, tt.port, tt.alias, ip, tt.check); !slices.Equal(got, tt.want) {
			t.Errorf("KnownHostsNames(%q, %d, %q, checkhostip=%v) = %q, want %q", tt.host, tt.port, tt.alias, tt.check, got, tt.want)
		}
	}
}

func FuzzParseKnownHostsLine(f *testing.F) {
	_, key := newHostKey(f)
	for _, s := range []string{
		"web1 " + key, "[web1]:2222,10.0.0.5 " + key + " c", "@revoked * " + key,
		"@cert-authority *.example.com " + key, hashHost([]byte("salt"), "web1") + " " + key,
		"*.example.com,!bad.example.com " + key, "# comment", "", "@bogus x y z",
		"|1|AAAA|BBBB " + key, "web1 ssh-rsa AAAAB3NzaC1yc2E=",
	} {
		f.Add(s, "web1")
	}
	f.Fuzz(func(t *testing.T, line, name string) {
		e, ok, err := ParseKnownHostsLine(line)
		if err != nil && ok {
			t.Fatalf("ok with an error: %v", err)
		}
		if !ok {
			return
		}
		if e.Key == nil || e.Hosts == "" {
			t.Fatalf("accepted a line without key or hosts: %+v", e)
		}
		if e.Marker != "" && e.Marker != "@cert-authority" && e.Marker != "@revoked" {
			t.Fatalf("marker %q", e.Marker)
		}
		_ = e.Matches(name)
		_ = e.MatchesAny([]string{name, KnownHostName(name, 2222)})
	})
}

// wildRef is a reference for ssh's pattern matching, through a regexp.
func wildRef(pattern, s string) bool {
	var b strings.Builder
	b.WriteString(`^(?s)`)
	for _, r := range pattern {
		switch r {
		case '*':
			b.WriteString(`.*`)
		case '?':
			b.WriteString(`.`)
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString(`$`)
	return regexp.MustCompile(b.String()).MatchString(s)
}

func FuzzWildMatch(f *testing.F) {
	f.Add("*.example.com", "web1.example.com")
	f.Add("10.0.0.?", "10.0.0.5")
	f.Add("*a*a*a*a*a*b", strings.Repeat("a", 200))
	f.Add("", "")
	f.Fuzz(func(t *testing.T, pattern, s string) {
		// ssh compares bytes; keep to ASCII so the regexp's runes agree.
		for _, c := range []byte(pattern + s) {
			if c >= 0x80 {
				return
			}
		}
		if got, want := wildMatch(pattern, s), wildRef(pattern, s); got != want {
			t.Fatalf("wildMatch(%q, %q) = %v, want %v", pattern, s, got, want)
		}
	})
}
