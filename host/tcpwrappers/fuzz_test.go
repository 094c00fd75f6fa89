package tcpwrappers

import (
	"net/netip"
	"strings"
	"testing"
)

// FuzzParseHostsAccess parses arbitrary files and evaluates them. Besides
// not panicking, it checks the invariants the check package relies on, and
// that the three-valued evaluation is sound: an answer that is certain
// without knowing the client's name (or address) must not change once the
// name (or address) is known.
func FuzzParseHostsAccess(f *testing.F) {
	for _, s := range []string{
		"sshd: 10.0.0.1\n",
		"ALL: ALL\n",
		"sshd: ALL EXCEPT 10.0.0.0/8 EXCEPT 10.1.0.0/16 : spawn /bin/echo %a\\: x : allow\n",
		"sshd, in.ftpd : .example.org, LOCAL, KNOWN, UNKNOWN, PARANOID, @ng, root@host\n",
		"sshd@10.0.0.2: [fd00::]/64 [fd00::1] 10.0.0. 10.0.0.* 10.0.0.?\n",
		"# c\n  # not a comment: x\nsshd 10.0.0.1\nsshd: a, \\\n b\n22: 10.0.0.1 : twist /bin/echo",
		"sshd: /etc/ssh/blocked\n",
		"sshd: 10.0.0.1 : deny : allow\n",
		"sshd: 10.0.0.1 :: allow\n",
		"sshd:\x00x\n",
	} {
		f.Add([]byte(s), "10.0.0.1", "host.example.org")
	}
	f.Fuzz(func(t *testing.T, data []byte, addr, name string) {
		file := Parse(DenyFile, data)
		last := 0
		for _, r := range file.Rules {
			if r.Line <= last || r.EndLine < r.Line {
				t.Fatalf("rule lines out of order: %+v after line %d", r, last)
			}
			if strings.ContainsRune(r.Text, '\n') {
				t.Fatalf("rule text holds a newline: %q", r.Text)
			}
			last = r.EndLine
		}
		if file.Broken != nil && file.Broken.Line <= last {
			t.Fatalf("broken line %d is not after the last rule (line %d)", file.Broken.Line, last)
		}
		client, _ := netip.ParseAddr(addr)
		files := map[string][]string{"/etc/ssh/blocked": {"10.0.0.0/8", ".example.org"}}
		for _, allowFirst := range []bool{false, true} {
			allow, deny := (*File)(nil), file
			if allowFirst {
				allow = Parse(AllowFile, data)
			}
			base := Query{Client: client, Port: 22}
			d := Evaluate(allow, deny, files, base)
			check(t, d, allow, deny)

			if name != "" {
				named := base
				named.ClientName = name
				dn := Evaluate(allow, deny, files, named)
				check(t, dn, allow, deny)
				if d.Access != Uncertain && dn.Access != d.Access {
					t.Fatalf("certain %s without a name, %s with name %q\n%s\n%s", d.Access, dn.Access, name, d, dn)
				}
			}
			if client.IsValid() {
				anyone := base
				anyone.Client = netip.Addr{}
				da := Evaluate(allow, deny, files, anyone)
				check(t, da, allow, deny)
				if da.Access != Uncertain && da.Access != d.Access {
					t.Fatalf("certain %s for any client, %s for %s\n%s\n%s", da.Access, d.Access, client, da, d)
				}
			}
		}
	})
}

func check(t *testing.T, d *Decision, files ...*File) {
	t.Helper()
	switch d.Access {
	case Granted, Refused:
	case Uncertain:
		if len(d.Maybe) == 0 {
			t.Fatalf("uncertain without a rule that may match: %s", d)
		}
	default:
		t.Fatalf("access %q", d.Access)
	}
	if d.By == nil {
		return
	}
	for _, f := range files {
		if f == nil || f.Path != d.By.File {
			continue
		}
		if f.Broken != nil && f.Broken.Line == d.By.Line {
			return
		}
		for _, r := range f.Rules {
			if r.Line == d.By.Line {
				return
			}
		}
	}
	t.Fatalf("decided by %s, which is no rule of the files", d.By.Where())
}
