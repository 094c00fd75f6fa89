package sshdconfig

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// validate checks the arguments of a known keyword the way
// process_server_config_line_depth does, and returns sshd's complaint, or
// nil. word is the keyword as written: sshd quotes it that way. Like sshd,
// it reports the first problem of the line only.
func validate(k *keyword, word string, args []string, rest string) *lineProblem {
	fatalf := func(format string, a ...any) *lineProblem {
		return &lineProblem{reason: fmt.Sprintf(format, a...), fatal: true}
	}
	errorf := func(format string, a ...any) *lineProblem {
		return &lineProblem{reason: fmt.Sprintf(format, a...)}
	}
	first := ""
	if len(args) > 0 {
		first = args[0]
	}
	// consumed counts the arguments sshd takes; more is an error.
	consumed := 1
	switch k.kind {
	case kFlag, kMulti:
		if first == "" {
			return fatalf("missing argument.")
		}
		values := k.values
		if k.kind == kFlag {
			values = flagValues
		}
		if !containsFold(values, first) {
			return fatalf("unsupported option %q.", first)
		}
	case kInt:
		if _, e := atoiErr(args); e != "" {
			return fatalf("%s integer value %s.", word, e)
		}
	case kTime:
		if first == "" {
			return fatalf("missing time value.")
		}
		if convtime(first) < 0 {
			return fatalf("invalid time value.")
		}
	case kPort:
		if first == "" {
			return fatalf("missing port number.")
		}
		if a2port(first) <= 0 {
			return fatalf("Badly formatted port number.")
		}
	case kListenAddress:
		if lp := validateListen(args); lp != nil {
			return lp
		}
		if len(args) >= 3 {
			consumed = 3
		}
	case kHostKey, kHostCert, kFile:
		if first == "" {
			return fatalf("missing file name.")
		}
	case kString:
		if first == "" {
			switch k.name {
			case "HostKeyAgent":
				return fatalf("missing socket name.")
			case "AuthorizedKeysCommandUser", "AuthorizedPrincipalsCommandUser":
				return fatalf("missing %s argument.", word)
			}
			return fatalf("%s missing argument.", word)
		}
	case kKeyAlgos:
		if first == "" {
			return fatalf("Missing argument.")
		}
		if first[0] != '-' && !validKeyAlgorithms(strings.TrimLeft(first[:1], "+^")+first[1:]) {
			return fatalf("Bad key types '%s'.", first)
		}
	case kCiphers, kMACs, kKex:
		if first == "" {
			return fatalf("%s missing argument.", word)
		}
		all, what := allCiphers, "Bad SSH2 cipher spec '%s'."
		switch k.kind {
		case kMACs:
			all, what = allMACs, "Bad SSH2 mac spec '%s'."
		case kKex:
			all, what = allKex, "Bad SSH2 KexAlgorithms '%s'."
		}
		if first[0] != '-' && !validNames(strings.TrimLeft(first[:1], "+^")+first[1:], all, false) {
			return fatalf(what, first)
		}
	case kGSSKex:
		if first == "" {
			return fatalf("Missing argument.")
		}
		if !validGSSKex(first) {
			return fatalf("Bad GSSAPI KexAlgorithms '%s'.", first)
		}
	case kPubkeyAuthOptions:
		for _, a := range args {
			if !containsFold([]string{"none", "touch-required", "verify-required"}, a) {
				return errorf("unsupported %s option %s", word, a)
			}
		}
		consumed = len(args)
	case kPermitUserEnv, kRDomain:
		if first == "" {
			return fatalf("%s missing argument.", word)
		}
	case kRekeyLimit:
		return validateRekey(word, args)
	case kLogFacility:
		if !containsFold([]string{"DAEMON", "USER", "AUTH", "AUTHPRIV", "LOCAL0", "LOCAL1", "LOCAL2",
			"LOCAL3", "LOCAL4", "LOCAL5", "LOCAL6", "LOCAL7"}, first) || len(args) == 0 {
			return fatalf("unsupported log facility '%s'", orNone(args))
		}
	case kLogLevel:
		if !containsFold(logLevels, first) || len(args) == 0 {
			return fatalf("unsupported log level '%s'", orNone(args))
		}
	case kLogVerbose, kChannelTimeout:
		for i, a := range args {
			if a == "" && k.kind == kLogVerbose {
				return errorf("keyword %s empty argument", word)
			}
			if strings.EqualFold(a, "none") {
				if i > 0 || len(args) > 1 {
					return errorf("keyword %s \"none\" argument must appear alone.", word)
				}
				continue
			}
			if k.kind == kChannelTimeout && !validChannelTimeout(a) {
				return fatalf("invalid channel timeout %s", a)
			}
		}
		consumed = len(args)
	case kUserPatterns:
		for _, a := range args {
			if a == "" || MatchUser("", "", "", a) == -1 {
				return fatalf("invalid %s pattern: %q", word, a)
			}
		}
		consumed = len(args)
	case kGroupPatterns:
		for _, a := range args {
			if a == "" {
				return fatalf("empty %s pattern", word)
			}
		}
		consumed = len(args)
	case kSubsystem:
		if first == "" {
			return fatalf("%s missing argument.", word)
		}
		if len(args) < 2 || args[1] == "" {
			return fatalf("Missing subsystem command.")
		}
		consumed = len(args)
	case kMaxStartups:
		if first == "" {
			return fatalf("%s missing argument.", word)
		}
		if _, ok := parseMaxStartups(first); !ok {
			return fatalf("Invalid %s spec.", word)
		}
	case kPerSourceNetBlockSize:
		if first == "" {
			return fatalf("%s missing argument.", word)
		}
		n := scanInts(first, 2)
		ok := len(n) == 1 || len(n) == 2
		if len(n) == 2 && (n[1] < 0 || n[1] > 128) {
			ok = false
		}
		if len(n) >= 1 && (n[0] < 0 || n[0] > 32) {
			ok = false
		}
		if !ok {
			return fatalf("Invalid %s spec.", word)
		}
	case kPerSourceMaxStartups:
		if first == "" {
			return fatalf("%s missing argument.", word)
		}
		if first != "none" {
			if _, e := atoiErr(args); e != "" {
				return fatalf("%s integer value %s.", word, e)
			}
		}
	case kAuthKeysFile, kInclude:
		for _, a := range args {
			if a == "" {
				return errorf("keyword %s empty argument", word)
			}
		}
		consumed = len(args)
	case kAcceptEnv:
		for _, a := range args {
			if a == "" || strings.Contains(a, "=") {
				return fatalf("Invalid environment name.")
			}
		}
		consumed = len(args)
	case kSetEnv:
		for _, a := range args {
			if a == "" || !strings.Contains(a, "=") {
				return fatalf("Invalid environment.")
			}
		}
		consumed = len(args)
	case kPermitTunnel:
		if first == "" {
			return fatalf("%s missing argument.", word)
		}
		if !contains([]string{"no", "point-to-point", "ethernet", "yes"}, first) {
			return fatalf("bad %s argument %s", word, first)
		}
	case kPermitOpen:
		if first == "" {
			return fatalf("%s missing argument.", word)
		}
		if first != "any" && first != "none" {
			if lp := validatePermitOpen(k, word, args); lp != nil {
				return lp
			}
			consumed = len(args)
		}
	case kRestOfLine:
		consumed = len(args)
	case kCommand:
		r := strings.TrimLeft(rest, whitespace)
		if !strings.HasPrefix(r, "/") && !strings.EqualFold(r, "none") {
			return fatalf("%s must be an absolute path", word)
		}
		consumed = len(args)
	case kAuthMethods:
		if lp := validateAuthMethods(word, args); lp != nil {
			return lp
		}
		consumed = len(args)
	case kOctalMask:
		if first == "" {
			return fatalf("%s missing argument.", word)
		}
		if v, ok := strtolOctal(first); !ok || v < 0 || v > 0o777 {
			return fatalf("Invalid %s.", word)
		}
	case kFingerprintHash:
		if first == "" {
			return fatalf("%s missing argument.", word)
		}
		if !containsFold([]string{"md5", "sha1", "sha256", "sha384", "sha512"}, first) {
			return fatalf("Invalid %s algorithm %q.", word, first)
		}
	case kIPQoS:
		if first == "" {
			return fatalf("%s missing argument.", word)
		}
		for _, a := range args[:min(2, len(args))] {
			if !validIPQoS(a) {
				return fatalf("Bad %s value: %s", word, a)
			}
		}
		consumed = min(2, len(args))
	case kUnusedConnectionTimeout:
		if !strings.EqualFold(first, "none") {
			if first == "" {
				return fatalf("missing time value.")
			}
			if convtime(first) < 0 {
				return fatalf("invalid time value.")
			}
		}
	case kDeprecated, kUnsupported:
		what := "Deprecated"
		if k.kind == kUnsupported {
			what = "Unsupported"
		}
		return &lineProblem{reason: fmt.Sprintf("%s option %s", what, word), warning: true}
	case kIgnore, kAnyArgs, kMatch:
		consumed = len(args)
	}
	if len(args) > consumed {
		return errorf("keyword %s extra arguments at end of line", word)
	}
	return nil
}

var logLevels = []string{"SILENT", "QUIET", "FATAL", "ERROR", "INFO", "VERBOSE", "DEBUG", "DEBUG1", "DEBUG2", "DEBUG3"}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

func orNone(args []string) string {
	if len(args) == 0 {
		return "<NONE>"
	}
	return args[0]
}

// validateListen checks a ListenAddress like sshd: a bare IPv6 address, or
// host[:port] / [v6]:port, then optionally "rdomain NAME".
func validateListen(args []string) *lineProblem {
	if len(args) == 0 || args[0] == "" {
		return &lineProblem{reason: "missing address", fatal: true}
	}
	if _, _, lp := splitListen(args[0]); lp != nil {
		return lp
	}
	if len(args) > 1 && (args[1] != "rdomain" || len(args) < 3) {
		return &lineProblem{reason: "bad ListenAddress syntax", fatal: true}
	}
	return nil
}

var scaledRE = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?[BKMGTPEbkmgtpe]?$`)

func validateRekey(word string, args []string) *lineProblem {
	if len(args) == 0 || args[0] == "" {
		return &lineProblem{reason: fmt.Sprintf("%s missing argument.", word), fatal: true}
	}
	if args[0] != "default" {
		if !scaledRE.MatchString(args[0]) {
			return &lineProblem{reason: fmt.Sprintf("Bad %s number '%s': Invalid argument", word, args[0]), fatal: true}
		}
		if n, err := strconv.ParseFloat(strings.TrimRight(args[0], "BKMGTPEbkmgtpe"), 64); err == nil && n != 0 && n < 16 &&
			strings.TrimLeft(args[0], "0123456789.") == "" {
			return &lineProblem{reason: fmt.Sprintf("%s too small", word), fatal: true}
		}
	}
	if len(args) >= 2 && args[1] != "none" {
		if convtime(args[1]) < 0 {
			return &lineProblem{reason: "invalid time value.", fatal: true}
		}
	}
	if len(args) > 2 {
		return &lineProblem{reason: fmt.Sprintf("keyword %s extra arguments at end of line", word)}
	}
	return nil
}

func validatePermitOpen(k *keyword, word string, args []string) *lineProblem {
	for _, a := range args {
		if a == "" {
			break
		}
		var port string
		if k.name == "PermitListen" && !strings.Contains(a, ":") {
			port = a
		} else {
			h, rest, ok := hpdelim(a)
			if !ok || h == "" && rest == nil {
				return &lineProblem{reason: fmt.Sprintf("%s missing host", word), fatal: true}
			}
			if rest == nil {
				return &lineProblem{reason: fmt.Sprintf("%s bad port number", word), fatal: true}
			}
			port = *rest
		}
		if port != "*" && a2port(port) <= 0 {
			return &lineProblem{reason: fmt.Sprintf("%s bad port number", word), fatal: true}
		}
	}
	return nil
}

var authMethodNames = []string{"none", "publickey", "gssapi-keyex", "gssapi-with-mic", "password", "keyboard-interactive", "hostbased"}

func validateAuthMethods(word string, args []string) *lineProblem {
	anySeen, parsed := false, false
	for i, a := range args {
		switch {
		case a == "any":
			if i > 0 {
				return &lineProblem{reason: fmt.Sprintf("\"any\" must appear alone in %s", word), fatal: true}
			}
			anySeen = true
		case anySeen:
			return &lineProblem{reason: fmt.Sprintf("\"any\" must appear alone in %s", word), fatal: true}
		default:
			for _, m := range strings.Split(a, ",") {
				name, _, _ := strings.Cut(m, ":")
				if a == "" || !contains(authMethodNames, name) {
					return &lineProblem{reason: fmt.Sprintf("invalid %s method list.", word), fatal: true}
				}
			}
		}
		parsed = true
	}
	if !parsed {
		return &lineProblem{reason: fmt.Sprintf("no %s specified", word), fatal: true}
	}
	return nil
}

var ipqosNames = []string{"none", "af11", "af12", "af13", "af21", "af22", "af23", "af31", "af32", "af33",
	"af41", "af42", "af43", "cs0", "cs1", "cs2", "cs3", "cs4", "cs5", "cs6", "cs7", "ef", "le",
	"lowdelay", "throughput", "reliability"}

func validIPQoS(s string) bool {
	if containsFold(ipqosNames, s) {
		return true
	}
	v, err := strconv.ParseInt(s, 0, 64)
	return s != "" && err == nil && v >= 0 && v <= 255
}

func validChannelTimeout(s string) bool {
	typ, interval, ok := strings.Cut(s, "=")
	return ok && typ != "" && convtime(interval) >= 0
}
