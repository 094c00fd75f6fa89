package accounts

import (
	"path"
	"strconv"
	"strings"
)

// PAMModule is one module line of sshd's PAM stack.
type PAMModule struct {
	// Type is auth, account, session or password. sshd runs the account and
	// session stacks for every login, but the auth stack only for password
	// and keyboard-interactive logins: key logins never reach it.
	Type string
	// Control is the control field ("required", "[success=1 default=ignore]").
	Control string
	// Module is the module's file name without directory ("pam_nologin.so").
	Module string
	// Args are the module arguments, joined by spaces; empty when none.
	Args string
	// Source is "file:line", the file as seen on the inspected system.
	Source string
}

// PAMFacts is what sshd's PAM configuration holds that matters to logins.
type PAMFacts struct {
	// File is the service file read ("/etc/pam.d/sshd", or
	// "/etc/pam.d/other" when sshd's is missing); empty when neither exists.
	File string
	// Modules are the module lines reachable from File through @include,
	// include and substack, in order; only those that decide logins sshd
	// judges: pam_nologin, pam_shells, pam_access, pam_listfile, pam_time,
	// pam_succeed_if, pam_deny, pam_unix.
	Modules []PAMModule
}

// Has returns the lines of module (e.g. "pam_nologin.so") of type typ
// ("" for any type).
func (p PAMFacts) Has(module, typ string) []PAMModule {
	var out []PAMModule
	for _, m := range p.Modules {
		if m.Module == module && (typ == "" || m.Type == typ) {
			out = append(out, m)
		}
	}
	return out
}

// NologinFor returns the pam_nologin lines that check path: those with
// file=path, or without file= (the module's defaults, /var/run/nologin,
// which is /run/nologin, and /etc/nologin).
func (p PAMFacts) NologinFor(path string) []PAMModule {
	var out []PAMModule
	for _, m := range p.Has("pam_nologin.so", "") {
		file := ""
		for _, arg := range strings.Fields(m.Args) {
			if v, ok := strings.CutPrefix(arg, "file="); ok {
				file = v
			}
		}
		if file == path || (file == "" && (path == "/etc/nologin" || path == "/run/nologin" || path == "/var/run/nologin")) {
			out = append(out, m)
		}
	}
	return out
}

var pamInteresting = map[string]bool{
	"pam_nologin.so": true, "pam_shells.so": true, "pam_access.so": true, "pam_listfile.so": true,
	"pam_time.so": true, "pam_succeed_if.so": true, "pam_deny.so": true, "pam_unix.so": true,
}

// readPAM reads sshd's PAM service file from the tree. read returns a
// file's content by its path on the inspected system.
func readPAM(read func(string) ([]byte, error)) PAMFacts {
	var p PAMFacts
	for _, f := range []string{"/etc/pam.d/sshd", "/etc/pam.d/other"} {
		if _, err := read(f); err == nil {
			p.File = f
			break
		}
	}
	if p.File == "" {
		return p
	}
	seen := map[string]bool{}
	var walk func(file, onlyType string, depth int)
	walk = func(file, onlyType string, depth int) {
		if depth > 8 || seen[file+"\x00"+onlyType] {
			return
		}
		seen[file+"\x00"+onlyType] = true
		data, err := read(file)
		if err != nil {
			return
		}
		for i, line := range strings.Split(string(data), "\n") {
			line = strings.TrimSpace(line)
			if line == "" || line[0] == '#' {
				continue
			}
			src := file + ":" + strconv.Itoa(i+1)
			if rest, ok := strings.CutPrefix(line, "@include"); ok {
				// Debian's @include pulls every type of the named file.
				walk(pamPath(strings.TrimSpace(rest)), onlyType, depth+1)
				continue
			}
			typ, rest := pamField(line)
			typ = strings.TrimPrefix(strings.ToLower(typ), "-")
			if onlyType != "" && typ != onlyType {
				continue
			}
			control, rest := pamField(rest)
			mod, args := pamField(rest)
			switch strings.ToLower(control) {
			case "include", "substack":
				walk(pamPath(mod), typ, depth+1)
				continue
			}
			name := path.Base(mod)
			if pamInteresting[name] {
				p.Modules = append(p.Modules, PAMModule{Type: typ, Control: control, Module: name, Args: strings.TrimSpace(args), Source: src})
			}
		}
	}
	walk(p.File, "", 0)
	return p
}

// pamField splits off the first field of a PAM line; a control in square
// brackets is one field even with spaces inside.
func pamField(s string) (string, string) {
	s = strings.TrimLeft(s, " \t")
	if strings.HasPrefix(s, "[") {
		if i := strings.IndexByte(s, ']'); i >= 0 {
			return s[:i+1], s[i+1:]
		}
	}
	i := strings.IndexAny(s, " \t")
	if i < 0 {
		return s, ""
	}
	return s[:i], s[i:]
}

func pamPath(name string) string {
	if strings.HasPrefix(name, "/") {
		return name
	}
	return "/etc/pam.d/" + name
}
