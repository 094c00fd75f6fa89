// Package sshdconfig reads an sshd configuration the way sshd does and
// answers two questions: what would sshd complain about (every problem, not
// only the first, each with file, line and sshd's own message), and what is
// the effective configuration for a given user connecting from a given
// address.
//
// It models Debian 12's OpenSSH 9.2p1 from its source (servconf.c, match.c,
// addrmatch.c, misc.c): the keyword table with aliases and which keywords a
// Match block accepts; sshd's tokenizer (Key=Value, double and single
// quotes, comments); Include with globs, relative to /etc/ssh, sorted,
// nested, inside Match blocks, with sshd's depth limit; the two passes sshd
// makes over the configuration (startup, then per connection) and which
// values a Match block overrides; pattern lists with negation, CIDR address
// lists; and the algorithm list modifiers +, - and ^.
//
// The shape:
//
//	cfg, err := sshdconfig.Load(sshdconfig.Options{FS: sshdconfig.RootFS{Dir: root}})
//	for _, p := range cfg.Problems { ... p.File, p.Line, p.Message, p.Suggestion ... }
//	eff := cfg.Effective(sshdconfig.Conn{User: "alice", Addr: "203.0.113.9"})
//	eff.PasswordAuthentication(), eff.AllowUsers(), eff.PubkeyAcceptedAlgorithms() ...
//
// Inspect gathers everything the server checks need (configuration, host
// keys, privilege separation directory) and, on the live system, runs the
// real `sshd -t` and `sshd -T` as the authority: what sshd says wins, and
// where our evaluation differs, the difference is reported as a bug of ours
// (Facts.Disagreements).
//
// Limits, on purpose: host names in ListenAddress are not resolved; Match
// Group uses the groups the caller supplies; keywords of vendor patches
// other than Debian's (Red Hat's GSSAPIEnablek5users...) are unknown, as they
// are to Debian's sshd; releases other than 9.2 are modelled only as far as
// the few newer keywords go (PerSourcePenalties and the like).
package sshdconfig
