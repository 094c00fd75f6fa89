package keys

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strings"

	"github.com/sshdoctor/sshdoctor/fix"
)

// ConfigChange is what was done to the ssh client configuration.
type ConfigChange struct {
	// File is the configuration file.
	File string `json:"file"`
	// Host is the Host block (the destination as typed).
	Host string `json:"host"`
	// IdentityFile is the value set, as written in the file.
	IdentityFile string `json:"identity_file"`
	// Dropped are the IdentityFile lines of that Host block that named the
	// replaced key, removed; empty means none.
	Dropped []string `json:"dropped,omitempty"`
	// Changed is false when the file already said so.
	Changed bool `json:"changed"`
	// Manual says what to add by hand when sshdoctor left the file alone;
	// empty means nothing.
	Manual string `json:"manual,omitempty"`
}

// SetIdentityFile makes identity the first IdentityFile of Host alias in
// the ssh client configuration file (fix.SetHostOption: the smallest edit,
// a new Host block placed where ssh will read it), and removes from that
// block the IdentityFile lines naming replaced, the key a rotation
// retired. A missing file (and ~/.ssh) is created with modes 0600 (0700).
// The file is replaced atomically and keeps its mode and owner. home is
// $HOME, one of the two directories a ~/ in the file may mean.
func SetIdentityFile(file, alias, identity, replaced, home string) (*ConfigChange, error) {
	value := ConfigPath(identity)
	ch := &ConfigChange{File: file, Host: alias, IdentityFile: value}
	b, err := os.ReadFile(file)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("keys: %w", err)
	}
	text := string(b)
	quoted := value
	if strings.ContainsAny(value, " \t") {
		quoted = `"` + value + `"`
	}
	if !blockHasIdentity(text, alias, identity, home) {
		out, conflict := fix.SetHostOption(text, alias, "IdentityFile", quoted)
		if conflict != "" {
			ch.Manual = fmt.Sprintf("%s: %s; add 'IdentityFile %s' to 'Host %s' yourself", file, conflict, quoted, alias)
			return ch, nil
		}
		text = out
	}
	if replaced != "" && !samePath(replaced, identity) {
		text, ch.Dropped = dropIdentity(text, alias, replaced, home)
	}
	if text == string(b) {
		return ch, nil
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	if err := fix.WriteFile(file, []byte(text), fix.FileMeta{Mode: 0o600, UID: -1, GID: -1}); err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	ch.Changed = true
	return ch, nil
}

// ConfigPath writes a key path as a person would in ssh_config: ~/ for the
// home directory ssh means by ~ (the passwd entry's, not $HOME), absolute
// otherwise.
func ConfigPath(p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	if u, err := user.Current(); err == nil && u.HomeDir != "" && u.HomeDir != "/" {
		if rel, err := filepath.Rel(u.HomeDir, abs); err == nil && !strings.HasPrefix(rel, "..") && rel != "." {
			return "~/" + filepath.ToSlash(rel)
		}
	}
	return abs
}

// configLine is the lower-case keyword and the arguments of an ssh_config
// line; "" for blank lines and comments.
func configLine(l string) (string, []string) {
	t := strings.TrimSpace(l)
	if t == "" || t[0] == '#' {
		return "", nil
	}
	i := strings.IndexAny(t, " \t=")
	if i < 0 {
		return strings.ToLower(t), nil
	}
	k, rest := t[:i], strings.TrimLeft(t[i:], " \t=")
	var args []string
	for rest != "" {
		var a string
		if rest[0] == '"' {
			end := strings.IndexByte(rest[1:], '"')
			if end < 0 {
				a, rest = rest[1:], ""
			} else {
				a, rest = rest[1:1+end], rest[2+end:]
			}
		} else {
			j := strings.IndexAny(rest, " \t")
			if j < 0 {
				a, rest = rest, ""
			} else {
				a, rest = rest[:j], rest[j:]
			}
		}
		args = append(args, a)
		rest = strings.TrimLeft(rest, " \t")
	}
	return strings.ToLower(k), args
}

// eachInBlock calls fn for every line inside a Host block that names alias
// exactly; fn returns false to drop the line.
func eachInBlock(text, alias string, fn func(kw string, args []string) bool) (string, []string) {
	if text == "" {
		return text, nil
	}
	nl := strings.HasSuffix(text, "\n")
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	in := false
	var kept, dropped []string
	for _, l := range lines {
		kw, args := configLine(l)
		switch kw {
		case "host":
			in = false
			for _, a := range args {
				if a == alias {
					in = true
				}
			}
		case "match":
			in = false
		case "":
		default:
			if in && !fn(kw, args) {
				dropped = append(dropped, strings.TrimSpace(l))
				continue
			}
		}
		kept = append(kept, l)
	}
	out := strings.Join(kept, "\n")
	if nl {
		out += "\n"
	}
	return out, dropped
}

func blockHasIdentity(text, alias, identity, home string) bool {
	found := false
	eachInBlock(text, alias, func(kw string, args []string) bool {
		if kw == "identityfile" && len(args) > 0 && namesPath(args[0], identity, home) {
			found = true
		}
		return true
	})
	return found
}

func dropIdentity(text, alias, path, home string) (string, []string) {
	return eachInBlock(text, alias, func(kw string, args []string) bool {
		return !(kw == "identityfile" && len(args) > 0 && namesPath(args[0], path, home))
	})
}

// namesPath reports whether an IdentityFile argument names path. A
// leading ~/ is tried with both homes it can mean: ssh's (the passwd
// entry) and $HOME, which sshdoctor's own resolution uses.
func namesPath(arg, path, home string) bool {
	rest, ok := strings.CutPrefix(arg, "~/")
	if !ok {
		return samePath(arg, path)
	}
	if u, err := user.Current(); err == nil && samePath(filepath.Join(u.HomeDir, rest), path) {
		return true
	}
	if home != "" && samePath(filepath.Join(home, rest), path) {
		return true
	}
	return false
}

func samePath(a, b string) bool {
	a, _ = filepath.Abs(a)
	b, _ = filepath.Abs(b)
	return a == b
}
