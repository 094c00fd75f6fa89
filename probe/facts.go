package probe

import (
	"github.com/sshdoctor/sshdoctor/dest"
)

// Facts is everything `sshdoctor check` learnt about one destination, layer
// by layer. A nil layer was not reached.
type Facts struct {
	// Target is the destination after the ssh client configuration.
	Target *dest.Resolved
	// DNS is the name lookup.
	DNS *DNSFacts
	// TCP holds one attempt per address tried, in order; the last one is
	// the open connection when any succeeded.
	TCP []TCPAttempt
	// Neighbour is the ARP state of the first address when a connect timed
	// out on the local link; empty means unknown or not looked at.
	Neighbour string
	// AltPorts are the other ports searched for SSH when the port failed;
	// nil means no search ran.
	AltPorts []AltPort
	// Banner is the identification exchange on the open connection.
	Banner *BannerFacts
	// TLS is set when a follow-up TLS handshake found a TLS server behind a
	// silent or closing port; empty means not tried or not TLS.
	TLS string
	// SSH holds the key exchange, host key and auth results.
	SSH *SSHFacts
	// KnownHosts is what known_hosts says about the host.
	KnownHosts *KnownHostsFacts
	// Keys are the client keys ssh would offer.
	Keys *KeySet
	// ClientAlgorithms are what the local ssh implements (ssh -Q), read only
	// when a mismatch needs a fix; nil when not read.
	ClientAlgorithms *ClientAlgorithms
	// Login is the result of --login; nil when not asked.
	Login *LoginFacts
}

// Open returns the attempt that connected, or nil.
func (f *Facts) Open() *TCPAttempt {
	for i := range f.TCP {
		if f.TCP[i].Outcome == TCPOpen {
			return &f.TCP[i]
		}
	}
	return nil
}

// ClientAlgorithms lists what the local ssh client implements (ssh -Q).
type ClientAlgorithms struct {
	Kex, HostKey, Cipher, MAC []string
}

// LoginFacts is the outcome of a real login (--login), the only time
// sshdoctor signs.
type LoginFacts struct {
	// Key is the key used; empty when none could be used.
	Key string
	// OK is true when `true` ran and exited 0.
	OK bool
	// Err says why the login failed; empty when OK.
	Err string
}
