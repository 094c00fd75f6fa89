package authkeys

import (
	"fmt"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/sshdoctor/sshdoctor/host/accounts"
)

// Problem is a component of an authorized_keys path (the file or a
// directory) that keeps sshd from using the file, with what it should be.
type Problem struct {
	// Path is the component, canonical, as seen on the inspected system.
	Path string
	// Dir is true for a directory, false for the file itself.
	Dir bool
	// UID, GID and Mode (permission bits, 07777) are the current state;
	// Owner and Group are their names in the inspected system's databases
	// (the number when it has none).
	UID, GID int64
	Owner    string
	Group    string
	Mode     uint32
	// WantUID, WantOwner and WantMode are what the component should have:
	// the current values where they are fine, so that a fix changes exactly
	// what is wrong.
	WantUID   int64
	WantOwner string
	WantMode  uint32
	// Reasons are short sentences, one for each rule broken.
	Reasons []string
	// Strict is true when a StrictModes rule is broken (owner, group or
	// world write): sshd ignores those with StrictModes no.
	Strict bool
	// Unreachable is true when the user cannot search the directory or
	// read the file: sshd fails to open it whatever StrictModes says.
	Unreachable bool
	// First is true for the component sshd's log names: safe_path() stops
	// at the first bad one, from the file upwards.
	First bool
}

// OwnerChanged and ModeChanged tell what a fix must touch.
func (p Problem) OwnerChanged() bool { return p.WantUID != p.UID }

// ModeChanged reports whether the permission bits must change.
func (p Problem) ModeChanged() bool { return p.WantMode != p.Mode }

// walker holds what the StrictModes walk needs about the user.
type walker struct {
	root   string
	db     *accounts.DB
	uid    int64
	gids   []int64
	home   string // canonical home; "" when it does not resolve
	debian bool   // Debian's user-group-modes patch applies
}

// component is one path component with its stat data.
type component struct {
	path          string
	dir           bool
	uid, gid      int64
	mode          uint32
	belowHome     bool // the home directory or below it
	strictChecked bool // safe_path() examines it
}

// walk examines the path of an authorized_keys file whose canonical path
// is real (which must exist) as sshd does, and returns the problems. With
// isFile false, real is the directory a missing file would be created in,
// and it is judged as a directory.
//
// StrictModes (safe_path() in misc.c): the file, then each directory from
// the file's up to the home directory, stopping there (or at "/" when the
// file is not under the home directory), must be owned by root or the user
// and not be writable by group or others. Debian's user-group-modes patch
// allows group write when the group is the user's private group
// (accounts.DB.PrivateGroup). Directories above the home directory are not
// examined, whatever their mode.
//
// Plain access: sshd opens the file with the user's identity
// (temporarily_use_uid()), so every directory from "/" down needs search
// permission for the user, and the file read permission.
//
// Unlike sshd, which stops at the first bad component, walk reports them
// all, so that one fix repairs everything.
func (w walker) walk(real string, isFile bool) ([]Problem, error) {
	var comps []component
	p := real
	for {
		fi, err := os.Stat(hostPath(w.root, p))
		if err != nil {
			return nil, fmt.Errorf("authkeys: stat %s: %w", p, err)
		}
		uid, gid, mode, ok := owner(fi)
		if !ok {
			return nil, fmt.Errorf("authkeys: %s: ownership not available on this platform", p)
		}
		comps = append(comps, component{path: p, dir: fi.IsDir(), uid: uid, gid: gid, mode: mode})
		if p == "/" {
			break
		}
		p = path.Dir(p)
	}
	// comps runs from the file up to "/". Mark what safe_path() examines:
	// everything up to and including the home directory, or all of it.
	stop := len(comps) - 1
	for i, c := range comps {
		if (i > 0 || !isFile) && w.home != "" && c.path == w.home {
			stop = i
			break
		}
	}
	for i := range comps {
		comps[i].strictChecked = i <= stop
		comps[i].belowHome = w.home != "" && (comps[i].path == w.home || strings.HasPrefix(comps[i].path, strings.TrimSuffix(w.home, "/")+"/"))
	}

	var out []Problem
	firstSet := false
	for i, c := range comps {
		pr := Problem{Path: c.path, Dir: c.dir, UID: c.uid, GID: c.gid, Mode: c.mode,
			WantUID: c.uid, WantMode: c.mode}
		if c.strictChecked {
			w.strict(c, &pr)
		}
		w.access(c, isFile && i == 0, &pr)
		if len(pr.Reasons) == 0 {
			continue
		}
		pr.Owner, pr.Group, pr.WantOwner = w.db.UserName(c.uid), w.db.GroupName(c.gid), w.db.UserName(pr.WantUID)
		if pr.Strict && !firstSet {
			pr.First, firstSet = true, true
		}
		out = append(out, pr)
	}
	// Report from "/" down, the order in which a fix is best applied.
	slices.Reverse(out)
	return out, nil
}

// strict applies secure_permissions() (Debian) or the upstream test.
func (w walker) strict(c component, pr *Problem) {
	if c.uid != 0 && c.uid != w.uid {
		want := w.uid
		if !c.belowHome {
			want = 0
		}
		pr.WantUID = want
		pr.Strict = true
		pr.Reasons = append(pr.Reasons, fmt.Sprintf("owned by %s, must be owned by %s or root", w.db.UserName(c.uid), w.db.UserName(w.uid)))
	}
	if c.mode&0o002 != 0 {
		pr.WantMode &^= 0o002
		pr.Strict = true
		pr.Reasons = append(pr.Reasons, "writable by others")
	}
	if c.mode&0o020 != 0 {
		ok, why := false, "only Debian's sshd accepts group write, for a private group"
		if w.debian {
			// Judge the group with the owner the fix gives: a group that
			// is private to the wrong owner is not the user's.
			ok, why = w.db.PrivateGroup(c.gid, pr.WantUID, w.uid)
		}
		if !ok {
			pr.WantMode &^= 0o020
			pr.Strict = true
			pr.Reasons = append(pr.Reasons, fmt.Sprintf("writable by group %s (%s)", w.db.GroupName(c.gid), why))
		}
	}
}

// access checks that the user can search a directory or read the file,
// with the owner as it will be after a fix.
func (w walker) access(c component, isFile bool, pr *Problem) {
	if w.uid == 0 {
		return
	}
	need, what := uint32(0o1), "search (x)" // the "other" bit; shifted below
	if isFile {
		need, what = 0o4, "read (r)"
	}
	var shift uint
	switch {
	case pr.WantUID == w.uid:
		shift = 6
	case slices.Contains(w.gids, c.gid):
		shift = 3
	}
	if pr.WantMode&(need<<shift) != 0 {
		return
	}
	pr.WantMode |= need << shift
	pr.Unreachable = true
	pr.Reasons = append(pr.Reasons, fmt.Sprintf("%s cannot %s it", w.db.UserName(w.uid), what))
}

func hostPath(root, p string) string {
	if root == "" || root == "/" {
		return p
	}
	return path.Join(root, p)
}
