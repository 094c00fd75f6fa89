package dest

import (
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// config fills the defaults and renders what ssh -G would print.
func (ev *eval) config() (Config, error) {
	op := &ev.opt
	c := Config{}
	put := func(k string, v ...string) { c[k] = v }
	yesno := func(v int, def string) string {
		switch v {
		case 0:
			return "no"
		case 1:
			return "yes"
		}
		return def
	}
	orDefault := func(s setStr, def string) string {
		if s.set {
			return s.v
		}
		return def
	}

	// Algorithm lists, in fill_default_options' order: a failure leaves
	// that list unprinted and skips the rest of the defaults, as ssh does.
	failed := false
	assemble := func(key string, s setStr, def string, all []string) {
		if failed {
			if s.set {
				put(key, s.v)
			}
			return
		}
		v, err := assembleNames(s, def, all)
		if err != nil {
			failed = true
			ev.note("%s %q is invalid (%v): ssh prints an error and leaves it unset", key, s.v, err)
			return
		}
		put(key, v)
	}
	assemble("ciphers", op.ciphers, openSSHDefaults["ciphers"], cipherAll)
	assemble("macs", op.macs, openSSHDefaults["macs"], macAll)
	assemble("kexalgorithms", op.kex, openSSHDefaults["kexalgorithms"], kexAll)
	assemble("pubkeyacceptedalgorithms", op.pubkeyAlgs, openSSHDefaults["pubkeyacceptedalgorithms"], keyAll)
	hk, err := assembleNames(op.hostKeyAlgs, openSSHDefaults["hostkeyalgorithms"], keyAll)
	if err != nil {
		return nil, fmt.Errorf("dest: ssh config: HostKeyAlgorithms %q: %w", op.hostKeyAlgs.v, err)
	}
	put("hostkeyalgorithms", hk)

	proxyCommand := op.proxyCommand
	jump := op.jumpSet
	if !failed {
		if clearOrNone(proxyCommand) {
			proxyCommand = setStr{}
		}
		if jump && op.jumpHost == "none" && op.jumpPort == 0 && op.jumpUser == "" {
			jump = false
		}
	}
	user := orDefault(op.user, ev.lUser)
	port := op.port
	if port <= 0 {
		port = 22
	}
	alias := op.hostKeyAlias
	if alias.set {
		alias.v = asciiLower(alias.v)
	}

	put("host", ev.hostArg)
	put("hostname", ev.host)
	put("user", user)
	put("port", strconv.Itoa(port))
	if len(op.identities) == 0 {
		put("identityfile", defaultIdentities...)
	} else {
		var ids []string
		for _, f := range op.identities {
			ids = append(ids, f.path)
		}
		put("identityfile", ids...)
	}
	put("identitiesonly", yesno(op.identitiesOnly, "no"))
	put("batchmode", yesno(op.batchMode, "no"))
	put("passwordauthentication", yesno(op.passwordAuth, "yes"))
	put("kbdinteractiveauthentication", yesno(op.kbdAuth, "yes"))
	put("pubkeyauthentication", orDefault(op.pubkeyAuth, "true"))
	put("stricthostkeychecking", orDefault(op.strictHostKey, "ask"))
	put("addressfamily", orDefault(op.addressFamily, "any"))
	if op.connectTimeout < 0 {
		put("connecttimeout", "none")
	} else {
		put("connecttimeout", strconv.Itoa(op.connectTimeout))
	}
	if len(op.globalKnown) == 0 {
		put("globalknownhostsfile", openSSHDefaults["globalknownhostsfile"])
	} else {
		put("globalknownhostsfile", strings.Join(op.globalKnown, " "))
	}
	if alias.set {
		put("hostkeyalias", alias.v)
	}
	if op.preferredAuth.set {
		put("preferredauthentications", op.preferredAuth.v)
	}

	// Token expansion, as ssh.c does before dumping the configuration.
	short, _, _ := strings.Cut(ev.lHost, ".")
	keyAlias := ev.hostArg
	if alias.set {
		keyAlias = alias.v
	}
	sum := sha1.Sum([]byte(ev.lHost + ev.host + strconv.Itoa(port) + user))
	tokens := map[byte]string{
		'C': hex.EncodeToString(sum[:]), 'L': short, 'i': strconv.Itoa(ev.uid),
		'k': keyAlias, 'l': ev.lHost, 'n': ev.hostArg, 'p': strconv.Itoa(port),
		'd': ev.home, 'h': ev.host, 'r': user, 'u': ev.lUser,
	}
	expand := func(what, s string) (string, error) {
		t, err := ev.tilde(s)
		if err != nil {
			return "", err
		}
		v, err := percentExpand(t, tokens, ev.env)
		if err != nil {
			return "", fmt.Errorf("dest: ssh config: %s %q: %w", what, s, err)
		}
		return v, nil
	}
	if op.identityAgent.set {
		v, err := expand("IdentityAgent", op.identityAgent.v)
		if err != nil {
			return nil, err
		}
		put("identityagent", v)
	}
	known := op.userKnownHosts
	if len(known) == 0 {
		known = []string{"~/.ssh/known_hosts", "~/.ssh/known_hosts2"}
	}
	var kh []string
	for _, f := range known {
		v, err := expand("UserKnownHostsFile", f)
		if err != nil {
			return nil, err
		}
		kh = append(kh, v)
	}
	put("userknownhostsfile", strings.Join(kh, " "))

	if jump {
		numeric := strings.Contains(op.jumpHost, ":") || strings.Trim(op.jumpHost, "1234567890.") == ""
		var b strings.Builder
		if op.jumpExtra != "" {
			b.WriteString(op.jumpExtra + ",")
		}
		if op.jumpUser != "" {
			b.WriteString(op.jumpUser + "@")
		}
		if numeric {
			b.WriteString("[" + op.jumpHost + "]")
		} else {
			b.WriteString(op.jumpHost)
		}
		if op.jumpPort > 0 {
			b.WriteString(":" + strconv.Itoa(op.jumpPort))
		}
		put("proxyjump", b.String())
	} else if proxyCommand.set {
		put("proxycommand", proxyCommand.v)
	}
	if len(ev.notes) > 0 {
		c[NotesKey] = ev.notes
	}
	return c, nil
}

// assembleNames applies a configured algorithm list to the defaults, as
// OpenSSH's kex_assemble_names: "+" appends, "-" removes, "^" puts first,
// a plain list replaces; patterns expand against every supported name.
func assembleNames(s setStr, def string, all []string) (string, error) {
	if !s.set || s.v == "" {
		return def, nil
	}
	list := s.v
	switch list[0] {
	case '+':
		list = namesCat(def, list[1:])
	case '-':
		var keep []string
		for _, n := range strings.Split(def, ",") {
			if matchPatternList(n, list[1:], false) != 1 {
				keep = append(keep, n)
			}
		}
		return strings.Join(keep, ","), nil
	case '^':
		list = namesCat(list[1:], def)
	}
	ret := ""
	for _, p := range strings.Split(list, ",") {
		if strings.HasPrefix(p, "!") {
			return "", errors.New("negated names are not allowed here")
		}
		var m []string
		for _, a := range all {
			if matchPatternList(a, p, false) == 1 {
				m = append(m, a)
			}
		}
		ret = namesCat(ret, strings.Join(m, ","))
	}
	if ret == "" {
		return "", errors.New("no supported algorithm left")
	}
	return ret, nil
}

// namesCat appends the names of b that a lacks, as kex_names_cat.
func namesCat(a, b string) string {
	if a == "" {
		return b
	}
	if b == "" {
		return a
	}
	have := map[string]bool{}
	for _, n := range strings.Split(a, ",") {
		have[n] = true
	}
	out := a
	for _, n := range strings.Split(b, ",") {
		if n == "" {
			break
		}
		if !have[n] {
			have[n] = true
			out += "," + n
		}
	}
	return out
}

// namesValid reports whether every name of a list (up to an empty element)
// is a supported algorithm, as ciphers_valid, mac_valid, kex_names_valid.
func namesValid(all []string) func(string) bool {
	return func(list string) bool {
		if list == "" {
			return false
		}
		for _, n := range strings.Split(list, ",") {
			if n == "" {
				break
			}
			if !contains(all, n) {
				return false
			}
		}
		return true
	}
}

// keyNamesValid is sshkey_names_valid2 with wildcards allowed: a pattern
// is valid when it matches (or excludes) some key type.
func keyNamesValid(list string) bool {
	if list == "" {
		return false
	}
	for _, n := range strings.Split(list, ",") {
		if n == "" {
			break
		}
		if contains(keyAll, n) {
			continue
		}
		ok := false
		for _, k := range keyAll {
			if matchPatternList(k, n, false) != 0 {
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

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Every algorithm OpenSSH 9.2 (Debian, OpenSSL) supports, in `ssh -Q`
// order: wildcards expand in this order.
var (
	cipherAll = strings.Split("3des-cbc,aes128-cbc,aes192-cbc,aes256-cbc,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com,chacha20-poly1305@openssh.com", ",")
	macAll    = strings.Split("hmac-sha1,hmac-sha1-96,hmac-sha2-256,hmac-sha2-512,hmac-md5,hmac-md5-96,umac-64@openssh.com,umac-128@openssh.com,hmac-sha1-etm@openssh.com,hmac-sha1-96-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-md5-etm@openssh.com,hmac-md5-96-etm@openssh.com,umac-64-etm@openssh.com,umac-128-etm@openssh.com", ",")
	kexAll    = strings.Split("diffie-hellman-group1-sha1,diffie-hellman-group14-sha1,diffie-hellman-group14-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group-exchange-sha1,diffie-hellman-group-exchange-sha256,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,curve25519-sha256,curve25519-sha256@libssh.org,sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com", ",")
	keyAll    = strings.Split("ssh-ed25519,ssh-ed25519-cert-v01@openssh.com,sk-ssh-ed25519@openssh.com,sk-ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256,ecdsa-sha2-nistp256-cert-v01@openssh.com,ecdsa-sha2-nistp384,ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521,ecdsa-sha2-nistp521-cert-v01@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,webauthn-sk-ecdsa-sha2-nistp256@openssh.com,ssh-dss,ssh-dss-cert-v01@openssh.com,ssh-rsa,ssh-rsa-cert-v01@openssh.com,rsa-sha2-256,rsa-sha2-256-cert-v01@openssh.com,rsa-sha2-512,rsa-sha2-512-cert-v01@openssh.com", ",")
)

// openSSHDefaults are the values `ssh -G -F none` prints on OpenSSH 9.2 for
// the options sshdoctor reads.
var openSSHDefaults = map[string]string{
	"port":                         "22",
	"addressfamily":                "any",
	"batchmode":                    "no",
	"connecttimeout":               "none",
	"identitiesonly":               "no",
	"pubkeyauthentication":         "true",
	"passwordauthentication":       "yes",
	"kbdinteractiveauthentication": "yes",
	"stricthostkeychecking":        "ask",
	"userknownhostsfile":           "~/.ssh/known_hosts ~/.ssh/known_hosts2",
	"globalknownhostsfile":         "/etc/ssh/ssh_known_hosts /etc/ssh/ssh_known_hosts2",
	"kexalgorithms":                "sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group14-sha256",
	"hostkeyalgorithms":            "ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com,ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521-cert-v01@openssh.com,sk-ssh-ed25519-cert-v01@openssh.com,sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com,ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256",
	"ciphers":                      "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com",
	"macs":                         "umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com,umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1",
	"pubkeyacceptedalgorithms":     "ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com,ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521-cert-v01@openssh.com,sk-ssh-ed25519-cert-v01@openssh.com,sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com,ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256",
}
