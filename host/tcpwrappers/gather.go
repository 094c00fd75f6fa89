package tcpwrappers

import (
	"debug/elf"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/sshdoctor/sshdoctor/host"
)

// SSHDCandidates are where Gather looks for sshd when it is not told.
var SSHDCandidates = []string{"/usr/sbin/sshd", "/usr/local/sbin/sshd", "/sbin/sshd", "/usr/bin/sshd"}

// Facts is what decides TCP wrappers' say over sshd on the inspected system.
type Facts struct {
	// Root is the inspected system's root directory ("/" live, the tree's
	// directory offline); Live is true for the running system. Fix
	// commands name files under Root offline.
	Root string
	Live bool
	// SSHD is the sshd binary whose linkage was read; empty when none was
	// found.
	SSHD string
	// Libwrap is true when SSHD names libwrap.so in its dynamic section
	// (DT_NEEDED): it then asks hosts_access for every connection, as
	// Debian's and Ubuntu's sshd do. False when it does not, or when that
	// is unknown (see LibwrapErr).
	Libwrap bool
	// LibwrapErr says why the linkage is unknown (no sshd, not a readable
	// ELF file); empty when it is known.
	LibwrapErr string
	// Daemon is the name libwrap matches daemon lists against: the base
	// name of SSHD ("sshd"). Empty when SSHD is.
	Daemon string
	// Allow and Deny are the two files; nil when the file does not exist,
	// which libwrap treats as an empty file.
	Allow, Deny *File
	// PatternFiles holds the words of the files that "/path" patterns
	// name, by path. A key with no words is an empty or missing file;
	// a path without a key could not be read.
	PatternFiles map[string][]string
	// Errors are files that exist but could not be read; libwrap skips
	// them as well ("cannot open"). Empty when none.
	Errors []string
}

// Limits on what Gather reads for "/path" patterns.
const (
	maxPatternFiles = 32
	maxPatternBytes = 1 << 20
)

// Gather reads the facts from sys. sshdPath is the sshd binary to examine
// (as a path on the inspected system); empty means the first of
// SSHDCandidates that exists.
func Gather(sys host.System, sshdPath string) *Facts {
	f := &Facts{Root: sys.Root, Live: sys.Live, PatternFiles: map[string][]string{}}
	f.SSHD, f.Libwrap, f.LibwrapErr = linksLibwrap(sys, sshdPath)
	if f.SSHD != "" {
		f.Daemon = path.Base(f.SSHD)
	}
	f.Allow = f.read(sys, AllowFile)
	f.Deny = f.read(sys, DenyFile)
	for _, file := range []*File{f.Allow, f.Deny} {
		if file == nil {
			continue
		}
		for _, r := range file.Rules {
			for _, w := range append(append([]string(nil), r.Clients...), r.Daemons...) {
				p := patternFile(w)
				if p == "" || len(f.PatternFiles) >= maxPatternFiles {
					continue
				}
				if _, done := f.PatternFiles[p]; done {
					continue
				}
				f.readPatterns(sys, p)
			}
		}
	}
	return f
}

// patternFile returns the file a word names ("/etc/trusted" or
// "ALL@/etc/trusted"); empty when it names none.
func patternFile(w string) string {
	if len(w) > 1 {
		if _, h, ok := splitAt(w[1:], '@'); ok {
			w = h
		}
	}
	if strings.HasPrefix(w, "/") {
		return w
	}
	return ""
}

func (f *Facts) read(sys host.System, p string) *File {
	data, err := sys.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		f.Errors = append(f.Errors, fmt.Sprintf("tcpwrappers: %v", err))
		return nil
	}
	return Parse(p, data)
}

func (f *Facts) readPatterns(sys host.System, p string) {
	data, err := sys.ReadFile(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		f.PatternFiles[p] = []string{}
	case err != nil:
		f.Errors = append(f.Errors, fmt.Sprintf("tcpwrappers: %v", err))
	default:
		if len(data) > maxPatternBytes {
			data = data[:maxPatternBytes]
		}
		// libwrap reads the file with fscanf("%s"): words separated by
		// white space, no comments.
		f.PatternFiles[p] = strings.Fields(string(data))
	}
}

// linksLibwrap finds sshd and reads its DT_NEEDED entries with debug/elf,
// which works on an offline tree of another machine as well (no ldd, no
// running of the binary).
func linksLibwrap(sys host.System, sshdPath string) (bin string, libwrap bool, why string) {
	cands := SSHDCandidates
	if sshdPath != "" {
		cands = []string{sshdPath}
	}
	for _, c := range cands {
		if _, err := sys.Lstat(c); err == nil {
			bin = c
			break
		}
	}
	if bin == "" {
		return "", false, "no sshd binary found (looked at " + strings.Join(cands, ", ") + ")"
	}
	ef, err := elf.Open(sys.Path(bin))
	if err != nil {
		return bin, false, fmt.Sprintf("reading %s as ELF: %v", bin, err)
	}
	defer ef.Close()
	libs, err := ef.ImportedLibraries()
	if err != nil {
		return bin, false, fmt.Sprintf("reading the dynamic section of %s: %v", bin, err)
	}
	for _, l := range libs {
		if strings.HasPrefix(l, "libwrap.so") {
			return bin, true, ""
		}
	}
	return bin, false, ""
}

// Evaluate evaluates the gathered files for q. An empty q.Daemon is taken
// from the facts (sshd's base name).
func (f *Facts) Evaluate(q Query) *Decision {
	if q.Daemon == "" {
		q.Daemon = f.Daemon
	}
	return Evaluate(f.Allow, f.Deny, f.PatternFiles, q)
}
