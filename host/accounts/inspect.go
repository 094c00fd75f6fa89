// Package accounts gathers the facts about a user account that decide
// whether sshd lets it log in: its passwd, shadow and group records, its
// shell, /etc/nologin and the PAM modules that act on them, all read from
// the inspected system (the live one, or an offline tree with --root). It
// also implements sshd's own rules that those facts feed: the locked and
// expired tests, the pattern matching and the order of AllowUsers,
// DenyUsers, AllowGroups and DenyGroups, and PermitRootLogin. The check
// package turns the facts into findings.
package accounts

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/sshdoctor/sshdoctor/host"
	"github.com/sshdoctor/sshdoctor/internal/textdist"
)

// The database files, as seen on the inspected system.
const (
	PasswdFile = "/etc/passwd"
	ShadowFile = "/etc/shadow"
	GroupFile  = "/etc/group"
	ShellsFile = "/etc/shells"
)

// Facts is everything about one account that sshd's login decision uses.
type Facts struct {
	// User is the login name asked about.
	User string
	// Root is the inspected tree: "/" for the live system, else --root.
	Root string
	// Live is true for the running system.
	Live bool
	// Now is the inspected system's clock when the facts were gathered;
	// Today is the same as a shadow(5) day number.
	Now   time.Time
	Today int64
	// Entry is the passwd record; nil when there is no such user.
	Entry *PasswdEntry
	// Source is where Entry came from: "files" (/etc/passwd) or "getent"
	// (another NSS service, live only). Empty when Entry is nil.
	Source string
	// NearMisses are, for a missing user, passwd names that differ by case
	// or a typo; empty otherwise.
	NearMisses []string
	// Shadow is the shadow record; nil when there is none or ShadowErr.
	Shadow *ShadowEntry
	// ShadowErr says why /etc/shadow could not be read; empty when read.
	ShadowErr string
	// Groups are the user's group names as sshd matches them (primary
	// first); GroupIDs the numeric group access list. Nil for no user.
	Groups   []string
	GroupIDs []int64
	// PrimaryGroup is the name of the primary group; empty when the gid
	// has no group record.
	PrimaryGroup string
	// Shell describes the login shell; zero when Entry is nil.
	Shell Shell
	// Nologin lists the nologin files present; nil when none.
	Nologin []NologinFile
	// PAM is sshd's PAM stack as configured (used only with UsePAM yes).
	PAM PAMFacts
	// Invalid holds lines of passwd, shadow and group that glibc skips.
	Invalid []LineError
	// DB is the parsed databases, for owner names and group checks.
	DB *DB
}

// Shell describes a login shell as sshd sees it.
type Shell struct {
	// Configured is the shell field as written (may be empty).
	Configured string
	// Path is what sshd runs: Configured, or /bin/sh when it is empty.
	Path string
	// Exists, Regular and Executable are stat(2) on Path (inside the
	// tree): whether it exists, is a regular file, and has any x bit.
	// sshd refuses the user unless all three hold (without ChrootDirectory).
	Exists, Regular, Executable bool
	// Err is a stat error other than "does not exist"; empty when none.
	Err string
	// Refuses names the program when the shell is one that ends every login
	// ("nologin", "false", "true"); empty otherwise.
	Refuses string
	// ShellsFile is true when /etc/shells exists; Listed is true when Path
	// is listed in it. sshd does not consult /etc/shells; pam_shells does.
	ShellsFile, Listed bool
	// Available are the shells of /etc/shells that exist and are
	// executable, in file order: candidates for a fix. Nil when none.
	Available []string
}

// NologinFile is a nologin file that exists.
type NologinFile struct {
	// Path is the file's path on the inspected system.
	Path string
	// Message is its first line, escaped; what users are shown.
	Message string
}

// Inspect gathers the facts about user on sys. It fails only when
// /etc/passwd cannot be read, since then nothing can be said about the
// account; a missing user is a fact (Entry nil), not an error.
func Inspect(ctx context.Context, sys host.System, user string) (*Facts, error) {
	root := sys.Root
	if root == "" {
		root = "/"
	}
	now := sys.Clock()
	f := &Facts{User: user, Root: root, Live: sys.Live, Now: now, Today: Day(now), DB: &DB{}}
	read := func(p string) ([]byte, error) {
		real, err := RealPath(root, p)
		if err != nil {
			return nil, err
		}
		return sys.ReadFile(real)
	}

	data, err := read(PasswdFile)
	if err != nil {
		return nil, fmt.Errorf("accounts: read %s: %w", sys.Path(PasswdFile), err)
	}
	var bad []LineError
	f.DB.Passwd, bad = ParsePasswd(data)
	f.Invalid = append(f.Invalid, withFile(bad, PasswdFile)...)
	if data, err := read(GroupFile); err == nil {
		f.DB.Group, bad = ParseGroup(data)
		f.Invalid = append(f.Invalid, withFile(bad, GroupFile)...)
	}
	if data, err := read(ShadowFile); err == nil {
		f.DB.Shadow, bad = ParseShadow(data)
		f.Invalid = append(f.Invalid, withFile(bad, ShadowFile)...)
	} else if !errors.Is(err, fs.ErrNotExist) {
		f.ShadowErr = err.Error()
	}

	f.Entry = f.DB.User(user)
	if f.Entry != nil {
		f.Source = "files"
	} else if sys.Live {
		// Accounts from LDAP, SSSD and the like are not in the files; ask
		// NSS as sshd would.
		if out, err := sys.Command(ctx, "getent", "passwd", user); err == nil {
			if es, _ := ParsePasswd(out); len(es) > 0 && es[0].Name == user {
				f.DB.Passwd = append(f.DB.Passwd, es[0])
				f.Entry = &f.DB.Passwd[len(f.DB.Passwd)-1]
				f.Source = "getent"
			}
		}
	}
	if f.Entry == nil {
		f.NearMisses = nearMisses(user, f.DB.Passwd)
		return f, nil
	}
	f.Shadow = f.DB.ShadowOf(user)
	if f.Shadow == nil && f.Source == "getent" {
		if out, err := sys.Command(ctx, "getent", "shadow", user); err == nil {
			if es, _ := ParseShadow(out); len(es) > 0 {
				f.Shadow = &es[0]
			}
		}
	}
	f.GroupIDs = f.DB.GroupIDs(f.Entry)
	f.Groups = f.DB.GroupNames(f.Entry)
	if g := f.DB.GroupByGID(f.Entry.GID); g != nil {
		f.PrimaryGroup = g.Name
	}
	f.Shell = inspectShell(root, f.Entry.Shell, read)

	nologin := []string{"/etc/nologin"}
	if sys.Live {
		// /run is a tmpfs: in an offline tree it holds nothing that will
		// exist at the next boot, so only the live system's counts.
		nologin = append(nologin, "/run/nologin", "/var/run/nologin")
	}
	seen := map[string]bool{}
	for _, p := range nologin {
		real, fi, err := StatIn(root, p)
		if err != nil || seen[real] || fi.IsDir() {
			continue
		}
		seen[real] = true
		msg := ""
		if data, err := sys.ReadFile(real); err == nil {
			first, _, _ := strings.Cut(string(data), "\n")
			msg = Escape(first, 200)
		}
		f.Nologin = append(f.Nologin, NologinFile{Path: p, Message: msg})
	}
	f.PAM = readPAM(read)
	return f, nil
}

// Hash returns the password hash sshd sees for the account, and where it
// is written ("/etc/shadow:3"): the shadow record's, or the passwd field
// when there is no shadow record. Empty when there is no account.
func (f *Facts) Hash() (hash, source string) {
	switch {
	case f.Entry == nil:
		return "", ""
	case f.Shadow != nil:
		return f.Shadow.Hash, fmt.Sprintf("%s:%d", ShadowFile, f.Shadow.Line)
	}
	return f.Entry.Password, fmt.Sprintf("%s:%d", PasswdFile, f.Entry.Line)
}

func withFile(errs []LineError, file string) []LineError {
	for i := range errs {
		errs[i].File = file
	}
	return errs
}

// refusers are programs used as shells to forbid logins.
var refusers = []string{"nologin", "false", "true"}

func inspectShell(root, configured string, read func(string) ([]byte, error)) Shell {
	s := Shell{Configured: configured, Path: configured}
	if s.Path == "" {
		s.Path = "/bin/sh" // _PATH_BSHELL
	}
	if data, err := read(ShellsFile); err == nil {
		s.ShellsFile = true
		for _, l := range strings.Split(string(data), "\n") {
			l = strings.TrimSpace(l)
			if l == "" || l[0] == '#' {
				continue
			}
			if l == s.Path {
				s.Listed = true
			}
			if _, fi, err := StatIn(root, l); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 &&
				!slices.Contains(refusers, path.Base(l)) && !slices.Contains(s.Available, l) {
				s.Available = append(s.Available, l)
			}
		}
	}
	base := path.Base(s.Path)
	if !strings.HasPrefix(s.Path, "/") {
		s.Err = "not an absolute path"
	} else if real, fi, err := StatIn(root, s.Path); err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			s.Err = err.Error()
		}
	} else {
		s.Exists = true
		s.Regular = fi.Mode().IsRegular()
		s.Executable = fi.Mode().Perm()&0o111 != 0
		if slices.Contains(refusers, path.Base(real)) {
			base = path.Base(real)
		}
	}
	if slices.Contains(refusers, base) {
		s.Refuses = base
	}
	return s
}

// nearMisses returns passwd names that the user may have meant.
func nearMisses(user string, entries []PasswdEntry) []string {
	var out []string
	for _, e := range entries {
		if e.Compat {
			continue
		}
		if strings.EqualFold(e.Name, user) || (len(user) > 2 && textdist.Levenshtein(e.Name, user) <= 2) {
			out = append(out, e.Name)
		}
	}
	return out
}
