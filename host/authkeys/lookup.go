package authkeys

import (
	"bytes"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/sshdoctor/sshdoctor/host/accounts"
	"golang.org/x/crypto/ssh"
)

// Match is an authorized_keys entry that names a key.
type Match struct {
	// File is the file's path on the inspected system; Line the line.
	File string
	Line int
	// Entry is the entry itself.
	Entry Entry
	// ViaCA is true when the key is a certificate and the entry is the
	// cert-authority key that signed it.
	ViaCA bool
	// Refused says why sshd would refuse the key at this entry anyway
	// (from= excludes the client, expiry-time= passed, a certificate
	// principal or validity problem); empty when it accepts it.
	Refused string
	// NeedsClient is true when a from= list decides and the client address
	// is unknown.
	NeedsClient bool
}

// Usable reports whether the file can give sshd keys: it exists, is a
// regular file, and neither StrictModes (when on) nor plain permissions
// stop sshd from reading it.
func (f *Facts) Usable(file *File) bool {
	if !file.Exists || !file.Regular || file.Err != "" {
		return false
	}
	for _, p := range file.Problems {
		if p.Unreachable || (p.Strict && f.Config.StrictModes) {
			return false
		}
	}
	return true
}

// Find looks for key in every file, as user_key_allowed() would for a
// client at c, and returns each entry that names it, in file order. Files
// sshd could not use are searched too (the caller tells them apart with
// Usable): a key listed in a file StrictModes refuses is "present but
// ignored", not absent.
//
// A plain key matches an entry with the same key that is not a
// cert-authority. A certificate matches a cert-authority entry holding its
// signing key; since ssh also offers the certificate's plain key, plain
// entries for that key match as well.
func (f *Facts) Find(key ssh.PublicKey, c accounts.Client) []Match {
	blob := key.Marshal()
	cert, isCert := key.(*ssh.Certificate)
	var out []Match
	for _, file := range f.Files {
		for _, e := range file.Entries {
			m := Match{File: file.Path, Line: e.Line, Entry: e}
			eb := e.Key.Marshal()
			switch {
			case !e.Options.CertAuthority && bytes.Equal(eb, blob):
			case isCert && e.Options.CertAuthority && bytes.Equal(eb, cert.SignatureKey.Marshal()):
				m.ViaCA = true
				m.Refused = certRefusal(cert, e.Options, f.User, f.Now, c)
			case isCert && !e.Options.CertAuthority && bytes.Equal(eb, cert.Key.Marshal()):
			default:
				continue
			}
			if m.Refused == "" {
				m.Refused, m.NeedsClient = optionRefusal(e.Options, f.Now, c)
			}
			out = append(out, m)
		}
	}
	return out
}

// optionRefusal is auth_authorise_keyopts() for an authorized_keys entry.
func optionRefusal(o Options, now time.Time, c accounts.Client) (string, bool) {
	if !o.ExpiryTime.IsZero() && o.ExpiryTime.Before(now) {
		return fmt.Sprintf("the entry expired at %s (expiry-time=)", o.ExpiryTime.UTC().Format(time.RFC3339)), false
	}
	if o.From == "" {
		return "", false
	}
	if !c.Known() {
		return "", true
	}
	host := c.Host
	if host == "" {
		host = c.Addr.Unmap().String()
	}
	if accounts.MatchHostAndIP(host, c.Addr.Unmap().String(), o.From) != 1 {
		return fmt.Sprintf("from=%q does not allow %s", o.From, c.Addr), false
	}
	return "", false
}

// certRefusal checks what sshd checks of a user certificate authorized by
// a cert-authority entry: the type, principals= (or else the user's name
// among the certificate's principals, when it lists any), the validity
// period, and the certificate's source-address.
func certRefusal(cert *ssh.Certificate, o Options, user string, now time.Time, c accounts.Client) string {
	if cert.CertType != ssh.UserCert {
		return "the certificate is a host certificate"
	}
	if o.Principals != "" {
		list := strings.Split(o.Principals, ",")
		if !slices.ContainsFunc(cert.ValidPrincipals, func(p string) bool { return slices.Contains(list, p) }) {
			return fmt.Sprintf("none of the certificate's principals %v is in principals=%q", cert.ValidPrincipals, o.Principals)
		}
	} else if len(cert.ValidPrincipals) > 0 && !slices.Contains(cert.ValidPrincipals, user) {
		return fmt.Sprintf("the certificate is not valid for %s (principals %v)", user, cert.ValidPrincipals)
	}
	t := uint64(now.Unix())
	if t < cert.ValidAfter {
		return "the certificate is not valid yet"
	}
	if cert.ValidBefore != ssh.CertTimeInfinity && t >= cert.ValidBefore {
		return "the certificate has expired"
	}
	if src, ok := cert.CriticalOptions["source-address"]; ok && c.Known() {
		if !cidrListContains(src, c.Addr.Unmap()) {
			return fmt.Sprintf("the certificate's source-address %q does not allow %s", src, c.Addr)
		}
	}
	return ""
}

// cidrListContains is addr_match_cidr_list() for a known address: a comma
// list of addresses and networks, no wildcards or negation.
func cidrListContains(list string, a netip.Addr) bool {
	for _, s := range strings.Split(list, ",") {
		if p, err := netip.ParsePrefix(s); err == nil && p.Contains(a) {
			return true
		}
		if b, err := netip.ParseAddr(s); err == nil && b.Unmap() == a {
			return true
		}
	}
	return false
}
