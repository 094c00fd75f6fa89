package fix

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/sshdoctor/sshdoctor/host/sshdconfig"
)

// DropInName is the drop-in sshdoctor writes settings to. It sorts before
// the usual names (50-cloud-init.conf, 60-cloudimg-settings.conf), since
// sshd keeps the first value it reads.
const DropInName = "00-sshdoctor.conf"

// SSHDConf edits an sshd configuration the careful way: a setting goes into
// sshdoctor's drop-in when the main file includes the drop-in directory
// before any Match block and the drop-in then really decides the value;
// otherwise the deciding line is edited in place, or a new line is put
// above the first Match block (a line after a Match block applies only
// inside it, the classic way automated fixes break sshd). Comments and
// layout are kept; the whole file is never rewritten.
type SSHDConf struct {
	// Root is the tree ("/" live); paths below are as sshd sees them.
	Root string
	// File is the main configuration, as sshd sees it.
	File string
	// pending holds edited contents not yet applied, by path as sshd sees
	// it, so that several edits compose.
	pending map[string][]byte
	order   []string
	orig    map[string][]byte
}

// NewSSHDConf starts an editor for the configuration at file under root.
func NewSSHDConf(root, file string) *SSHDConf {
	if root == "" {
		root = "/"
	}
	if file == "" {
		file = "/etc/ssh/sshd_config"
	}
	return &SSHDConf{Root: root, File: file, pending: map[string][]byte{}, orig: map[string][]byte{}}
}

// host maps a path as sshd sees it to this machine.
func (c *SSHDConf) host(p string) string {
	if c.Root == "/" {
		return p
	}
	r, err := (sshdconfig.RootFS{Dir: c.Root}).Resolve(p)
	if err != nil {
		return path.Join(c.Root, p)
	}
	return r
}

func (c *SSHDConf) read(p string) ([]byte, bool, error) {
	if b, ok := c.pending[p]; ok {
		return b, true, nil
	}
	b, err := os.ReadFile(c.host(p))
	if os.IsNotExist(err) {
		return nil, false, nil
	}
	return b, err == nil, err
}

func (c *SSHDConf) set(p string, data []byte) error {
	if _, ok := c.orig[p]; !ok {
		old, _, err := c.read(p)
		if err != nil {
			return err
		}
		c.orig[p] = old
		c.order = append(c.order, p)
	}
	c.pending[p] = data
	return nil
}

// Load parses the configuration as it would be with the pending edits.
func (c *SSHDConf) Load() (*sshdconfig.Config, error) {
	return sshdconfig.Load(sshdconfig.Options{FS: overlayFS{base: sshdconfig.RootFS{Dir: c.Root}, files: c.pending}, File: c.File})
}

// Set makes keyword take value for every connection (the global value).
// It returns a description of where the change went.
func (c *SSHDConf) Set(keyword, value string) (string, error) {
	cfg, err := c.Load()
	if err != nil {
		return "", err
	}
	if cur := strings.Join(cfg.Startup().Args(keyword), " "); strings.EqualFold(cur, value) {
		return "already set", nil
	}
	// 1. The drop-in, if it decides.
	if dir, _, ok := cfg.DropIns(); ok {
		p := path.Join(dir, DropInName)
		old, _, err := c.read(p)
		if err != nil {
			return "", err
		}
		saved := c.pending[p]
		_, existed := c.pending[p]
		if err := c.set(p, []byte(setLine(string(old), keyword, value, 0, true))); err != nil {
			return "", err
		}
		if ok, _ := c.decides(keyword, value); ok {
			return p, nil
		}
		// Another drop-in or the main file still wins: undo and edit that.
		if existed {
			c.pending[p] = saved
		} else {
			delete(c.pending, p)
			c.order = c.order[:len(c.order)-1]
			delete(c.orig, p)
		}
	}
	// 2. The line that decides today, edited in place.
	if d := cfg.Startup().Source(keyword); d != nil && d.Match == nil {
		old, _, err := c.read(d.File)
		if err != nil {
			return "", err
		}
		if err := c.set(d.File, []byte(replaceLine(string(old), d.Line, keyword+" "+value))); err != nil {
			return "", err
		}
		if ok, _ := c.decides(keyword, value); ok {
			return fmt.Sprintf("%s line %d", d.File, d.Line), nil
		}
		return "", fmt.Errorf("fix: editing %s line %d does not make %s %s take effect", d.File, d.Line, keyword, value)
	}
	// 3. A new line in the main file, above the first Match block.
	old, _, err := c.read(c.File)
	if err != nil {
		return "", err
	}
	if err := c.set(c.File, []byte(setLine(string(old), keyword, value, cfg.FirstMatchLine(), false))); err != nil {
		return "", err
	}
	if ok, why := c.decides(keyword, value); !ok {
		return "", fmt.Errorf("fix: %s %s would not take effect: %s", keyword, value, why)
	}
	return c.File, nil
}

// SetPorts makes sshd listen on exactly these ports (Port accumulates, so
// every global Port line is replaced): the existing lines are commented
// out with a marker and the new ones put where the first of them was, or,
// with none, where Set would put a new setting.
func (c *SSHDConf) SetPorts(ports []int) (string, error) {
	cfg, err := c.Load()
	if err != nil {
		return "", err
	}
	if equalInts(cfg.Startup().Ports(), ports) && len(cfg.Startup().Sources("Port")) > 0 {
		return "already set", nil
	}
	var lines []string
	for _, p := range ports {
		lines = append(lines, fmt.Sprintf("Port %d", p))
	}
	block := strings.Join(lines, "\n")
	var where string
	ds := cfg.Startup().Sources("Port")
	switch {
	case len(ds) > 0:
		first := ds[0]
		for _, d := range ds {
			if d.Match != nil {
				continue
			}
			if err := c.CommentOut(d.File, d.Line, "replaced by the Port lines below"); err != nil {
				return "", err
			}
		}
		old, _, err := c.read(first.File)
		if err != nil {
			return "", err
		}
		all := strings.SplitAfter(string(old), "\n")
		at := first.Line // insert after the commented first line
		out := append([]string{}, all[:at]...)
		out = append(out, block+"\n")
		out = append(out, all[at:]...)
		if err := c.set(first.File, []byte(strings.Join(out, ""))); err != nil {
			return "", err
		}
		where = fmt.Sprintf("%s line %d", first.File, first.Line)
	default:
		target, before := c.File, cfg.FirstMatchLine()
		if dir, _, ok := cfg.DropIns(); ok {
			target, before = path.Join(dir, DropInName), 0
		}
		old, _, err := c.read(target)
		if err != nil {
			return "", err
		}
		text := string(old)
		for _, l := range lines {
			text = setLine(text, "Port", strings.TrimPrefix(l, "Port "), before, false)
			if before > 0 {
				before += 2 // the comment and the line just added
			}
		}
		if err := c.set(target, []byte(text)); err != nil {
			return "", err
		}
		where = target
	}
	cfg, err = c.Load()
	if err != nil {
		return "", err
	}
	if got := cfg.Startup().Ports(); !equalInts(got, ports) {
		return "", fmt.Errorf("fix: the ports would be %v, not %v", got, ports)
	}
	return where, nil
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	x, y := append([]int(nil), a...), append([]int(nil), b...)
	sort.Ints(x)
	sort.Ints(y)
	for i := range x {
		if x[i] != y[i] {
			return false
		}
	}
	return true
}

// CommentOut turns line n of file into a comment with sshdoctor's marker,
// keeping its text.
func (c *SSHDConf) CommentOut(file string, n int, why string) error {
	old, _, err := c.read(file)
	if err != nil {
		return err
	}
	lines := strings.SplitAfter(string(old), "\n")
	if n < 1 || n > len(lines) {
		return fmt.Errorf("fix: %s has no line %d", file, n)
	}
	l := lines[n-1]
	nl := ""
	if strings.HasSuffix(l, "\n") {
		nl, l = "\n", strings.TrimSuffix(l, "\n")
	}
	lines[n-1] = "# sshdoctor: " + why + ": " + l + nl
	return c.set(file, []byte(strings.Join(lines, "")))
}

// ReplaceLine sets line n of file to text.
func (c *SSHDConf) ReplaceLine(file string, n int, text string) error {
	old, _, err := c.read(file)
	if err != nil {
		return err
	}
	return c.set(file, []byte(replaceLine(string(old), n, text)))
}

// decides reports whether keyword's global value would be value.
func (c *SSHDConf) decides(keyword, value string) (bool, string) {
	cfg, err := c.Load()
	if err != nil {
		return false, err.Error()
	}
	got := strings.Join(cfg.Startup().Args(keyword), " ")
	if strings.EqualFold(got, value) {
		return true, ""
	}
	if d := cfg.Startup().Source(keyword); d != nil {
		return false, fmt.Sprintf("%s:%d sets it first", d.File, d.Line)
	}
	return false, "it is still " + got
}

// Steps returns one atomic, validated file write per edited file.
func (c *SSHDConf) Steps(finding, summary string) []Step {
	var out []Step
	for _, p := range c.order {
		now := c.pending[p]
		before := c.orig[p]
		if string(now) == string(before) {
			continue
		}
		st := Step{Finding: finding, Kind: KindWrite, Path: c.host(p), Content: now, Mode: 0o644, UID: 0, GID: 0,
			ValidateSSHD: true, Summary: summary}
		if before != nil {
			st.Diff = Diff(p, string(before), string(now))
			st.UID, st.GID = -1, -1
		}
		out = append(out, st)
	}
	return out
}

// Changed reports whether any edit is pending.
func (c *SSHDConf) Changed() bool {
	for _, p := range c.order {
		if string(c.pending[p]) != string(c.orig[p]) {
			return true
		}
	}
	return false
}

// setLine sets keyword in text: the first line setting it is replaced when
// replaceExisting, otherwise (or when absent) a new line is inserted before
// line beforeLine (1-based; 0 means at the end).
func setLine(text, keyword, value string, beforeLine int, replaceExisting bool) string {
	lines := strings.SplitAfter(text, "\n")
	if len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	newLine := keyword + " " + value + "\n"
	if replaceExisting {
		for i, l := range lines {
			if f := strings.Fields(strings.ReplaceAll(l, "=", " ")); len(f) > 0 && strings.EqualFold(f[0], keyword) {
				lines[i] = newLine
				return strings.Join(lines, "")
			}
		}
	}
	if len(lines) > 0 && !strings.HasSuffix(lines[len(lines)-1], "\n") {
		lines[len(lines)-1] += "\n"
	}
	if beforeLine <= 0 || beforeLine > len(lines) {
		if text == "" {
			return "# Written by sshdoctor; see 'sshdoctor fix --undo'.\n" + newLine
		}
		return strings.Join(lines, "") + newLine
	}
	out := append([]string{}, lines[:beforeLine-1]...)
	out = append(out, "# Added by sshdoctor above the first Match block, so it applies to every connection.\n", newLine)
	out = append(out, lines[beforeLine-1:]...)
	return strings.Join(out, "")
}

func replaceLine(text string, n int, newText string) string {
	lines := strings.SplitAfter(text, "\n")
	if n < 1 || n > len(lines) {
		return text
	}
	indent := lines[n-1][:len(lines[n-1])-len(strings.TrimLeft(lines[n-1], " \t"))]
	nl := ""
	if strings.HasSuffix(lines[n-1], "\n") {
		nl = "\n"
	}
	lines[n-1] = indent + newText + nl
	return strings.Join(lines, "")
}

// overlayFS shows pending contents over a tree.
type overlayFS struct {
	base  sshdconfig.RootFS
	files map[string][]byte
}

func (o overlayFS) ReadFile(name string) ([]byte, error) {
	if b, ok := o.files[name]; ok {
		return b, nil
	}
	return o.base.ReadFile(name)
}

func (o overlayFS) Glob(pattern string) ([]string, error) {
	names, err := o.base.Glob(pattern)
	if err != nil {
		return nil, err
	}
	for p := range o.files {
		if ok, _ := path.Match(pattern, p); ok && !strings.HasPrefix(path.Base(p), ".") && !contains(names, p) {
			names = append(names, p)
		}
	}
	sort.Strings(names)
	return names, nil
}

func (o overlayFS) Stat(name string) (fs.FileInfo, error) {
	if _, ok := o.files[name]; ok {
		if st, err := o.base.Stat(name); err == nil {
			return st, nil
		}
		return fakeInfo{name: path.Base(name), size: int64(len(o.files[name]))}, nil
	}
	return o.base.Stat(name)
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// fakeInfo describes a file that exists only as a pending edit.
type fakeInfo struct {
	name string
	size int64
}

func (f fakeInfo) Name() string       { return f.name }
func (f fakeInfo) Size() int64        { return f.size }
func (f fakeInfo) Mode() fs.FileMode  { return 0o644 }
func (f fakeInfo) ModTime() time.Time { return time.Time{} }
func (f fakeInfo) IsDir() bool        { return false }
func (f fakeInfo) Sys() any           { return nil }
