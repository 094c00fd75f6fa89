package fix

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/sshdoctor/sshdoctor/check"
	"github.com/sshdoctor/sshdoctor/probe"
)

// ClientOptions shape the client-side plan.
type ClientOptions struct {
	// ConfigFile is the ssh client configuration to edit: -F FILE, or
	// ~/.ssh/config; "none" means there is none to edit.
	ConfigFile string
	// Only limits the plan to these finding codes; empty means every code
	// that needs no explicit consent.
	Only []string
}

// consentCodes change trust or access, so they are fixed only when named
// with --only.
var consentCodes = []string{"hostkey.changed"}

// PlanClient turns the findings of `sshdoctor check` into a plan for this
// machine's side: key file modes, the ssh client configuration for the
// Host, and (only on request) known_hosts.
func PlanClient(findings []check.Finding, f *probe.Facts, o ClientOptions) (*Plan, error) {
	p := &Plan{}
	if f == nil || f.Target == nil {
		return p, nil
	}
	t := f.Target
	want := func(code string) bool {
		if len(o.Only) > 0 {
			return slices.Contains(o.Only, code)
		}
		return !slices.Contains(consentCodes, code)
	}
	// Config edits accumulate on one text so that several options for the
	// Host become one file change.
	var cfgText, cfgBefore string
	cfgLoaded := false
	var cfgSummaries, cfgFindings []string
	var cfgWarning string
	setOption := func(code, keyword, value, why string) {
		if o.ConfigFile == "none" || o.ConfigFile == "" {
			p.Manual = append(p.Manual, Step{Finding: code, Kind: KindManual,
				Summary: fmt.Sprintf("add '%s %s' for Host %s to your ssh configuration", keyword, value, t.Alias),
				Risk:    "no configuration file to edit (-F none)"})
			return
		}
		if !cfgLoaded {
			b, err := os.ReadFile(o.ConfigFile)
			if err != nil && !os.IsNotExist(err) {
				p.Manual = append(p.Manual, Step{Finding: code, Kind: KindManual, Summary: "edit " + o.ConfigFile, Risk: err.Error()})
				return
			}
			cfgText, cfgBefore, cfgLoaded = string(b), string(b), true
		}
		if HostOption(cfgText, t.Alias, keyword) == value {
			return
		}
		out, conflict := SetHostOption(cfgText, t.Alias, keyword, value)
		if conflict != "" {
			p.Manual = append(p.Manual, Step{Finding: code, Kind: KindManual,
				Summary: fmt.Sprintf("set %s %s for Host %s in %s", keyword, value, t.Alias, o.ConfigFile),
				Risk:    conflict + "; changing it would affect every host, so sshdoctor leaves it to you"})
			return
		}
		cfgText = out
		cfgSummaries = append(cfgSummaries, fmt.Sprintf("%s %s", keyword, value))
		cfgFindings = append(cfgFindings, code)
		if why != "" {
			cfgWarning = strings.TrimSpace(cfgWarning + " " + why)
		}
	}

	for _, fd := range findings {
		if fd.Severity != check.SeverityError && fd.Code != "client.key-permissions" {
			continue
		}
		if !want(fd.Code) {
			if slices.Contains(consentCodes, fd.Code) {
				p.Skipped = append(p.Skipped, fmt.Sprintf("%s: changes whom you trust; run with --only %s after confirming the new key", fd.Code, fd.Code))
			}
			continue
		}
		switch fd.Code {
		case "client.key-permissions":
			path, _ := fd.Evidence.Get("file").(string)
			if path == "" {
				continue
			}
			p.Steps = append(p.Steps, Step{Finding: fd.Code, Kind: KindChmod, Path: path, Mode: 0o600,
				Summary: "make the private key " + path + " readable by you only"})
		case "ssh.other-port":
			ports, _ := fd.Evidence.Get("ports").([]int)
			if len(ports) == 0 {
				continue
			}
			setOption(fd.Code, "Port", fmt.Sprint(ports[0]), "")
		case "auth.too-many-keys":
			acc := f.SSH.Auth.Accepted()
			if acc == nil {
				continue
			}
			path := acc.Key.Path
			if path == "" {
				// An agent-only key: save its public half so IdentityFile can
				// name it (ssh then asks the agent for that key alone).
				path = filepath.Join(filepath.Dir(o.ConfigFile), safeFile(t.Alias)+"_agent_key.pub")
				p.Steps = append(p.Steps, Step{Finding: fd.Code, Kind: KindWrite, Path: path, Mode: 0o644, UID: -1, GID: -1,
					Content: ssh.MarshalAuthorizedKey(acc.Key.Key),
					Summary: "save the public half of the agent key the server accepts, for IdentityFile"})
			}
			setOption(fd.Code, "IdentitiesOnly", "yes", "")
			setOption(fd.Code, "IdentityFile", path, "")
		case "ssh.kex-mismatch":
			opt, _ := fd.Evidence.Get("option").(string)
			kw, val, ok := strings.Cut(opt, " ")
			if !ok {
				p.Manual = append(p.Manual, Step{Finding: fd.Code, Kind: KindManual, Summary: "modernise the server: no client option can fix this"})
				continue
			}
			w := ""
			if fd.Fix != nil {
				w = fd.Fix.Warning
			}
			setOption(fd.Code, kw, val, w)
		case "auth.signature-algorithm":
			w := ""
			if fd.Fix != nil {
				w = fd.Fix.Warning
			}
			setOption(fd.Code, "PubkeyAcceptedAlgorithms", "^ssh-rsa", w)
		case "hostkey.changed":
			if st, err := planKnownHosts(f); err != nil {
				p.Manual = append(p.Manual, Step{Finding: fd.Code, Kind: KindManual, Summary: "update known_hosts", Risk: err.Error()})
			} else {
				p.Steps = append(p.Steps, st...)
			}
		default:
			if fd.Fix != nil && len(fd.Fix.Commands) > 0 {
				p.Manual = append(p.Manual, Step{Finding: fd.Code, Kind: KindManual, Summary: fd.Fix.Summary,
					Command: []string{fd.Fix.Commands[0]}, Risk: "this is on the server or needs a person's judgement"})
			}
		}
	}
	if cfgLoaded && cfgText != cfgBefore {
		st := Step{Finding: strings.Join(uniq(cfgFindings), ","), Kind: KindWrite, Path: o.ConfigFile, Content: []byte(cfgText),
			Mode: 0o600, UID: -1, GID: -1,
			Summary: fmt.Sprintf("set %s for Host %s in %s", strings.Join(cfgSummaries, ", "), t.Alias, o.ConfigFile),
			Risk:    cfgWarning}
		if cfgBefore != "" {
			st.Diff = Diff(o.ConfigFile, cfgBefore, cfgText)
		}
		p.Steps = append(p.Steps, st)
	}
	return p, nil
}

// planKnownHosts removes the stale entries for the host (hashed ones too)
// from each file that has them, and records the key the server proved, in
// the first file, in the same style (hashed or not).
func planKnownHosts(f *probe.Facts) ([]Step, error) {
	if f.SSH == nil || f.SSH.HostKey == nil || f.KnownHosts == nil {
		return nil, fmt.Errorf("the server's host key is not known")
	}
	hk := f.SSH.HostKey
	byFile := map[string][]int{}
	hashed := false
	var files []string
	for _, m := range f.KnownHosts.Matches {
		if m.Marker != "" {
			continue
		}
		if _, ok := byFile[m.File]; !ok {
			files = append(files, m.File)
		}
		byFile[m.File] = append(byFile[m.File], m.Line)
		hashed = hashed || m.Hashed
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no stale entry found")
	}
	name := f.KnownHosts.Names[0]
	newLine := name
	if hashed {
		salt := make([]byte, 20)
		if _, err := rand.Read(salt); err != nil {
			return nil, err
		}
		m := hmac.New(sha1.New, salt)
		m.Write([]byte(name))
		newLine = "|1|" + base64.StdEncoding.EncodeToString(salt) + "|" + base64.StdEncoding.EncodeToString(m.Sum(nil))
	}
	newLine += " " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(hk.Key)))
	var steps []Step
	for i, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		lines := strings.SplitAfter(string(b), "\n")
		var kept []string
		for n, l := range lines {
			if slices.Contains(byFile[file], n+1) {
				continue
			}
			kept = append(kept, l)
		}
		after := strings.Join(kept, "")
		if i == 0 {
			if after != "" && !strings.HasSuffix(after, "\n") {
				after += "\n"
			}
			after += newLine + "\n"
		}
		steps = append(steps, Step{Finding: "hostkey.changed", Kind: KindWrite, Path: file, Content: []byte(after), UID: -1, GID: -1,
			Diff:    Diff(file, string(b), after),
			Summary: fmt.Sprintf("replace the stale host key of %s in %s with %s %s", name, file, hk.Type, hk.Fingerprint),
			Risk:    "you trust the new key from now on: do this only after confirming its fingerprint with the server's administrator"})
	}
	return steps, nil
}

func safeFile(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '_'
	}, s)
}

func uniq(s []string) []string {
	var out []string
	for _, x := range s {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}
