package check_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/sshdoctor/sshdoctor/check"
)

// contractCheckCodes are the codes of the `check` section of CONTRACT.md,
// with their contract severity. They are public: never renamed or removed.
var contractCheckCodes = map[string]check.Severity{
	"dns.unresolved":           check.SeverityError,
	"dns.failed":               check.SeverityError,
	"net.unreachable":          check.SeverityError,
	"tcp.refused":              check.SeverityError,
	"tcp.rejected":             check.SeverityError,
	"tcp.filtered":             check.SeverityError,
	"ssh.other-port":           check.SeverityError,
	"ssh.not-ssh":              check.SeverityError,
	"ssh.closed-before-banner": check.SeverityError,
	"ssh.no-banner":            check.SeverityError,
	"ssh.kex-mismatch":         check.SeverityError,
	"ssh.kex-stalled":          check.SeverityError,
	"hostkey.changed":          check.SeverityError,
	"hostkey.unknown":          check.SeverityInfo,
	"auth.key-not-accepted":    check.SeverityError,
	"auth.no-keys":             check.SeverityError,
	"auth.method-unavailable":  check.SeverityError,
	"auth.too-many-keys":       check.SeverityError,
	"auth.signature-algorithm": check.SeverityError,
	"client.key-permissions":   check.SeverityError,
}

func TestContractCodesRegistered(t *testing.T) {
	for code, sev := range contractCheckCodes {
		d, ok := check.Lookup(code)
		if !ok {
			t.Errorf("%s (a contract code) is not registered", code)
			continue
		}
		if d.Code != code {
			t.Errorf("%s: Doc.Code = %q", code, d.Code)
		}
		if d.Severity != sev {
			t.Errorf("%s: severity %q, the contract says %q", code, d.Severity, sev)
		}
		if d.Layer >= check.LayerInstall {
			t.Errorf("%s: layer %d is a server layer", code, d.Layer)
		}
		for name, text := range map[string]string{"Title": d.Title, "Meaning": d.Meaning, "Detection": d.Detection, "Fix": d.Fix} {
			if strings.TrimSpace(text) == "" {
				t.Errorf("%s: empty %s", code, name)
			}
		}
		if strings.ContainsAny(d.Title, "\n\r") || strings.HasSuffix(d.Title, ".") {
			t.Errorf("%s: title %q is not a one-line title", code, d.Title)
		}
		if len(d.Meaning) < 80 || len(d.Fix) < 20 {
			t.Errorf("%s: meaning or fix too short to help anyone", code)
		}
	}
}

// The contract's causal order for check: dns, net, tcp, ssh transport,
// host key, auth.
func TestCausalOrder(t *testing.T) {
	order := []string{"dns.unresolved", "net.unreachable", "tcp.refused", "ssh.kex-mismatch", "hostkey.changed", "auth.key-not-accepted"}
	for i := 1; i < len(order); i++ {
		if check.LayerOf(order[i-1]) >= check.LayerOf(order[i]) {
			t.Errorf("%s does not come before %s in causal order", order[i-1], order[i])
		}
	}
	if check.LayerOf("no.such-code") <= check.LayerOf("auth.no-keys") {
		t.Errorf("an unknown code does not sort last")
	}
}

func TestAllIsOrdered(t *testing.T) {
	all := check.All()
	if len(all) < len(contractCheckCodes) {
		t.Fatalf("All() has %d codes, fewer than the contract's %d", len(all), len(contractCheckCodes))
	}
	for i := 1; i < len(all); i++ {
		a, b := all[i-1], all[i]
		if a.Layer > b.Layer || (a.Layer == b.Layer && a.Code >= b.Code) {
			t.Errorf("All() out of order at %s, %s", a.Code, b.Code)
		}
	}
}

func mustPanic(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s did not panic", what)
		}
	}()
	f()
}

func TestRegisterRefusesBadDocs(t *testing.T) {
	doc := check.Doc{Code: "zz-test.register", Severity: check.SeverityWarning, Layer: check.LayerLogs,
		Title: "Test", Meaning: "m", Detection: "d", Fix: "f"}
	check.Register(doc)
	mustPanic(t, "a duplicate code", func() { check.Register(doc) })
	mustPanic(t, "an existing contract code", func() {
		check.Register(check.Doc{Code: "tcp.refused", Severity: check.SeverityError, Title: "x", Meaning: "x", Detection: "x", Fix: "x"})
	})
	bad := doc
	bad.Code, bad.Fix = "zz-test.nofix", ""
	mustPanic(t, "a doc without a fix", func() { check.Register(bad) })
	bad = doc
	bad.Code, bad.Severity = "zz-test.badsev", "fatal"
	mustPanic(t, "a bad severity", func() { check.Register(bad) })
	mustPanic(t, "New with an unknown code", func() { check.New("zz-test.unknown", "x") })
}

func TestSimilar(t *testing.T) {
	tests := []struct {
		in    string
		first string   // the best suggestion; empty means none expected
		has   []string // must be among the suggestions
	}{
		{"tcp.rejectd", "tcp.rejected", nil},
		{"TCP.REJECTED ", "tcp.rejected", nil},
		{"hostkey.chnaged", "hostkey.changed", nil},
		{"tcp", "", []string{"tcp.refused", "tcp.rejected", "tcp.filtered"}},
		{"rejected", "", []string{"tcp.rejected"}},
		{"kex", "", []string{"ssh.kex-mismatch", "ssh.kex-stalled"}},
		{"zzzzzzzzzzzzzzzzzzzz", "", nil},
	}
	for _, tt := range tests {
		got := check.Similar(tt.in)
		if len(got) > 8 {
			t.Errorf("Similar(%q) gives %d suggestions, more than 8", tt.in, len(got))
		}
		if tt.first != "" && (len(got) == 0 || got[0] != tt.first) {
			t.Errorf("Similar(%q) = %q, want %q first", tt.in, got, tt.first)
		}
		for _, h := range tt.has {
			if !slices.Contains(got, h) {
				t.Errorf("Similar(%q) = %q, want it to include %q", tt.in, got, h)
			}
		}
		if tt.first == "" && tt.has == nil && len(got) != 0 {
			t.Errorf("Similar(%q) = %q, want nothing", tt.in, got)
		}
	}
}

func TestVerdict(t *testing.T) {
	auth := check.New("auth.no-keys", "no keys")
	tcpWarn := check.New("tcp.refused", "v6 refused").WithSeverity(check.SeverityWarning)
	kex := check.New("ssh.kex-mismatch", "first transport error")
	kex2 := check.New("ssh.not-ssh", "second transport error")
	info := check.New("hostkey.unknown", "new host")

	if v := check.Verdict([]check.Finding{info, tcpWarn}); v != nil {
		t.Errorf("Verdict without errors = %s, want nil", v.Code)
	}
	v := check.Verdict([]check.Finding{auth, tcpWarn, info, kex, kex2})
	if v == nil || v.Code != "ssh.kex-mismatch" {
		t.Fatalf("Verdict = %v, want ssh.kex-mismatch (earliest error layer, first in report order)", v)
	}
	if v.Detail != "first transport error" {
		t.Errorf("ties do not keep report order: %q", v.Detail)
	}
}

func TestFindingBuilders(t *testing.T) {
	f := check.New("tcp.rejected", "detail", check.E("offender", "10.0.0.1"), check.E("icmp_type", 3))
	if f.Severity != check.SeverityError || f.Title == "" || f.Fix != nil {
		t.Errorf("New: %+v", f)
	}
	g := f.WithFix("do this", "cmd1", "cmd2").WithWarning("careful")
	if f.Fix != nil {
		t.Errorf("WithFix changed the original finding")
	}
	if g.Fix.Summary != "do this" || !slices.Equal(g.Fix.Commands, []string{"cmd1", "cmd2"}) || g.Fix.Warning != "careful" {
		t.Errorf("fix = %+v", g.Fix)
	}
	h := g.WithWarning("other")
	if g.Fix.Warning != "careful" {
		t.Errorf("WithWarning changed the original's fix")
	}
	if h.Fix.Warning != "other" {
		t.Errorf("WithWarning = %q", h.Fix.Warning)
	}
	if got := f.Evidence.Get("icmp_type"); got != 3 {
		t.Errorf("Get = %v", got)
	}
	if got := f.Evidence.Get("missing"); got != nil {
		t.Errorf("Get(missing) = %v", got)
	}
}

func TestEvidenceJSONKeepsOrder(t *testing.T) {
	ev := check.Evidence{check.E("zeta", "z"), check.E("alpha", 1), check.E("list", []string{"a", "b"}), check.E("ok", true), check.E("ports", []int{22, 2222})}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"zeta":"z","alpha":1,"list":["a","b"],"ok":true,"ports":[22,2222]}`; got != want {
		t.Errorf("MarshalJSON = %s, want %s", got, want)
	}
	var back check.Evidence
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if len(back) != 5 || back.Get("zeta") != "z" || back.Get("alpha") != 1.0 {
		t.Errorf("UnmarshalJSON = %+v", back)
	}
	empty, err := json.Marshal(check.Evidence(nil))
	if err != nil || string(empty) != "{}" {
		t.Errorf("nil evidence marshals to %s, %v; want {}", empty, err)
	}
	f := check.New("tcp.refused", "d", check.E("bad", func() {}))
	if _, err := json.Marshal(f); err == nil {
		t.Errorf("an evidence value that is not JSON marshals without error")
	}
}
