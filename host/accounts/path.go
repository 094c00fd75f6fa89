package accounts

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// maxSymlinks bounds link resolution like the kernel's ELOOP limit.
const maxSymlinks = 40

// ErrLoop is returned by RealPath for a symbolic link loop.
var ErrLoop = errors.New("accounts: too many levels of symbolic links")

// RealPath is realpath(3) inside a tree: it returns the canonical absolute
// path (as seen inside the tree) that name designates, following symbolic
// links, where an absolute link target and ".." stay inside the tree as
// they would after chroot. root "" or "/" is the live system. A missing
// component gives an error wrapping fs.ErrNotExist, as realpath fails with
// ENOENT.
func RealPath(root, name string) (string, error) {
	if root == "" {
		root = "/"
	}
	if !strings.HasPrefix(name, "/") {
		return "", fmt.Errorf("accounts: %q is not an absolute path", name)
	}
	links := 0
	var done []string
	todo := strings.Split(name, "/")
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
		host := filepath.Join(root, filepath.Join(done...), c)
		fi, err := os.Lstat(host)
		if err != nil {
			return "", fmt.Errorf("accounts: %s: %w", "/"+path.Join(append(done, c)...), err)
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			if len(todo) > 0 && !fi.IsDir() && hasMore(todo) {
				return "", fmt.Errorf("accounts: %s: not a directory", "/"+path.Join(append(done, c)...))
			}
			done = append(done, c)
			continue
		}
		links++
		if links > maxSymlinks {
			return "", fmt.Errorf("%w: %s", ErrLoop, name)
		}
		target, err := os.Readlink(host)
		if err != nil {
			return "", fmt.Errorf("accounts: %w", err)
		}
		if strings.HasPrefix(target, "/") {
			done = nil
		}
		todo = append(strings.Split(target, "/"), todo...)
	}
	return "/" + path.Join(done...), nil
}

func hasMore(todo []string) bool {
	for _, c := range todo {
		if c != "" && c != "." {
			return true
		}
	}
	return false
}

// hostPath returns p (canonical, inside the tree) as a path on this machine.
func hostPath(root, p string) string {
	if root == "" || root == "/" {
		return p
	}
	return filepath.Join(root, p)
}

// StatIn stats name inside the tree, following symbolic links as RealPath
// does, and returns the canonical path with the result.
func StatIn(root, name string) (string, fs.FileInfo, error) {
	real, err := RealPath(root, name)
	if err != nil {
		return "", nil, err
	}
	fi, err := os.Stat(hostPath(root, real))
	if err != nil {
		return real, nil, fmt.Errorf("accounts: %w", err)
	}
	return real, fi, nil
}
