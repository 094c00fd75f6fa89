package sshdconfig

import (
	"errors"
	"io/fs"
	"os"
	"strings"
)

// DefaultPrivsepDir is the privilege separation directory of Debian's and
// Ubuntu's sshd. Read it from the binary (ReadBinary) where it may differ.
const DefaultPrivsepDir = "/run/sshd"

// Privsep is the fact of sshd's privilege separation directory. sshd refuses
// to start, and a running sshd drops every new connection before its
// banner, when the directory is missing ("Missing privilege separation
// directory"), not owned by root, or writable by group or others.
type Privsep struct {
	// Path is the directory as sshd sees it.
	Path string
	// Offline is true when a tree was inspected rather than the live
	// system. /run is a tmpfs, empty on a disk that is not booted, so the
	// directory's absence then means nothing by itself: what matters is
	// whether something creates it at boot (Creators).
	Offline bool
	// Exists is true when the path exists (as anything).
	Exists bool
	// IsDir is true when it is a directory.
	IsDir bool
	// UID is the owner's uid; -1 when unknown or missing.
	UID int
	// Mode is the permission bits; zero when missing.
	Mode fs.FileMode
	// Creators lists the files in the tree that create the directory at
	// boot or at service start ("/lib/systemd/system/ssh.service:
	// RuntimeDirectory=sshd", a tmpfiles.d line, an init script). Only
	// filled for a path under /run or /var/run.
	Creators []string
}

// Problem says what is wrong with the directory for sshd, "" when nothing.
// On an offline tree a missing directory under /run is not a problem by
// itself.
func (p Privsep) Problem() string {
	switch {
	case !p.Exists && p.Offline:
		return ""
	case !p.Exists:
		return "missing"
	case !p.IsDir:
		return "not a directory"
	case p.UID != 0 && p.UID != -1:
		return "not owned by root"
	case p.Mode&0o022 != 0:
		return "writable by group or others"
	}
	return ""
}

// InspectPrivsep checks the privilege separation directory dir (empty means
// DefaultPrivsepDir) on the system fsys reads; offline says fsys is a tree
// rather than the live system.
func InspectPrivsep(fsys RootFS, dir string, offline bool) Privsep {
	if dir == "" {
		dir = DefaultPrivsepDir
	}
	p := Privsep{Path: dir, Offline: offline, UID: -1}
	if fi, err := fsys.Stat(dir); err == nil {
		p.Exists, p.IsDir = true, fi.IsDir()
		p.UID, p.Mode = statOwner(fi), fi.Mode().Perm()
	} else if !errors.Is(err, fs.ErrNotExist) {
		// Something is there but unreadable to us; let sshd's own check
		// (live) decide rather than guess.
		p.Exists, p.IsDir = true, true
	}
	if strings.HasPrefix(dir, "/run/") || strings.HasPrefix(dir, "/var/run/") {
		p.Creators = privsepCreators(fsys, dir)
	}
	return p
}

// privsepCreators finds what recreates a directory of the /run tmpfs: a
// systemd unit with RuntimeDirectory= naming it, a tmpfiles.d line, or an
// init script that makes it.
func privsepCreators(fsys RootFS, dir string) []string {
	base := strings.TrimPrefix(strings.TrimPrefix(dir, "/var"), "/run/")
	var out []string
	units := []string{
		"/etc/systemd/system/ssh.service", "/etc/systemd/system/sshd.service",
		"/lib/systemd/system/ssh.service", "/usr/lib/systemd/system/ssh.service",
		"/lib/systemd/system/sshd.service", "/usr/lib/systemd/system/sshd.service",
		"/lib/systemd/system/ssh@.service", "/usr/lib/systemd/system/ssh@.service",
		"/usr/lib/systemd/system/sshd@.service",
	}
	for _, u := range units {
		for _, l := range readLines(fsys, u) {
			k, v, ok := strings.Cut(l, "=")
			if ok && strings.TrimSpace(k) == "RuntimeDirectory" && containsField(v, base) {
				out = append(out, u+": "+l)
			}
		}
	}
	var tmpfiles []string
	for _, d := range []string{"/usr/lib/tmpfiles.d", "/lib/tmpfiles.d", "/etc/tmpfiles.d"} {
		m, _ := fsys.Glob(d + "/*.conf")
		tmpfiles = append(tmpfiles, m...)
	}
	for _, t := range tmpfiles {
		for _, l := range readLines(fsys, t) {
			f := strings.Fields(l)
			if len(f) >= 2 && strings.HasPrefix(f[0], "d") && (f[1] == dir || f[1] == "/run/"+base || f[1] == "/var/run/"+base) {
				out = append(out, t+": "+l)
			}
		}
	}
	for _, s := range []string{"/etc/init.d/ssh", "/etc/init.d/sshd"} {
		for _, l := range readLines(fsys, s) {
			if strings.Contains(l, "mkdir") && strings.Contains(l, dir) {
				out = append(out, s+": "+l)
			}
		}
	}
	return out
}

func containsField(v, want string) bool {
	for _, f := range strings.Fields(v) {
		if f == want {
			return true
		}
	}
	return false
}

func readLines(fsys RootFS, name string) []string {
	host, err := fsys.Resolve(name)
	if err != nil {
		return nil
	}
	data, err := os.ReadFile(host)
	if err != nil || len(data) > maxFileSize {
		return nil
	}
	var out []string
	for _, l := range strings.Split(string(data), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}
