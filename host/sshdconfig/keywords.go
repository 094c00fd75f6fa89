package sshdconfig

import (
	"sort"
	"strings"
)

// kind says how sshd parses and stores the arguments of a keyword. Storage
// rules matter as much as syntax: most options keep the first value seen, a
// few accumulate, and a few keep the last one.
type kind int

const (
	kFlag  kind = iota // yes/no
	kMulti             // one of a fixed set of words (multistate)
	kInt               // non-negative integer
	kTime              // sshd time format: 90, 2m, 1h30m
	kPort
	kListenAddress
	kHostKey  // file, accumulates
	kHostCert // file, accumulates
	kFile     // file, first wins
	kString   // one word, first wins
	kKeyAlgos // PubkeyAcceptedAlgorithms and friends: +, -, ^ and patterns
	kCiphers  // cipher list
	kMACs     // MAC list
	kKex      // KEX list
	kGSSKex   // GSSAPIKexAlgorithms (Debian and Red Hat patch)
	kPubkeyAuthOptions
	kPermitUserEnv
	kRekeyLimit
	kLogFacility
	kLogLevel
	kLogVerbose
	kUserPatterns  // AllowUsers, DenyUsers: accumulate
	kGroupPatterns // AllowGroups, DenyGroups: accumulate
	kSubsystem
	kMaxStartups
	kPerSourceNetBlockSize
	kPerSourceMaxStartups
	kAuthKeysFile
	kAcceptEnv
	kSetEnv
	kPermitTunnel
	kInclude
	kMatch
	kPermitOpen // PermitOpen and PermitListen
	kRestOfLine // ForceCommand, VersionAddendum: the raw rest of the line
	kCommand    // AuthorizedKeysCommand: absolute path or none, rest of line
	kAuthMethods
	kOctalMask
	kFingerprintHash
	kIPQoS
	kRDomain
	kChannelTimeout
	kUnusedConnectionTimeout
	kDeprecated  // sshd logs "Deprecated option" and ignores it
	kUnsupported // sshd logs "Unsupported option" and ignores it
	kIgnore      // sshd ignores it silently (Protocol)
	kAnyArgs     // newer than the sshd we model: arguments taken as they are
)

// keyword is one entry of sshd's keyword table.
type keyword struct {
	// name is the canonical spelling (as in sshd_config(5)).
	name string
	// option is the canonical name of the option the keyword sets; it differs
	// from name for aliases (ChallengeResponseAuthentication sets
	// KbdInteractiveAuthentication).
	option string
	kind   kind
	// match is true when the keyword is allowed inside a Match block
	// (SSHCFG_ALL in servconf.c); false means global only.
	match bool
	// values lists the accepted words of a kMulti keyword, the first being
	// the word sshd -T prints for each value class.
	values []string
	// since is the first OpenSSH version that knows the keyword, for the few
	// keywords newer than the 9.2 table; zero for 9.2 keywords.
	since Version
}

// v92 is the version the table describes: Debian 12's OpenSSH 9.2p1.
var v92 = Version{9, 2}

var (
	flagValues     = []string{"yes", "no"}
	rootValues     = []string{"without-password", "prohibit-password", "forced-commands-only", "yes", "no"}
	familyValues   = []string{"inet", "inet6", "any"}
	rhostsValues   = []string{"yes", "no", "shosts-only"}
	compressValues = []string{"yes", "delayed", "no"}
	gatewayValues  = []string{"clientspecified", "yes", "no"}
	forwardValues  = []string{"yes", "all", "no", "remote", "local"}
)

// keywordTable is the keyword table of Debian 12's sshd (OpenSSH 9.2p1 with
// Debian's patches, built with PAM, Kerberos, GSSAPI and zlib, without AFS),
// in servconf.c's order, followed by a few keywords of later releases that
// 9.2 rejects. Transcribed from the source, not from the manual: the manual
// does not list aliases, deprecated names or which keywords Match accepts.
var keywordTable = []keyword{
	{name: "UsePAM", kind: kFlag},
	{name: "PAMAuthenticationViaKbdInt", kind: kDeprecated},
	{name: "Port", kind: kPort},
	{name: "HostKey", kind: kHostKey},
	{name: "HostDSAKey", option: "HostKey", kind: kHostKey},
	{name: "HostKeyAgent", kind: kString},
	{name: "PidFile", kind: kFile},
	{name: "ModuliFile", kind: kFile},
	{name: "ServerKeyBits", kind: kDeprecated},
	{name: "LoginGraceTime", kind: kTime},
	{name: "KeyRegenerationInterval", kind: kDeprecated},
	{name: "PermitRootLogin", kind: kMulti, match: true, values: rootValues},
	{name: "SyslogFacility", kind: kLogFacility},
	{name: "LogLevel", kind: kLogLevel, match: true},
	{name: "LogVerbose", kind: kLogVerbose, match: true},
	{name: "RhostsAuthentication", kind: kDeprecated},
	{name: "RhostsRSAAuthentication", kind: kDeprecated, match: true},
	{name: "HostbasedAuthentication", kind: kFlag, match: true},
	{name: "HostbasedUsesNameFromPacketOnly", kind: kFlag, match: true},
	{name: "HostbasedAcceptedAlgorithms", kind: kKeyAlgos, match: true},
	{name: "HostbasedAcceptedKeyTypes", option: "HostbasedAcceptedAlgorithms", kind: kKeyAlgos, match: true},
	{name: "HostKeyAlgorithms", kind: kKeyAlgos},
	{name: "RSAAuthentication", kind: kDeprecated, match: true},
	{name: "PubkeyAuthentication", kind: kFlag, match: true},
	{name: "PubkeyAcceptedAlgorithms", kind: kKeyAlgos, match: true},
	{name: "PubkeyAcceptedKeyTypes", option: "PubkeyAcceptedAlgorithms", kind: kKeyAlgos, match: true},
	{name: "PubkeyAuthOptions", kind: kPubkeyAuthOptions, match: true},
	{name: "DSAAuthentication", option: "PubkeyAuthentication", kind: kFlag},
	{name: "KerberosAuthentication", kind: kFlag, match: true},
	{name: "KerberosOrLocalPasswd", kind: kFlag},
	{name: "KerberosTicketCleanup", kind: kFlag},
	{name: "KerberosGetAFSToken", kind: kUnsupported},
	{name: "KerberosTGTPassing", kind: kUnsupported},
	{name: "AFSTokenPassing", kind: kUnsupported},
	{name: "GSSAPIAuthentication", kind: kFlag, match: true},
	{name: "GSSAPICleanupCredentials", kind: kFlag},
	{name: "GSSAPICleanupCreds", option: "GSSAPICleanupCredentials", kind: kFlag},
	{name: "GSSAPIStrictAcceptorCheck", kind: kFlag},
	{name: "GSSAPIKeyExchange", kind: kFlag},
	{name: "GSSAPIStoreCredentialsOnRekey", kind: kFlag},
	{name: "GSSAPIKexAlgorithms", kind: kGSSKex},
	{name: "GSSUseSessionCCache", kind: kUnsupported},
	{name: "GSSAPIUseSessionCredCache", kind: kUnsupported},
	{name: "PasswordAuthentication", kind: kFlag, match: true},
	{name: "KbdInteractiveAuthentication", kind: kFlag, match: true},
	{name: "ChallengeResponseAuthentication", option: "KbdInteractiveAuthentication", kind: kFlag, match: true},
	{name: "SKeyAuthentication", option: "KbdInteractiveAuthentication", kind: kFlag, match: true},
	{name: "CheckMail", kind: kDeprecated},
	{name: "ListenAddress", kind: kListenAddress},
	{name: "AddressFamily", kind: kMulti, values: familyValues},
	{name: "PrintMotd", kind: kFlag},
	{name: "PrintLastLog", kind: kFlag},
	{name: "IgnoreRhosts", kind: kMulti, match: true, values: rhostsValues},
	{name: "IgnoreUserKnownHosts", kind: kFlag},
	{name: "X11Forwarding", kind: kFlag, match: true},
	{name: "X11DisplayOffset", kind: kInt, match: true},
	{name: "X11UseLocalhost", kind: kFlag, match: true},
	{name: "XAuthLocation", kind: kFile},
	{name: "StrictModes", kind: kFlag},
	{name: "PermitBlacklistedKeys", kind: kDeprecated},
	{name: "PermitEmptyPasswords", kind: kFlag, match: true},
	{name: "PermitUserEnvironment", kind: kPermitUserEnv},
	{name: "UseLogin", kind: kDeprecated},
	{name: "Compression", kind: kMulti, values: compressValues},
	{name: "RekeyLimit", kind: kRekeyLimit, match: true},
	{name: "TCPKeepAlive", kind: kFlag},
	{name: "KeepAlive", option: "TCPKeepAlive", kind: kFlag},
	{name: "AllowTcpForwarding", kind: kMulti, match: true, values: forwardValues},
	{name: "AllowAgentForwarding", kind: kFlag, match: true},
	{name: "AllowUsers", kind: kUserPatterns, match: true},
	{name: "DenyUsers", kind: kUserPatterns, match: true},
	{name: "AllowGroups", kind: kGroupPatterns, match: true},
	{name: "DenyGroups", kind: kGroupPatterns, match: true},
	{name: "Ciphers", kind: kCiphers},
	{name: "MACs", kind: kMACs},
	{name: "Protocol", kind: kIgnore},
	{name: "GatewayPorts", kind: kMulti, match: true, values: gatewayValues},
	{name: "Subsystem", kind: kSubsystem},
	{name: "MaxStartups", kind: kMaxStartups},
	{name: "PerSourceMaxStartups", kind: kPerSourceMaxStartups},
	{name: "PerSourceNetBlockSize", kind: kPerSourceNetBlockSize},
	{name: "MaxAuthTries", kind: kInt, match: true},
	{name: "MaxSessions", kind: kInt, match: true},
	{name: "Banner", kind: kFile, match: true},
	{name: "UseDNS", kind: kFlag},
	{name: "VerifyReverseMapping", kind: kDeprecated},
	{name: "ReverseMappingCheck", kind: kDeprecated},
	{name: "ClientAliveInterval", kind: kTime, match: true},
	{name: "ClientAliveCountMax", kind: kInt, match: true},
	{name: "AuthorizedKeysFile", kind: kAuthKeysFile, match: true},
	{name: "AuthorizedKeysFile2", kind: kDeprecated, match: true},
	{name: "UsePrivilegeSeparation", kind: kDeprecated},
	{name: "AcceptEnv", kind: kAcceptEnv, match: true},
	{name: "SetEnv", kind: kSetEnv, match: true},
	{name: "PermitTunnel", kind: kPermitTunnel, match: true},
	{name: "PermitTTY", kind: kFlag, match: true},
	{name: "PermitUserRC", kind: kFlag, match: true},
	{name: "Match", kind: kMatch, match: true},
	{name: "PermitOpen", kind: kPermitOpen, match: true},
	{name: "PermitListen", kind: kPermitOpen, match: true},
	{name: "ForceCommand", kind: kRestOfLine, match: true},
	{name: "ChrootDirectory", kind: kString, match: true},
	{name: "HostCertificate", kind: kHostCert},
	{name: "RevokedKeys", kind: kFile, match: true},
	{name: "TrustedUserCAKeys", kind: kFile, match: true},
	{name: "AuthorizedPrincipalsFile", kind: kString, match: true},
	{name: "KexAlgorithms", kind: kKex},
	{name: "Include", kind: kInclude, match: true},
	{name: "IPQoS", kind: kIPQoS, match: true},
	{name: "AuthorizedKeysCommand", kind: kCommand, match: true},
	{name: "AuthorizedKeysCommandUser", kind: kString, match: true},
	{name: "AuthorizedPrincipalsCommand", kind: kCommand, match: true},
	{name: "AuthorizedPrincipalsCommandUser", kind: kString, match: true},
	{name: "VersionAddendum", kind: kRestOfLine},
	{name: "AuthenticationMethods", kind: kAuthMethods, match: true},
	{name: "StreamLocalBindMask", kind: kOctalMask, match: true},
	{name: "StreamLocalBindUnlink", kind: kFlag, match: true},
	{name: "AllowStreamLocalForwarding", kind: kMulti, match: true, values: forwardValues},
	{name: "FingerprintHash", kind: kFingerprintHash},
	{name: "DisableForwarding", kind: kFlag, match: true},
	{name: "ExposeAuthInfo", kind: kFlag, match: true},
	{name: "RDomain", kind: kRDomain, match: true},
	{name: "CASignatureAlgorithms", kind: kKeyAlgos, match: true},
	{name: "SecurityKeyProvider", kind: kString},
	{name: "RequiredRSASize", kind: kInt, match: true},
	{name: "ChannelTimeout", kind: kChannelTimeout, match: true},
	{name: "UnusedConnectionTimeout", kind: kUnusedConnectionTimeout, match: true},
	{name: "DebianBanner", kind: kFlag},

	// Keywords of later releases. OpenSSH 9.2 rejects them ("Bad
	// configuration option"), which is a common way to break a server: a
	// line copied from newer documentation. Knowing them lets the finding
	// say why instead of only suggesting a look-alike keyword.
	{name: "PerSourcePenalties", kind: kAnyArgs, since: Version{9, 8}},
	{name: "PerSourcePenaltyExemptList", kind: kAnyArgs, since: Version{9, 8}},
	{name: "SshdSessionPath", kind: kAnyArgs, since: Version{9, 8}},
	{name: "RefuseConnection", kind: kAnyArgs, match: true, since: Version{10, 0}},
	{name: "SshdAuthPath", kind: kAnyArgs, since: Version{10, 0}},
}

var keywordIndex = func() map[string]*keyword {
	m := make(map[string]*keyword, len(keywordTable))
	for i := range keywordTable {
		k := &keywordTable[i]
		if k.option == "" {
			k.option = k.name
		}
		lk := strings.ToLower(k.name)
		if _, dup := m[lk]; dup {
			panic("sshdconfig: duplicate keyword " + k.name)
		}
		m[lk] = k
	}
	return m
}()

// lookupKeyword finds a keyword case-insensitively, as sshd's strcasecmp
// does, among the keywords the given sshd version knows.
func lookupKeyword(word string, v Version) *keyword {
	k := keywordIndex[strings.ToLower(word)]
	if k == nil {
		return nil
	}
	if !k.since.IsZero() && v.Less(k.since) {
		return nil
	}
	return k
}

// newerKeyword returns the keyword if word is a keyword of a release later
// than v, so that a "Bad configuration option" can say which version added
// it.
func newerKeyword(word string, v Version) *keyword {
	k := keywordIndex[strings.ToLower(word)]
	if k == nil || k.since.IsZero() || !v.Less(k.since) {
		return nil
	}
	return k
}

// Keywords returns the canonical spelling of every keyword sshd of version v
// accepts (aliases included), sorted. The zero Version means OpenSSH 9.2.
func Keywords(v Version) []string {
	v = v.orDefault()
	var out []string
	for _, k := range keywordTable {
		if !k.since.IsZero() && v.Less(k.since) {
			continue
		}
		out = append(out, k.name)
	}
	sort.Strings(out)
	return out
}

// CanonicalKeyword returns the canonical spelling of a keyword written in any
// case, and false when sshd of version v does not know it.
func CanonicalKeyword(word string, v Version) (string, bool) {
	k := lookupKeyword(word, v.orDefault())
	if k == nil {
		return "", false
	}
	return k.name, true
}

// AllowedInMatch reports whether a keyword may appear inside a Match block.
func AllowedInMatch(word string) bool {
	k := keywordIndex[strings.ToLower(word)]
	return k != nil && k.match
}
