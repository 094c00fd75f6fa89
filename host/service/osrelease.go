package service

import (
	"strings"

	"github.com/sshdoctor/sshdoctor/host"
)

// OSRelease identifies the distribution, so that fixes name its package
// manager.
type OSRelease struct {
	// ID is os-release's ID ("debian", "ubuntu", "rhel", "arch",
	// "alpine"); empty when not known.
	ID string
	// IDLike is os-release's ID_LIKE, split ("rhel", "fedora"); empty when
	// not set.
	IDLike []string
	// PrettyName is for display; empty when not set.
	PrettyName string
}

// Is reports whether the distribution is id or derives from it.
func (o OSRelease) Is(id string) bool {
	if o.ID == id {
		return true
	}
	for _, l := range o.IDLike {
		if l == id {
			return true
		}
	}
	return false
}

func readOSRelease(sys host.System) OSRelease {
	var o OSRelease
	data, err := sys.ReadFile("/etc/os-release")
	if err != nil {
		if data, err = sys.ReadFile("/usr/lib/os-release"); err != nil {
			return o
		}
	}
	o = ParseOSRelease(data)
	return o
}

// ParseOSRelease parses the KEY=value lines of os-release(5).
func ParseOSRelease(data []byte) OSRelease {
	var o OSRelease
	for _, line := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok {
			continue
		}
		v = strings.Trim(v, `"'`)
		switch k {
		case "ID":
			o.ID = v
		case "ID_LIKE":
			o.IDLike = strings.Fields(v)
		case "PRETTY_NAME":
			o.PrettyName = v
		}
	}
	return o
}
