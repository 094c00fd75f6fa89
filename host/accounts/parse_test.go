package accounts

import (
	"bytes"
	"os"
	"reflect"
	"strings"
	"testing"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestParsePasswdFixture(t *testing.T) {
	entries, bad := ParsePasswd(readFixture(t, "passwd"))
	byName := map[string]PasswdEntry{}
	for _, e := range entries {
		byName[e.Name] = e
	}
	alice := byName["alice"]
	if alice.UID != 1000 || alice.GID != 1000 || alice.Home != "/home/alice" || alice.Shell != "/bin/bash" || alice.Line != 5 {
		t.Errorf("alice = %+v", alice)
	}
	if bob := byName["bob"]; bob.Shell != "" || bob.Line != 6 {
		t.Errorf("bob = %+v, want empty shell on line 6", bob)
	}
	// glibc takes the rest of the line as the shell, colons and all.
	if eve := byName["eve"]; eve.Home != "shell" || eve.Shell != "/home/eve:/bin/sh:extra" {
		t.Errorf("eve = %+v", eve)
	}
	if frank := byName["frank"]; frank.Home != "/home/frank" || frank.Shell != "" {
		t.Errorf("frank = %+v", frank)
	}
	if w := byName["winuser"]; w.Shell != "/bin/bash\r" {
		t.Errorf("winuser shell = %q, want the carriage return kept", w.Shell)
	}
	var compat int
	for _, e := range entries {
		if e.Compat {
			compat++
			if e.Line != 11 {
				t.Errorf("compat entry on line %d, want 11", e.Line)
			}
		}
	}
	if compat != 1 {
		t.Errorf("compat entries = %d, want 1", compat)
	}
	want := map[int]string{7: "uid is not a number", 8: "gid is not a number", 10: "empty user name"}
	if len(bad) != len(want) {
		t.Fatalf("errors = %+v, want lines %v", bad, want)
	}
	for _, b := range bad {
		if want[b.Line] != b.Reason {
			t.Errorf("line %d: reason %q, want %q", b.Line, b.Reason, want[b.Line])
		}
	}
	db := &DB{Passwd: entries}
	if db.User("+@netgroup") != nil {
		t.Error("a compat line must not be found as a user")
	}
	if u := db.UserByUID(0); u == nil || u.Name != "root" {
		t.Errorf("UserByUID(0) = %v", u)
	}
}

func TestParseShadowFixture(t *testing.T) {
	entries, bad := ParseShadow(readFixture(t, "shadow"))
	db := &DB{Shadow: entries}
	if s := db.ShadowOf("bob"); s == nil || s.Hash != "!" || s.LastChange != 19000 || s.Max != -1 || s.Expire != -1 {
		t.Errorf("bob = %+v", s)
	}
	if s := db.ShadowOf("old"); s == nil || s.LastChange != -1 || s.Max != -1 {
		t.Errorf("old form = %+v", s)
	}
	if s := db.ShadowOf("five"); s == nil || s.Max != 99999 || s.Warn != -1 || s.Expire != -1 {
		t.Errorf("five fields = %+v", s)
	}
	if s := db.ShadowOf("neg"); s == nil || s.LastChange != -1 || s.Max != -1 || s.Warn != 7 {
		t.Errorf("negative fields = %+v", s)
	}
	if s := db.ShadowOf("exp"); s == nil || s.Max != 90 || s.Inactive != 30 || s.Expire != 19500 || s.Line != 12 {
		t.Errorf("exp = %+v", s)
	}
	want := map[int]string{
		7:  "minimum age field missing or not a number",
		8:  "inactivity period field missing or not a number",
		9:  "expiration date field missing or not a number",
		11: "last change field missing or not a number",
	}
	if len(bad) != len(want) {
		t.Fatalf("errors = %+v, want lines %v", bad, want)
	}
	for _, b := range bad {
		if want[b.Line] != b.Reason {
			t.Errorf("line %d: reason %q, want %q", b.Line, b.Reason, want[b.Line])
		}
		if !strings.HasPrefix(strings.SplitN(b.Text, ":", 2)[1], "<hash>") {
			t.Errorf("line %d: the hash is shown: %q", b.Line, b.Text)
		}
	}
}

func TestParseGroupFixture(t *testing.T) {
	entries, bad := ParseGroup(readFixture(t, "group"))
	db := &DB{Group: entries}
	if g := db.GroupByName("adm"); g == nil || g.GID != 4 || !reflect.DeepEqual(g.Members, []string{"syslog", "alice"}) {
		t.Errorf("adm = %+v", g)
	}
	// glibc skips the blanks before a member, not after it, and empty ones.
	if g := db.GroupByName("devs"); g == nil || !reflect.DeepEqual(g.Members, []string{"alice ", "bob", "carol"}) {
		t.Errorf("devs = %+v", g)
	}
	if g := db.GroupByGID(2000); g == nil || g.Name != "devs" {
		t.Errorf("GroupByGID(2000) = %+v, want the first record (devs)", g)
	}
	want := map[int]string{6: "gid is not a number", 7: "gid is not a number"}
	if len(bad) != len(want) {
		t.Fatalf("errors = %+v, want lines %v", bad, want)
	}
	for _, b := range bad {
		if want[b.Line] != b.Reason {
			t.Errorf("line %d: reason %q, want %q", b.Line, b.Reason, want[b.Line])
		}
	}
}

func TestGroupNamesFollowGetgrouplist(t *testing.T) {
	pw, _ := ParsePasswd(readFixture(t, "passwd"))
	gr, _ := ParseGroup(readFixture(t, "group"))
	db := &DB{Passwd: pw, Group: gr}
	// alice: primary 1000 (alice), adm lists her; devs lists "alice " with
	// a trailing blank, which is not her.
	if got := db.GroupNames(db.User("alice")); !reflect.DeepEqual(got, []string{"alice", "adm"}) {
		t.Errorf("alice's groups = %v", got)
	}
	// bob: primary 1001 (bob), and devs (2000) once even though dup has
	// the same gid; the name is getgrgid's, the first record's.
	if got := db.GroupNames(db.User("bob")); !reflect.DeepEqual(got, []string{"bob", "devs"}) {
		t.Errorf("bob's groups = %v", got)
	}
	// A primary gid without a group record has no name: left out.
	if got := db.GroupNames(db.User("eve")); len(got) != 0 {
		t.Errorf("eve's groups = %v, want none", got)
	}
}

// checkLines asserts the invariants every parser keeps: each record line
// gives exactly one entry or one error, at its own line number.
func checkLines(t *testing.T, data []byte, lines []int) {
	seen := map[int]bool{}
	for _, n := range lines {
		if seen[n] {
			t.Fatalf("line %d reported twice", n)
		}
		seen[n] = true
	}
	all := bytes.Split(data, []byte("\n"))
	want := 0
	for i, l := range all {
		s := string(l)
		if j := strings.IndexByte(s, 0); j >= 0 {
			s = s[:j]
		}
		s = strings.TrimLeft(s, " \t\v\f\r")
		if s != "" && s[0] != '#' {
			want++
			if !seen[i+1] {
				t.Fatalf("line %d (%q) neither parsed nor reported", i+1, s)
			}
		}
	}
	if want != len(lines) {
		t.Fatalf("%d records for %d lines", len(lines), want)
	}
}

func FuzzParsePasswd(f *testing.F) {
	f.Add(readFixture(f, "passwd"))
	f.Add([]byte("a:b:1:2:c:d:e\n+\n-x\n:::\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, bad := ParsePasswd(data)
		var lines []int
		for _, e := range entries {
			lines = append(lines, e.Line)
			if !e.Compat && (e.Name == "" || e.UID < 0 || e.GID < 0) {
				t.Fatalf("bad entry %+v", e)
			}
		}
		for _, b := range bad {
			lines = append(lines, b.Line)
		}
		checkLines(t, data, lines)
	})
}

func FuzzParseShadow(f *testing.F) {
	f.Add(readFixture(f, "shadow"))
	f.Add([]byte("a:SECRET:1:2:3:4:5:6:7:8\nb:SECRET\nc:SECRET:x"))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, bad := ParseShadow(data)
		var lines []int
		for _, e := range entries {
			lines = append(lines, e.Line)
		}
		for _, b := range bad {
			lines = append(lines, b.Line)
			// The password field must never reach a report: after the
			// name comes the marker, or the cut made for length.
			if _, rest, ok := strings.Cut(b.Text, ":"); ok && !strings.HasPrefix(rest, "<hash>") &&
				!(strings.HasSuffix(rest, "...") && strings.HasPrefix("<hash>", strings.TrimSuffix(rest, "..."))) {
				t.Fatalf("hash shown in %q", b.Text)
			}
		}
		checkLines(t, data, lines)
	})
}

func FuzzParseGroup(f *testing.F) {
	f.Add(readFixture(f, "group"))
	f.Add([]byte("g:x:1:a,b,,c\n+g\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, bad := ParseGroup(data)
		var lines []int
		for _, e := range entries {
			lines = append(lines, e.Line)
			for _, m := range e.Members {
				if m == "" || strings.Contains(m, ",") {
					t.Fatalf("bad member %q in %+v", m, e)
				}
			}
		}
		for _, b := range bad {
			lines = append(lines, b.Line)
		}
		checkLines(t, data, lines)
	})
}
