package accounts

import (
	"fmt"
	"strings"
)

// DB holds the account databases of the inspected system, parsed. Lookups
// behave like glibc's "files" service: the first matching record wins and
// nss_compat lines are skipped.
type DB struct {
	// Passwd, Shadow and Group are the records in file order; nil when the
	// file is missing or unreadable.
	Passwd []PasswdEntry
	Shadow []ShadowEntry
	Group  []GroupEntry
}

// User returns the passwd record of name, as getpwnam would; nil if none.
func (db *DB) User(name string) *PasswdEntry {
	for i := range db.Passwd {
		if e := &db.Passwd[i]; !e.Compat && e.Name == name {
			return e
		}
	}
	return nil
}

// UserByUID returns the first passwd record with uid, as getpwuid would.
func (db *DB) UserByUID(uid int64) *PasswdEntry {
	for i := range db.Passwd {
		if e := &db.Passwd[i]; !e.Compat && e.UID == uid {
			return e
		}
	}
	return nil
}

// ShadowOf returns the shadow record of name, as getspnam would; nil if none.
func (db *DB) ShadowOf(name string) *ShadowEntry {
	for i := range db.Shadow {
		if e := &db.Shadow[i]; !e.Compat && e.Name == name {
			return e
		}
	}
	return nil
}

// GroupByGID returns the first group record with gid, as getgrgid would.
func (db *DB) GroupByGID(gid int64) *GroupEntry {
	for i := range db.Group {
		if e := &db.Group[i]; !e.Compat && e.GID == gid {
			return e
		}
	}
	return nil
}

// GroupByName returns the group record called name, as getgrnam would.
func (db *DB) GroupByName(name string) *GroupEntry {
	for i := range db.Group {
		if e := &db.Group[i]; !e.Compat && e.Name == name {
			return e
		}
	}
	return nil
}

// UserName returns the name of uid, or the number when it has none: what
// ls -l shows.
func (db *DB) UserName(uid int64) string {
	if u := db.UserByUID(uid); u != nil {
		return u.Name
	}
	return fmt.Sprint(uid)
}

// GroupName returns the name of gid, or the number when it has none.
func (db *DB) GroupName(gid int64) string {
	if g := db.GroupByGID(gid); g != nil {
		return g.Name
	}
	return fmt.Sprint(gid)
}

// GroupIDs returns the group access list of u as getgrouplist computes it:
// the primary gid first, then the gid of every group listing u.Name as a
// member, each once.
func (db *DB) GroupIDs(u *PasswdEntry) []int64 {
	ids := []int64{u.GID}
	seen := map[int64]bool{u.GID: true}
	for _, g := range db.Group {
		if g.Compat || seen[g.GID] {
			continue
		}
		for _, m := range g.Members {
			if m == u.Name {
				ids = append(ids, g.GID)
				seen[g.GID] = true
				break
			}
		}
	}
	return ids
}

// GroupNames returns the names sshd matches AllowGroups and DenyGroups
// against: for each gid of GroupIDs, the name getgrgid gives. A gid with no
// group record has no name and is left out, as ga_init does.
func (db *DB) GroupNames(u *PasswdEntry) []string {
	var out []string
	for _, gid := range db.GroupIDs(u) {
		if g := db.GroupByGID(gid); g != nil {
			out = append(out, g.Name)
		}
	}
	return out
}

// PrivateGroup reports whether Debian's StrictModes allowance for a
// group-writable path holds: group gid has exactly one member, namely
// the path's owner, and the user logging in (uid) is the only one whose
// primary group it is. This is secure_permissions() of Debian's
// user-group-modes patch, check for check: every passwd record whose
// primary group is gid must have uid; the group's member list, if not
// empty, must be just the owner's name; and there must be at least one
// member of either kind. The reason says why not, when not.
func (db *DB) PrivateGroup(gid, ownerUID, uid int64) (bool, string) {
	g := db.GroupByGID(gid)
	if g == nil {
		return false, "the group has no entry in /etc/group"
	}
	members := 0
	for _, p := range db.Passwd {
		if p.Compat || p.GID != g.GID {
			continue
		}
		members++
		if p.UID != uid {
			return false, fmt.Sprintf("it is also the primary group of %s", p.Name)
		}
	}
	owner := db.UserByUID(ownerUID)
	if owner == nil {
		return false, fmt.Sprintf("the owner, uid %d, has no entry in /etc/passwd", ownerUID)
	}
	if len(g.Members) > 0 {
		members++
		if g.Members[0] != owner.Name || len(g.Members) > 1 {
			return false, fmt.Sprintf("its members are %s", strings.Join(g.Members, ", "))
		}
	}
	if members == 0 {
		return false, "it has no members"
	}
	return true, ""
}
