package sshdconfig

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// FS is how the parser reads files. Names are absolute paths as sshd sees
// them on the inspected system ("/etc/ssh/sshd_config"), whatever the tree
// is mounted at. Tests and the fuzz target use an in-memory FS.
type FS interface {
	// ReadFile returns the contents of a file.
	ReadFile(name string) ([]byte, error)
	// Glob returns the names matching pattern, sorted as glob(3) sorts
	// them, with glob(3)'s rule that a wildcard does not match a leading
	// dot.
	Glob(pattern string) ([]string, error)
	// Stat describes a file, following symbolic links.
	Stat(name string) (fs.FileInfo, error)
}

// RootFS reads files of a system whose root directory is at Dir: "/" for the
// live system, or the mount point of a broken machine's disk. Paths resolve
// as if Dir were chrooted into: an absolute symbolic link inside the tree
// points inside the tree, and ".." never climbs out of it. That is what an
// administrator expects from a mounted disk, where /etc/ssh/sshd_config.d
// may hold links such as /usr/share/... that must not be read from the
// rescue system.
type RootFS struct {
	// Dir is the directory that stands for "/". Empty means "/".
	Dir string
}

func (r RootFS) dir() string {
	if r.Dir == "" {
		return "/"
	}
	return r.Dir
}

// maxLinks bounds symbolic link resolution, like the kernel's ELOOP limit.
const maxLinks = 40

// Resolve returns the path on this machine that name (absolute, as seen
// inside the tree) designates, following symbolic links inside the tree.
// The last component need not exist.
func (r RootFS) Resolve(name string) (string, error) {
	root := r.dir()
	if root == "/" {
		return path.Clean("/" + name), nil
	}
	if !strings.HasPrefix(name, "/") {
		return "", fmt.Errorf("sshdconfig: %q is not an absolute path", name)
	}
	links := 0
	var done []string // resolved components, relative to root
	todo := splitPath(name)
	for len(todo) > 0 {
		c := todo[0]
		todo = todo[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(done) > 0 {
				done = done[:len(done)-1]
			}
			continue
		}
		host := filepath.Join(append([]string{root}, append(done, c)...)...)
		fi, err := os.Lstat(host)
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			// A missing component ends resolution: the rest is taken
			// as it is, and the caller's open reports ENOENT.
			done = append(done, c)
			if err != nil {
				for _, rest := range todo {
					if rest != "" && rest != "." {
						done = append(done, rest)
					}
				}
				todo = nil
			}
			continue
		}
		links++
		if links > maxLinks {
			return "", fmt.Errorf("sshdconfig: resolve %s: too many levels of symbolic links", name)
		}
		target, err := os.Readlink(host)
		if err != nil {
			return "", fmt.Errorf("sshdconfig: resolve %s: %w", name, err)
		}
		if strings.HasPrefix(target, "/") {
			done = nil
		}
		todo = append(splitPath(target), todo...)
	}
	return filepath.Join(append([]string{root}, done...)...), nil
}

func splitPath(p string) []string { return strings.Split(p, "/") }

// ReadFile implements FS.
func (r RootFS) ReadFile(name string) ([]byte, error) {
	p, err := r.Resolve(name)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		// fopen(3) opens a directory for reading and getline(3) then
		// fails: sshd reads a directory as an empty file.
		return nil, nil
	}
	if fi.Size() > maxFileSize {
		return nil, fmt.Errorf("sshdconfig: %s: %d bytes: %w", name, fi.Size(), errTooLarge)
	}
	return os.ReadFile(p)
}

// Stat implements FS.
func (r RootFS) Stat(name string) (fs.FileInfo, error) {
	p, err := r.Resolve(name)
	if err != nil {
		return nil, err
	}
	return os.Stat(p)
}

// Lstat describes a file without following a final symbolic link.
func (r RootFS) Lstat(name string) (fs.FileInfo, error) {
	dir, base := path.Split(path.Clean(name))
	p, err := r.Resolve(dir)
	if err != nil {
		return nil, err
	}
	return os.Lstat(filepath.Join(p, base))
}

// Glob implements FS. Only the last path components may hold wildcards in
// the configurations seen in practice, but every component is expanded, as
// glob(3) does.
func (r RootFS) Glob(pattern string) ([]string, error) {
	if !strings.HasPrefix(pattern, "/") {
		return nil, fmt.Errorf("sshdconfig: glob %q: not an absolute path", pattern)
	}
	if _, err := path.Match(pattern, ""); err != nil {
		return nil, fmt.Errorf("sshdconfig: glob %q: %w", pattern, err)
	}
	matches := []string{"/"}
	for _, comp := range splitPath(pattern) {
		if comp == "" {
			continue
		}
		var next []string
		for _, m := range matches {
			if !hasMeta(comp) {
				next = append(next, path.Join(m, unescapeGlob(comp)))
				continue
			}
			host, err := r.Resolve(m)
			if err != nil {
				continue
			}
			ents, err := os.ReadDir(host)
			if err != nil {
				continue
			}
			for _, e := range ents {
				if globMatch(comp, e.Name()) {
					next = append(next, path.Join(m, e.Name()))
				}
			}
		}
		matches = next
	}
	var out []string
	for _, m := range matches {
		if _, err := r.Stat(m); err == nil {
			out = append(out, m)
		} else if fi, lerr := r.Lstat(m); lerr == nil && fi.Mode()&fs.ModeSymlink != 0 {
			// glob(3) lists a dangling symbolic link; sshd then fails
			// to open it, and so shall we.
			out = append(out, m)
		}
	}
	sort.Strings(out)
	return out, nil
}

func hasMeta(s string) bool { return strings.ContainsAny(s, `*?[\`) }

func unescapeGlob(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// globMatch matches one path component like glob(3) without GLOB_PERIOD: a
// leading dot must be matched by a literal dot.
func globMatch(pattern, name string) bool {
	if strings.HasPrefix(name, ".") && !strings.HasPrefix(pattern, ".") {
		return false
	}
	ok, err := path.Match(pattern, name)
	return err == nil && ok
}

// maxFileSize bounds what the parser reads: a configuration file is a few
// kilobytes, and a multi-megabyte one is a mistake (a binary included by a
// too-wide glob) that must not exhaust memory.
const maxFileSize = 8 << 20

// errNotExist is returned by the in-memory FS for missing files.
var errNotExist = fs.ErrNotExist

// MapFS is an in-memory FS for tests and fuzzing: file name to contents.
type MapFS map[string]string

// ReadFile implements FS.
func (m MapFS) ReadFile(name string) ([]byte, error) {
	s, ok := m[path.Clean(name)]
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: name, Err: errNotExist}
	}
	return []byte(s), nil
}

// Glob implements FS.
func (m MapFS) Glob(pattern string) ([]string, error) {
	if _, err := path.Match(pattern, ""); err != nil {
		return nil, fmt.Errorf("sshdconfig: glob %q: %w", pattern, err)
	}
	var out []string
	for name := range m {
		if globMatchPath(pattern, name) {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out, nil
}

func globMatchPath(pattern, name string) bool {
	pc, nc := splitPath(path.Clean(pattern)), splitPath(name)
	if len(pc) != len(nc) {
		return false
	}
	for i := range pc {
		if !globMatch(pc[i], nc[i]) {
			return false
		}
	}
	return true
}

// Stat implements FS; MapFS files are regular files of mode 0644.
func (m MapFS) Stat(name string) (fs.FileInfo, error) {
	if _, ok := m[path.Clean(name)]; !ok {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: errNotExist}
	}
	return mapInfo{name: path.Base(name), size: int64(len(m[path.Clean(name)]))}, nil
}

// mapInfo is the fs.FileInfo of a MapFS file; its methods implement
// fs.FileInfo.
type mapInfo struct {
	name string
	size int64
}

func (i mapInfo) Name() string       { return i.name }
func (i mapInfo) Size() int64        { return i.size }
func (i mapInfo) Mode() fs.FileMode  { return 0o644 }
func (i mapInfo) ModTime() time.Time { return time.Time{} }
func (i mapInfo) IsDir() bool        { return false }
func (i mapInfo) Sys() any           { return nil }

// isNotExist reports whether err means a missing file.
func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
