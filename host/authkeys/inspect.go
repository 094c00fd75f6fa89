// Package authkeys gathers the facts about a user's authorized_keys files
// that decide whether sshd accepts a key: where AuthorizedKeysFile points
// for the user, each file's entries (options included) and unusable lines
// with their line numbers, and the StrictModes walk over every path
// component, with the owner and mode each should have. It also answers
// sshd's questions about a given key: is it listed, would its options let
// this client in, and does PubkeyAcceptedAlgorithms allow its type.
package authkeys

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/sshdoctor/sshdoctor/host"
	"github.com/sshdoctor/sshdoctor/host/accounts"
)

// Config is the part of sshd's effective configuration (for the
// connection, Match blocks applied) that concerns authorized keys. The
// host/sshdconfig package computes it; DefaultConfig gives OpenSSH's
// defaults.
type Config struct {
	// Files are the AuthorizedKeysFile patterns, "~" already expanded and
	// tokens (%h, %u, %U, %%) not; nil means the default
	// (.ssh/authorized_keys .ssh/authorized_keys2). "none" entries are
	// skipped.
	Files []string
	// Command is AuthorizedKeysCommand; "" or "none" means unused.
	Command string
	// CommandUser is AuthorizedKeysCommandUser; empty when unset.
	CommandUser string
	// StrictModes is the StrictModes setting (default yes).
	StrictModes bool
	// AcceptedAlgorithms is PubkeyAcceptedAlgorithms, assembled (modifiers
	// and patterns applied against the default). Nil means unknown: the
	// algorithm check is skipped.
	AcceptedAlgorithms []string
	// Sources maps a directive ("AuthorizedKeysFile", "StrictModes",
	// "PubkeyAcceptedAlgorithms", ...) to the "file:line" that sets it; a
	// missing entry means the default.
	Sources map[string]string
}

// DefaultConfig returns sshd's defaults: the two usual files and
// StrictModes yes.
func DefaultConfig() Config {
	return Config{StrictModes: true}
}

// DefaultFiles are AuthorizedKeysFile's default patterns.
var DefaultFiles = []string{".ssh/authorized_keys", ".ssh/authorized_keys2"}

// UsesCommand reports whether AuthorizedKeysCommand is configured.
func (c Config) UsesCommand() bool {
	return c.Command != "" && !strings.EqualFold(c.Command, "none")
}

// Source returns where directive is set, or "default".
func (c Config) Source(directive string) string {
	if s := c.Sources[directive]; s != "" {
		return s
	}
	return "default"
}

// Facts is what sshd would find when it looks for a user's keys.
type Facts struct {
	// User, UID, GID and Home describe the account (from passwd).
	User     string
	UID, GID int64
	Home     string
	// Root is the inspected tree, "/" for the live system.
	Root string
	// Config is the configuration the facts were gathered with.
	Config Config
	// DebianModes is true when the inspected system's sshd carries
	// Debian's user-group-modes patch (Debian and derivatives, detected by
	// /etc/debian_version): group write is then allowed for a private
	// group.
	DebianModes bool
	// HomeReal is the home directory's canonical path; empty when it does
	// not resolve (missing), and HomeErr then says why.
	HomeReal string
	HomeErr  string
	// Files are the authorized_keys files in AuthorizedKeysFile order.
	Files []File
	// Now is the inspected system's clock, for expiry-time= and
	// certificate validity.
	Now time.Time
}

// File is one authorized_keys file as sshd would see it.
type File struct {
	// Pattern is the AuthorizedKeysFile pattern it comes from.
	Pattern string
	// Path is the expanded path on the inspected system; empty when the
	// pattern could not be expanded (then Err says why).
	Path string
	// Real is the canonical path (symbolic links resolved in the tree);
	// empty when the file does not exist.
	Real string
	// Exists is true when the file exists; Regular when it is a regular
	// file (sshd ignores anything else).
	Exists, Regular bool
	// Err is an error other than "does not exist": an unknown token, a
	// symbolic link loop, a read error. Empty when none.
	Err string
	// UID, GID and Mode (07777) describe the file when it exists.
	UID, GID int64
	Mode     uint32
	// Entries are the usable key lines; Invalid the lines sshd skips.
	Entries []Entry
	Invalid []Invalid
	// Problems are the path components that keep sshd from using the
	// file, from "/" down. For a missing file they are those of its
	// existing directories, which would stop the file once created.
	Problems []Problem
	// MissingDir is, for a missing file, the first directory of Path that
	// does not exist ("/home/alice/.ssh"); empty when the directory exists.
	MissingDir string
}

// Inspect gathers the authorized_keys facts for the account in acct (which
// must have an Entry) on sys, with the configuration cfg.
func Inspect(sys host.System, acct *accounts.Facts, cfg Config) (*Facts, error) {
	if acct == nil || acct.Entry == nil {
		return nil, errors.New("authkeys: no account to inspect")
	}
	root := sys.Root
	if root == "" {
		root = "/"
	}
	u := acct.Entry
	f := &Facts{User: u.Name, UID: u.UID, GID: u.GID, Home: u.Home, Root: root, Config: cfg, Now: sys.Clock()}
	if _, _, err := accounts.StatIn(root, "/etc/debian_version"); err == nil {
		f.DebianModes = true
	}
	if h, err := accounts.RealPath(root, u.Home); err == nil {
		f.HomeReal = h
	} else {
		f.HomeErr = err.Error()
	}
	w := walker{root: root, db: acct.DB, uid: u.UID, gids: acct.GroupIDs, home: f.HomeReal, debian: f.DebianModes}
	patterns := cfg.Files
	if patterns == nil {
		patterns = DefaultFiles
	}
	for _, pat := range patterns {
		if strings.EqualFold(pat, "none") {
			continue
		}
		f.Files = append(f.Files, inspectFile(sys, root, w, u, pat, f.Now.Location()))
	}
	return f, nil
}

func inspectFile(sys host.System, root string, w walker, u *accounts.PasswdEntry, pat string, loc *time.Location) File {
	file := File{Pattern: pat}
	p, err := ExpandPath(pat, u)
	if err != nil {
		file.Err = err.Error()
		return file
	}
	file.Path = p
	real, fi, err := accounts.StatIn(root, p)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			file.Err = err.Error()
			return file
		}
		// Missing: find the deepest existing directory, and judge the path
		// down to it, which the file will have once created.
		dir := path.Dir(p)
		for {
			if d, dfi, err := accounts.StatIn(root, dir); err == nil && dfi.IsDir() {
				file.Problems, _ = w.walk(d, false)
				break
			}
			file.MissingDir = dir
			if dir == "/" {
				break
			}
			dir = path.Dir(dir)
		}
		return file
	}
	file.Exists, file.Real = true, real
	file.Regular = fi.Mode().IsRegular()
	file.UID, file.GID, file.Mode, _ = owner(fi)
	if !file.Regular {
		file.Err = "not a regular file"
		return file
	}
	if file.Problems, err = w.walk(real, true); err != nil {
		file.Err = err.Error()
	}
	data, err := sys.ReadFile(real)
	if err != nil {
		file.Err = fmt.Sprintf("read: %v", err)
		return file
	}
	file.Entries, file.Invalid = Parse(data, loc)
	return file
}

// ExpandPath expands an AuthorizedKeysFile pattern for user u as sshd's
// expand_authorized_keys() does: %h home, %u name, %U uid, %% percent; a
// relative result is relative to the home directory. An unknown token is
// an error (sshd fails the login on it).
func ExpandPath(pat string, u *accounts.PasswdEntry) (string, error) {
	var b strings.Builder
	for i := 0; i < len(pat); i++ {
		if pat[i] != '%' {
			b.WriteByte(pat[i])
			continue
		}
		i++
		if i == len(pat) {
			return "", fmt.Errorf("authkeys: AuthorizedKeysFile %q ends with %%", pat)
		}
		switch pat[i] {
		case '%':
			b.WriteByte('%')
		case 'h':
			b.WriteString(u.Home)
		case 'u':
			b.WriteString(u.Name)
		case 'U':
			b.WriteString(strconv.FormatInt(u.UID, 10))
		default:
			return "", fmt.Errorf("authkeys: AuthorizedKeysFile %q: unknown token %%%c", pat, pat[i])
		}
	}
	p := b.String()
	if !strings.HasPrefix(p, "/") {
		p = strings.TrimSuffix(u.Home, "/") + "/" + p
	}
	return p, nil
}
