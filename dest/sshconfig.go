package dest

import (
	"strconv"
	"strings"
)

// Evaluate computes the effective client configuration for host without
// running ssh, for machines where ssh is not installed. It starts from
// OpenSSH's defaults and applies the command-line options.
//
// TODO(parser): read ~/.ssh/config and /etc/ssh/ssh_config (Host, Match,
// Include); until then only defaults and flags apply.
func Evaluate(host string, o Options) (Config, error) {
	c := Config{}
	for k, v := range openSSHDefaults {
		c[k] = []string{v}
	}
	c["identityfile"] = append([]string(nil), defaultIdentities...)
	c["host"] = []string{host}
	c["hostname"] = []string{host}
	for _, x := range o.Extra {
		k, v, ok := strings.Cut(x, "=")
		if !ok {
			k, v, _ = strings.Cut(x, " ")
		}
		c[strings.ToLower(strings.TrimSpace(k))] = []string{strings.TrimSpace(v)}
	}
	if o.Port != 0 {
		c["port"] = []string{strconv.Itoa(o.Port)}
	}
	if o.User != "" {
		c["user"] = []string{o.User}
	}
	if len(o.Identities) > 0 {
		c["identityfile"] = append(append([]string(nil), o.Identities...), c["identityfile"]...)
	}
	switch o.Family {
	case 4:
		c["addressfamily"] = []string{"inet"}
	case 6:
		c["addressfamily"] = []string{"inet6"}
	}
	return c, nil
}

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
