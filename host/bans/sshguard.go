package bans

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/sshdoctor/sshdoctor/host"
)

// SSHGuardConfig is sshguard's configuration file: a shell fragment that
// the sshguard script sources.
const SSHGuardConfig = "/etc/sshguard/sshguard.conf"

// sshguardBinaries show that sshguard is installed.
var sshguardBinaries = []string{"/usr/sbin/sshguard", "/usr/local/sbin/sshguard"}

func gatherSSHGuard(sys host.System) *SSHGuard {
	data, cfgErr := sys.ReadFile(SSHGuardConfig)
	installed := cfgErr == nil
	for _, b := range sshguardBinaries {
		if _, err := sys.Lstat(b); err == nil {
			installed = true
		}
	}
	if !installed {
		return nil
	}
	g := &SSHGuard{BlockTime: 120 * time.Second}
	if cfgErr != nil {
		return g
	}
	g.ConfigFile = SSHGuardConfig
	vars := parseShellVars(data)
	g.Backend = vars["BACKEND"]
	if n, err := strconv.Atoi(vars["BLOCK_TIME"]); err == nil && n > 0 {
		g.BlockTime = time.Duration(n) * time.Second
	}
	if bl := vars["BLACKLIST_FILE"]; bl != "" {
		// "[threshold:]file"
		if thr, file, ok := strings.Cut(bl, ":"); ok {
			if _, err := strconv.Atoi(thr); err == nil {
				bl = file
			}
		}
		g.BlacklistFile = bl
		if d, err := sys.ReadFile(bl); err == nil {
			g.Blacklist, g.Problems = parseBlacklist(bl, d)
		}
	}
	if wl := vars["WHITELIST_FILE"]; wl != "" {
		g.WhitelistFile = wl
		if d, err := sys.ReadFile(wl); err == nil {
			for _, line := range strings.Split(string(d), "\n") {
				if i := strings.IndexByte(line, '#'); i >= 0 {
					line = line[:i]
				}
				if t := strings.TrimSpace(line); t != "" {
					g.Whitelist = append(g.Whitelist, t)
				}
			}
		}
	}
	return g
}

// parseShellVars reads NAME=value assignments of a shell fragment, with
// single or double quotes; anything more (substitutions, conditionals) is
// beyond it and left alone.
func parseShellVars(data []byte) map[string]string {
	vars := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		name, val, ok := strings.Cut(line, "=")
		if !ok || strings.ContainsAny(name, " \t$") {
			continue
		}
		val = strings.TrimSpace(val)
		switch {
		case len(val) >= 2 && (val[0] == '"' || val[0] == '\''):
			if end := strings.IndexByte(val[1:], val[0]); end >= 0 {
				val = val[1 : 1+end]
			}
		default:
			if i := strings.Index(val, " #"); i >= 0 {
				val = val[:i]
			}
			val = strings.TrimSpace(val)
		}
		vars[name] = val
	}
	return vars
}

// parseBlacklist reads sshguard's blacklist: "time|service|kind|address"
// lines; sshguard skips lines that start with a blank or '#'.
func parseBlacklist(file string, data []byte) ([]BlacklistEntry, []string) {
	var out []BlacklistEntry
	var problems []string
	for i, line := range strings.Split(string(data), "\n") {
		if line == "" || line[0] == ' ' || line[0] == '\t' || line[0] == '#' {
			continue
		}
		f := strings.Split(strings.TrimSpace(line), "|")
		if len(f) != 4 {
			problems = append(problems, fmt.Sprintf("%s:%d: malformed blacklist line (sshguard ignores it)", file, i+1))
			continue
		}
		ts, err1 := strconv.ParseInt(f[0], 10, 64)
		a, err2 := netip.ParseAddr(f[3])
		if err1 != nil || err2 != nil || (f[2] != "4" && f[2] != "6") {
			problems = append(problems, fmt.Sprintf("%s:%d: malformed blacklist line (sshguard ignores it)", file, i+1))
			continue
		}
		out = append(out, BlacklistEntry{Addr: a.Unmap(), At: time.Unix(ts, 0), Line: i + 1})
	}
	return out, problems
}
