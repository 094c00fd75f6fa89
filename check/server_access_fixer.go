package check

import (
	"path/filepath"
	"strconv"
	"strings"

	"github.com/sshdoctor/sshdoctor/host/accounts"
)

// fixer writes fix commands for the inspected system: paths inside an
// offline tree are prefixed with it, owners are numeric there (names would
// resolve with this machine's passwd), account tools get their --root
// option, and sshd is only reloaded on the live system.
type fixer struct{ acct *accounts.Facts }

func (x fixer) offline() bool { return x.acct.Root != "" && x.acct.Root != "/" }

func (x fixer) path(p string) string {
	if !x.offline() {
		return p
	}
	return filepath.Join(x.acct.Root, p)
}

func (x fixer) owner(uid int64) string {
	if !x.offline() && x.acct.DB != nil {
		return x.acct.DB.UserName(uid)
	}
	return strconv.FormatInt(uid, 10)
}

func (x fixer) group(gid int64) string {
	if !x.offline() && x.acct.DB != nil {
		return x.acct.DB.GroupName(gid)
	}
	return strconv.FormatInt(gid, 10)
}

func (x fixer) rootFlag(flag string) string {
	if !x.offline() {
		return ""
	}
	return " " + flag + " " + shellQuote(x.acct.Root)
}

// tool runs a shadow-utils command; offline with -R DIR, which they all
// take (useradd, usermod, chage, chsh, passwd).
func (x fixer) tool(name string, args ...string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = a
		if !strings.HasPrefix(a, "'") {
			q[i] = shellQuote(a)
		}
	}
	return name + x.rootFlag("-R") + " " + strings.Join(q, " ")
}

func (x fixer) reload() []string {
	if x.offline() {
		return nil
	}
	return []string{"sshd -t && systemctl reload ssh"}
}
