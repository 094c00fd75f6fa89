package report_test

import (
	"bytes"
	"encoding/json"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/sshdoctor/sshdoctor/check"
	"github.com/sshdoctor/sshdoctor/report"
)

// failing is a check report whose findings arrive out of causal order.
func failing() *report.Report {
	r := report.New("check")
	r.Target = &report.Target{Input: "bob@web1", Host: "10.0.0.5", Port: 22, User: "bob", Addresses: []string{"10.0.0.5"}}
	r.Subject = "ssh to bob@web1"
	r.Findings = []check.Finding{
		check.New("hostkey.unknown", "not known yet", check.E("presented", "ssh-ed25519 SHA256:abc")).
			WithFix("record it", "ssh-keyscan web1 >> ~/.ssh/known_hosts"),
		check.New("auth.no-keys", "no keys to offer").WithFix("make one", "ssh-keygen -t ed25519"),
		check.New("tcp.rejected", "a firewall at 10.0.0.1 rejects",
			check.E("offender", "10.0.0.1"), check.E("icmp_type", 3), check.E("icmp_code", 13),
			check.E("ssh_says", "No route to host"), check.E("offender_is_target", false),
			check.E("ports", []int{22, 2222}), check.E("list", []string{"a", "b"})).
			WithFix("allow it", "sudo nft list ruleset").WithWarning("careful"),
		check.New("tcp.refused", "v6 refused").WithSeverity(check.SeverityWarning).WithFix("x"),
	}
	r.Steps = []report.Step{
		{Name: "dns", Status: report.StepOK, MS: 1.25, Detail: "10.0.0.5"},
		{Name: "tcp", Status: report.StepFail, MS: 3000},
		{Name: "banner", Status: report.StepSkip},
	}
	r.Finalize()
	return r
}

func healthy() *report.Report {
	r := report.New("check")
	r.Target = &report.Target{Input: "web1", Host: "web1", Port: 22, User: "bob", Addresses: []string{"10.0.0.5"}}
	r.Findings = []check.Finding{check.New("hostkey.unknown", "not known yet").WithFix("record it")}
	r.Steps = []report.Step{{Name: "auth", Status: report.StepOK, MS: 0.5}}
	r.OKSummary = "would work: the server accepts ssh-ed25519 SHA256:abc"
	r.Finalize()
	return r
}

func keys(m map[string]any) []string {
	var k []string
	for key := range m {
		k = append(k, key)
	}
	sort.Strings(k)
	return k
}

func decode(t *testing.T, r *report.Report) (map[string]any, string) {
	t.Helper()
	var b bytes.Buffer
	if err := report.WriteJSON(&b, r); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b.Bytes()))
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b.String())
	}
	if dec.More() {
		t.Fatalf("more than one JSON document:\n%s", b.String())
	}
	return m, b.String()
}

func TestJSONFields(t *testing.T) {
	m, raw := decode(t, failing())
	if got, want := keys(m), []string{"command", "findings", "ok", "schema", "steps", "target", "verdict"}; !slices.Equal(got, want) {
		t.Errorf("top-level fields %q, want %q", got, want)
	}
	if m["schema"] != "sshdoctor/v1" || m["command"] != "check" || m["ok"] != false {
		t.Errorf("schema %v command %v ok %v", m["schema"], m["command"], m["ok"])
	}
	target := m["target"].(map[string]any)
	if got, want := keys(target), []string{"addresses", "host", "input", "port", "user"}; !slices.Equal(got, want) {
		t.Errorf("target fields %q, want %q", got, want)
	}
	if target["port"] != 22.0 || target["input"] != "bob@web1" {
		t.Errorf("target = %v", target)
	}
	v := m["verdict"].(map[string]any)
	if got, want := keys(v), []string{"code", "summary", "title"}; !slices.Equal(got, want) {
		t.Errorf("verdict fields %q, want %q", got, want)
	}
	if v["code"] != "tcp.rejected" || v["summary"] != "a firewall at 10.0.0.1 rejects" || v["title"] == "" {
		t.Errorf("verdict = %v, want tcp.rejected, the first error in causal order", v)
	}
	for _, x := range m["findings"].([]any) {
		f := x.(map[string]any)
		got := keys(f)
		if !slices.Equal(got, []string{"code", "detail", "evidence", "fix", "severity", "title"}) {
			t.Errorf("finding %v has fields %q", f["code"], got)
		}
		switch f["severity"] {
		case "error", "warning", "info":
		default:
			t.Errorf("severity %v", f["severity"])
		}
		if _, ok := f["evidence"].(map[string]any); !ok {
			t.Errorf("evidence of %v is not an object", f["code"])
		}
		fix := f["fix"].(map[string]any)
		if _, ok := fix["summary"].(string); !ok {
			t.Errorf("fix of %v has no summary", f["code"])
		}
	}
	rej := m["findings"].([]any)[0].(map[string]any)
	evd := rej["evidence"].(map[string]any)
	if evd["offender"] != "10.0.0.1" || evd["icmp_type"] != 3.0 || evd["icmp_code"] != 13.0 || evd["offender_is_target"] != false {
		t.Errorf("evidence = %v", evd)
	}
	if cmds := rej["fix"].(map[string]any)["commands"].([]any); len(cmds) != 1 || cmds[0] != "sudo nft list ruleset" {
		t.Errorf("fix commands = %v", cmds)
	}
	for _, x := range m["steps"].([]any) {
		s := x.(map[string]any)
		for _, k := range []string{"name", "status", "ms"} {
			if _, ok := s[k]; !ok {
				t.Errorf("step %v lacks %s", s, k)
			}
		}
	}
	// Evidence keeps its order in the document, as it reads in the text.
	if i, j := strings.Index(raw, `"offender"`), strings.Index(raw, `"icmp_type"`); i < 0 || j < i {
		t.Errorf("evidence keys out of order in\n%s", raw)
	}
	if !strings.HasSuffix(raw, "}\n") {
		t.Errorf("the document does not end with a newline")
	}
}

func TestJSONVerdictNullWhenOK(t *testing.T) {
	m, raw := decode(t, healthy())
	if m["ok"] != true {
		t.Errorf("ok = %v", m["ok"])
	}
	v, present := m["verdict"]
	if !present || v != nil {
		t.Errorf("verdict = %v (present %v), want null", v, present)
	}
	if !strings.Contains(raw, `"verdict": null`) {
		t.Errorf("verdict is not written as null:\n%s", raw)
	}
	if healthy().ExitCode() != report.ExitOK || failing().ExitCode() != report.ExitFailed {
		t.Errorf("exit codes: healthy %d failing %d", healthy().ExitCode(), failing().ExitCode())
	}
}

func TestJSONEmptyListsAreLists(t *testing.T) {
	r := report.New("check")
	r.Finalize()
	m, _ := decode(t, r)
	if _, ok := m["findings"].([]any); !ok {
		t.Errorf("findings = %v, want []", m["findings"])
	}
	if _, ok := m["steps"].([]any); !ok {
		t.Errorf("steps = %v, want []", m["steps"])
	}
}

func TestJSONLine(t *testing.T) {
	var b bytes.Buffer
	if err := report.WriteJSONLine(&b, failing()); err != nil {
		t.Fatal(err)
	}
	if strings.Count(b.String(), "\n") != 1 {
		t.Errorf("WriteJSONLine wrote %d lines", strings.Count(b.String(), "\n"))
	}
}

// Text from the network stays JSON-escaped in JSON and unescaped otherwise;
// '<' and '&' are not turned into \u003c.
func TestJSONHostileText(t *testing.T) {
	r := report.New("check")
	r.Findings = []check.Finding{check.New("ssh.not-ssh", "<b>&", check.E("raw", "SSH-2.0-\x1b]0;pwned\x07"))}
	r.Finalize()
	var b bytes.Buffer
	if err := report.WriteJSON(&b, r); err != nil {
		t.Fatal(err)
	}
	if bytes.ContainsAny(b.Bytes(), "\x1b\x07") {
		t.Errorf("raw control characters in JSON:\n%q", b.String())
	}
	if !strings.Contains(b.String(), `\u001b]0;pwned\u0007`) || !strings.Contains(b.String(), `"<b>&"`) {
		t.Errorf("unexpected escaping:\n%s", b.String())
	}
}

func TestFinalizeOrdersCausally(t *testing.T) {
	r := failing()
	var got []string
	for _, f := range r.Findings {
		got = append(got, f.Code)
	}
	want := []string{"tcp.rejected", "tcp.refused", "hostkey.unknown", "auth.no-keys"}
	if !slices.Equal(got, want) {
		t.Errorf("order %q, want %q (stable within a layer)", got, want)
	}
	if r.OK || r.Verdict == nil || r.Verdict.Code != "tcp.rejected" {
		t.Errorf("OK %v verdict %+v", r.OK, r.Verdict)
	}
	if !r.Has("auth.no-keys") || r.Has("dns.failed") || r.Find("tcp.refused").Severity != check.SeverityWarning {
		t.Errorf("Has/Find")
	}
}

var sgr = regexp.MustCompile(`\x1b\[[0-9;]*m`)

func TestTextEscapesNetworkText(t *testing.T) {
	r := report.New("check")
	r.Subject = "ssh to bob@web1\x1b[2J"
	hostile := "SSH-2.0-\x1b]0;pwned\x07\x1b[2J\u009b31m\u202e\r\nfake line"
	r.Findings = []check.Finding{
		check.New("ssh.not-ssh", "server said "+hostile,
			check.E("first_bytes", hostile), check.E("lines", []string{hostile, "ok"}), check.E("any", []any{hostile})).
			WithFix("fix "+hostile, "cmd "+hostile).WithWarning("warn " + hostile),
	}
	r.Steps = []report.Step{{Name: "banner", Status: report.StepFail, MS: 2, Detail: hostile}}
	r.Finalize()
	for _, color := range []bool{false, true} {
		var b bytes.Buffer
		if err := report.WriteText(&b, r, report.TextOptions{Color: color}); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		if color {
			out = sgr.ReplaceAllString(out, "")
		}
		if strings.ContainsAny(out, "\x1b\x07\r\u009b\u202e") {
			t.Errorf("color=%v: raw control characters reach the terminal:\n%q", color, out)
		}
		if !strings.Contains(out, `SSH-2.0-\e]0;pwned\x07\e[2J`) {
			t.Errorf("color=%v: the escaped banner is not shown:\n%s", color, out)
		}
		for _, line := range strings.Split(out, "\n") {
			if strings.HasPrefix(line, "fake line") {
				t.Errorf("color=%v: a newline from the network starts a line of its own: %q", color, line)
			}
		}
	}
}

func TestTextColourOnlyWhenAsked(t *testing.T) {
	for _, r := range []*report.Report{failing(), healthy()} {
		var plain, coloured bytes.Buffer
		if err := report.WriteText(&plain, r, report.TextOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := report.WriteText(&coloured, r, report.TextOptions{Color: true}); err != nil {
			t.Fatal(err)
		}
		if bytes.IndexByte(plain.Bytes(), 0x1b) >= 0 {
			t.Errorf("escape codes without colour:\n%q", plain.String())
		}
		if !sgr.Match(coloured.Bytes()) {
			t.Errorf("no colour codes with colour on:\n%q", coloured.String())
		}
		if got := sgr.ReplaceAllString(coloured.String(), ""); got != plain.String() {
			t.Errorf("colour changes the text:\n%s\nvs\n%s", got, plain.String())
		}
	}
}

func TestTextLeadsWithVerdict(t *testing.T) {
	var b bytes.Buffer
	if err := report.WriteText(&b, failing(), report.TextOptions{}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(b.String(), "\n")
	d, _ := check.Lookup("tcp.rejected")
	if !strings.HasPrefix(lines[0], "✗ ssh to bob@web1 fails: ") || !strings.Contains(lines[0], strings.ToLower(d.Title[:1])+d.Title[1:]) {
		t.Errorf("first line %q does not name the verdict", lines[0])
	}
	if strings.TrimSpace(lines[1]) != "a firewall at 10.0.0.1 rejects" {
		t.Errorf("second line %q is not the verdict's detail", lines[1])
	}
	out := b.String()
	for _, want := range []string{"error tcp.rejected:", "warning tcp.refused:", "info hostkey.unknown:",
		"offender", "10.0.0.1", "22, 2222", "fix: allow it", "sudo nft list ruleset", "warning: careful",
		"not reached", "3000 ms", "1.2 ms"} {
		if !strings.Contains(out, want) {
			t.Errorf("text lacks %q:\n%s", want, out)
		}
	}

	b.Reset()
	if err := report.WriteText(&b, healthy(), report.TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if first, _, _ := strings.Cut(b.String(), "\n"); first != "✓ sshdoctor check would work: the server accepts ssh-ed25519 SHA256:abc" {
		t.Errorf("first line %q", first)
	}
}

// Every finding carries the contract's six fields; a finding with nothing
// to do has "fix": null rather than no fix field at all, so that readers
// of the schema see the same shape for every finding.
func TestJSONFindingWithoutFixKeepsTheField(t *testing.T) {
	r := report.New("check")
	r.Findings = []check.Finding{check.New("probe.incomplete", "ssh connects through a ProxyCommand", check.E("proxy_command", "nc %h %p"))}
	r.Finalize()
	m, raw := decode(t, r)
	f := m["findings"].([]any)[0].(map[string]any)
	if _, ok := f["fix"]; !ok {
		t.Errorf("a finding without a fix has no \"fix\" field:\n%s", raw)
	}
}
