package authkeys

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func pubKey(t testing.TB, name string) ssh.PublicKey {
	t.Helper()
	k, _, _, _, err := ssh.ParseAuthorizedKey(fixture(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestParseFixture(t *testing.T) {
	entries, bad := Parse(fixture(t, "authorized_keys"), time.UTC)
	byLine := map[int]Entry{}
	for _, e := range entries {
		byLine[e.Line] = e
	}
	wantEntries := map[int]string{
		3: "ed.pub", 4: "rsa.pub", 5: "ec.pub", 6: "ca.pub", 7: "dsa.pub", 8: "sk.pub", 9: "cu.pub",
		20: "ed.pub", 23: "ed.pub", 24: "ed.pub", 25: "cu-cert.pub",
	}
	if len(entries) != len(wantEntries) {
		var got []int
		for _, e := range entries {
			got = append(got, e.Line)
		}
		t.Errorf("entries on lines %v, want %d entries", got, len(wantEntries))
	}
	for line, file := range wantEntries {
		e, ok := byLine[line]
		if !ok {
			t.Errorf("line %d: no entry", line)
			continue
		}
		if want := pubKey(t, file); !bytes.Equal(e.Key.Marshal(), want.Marshal()) {
			t.Errorf("line %d: key %s, want the key of %s", line, e.Fingerprint, file)
		}
		if e.Fingerprint != ssh.FingerprintSHA256(e.Key) {
			t.Errorf("line %d: fingerprint %q", line, e.Fingerprint)
		}
	}
	o := byLine[4].Options
	if o.From != "10.0.0.0/8,!10.0.0.99" || o.Command != `echo "hi", there` || !o.HasCommand || !o.NoPTY || o.NoPortForwarding {
		t.Errorf("line 4 options = %+v", o)
	}
	if o := byLine[5].Options; !o.Restrict || o.NoPTY || !o.NoPortForwarding || !o.NoAgentForwarding {
		t.Errorf("line 5: restrict then pty = %+v", o)
	}
	if o := byLine[6].Options; !o.CertAuthority || o.Principals != "alice,ops" {
		t.Errorf("line 6 options = %+v", o)
	}
	if o := byLine[8].Options; !o.NoTouchRequired {
		t.Errorf("line 8 options = %+v", o)
	}
	if o := byLine[20].Options; !o.ExpiryTime.Equal(time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("line 20 expiry = %v", o.ExpiryTime)
	}
	if o := byLine[23].Options; len(o.PermitListen) != 1 || o.PermitListen[0] != "*:8080" || o.Tunnel != "any" {
		t.Errorf("line 23 options = %+v", o)
	}
	if e := byLine[24]; e.Comment != "alice@laptop" {
		t.Errorf("line 24 comment = %q (the \\r must go)", e.Comment)
	}
	if _, ok := byLine[25].Key.(*ssh.Certificate); !ok {
		t.Errorf("line 25 is not a certificate: %T", byLine[25].Key)
	}

	wantBad := map[int]string{
		10: "the key does not decode",
		11: "unknown key type",
		12: "bad key options: unknown key option",
		13: "unterminated quote in the options",
		14: "RSA key of 512 bits",
		15: "the key is a ssh-ed25519 key but the line says ssh-rsa",
		16: "principals= on a key without cert-authority",
		17: "invalid from= address list",
		// Short names are refused by sshd's key reader (checked against
		// the real sshd in sshd_lab_test.go).
		18: `unknown key type "ED25519"`,
		19: `unknown key type "ECDSA"`,
		21: "bad key options: invalid environment string",
		22: "bad key options: invalid permission port",
		26: "no key after the type",
		27: "no key after the options",
	}
	if len(bad) != len(wantBad) {
		t.Errorf("%d invalid lines, want %d: %+v", len(bad), len(wantBad), bad)
	}
	for _, b := range bad {
		want, ok := wantBad[b.Line]
		if !ok || !strings.HasPrefix(b.Reason, want) {
			t.Errorf("line %d: reason %q, want %q", b.Line, b.Reason, want)
		}
		if strings.ContainsAny(b.Text, "\r\n\t") {
			t.Errorf("line %d: text not escaped: %q", b.Line, b.Text)
		}
	}
}

func TestParseOptions(t *testing.T) {
	cases := []struct {
		in, err string
	}{
		{`restrict`, ""},
		{`RESTRICT,No-Pty`, ""}, // names are case-insensitive
		{`command="a,b c"`, ""},
		{`command="a",command="b"`, `multiple "command" clauses`},
		{`from=10.0.0.1`, "missing start quote"},
		{`from="10.0.0.1`, "missing end quote"},
		{`restrict,`, "unexpected end-of-options"},
		{`restrictive`, "unknown key option"},
		{`no-restrict`, "unknown key option"},
		{`expiry-time="2024"`, "invalid expires time"},
		{`expiry-time="20241301"`, "invalid expires time"},
		{`expiry-time="202406011200Z"`, ""},
		{`environment="A_1=x y"`, ""},
		{`environment="noequals"`, "invalid environment string"},
		{`permitopen="[::1]:22"`, ""},
		{`permitopen="host:*"`, ""},
		{`permitopen="host"`, "invalid permission hostname"},
		{`permitlisten="0"`, "invalid permission port"},
		{`tunnel="12"`, ""},
		{`tunnel="x"`, "invalid tun device"},
		{`verify-required,no-touch-required,no-user-rc,no-agent-forwarding,no-x11-forwarding,no-port-forwarding`, ""},
	}
	for _, c := range cases {
		_, err := parseOptions(c.in, time.UTC)
		if err != c.err {
			t.Errorf("parseOptions(%s) error %q, want %q", c.in, err, c.err)
		}
	}
	o, _ := parseOptions(`expiry-time="20240101",expiry-time="20250101"`, time.UTC)
	if o.ExpiryTime.Year() != 2024 {
		t.Errorf("the earliest expiry-time must win, got %v", o.ExpiryTime)
	}
}

func FuzzParseAuthorizedKeys(f *testing.F) {
	// One seed a line: the fuzzer minimizes every interesting input, which
	// takes far too long for the whole fixture.
	for _, l := range bytes.Split(fixture(f, "authorized_keys"), []byte("\n")) {
		f.Add(l)
	}
	f.Add([]byte(`from="a\"b",command="x" ssh-ed25519 AAAA` + "\n#x\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, bad := Parse(data, time.UTC)
		seen := map[int]bool{}
		for _, e := range entries {
			if seen[e.Line] || e.Key == nil || e.Fingerprint != ssh.FingerprintSHA256(e.Key) {
				t.Fatalf("bad entry %+v", e)
			}
			seen[e.Line] = true
			// An entry's key must survive a round trip, as sshd reads it.
			if _, err := ssh.ParsePublicKey(e.Key.Marshal()); err != nil {
				t.Fatalf("line %d: key does not round-trip: %v", e.Line, err)
			}
		}
		for _, b := range bad {
			if seen[b.Line] || b.Reason == "" {
				t.Fatalf("bad invalid line %+v", b)
			}
			seen[b.Line] = true
		}
		lines := bytes.Split(data, []byte("\n"))
		n := 0
		for i, l := range lines {
			s := strings.TrimLeft(string(l), " \t")
			if s != "" && s != "\r" && s[0] != '#' {
				n++
				if !seen[i+1] {
					t.Fatalf("line %d neither an entry nor invalid", i+1)
				}
			}
		}
		if n != len(seen) {
			t.Fatalf("%d records for %d lines", len(seen), n)
		}
	})
}

func BenchmarkParseFixture(b *testing.B) {
	data := fixture(b, "authorized_keys")
	for b.Loop() {
		Parse(data, time.UTC)
	}
}
