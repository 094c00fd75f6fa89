package sshdconfig

import "strings"

// Algorithm lists of Debian 12's OpenSSH 9.2p1, as `ssh -Q` prints them and
// as myproposal.h defines the defaults. The order of the "all" lists
// matters: a pattern such as "ssh-ed25519*" expands in that order.
const (
	// allKeyAlgorithms is sshkey_alg_list(0, 0, 1): every public key
	// algorithm, signature-only names included (`ssh -Q
	// PubkeyAcceptedAlgorithms`).
	allKeyAlgorithms = "ssh-ed25519,ssh-ed25519-cert-v01@openssh.com," +
		"sk-ssh-ed25519@openssh.com,sk-ssh-ed25519-cert-v01@openssh.com," +
		"ecdsa-sha2-nistp256,ecdsa-sha2-nistp256-cert-v01@openssh.com," +
		"ecdsa-sha2-nistp384,ecdsa-sha2-nistp384-cert-v01@openssh.com," +
		"ecdsa-sha2-nistp521,ecdsa-sha2-nistp521-cert-v01@openssh.com," +
		"sk-ecdsa-sha2-nistp256@openssh.com,sk-ecdsa-sha2-nistp256-cert-v01@openssh.com," +
		"webauthn-sk-ecdsa-sha2-nistp256@openssh.com," +
		"ssh-dss,ssh-dss-cert-v01@openssh.com," +
		"ssh-rsa,ssh-rsa-cert-v01@openssh.com," +
		"rsa-sha2-256,rsa-sha2-256-cert-v01@openssh.com," +
		"rsa-sha2-512,rsa-sha2-512-cert-v01@openssh.com"

	// DefaultKeyAlgorithms is KEX_DEFAULT_PK_ALG: the default of
	// PubkeyAcceptedAlgorithms, HostbasedAcceptedAlgorithms and
	// HostKeyAlgorithms. ssh-rsa (SHA-1) and DSA are not in it.
	DefaultKeyAlgorithms = "ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com," +
		"ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521-cert-v01@openssh.com," +
		"sk-ssh-ed25519-cert-v01@openssh.com,sk-ecdsa-sha2-nistp256-cert-v01@openssh.com," +
		"rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com," +
		"ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521," +
		"sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256"

	allCiphers = "3des-cbc,aes128-cbc,aes192-cbc,aes256-cbc,aes128-ctr,aes192-ctr,aes256-ctr," +
		"aes128-gcm@openssh.com,aes256-gcm@openssh.com,chacha20-poly1305@openssh.com"
	defaultCiphers = "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr," +
		"aes128-gcm@openssh.com,aes256-gcm@openssh.com"

	allMACs = "hmac-sha1,hmac-sha1-96,hmac-sha2-256,hmac-sha2-512,hmac-md5,hmac-md5-96," +
		"umac-64@openssh.com,umac-128@openssh.com,hmac-sha1-etm@openssh.com,hmac-sha1-96-etm@openssh.com," +
		"hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-md5-etm@openssh.com," +
		"hmac-md5-96-etm@openssh.com,umac-64-etm@openssh.com,umac-128-etm@openssh.com"
	defaultMACs = "umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com," +
		"hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com," +
		"umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1"

	allKex = "diffie-hellman-group1-sha1,diffie-hellman-group14-sha1,diffie-hellman-group14-sha256," +
		"diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group-exchange-sha1," +
		"diffie-hellman-group-exchange-sha256,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521," +
		"curve25519-sha256,curve25519-sha256@libssh.org,sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com"
	defaultKex = "sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,curve25519-sha256," +
		"curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521," +
		"diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512," +
		"diffie-hellman-group18-sha512,diffie-hellman-group14-sha256"

	// gssKexPrefixes is GSS_KEX_DEFAULT_KEX of the GSSAPI key exchange
	// patch: the names are prefixes completed by a mechanism hash.
	gssKexPrefixes = "gss-group14-sha256-,gss-group16-sha512-,gss-nistp256-sha256-," +
		"gss-curve25519-sha256-,gss-group14-sha1-,gss-gex-sha1-"
)

// AssembleAlgorithms computes an algorithm list from a configured value the
// way kex_assemble_names does: empty means the default; "+list" appends to
// the default, "-list" removes from it, "^list" puts first; anything else
// replaces it. Names may be wildcard patterns, expanded against all, in the
// order of all. A result that would be empty, or a negated pattern outside a
// "-" list, yields nil (sshd then refuses to start).
func AssembleAlgorithms(value, def, all string) []string {
	if value == "" {
		return splitList(def)
	}
	var list string
	switch value[0] {
	case '+':
		list = namesCat(def, value[1:])
	case '-':
		return filterList(def, value[1:], true)
	case '^':
		list = namesCat(value[1:], def)
	default:
		list = value
	}
	var out []string
	for _, pat := range strings.Split(list, ",") {
		if strings.HasPrefix(pat, "!") {
			return nil
		}
		for _, name := range filterList(all, pat, false) {
			if !contains(out, name) {
				out = append(out, name)
			}
		}
	}
	return out
}

// namesCat is kex_names_cat: a followed by the names of b not already in a.
func namesCat(a, b string) string {
	if a == "" {
		return b
	}
	if b == "" {
		return a
	}
	out := splitList(a)
	for _, n := range strings.Split(b, ",") {
		if n == "" {
			break
		}
		if !contains(out, n) {
			out = append(out, n)
		}
	}
	return strings.Join(out, ",")
}

// filterList is match.c's filter_list: the names of proposal that match
// (deny false) or do not match (deny true) the pattern list.
func filterList(proposal, filter string, deny bool) []string {
	var out []string
	for _, n := range strings.Split(proposal, ",") {
		r := MatchPatternList(n, filter, false)
		if (deny && r != 1) || (!deny && r == 1) {
			out = append(out, n)
		}
	}
	return out
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// AlgorithmAccepted reports whether a key of the given type is accepted by
// an assembled PubkeyAcceptedAlgorithms list (Effective.PubkeyAcceptedAlgorithms).
// keyType is the type written in authorized_keys or a public key file
// ("ssh-rsa", "ssh-ed25519", "ecdsa-sha2-nistp256-cert-v01@openssh.com").
//
// An RSA key is named ssh-rsa in files whatever hash signs with it, and sshd
// accepts it when any of ssh-rsa, rsa-sha2-256 or rsa-sha2-512 is in the
// list: OpenSSH clients sign with rsa-sha2-512 or -256, so "ssh-rsa"
// disabled (the default) does not refuse RSA keys, only SHA-1 signatures.
// The same holds for RSA certificates.
func AlgorithmAccepted(list []string, keyType string) bool {
	for _, alt := range equivalentAlgorithms(keyType) {
		if contains(list, alt) {
			return true
		}
	}
	return false
}

func equivalentAlgorithms(keyType string) []string {
	switch keyType {
	case "ssh-rsa", "rsa-sha2-256", "rsa-sha2-512":
		return []string{"rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"}
	case "ssh-rsa-cert-v01@openssh.com", "rsa-sha2-256-cert-v01@openssh.com", "rsa-sha2-512-cert-v01@openssh.com":
		return []string{"rsa-sha2-512-cert-v01@openssh.com", "rsa-sha2-256-cert-v01@openssh.com", "ssh-rsa-cert-v01@openssh.com"}
	}
	return []string{keyType}
}

// validKeyAlgorithms is sshkey_names_valid2 with wildcards allowed: each name
// is a known algorithm, or a pattern that some algorithm matches
// positively or negatively.
func validKeyAlgorithms(names string) bool {
	return validNames(names, allKeyAlgorithms, true)
}

func validNames(names, all string, patterns bool) bool {
	if names == "" {
		return false
	}
	known := strings.Split(all, ",")
	for _, n := range strings.Split(names, ",") {
		if n == "" {
			// strsep stops at an empty name: what follows is not checked.
			break
		}
		if contains(known, n) {
			continue
		}
		if !patterns {
			return false
		}
		ok := false
		for _, k := range known {
			if MatchPatternList(k, n, false) != 0 {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

func validGSSKex(names string) bool {
	if names == "" {
		return false
	}
	for _, n := range strings.Split(names, ",") {
		if n == "" {
			break
		}
		ok := false
		for _, p := range strings.Split(gssKexPrefixes, ",") {
			// A GSS name is the prefix plus a base64 mechanism hash.
			if strings.HasPrefix(n, p) {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	return true
}
