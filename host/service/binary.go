package service

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"regexp"
	"strings"

	"github.com/sshdoctor/sshdoctor/host"
)

// binaryPaths are where sshd is installed by distributions and by a
// source build, in the order sshd's units and scripts use them.
var binaryPaths = []string{"/usr/sbin/sshd", "/usr/local/sbin/sshd", "/sbin/sshd", "/usr/bin/sshd", "/usr/local/bin/sshd"}

// Binary is the sshd program.
type Binary struct {
	// Path is where sshd is, on the inspected system; empty when none of
	// Searched holds an executable file.
	Path string
	// Searched are the paths looked at, for "not installed" evidence.
	Searched []string
	// Version is the release string compiled into the binary, as `sshd
	// -V` prints it ("OpenSSH_9.2p1 Debian-2+deb12u3"); empty when not
	// found.
	Version string
	// Package is the package that installs sshd, with its version
	// ("openssh-server 1:9.2p1-2+deb12u3"), from the dpkg database; empty
	// when not installed by dpkg or not found there.
	Package string
	// PackageState is dpkg's status of the package ("install ok
	// installed", "deinstall ok config-files"); empty when not known.
	PackageState string
}

// findBinary looks for sshd and reads its version. The version is read
// from the binary's strings rather than by running `sshd -V`: that works
// the same on an offline disk (another architecture, missing libraries),
// costs no process, and avoids `sshd -V`'s quirks (it prints on stderr, and
// releases before 9.0 do not know -V and exit with usage).
func findBinary(sys host.System) (Binary, []string) {
	b := Binary{Searched: binaryPaths}
	var notes []string
	for _, p := range binaryPaths {
		fi, err := os.Stat(sys.Path(p))
		if err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			continue
		}
		b.Path = p
		v, err := readBinaryVersion(sys.Path(p))
		if err != nil {
			notes = append(notes, "the sshd binary could not be read: "+err.Error())
		}
		b.Version = v
		break
	}
	if data, err := sys.ReadFile("/var/lib/dpkg/status"); err == nil {
		b.PackageState, b.Package = DpkgPackage(data, "openssh-server")
	}
	return b, notes
}

// versionRE matches the release strings in an sshd binary; sshd also
// carries compatibility patterns ("OpenSSH_7.0*,OpenSSH_7.1*"), which the
// trailing NUL excludes.
var versionRE = regexp.MustCompile(`OpenSSH_[0-9]+\.[0-9]+(?:p[0-9]+)?(?: [!-~][ -~]*)?\x00`)

// maxBinary bounds the read of an sshd binary (about 1 MB in practice).
const maxBinary = 64 << 20

func readBinaryVersion(path string) (string, error) {
	fh, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, maxBinary))
	if err != nil {
		return "", err
	}
	return BinaryVersion(data), nil
}

// BinaryVersion returns the most precise OpenSSH release string in the
// contents of an sshd binary (SSH_VERSION with the distribution's suffix
// over the bare SSH_RELEASE), or "" when there is none.
func BinaryVersion(data []byte) string {
	best := ""
	for _, m := range versionRE.FindAll(data, -1) {
		s := strings.TrimSuffix(string(m), "\x00")
		if strings.ContainsAny(s, "*,") {
			continue
		}
		if len(s) > len(best) {
			best = s
		}
	}
	return best
}

// DpkgPackage finds a package in the text of /var/lib/dpkg/status and
// returns its Status field and "NAME VERSION"; empty strings when the
// package is not there.
func DpkgPackage(status []byte, name string) (state, pkg string) {
	sc := bufio.NewScanner(bytes.NewReader(status))
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	in := false
	var version string
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			if in {
				break
			}
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok || strings.HasPrefix(line, " ") {
			continue
		}
		v = strings.TrimSpace(v)
		switch k {
		case "Package":
			in = v == name
		case "Status":
			if in {
				state = v
			}
		case "Version":
			if in {
				version = v
			}
		}
	}
	if state == "" && version == "" {
		return "", ""
	}
	return state, strings.TrimSpace(name + " " + version)
}
