package probe

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/sshdoctor/sshdoctor/internal/sshmatch"

	"golang.org/x/crypto/ssh"
)

// KnownHost is one line of a known_hosts file.
type KnownHost struct {
	// File and Line locate the entry.
	File string
	Line int
	// Marker is "", "@cert-authority" or "@revoked".
	Marker string
	// Hosts is the host field as written (patterns, or |1|salt|hash).
	Hosts string
	// Hashed is true for a hashed host field (HashKnownHosts).
	Hashed bool
	// Key is the public key on the line.
	Key ssh.PublicKey
	// Comment is the rest of the line after the key; may be empty.
	Comment string
}

// KnownHostsFacts is what the known_hosts files say about one host.
type KnownHostsFacts struct {
	// Files are the files consulted, in order; Missing those that do not exist.
	Files   []string
	Missing []string
	// Names are the lookup names ("web1", "[web1]:2222", and the address when
	// CheckHostIP applies).
	Names []string
	// Matches are the entries whose host field matches one of Names.
	Matches []KnownHost
	// BadLines are lines that do not parse, as "file:line: reason".
	BadLines []string
}

// KnownHostName is the name ssh looks up for host and port: the host itself
// on port 22, "[host]:port" otherwise.
func KnownHostName(host string, port int) string {
	if port == 22 || port == 0 {
		return host
	}
	return "[" + host + "]:" + strconv.Itoa(port)
}

// LookupKnownHosts reads files and collects the entries that match names.
// It reads public keys only; a missing file is recorded, not an error.
func LookupKnownHosts(files, names []string) KnownHostsFacts {
	f := KnownHostsFacts{Files: files, Names: names}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				f.Missing = append(f.Missing, file)
			} else {
				f.BadLines = append(f.BadLines, fmt.Sprintf("%s: %v", file, err))
			}
			continue
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 64*1024), 1<<20)
		n := 0
		for sc.Scan() {
			n++
			e, ok, err := ParseKnownHostsLine(sc.Text())
			if err != nil {
				f.BadLines = append(f.BadLines, fmt.Sprintf("%s:%d: %v", file, n, err))
				continue
			}
			if !ok {
				continue
			}
			e.File, e.Line = file, n
			if e.MatchesAny(names) {
				f.Matches = append(f.Matches, e)
			}
		}
	}
	return f
}

// ParseKnownHostsLine parses one known_hosts line. ok is false for blank
// lines and comments.
func ParseKnownHostsLine(line string) (e KnownHost, ok bool, err error) {
	line = strings.TrimSpace(line)
	if line == "" || line[0] == '#' {
		return e, false, nil
	}
	fields := strings.Fields(line)
	if strings.HasPrefix(fields[0], "@") {
		switch fields[0] {
		case "@cert-authority", "@revoked":
			e.Marker = fields[0]
		default:
			return e, false, fmt.Errorf("unknown marker %q", fields[0])
		}
		fields = fields[1:]
	}
	if len(fields) < 3 {
		return e, false, errors.New("want host patterns, key type and key")
	}
	e.Hosts = fields[0]
	e.Hashed = strings.HasPrefix(e.Hosts, "|1|")
	if e.Hashed {
		if _, _, err := splitHashed(e.Hosts); err != nil {
			return e, false, err
		}
	}
	blob, err := base64.StdEncoding.DecodeString(fields[2])
	if err != nil {
		return e, false, fmt.Errorf("key is not base64: %w", err)
	}
	e.Key, err = ssh.ParsePublicKey(blob)
	if err != nil {
		return e, false, fmt.Errorf("bad %s key: %w", fields[1], err)
	}
	if e.Key.Type() != fields[1] && !(strings.HasPrefix(fields[1], "ssh-rsa") && e.Key.Type() == ssh.KeyAlgoRSA) {
		return e, false, fmt.Errorf("key type %q does not match the key (%s)", fields[1], e.Key.Type())
	}
	e.Comment = strings.Join(fields[3:], " ")
	return e, true, nil
}

func splitHashed(h string) (salt, hash []byte, err error) {
	parts := strings.Split(h, "|")
	if len(parts) != 4 || parts[0] != "" || parts[1] != "1" {
		return nil, nil, errors.New("malformed hashed host")
	}
	salt, err = base64.StdEncoding.DecodeString(parts[2])
	if err != nil {
		return nil, nil, errors.New("malformed hashed host salt")
	}
	hash, err = base64.StdEncoding.DecodeString(parts[3])
	if err != nil {
		return nil, nil, errors.New("malformed hashed host hash")
	}
	return salt, hash, nil
}

// MatchesAny reports whether the entry's host field matches one of names,
// with ssh's rules: comma-separated patterns, * and ? wildcards, and a
// matching negated pattern (!pat) excluding the entry outright.
func (e KnownHost) MatchesAny(names []string) bool {
	for _, n := range names {
		if e.Matches(n) {
			return true
		}
	}
	return false
}

// Matches reports whether the entry applies to the lookup name.
func (e KnownHost) Matches(name string) bool {
	if e.Hashed {
		salt, want, err := splitHashed(e.Hosts)
		if err != nil {
			return false
		}
		m := hmac.New(sha1.New, salt)
		m.Write([]byte(name))
		return hmac.Equal(m.Sum(nil), want)
	}
	matched := false
	for _, p := range strings.Split(e.Hosts, ",") {
		neg := strings.HasPrefix(p, "!")
		p = strings.TrimPrefix(p, "!")
		if wildMatch(strings.ToLower(p), strings.ToLower(name)) {
			if neg {
				return false
			}
			matched = true
		}
	}
	return matched
}

// wildMatch is ssh's match_pattern: '*' matches any run, '?' one character.
func wildMatch(pattern, s string) bool { return sshmatch.Pattern(s, pattern) }

// KnownHostsNames returns the names ssh looks up for a host key: the
// HostKeyAlias or host name (with port when not 22), and, with CheckHostIP,
// the address too.
func KnownHostsNames(host string, port int, alias string, addr net.IP, checkHostIP bool) []string {
	name := host
	if alias != "" {
		name = alias
	}
	names := []string{KnownHostName(name, port)}
	if checkHostIP && addr != nil && alias == "" && addr.String() != host {
		names = append(names, KnownHostName(addr.String(), port))
	}
	return names
}

// Fingerprint is the SHA256 fingerprint of a key, as ssh prints it.
func Fingerprint(k ssh.PublicKey) string { return ssh.FingerprintSHA256(k) }
