package sshdconfig

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
)

// Version is an OpenSSH release, such as 9.2. The zero Version means the
// release this package models in full, OpenSSH 9.2 (Debian 12).
type Version struct {
	Major, Minor int
}

// IsZero reports whether v is the zero Version.
func (v Version) IsZero() bool { return v == Version{} }

// Less reports whether v is an earlier release than w.
func (v Version) Less(w Version) bool {
	if v.Major != w.Major {
		return v.Major < w.Major
	}
	return v.Minor < w.Minor
}

// String returns "9.2", or "unknown" for the zero Version.
func (v Version) String() string {
	if v.IsZero() {
		return "unknown"
	}
	return fmt.Sprintf("%d.%d", v.Major, v.Minor)
}

func (v Version) orDefault() Version {
	if v.IsZero() {
		return v92
	}
	return v
}

var versionRE = regexp.MustCompile(`OpenSSH_([0-9]{1,2})\.([0-9]{1,2})`)

// ParseVersion finds "OpenSSH_X.Y" in s (the output of `sshd -V`, a banner,
// or the strings of an sshd binary) and returns the version, or the zero
// Version when there is none.
func ParseVersion(s []byte) Version {
	m := versionRE.FindSubmatch(s)
	if m == nil {
		return Version{}
	}
	maj, _ := strconv.Atoi(string(m[1]))
	minor, _ := strconv.Atoi(string(m[2]))
	return Version{maj, minor}
}

// Binary is what the sshd binary itself tells: facts that differ between
// builds and can be read without running it, so they work on an offline
// tree (where the binary may be for another architecture, or its libraries
// missing).
type Binary struct {
	// Version is the OpenSSH release; zero when no version string is found.
	Version Version
	// PrivsepDir is the privilege separation directory compiled in:
	// "/run/sshd" on Debian and Ubuntu, "/usr/share/empty.sshd" on Red Hat,
	// "/var/empty" upstream. Empty when none of the known ones is found.
	PrivsepDir string
}

// privsepDirs are the privilege separation directories of common builds,
// most specific first.
var privsepDirs = []string{"/usr/share/empty.sshd", "/run/sshd", "/var/run/sshd", "/var/empty/sshd", "/var/empty", "/var/lib/empty"}

// maxBinary bounds the read of an sshd binary (about 1 MB in practice).
const maxBinary = 64 << 20

// ReadBinary reads an sshd binary (a path on this machine) and returns the
// facts compiled into it.
func ReadBinary(path string) (Binary, error) {
	f, err := os.Open(path)
	if err != nil {
		return Binary{}, fmt.Errorf("sshdconfig: read sshd binary: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxBinary))
	if err != nil {
		return Binary{}, fmt.Errorf("sshdconfig: read sshd binary %s: %w", path, err)
	}
	var b Binary
	for off := 0; ; {
		i := bytes.Index(data[off:], []byte("OpenSSH_"))
		if i < 0 {
			break
		}
		if v := ParseVersion(data[off+i : min(len(data), off+i+16)]); !v.IsZero() {
			b.Version = v
			break
		}
		off += i + 1
	}
	for _, d := range privsepDirs {
		// C strings end in NUL: "/run/sshd\x00" is not "/run/sshd.pid".
		if bytes.Contains(data, append([]byte(d), 0)) {
			b.PrivsepDir = d
			break
		}
	}
	return b, nil
}
