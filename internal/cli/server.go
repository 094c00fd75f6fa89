package cli

import (
	"github.com/sshdoctor/sshdoctor/fix"
)

// serverFlags are the flags of `server` (and of `fix` without DEST).
type serverFlags struct {
	root       string
	sshdConfig string
	user       string
	from       string
	key        string
}

func (s *serverFlags) register(fs *flagSet) {
	fs.StringVar(&s.root, "root", "", "inspect a filesystem tree offline (a broken machine's disk mounted at DIR)")
	fs.StringVar(&s.sshdConfig, "sshd-config", "", "the sshd configuration to inspect (default /etc/ssh/sshd_config, under --root if given)")
	if fs.Lookup("user") == nil { // fix shares -l/--user with the client flags
		fs.StringVar(&s.user, "user", "", "evaluate whether this account can log in")
	}
	fs.StringVar(&s.from, "from", "", "evaluate for a client at this address (firewall, bans, Match blocks)")
	fs.StringVar(&s.key, "key", "", "check that this public key (a file or the key text) is authorized for --user")
}

func runFixServer(e *env, sf serverFlags, only []string, apply, yes, asJSON bool, opts fix.Options) error {
	return usagef("give a DEST to fix the client side", "fixing the server side is not available yet")
}
