package dest

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"sort"
	"strings"
)

// globTilde expands a leading ~ as glob(3)'s GLOB_TILDE does. (ssh takes
// it from $HOME here and from the password database elsewhere; Evaluate
// uses Options.Home for both.)
func (ev *eval) globTilde(p string) (string, error) {
	if p == "" || p[0] != '~' {
		return p, nil
	}
	rest := p[1:]
	name, tail, _ := strings.Cut(rest, "/")
	dir := ev.home
	if name != "" {
		u, err := user.Lookup(name)
		if err != nil {
			return p, nil // glob leaves an unknown ~user as it is
		}
		dir = u.HomeDir
	}
	if strings.Contains(rest, "/") {
		return strings.TrimSuffix(dir, "/") + "/" + tail, nil
	}
	return dir, nil
}

// glob expands pat against the file tree under Root with OpenBSD glob(3)
// rules: wildcards do not match a leading dot unless the pattern has one,
// a pattern matching nothing yields nothing, and results sort by strcmp.
func (ev *eval) glob(pat string) []string {
	comps := strings.Split(pat, "/")
	cur := []string{""}
	if !strings.HasPrefix(pat, "/") {
		cur = []string{"."}
	}
	for i, c := range comps {
		if c == "" {
			continue
		}
		last := i == len(comps)-1
		var nxt []string
		if !strings.ContainsAny(c, "*?[") {
			for _, d := range cur {
				nxt = append(nxt, joinPath(d, c))
			}
		} else {
			for _, d := range cur {
				dir := d
				if dir == "" {
					dir = "/"
				}
				ents, err := os.ReadDir(ev.path(dir))
				if err != nil {
					continue
				}
				for _, en := range ents {
					n := en.Name()
					if n[0] == '.' && c[0] != '.' {
						continue
					}
					if globMatch(c, n) {
						nxt = append(nxt, joinPath(d, n))
					}
				}
			}
		}
		if !last && len(nxt) > maxConfigFiles {
			nxt = nxt[:maxConfigFiles]
		}
		cur = nxt
	}
	var out []string
	for _, p := range cur {
		if p == "" {
			p = "/"
		}
		if _, err := os.Lstat(ev.path(p)); err == nil {
			out = append(out, strings.TrimPrefix(p, "./"))
		}
	}
	sort.Strings(out)
	return out
}

func joinPath(d, n string) string {
	if d == "" {
		return "/" + n
	}
	return d + "/" + n
}

func globMatch(pattern, name string) bool {
	p := strings.ReplaceAll(pattern, "[!", "[^")
	ok, err := filepath.Match(p, name)
	if err != nil {
		return pattern == name
	}
	return ok
}

// matchLine evaluates the criteria of a Match line, as match_cfg_line.
func (ev *eval) matchLine(cur *cursor, flags int, file string, num int) (bool, error) {
	final := flags&confFinal != 0
	ruser := ev.lUser
	if ev.opt.user.set {
		ruser = ev.opt.user.v
	}
	host := ev.host
	if final {
		host = ev.opt.hostname.v
	} else if ev.opt.hostname.set {
		h, err := percentExpand(ev.opt.hostname.v, map[byte]string{'h': ev.host}, nil)
		if err != nil {
			return false, &fatalError{fmt.Errorf("HostName %q: %w", ev.opt.hostname.v, err)}
		}
		host = h
	}
	result, attrs := true, 0
	for {
		attr, ok := strdelim(cur)
		if !ok || attr == "" {
			break
		}
		if attr[0] == '#' {
			cur.null = true
			break
		}
		oattr := attr
		neg := attr[0] == '!'
		if neg {
			attr = attr[1:]
		}
		if eqFold(attr, "all") {
			arg, ok := strdelim(cur)
			if attrs > 1 || (ok && arg != "" && arg[0] != '#') {
				return false, fmt.Errorf("'%s' cannot be combined with other Match attributes", oattr)
			}
			if ok && arg != "" {
				cur.null = true // the rest is a comment
			}
			if result {
				result = !neg
			}
			return result, nil
		}
		attrs++
		if eqFold(attr, "canonical") || eqFold(attr, "final") {
			if eqFold(attr, "final") && !final {
				ev.wantPass = true
			}
			if final == neg {
				result = false
			}
			continue
		}
		arg, ok := strdelim(cur)
		if !ok || arg == "" || arg[0] == '#' {
			return false, fmt.Errorf("missing Match criteria for %s", attr)
		}
		var r bool
		switch {
		case eqFold(attr, "host"):
			r = matchPatternList(asciiLower(host), arg, true) == 1
		case eqFold(attr, "originalhost"):
			r = matchPatternList(asciiLower(ev.hostArg), arg, true) == 1
		case eqFold(attr, "user"):
			r = matchPatternList(ruser, arg, false) == 1
		case eqFold(attr, "localuser"):
			r = matchPatternList(ev.lUser, arg, false) == 1
		case eqFold(attr, "exec"):
			if !result {
				continue // ssh skips the command once a criterion failed
			}
			if flags&confNeverMatch == 0 {
				ev.note("%s line %d: Match exec %q was not run; sshdoctor treats the block as not matching, ssh would run the command", file, num, arg)
			}
			result = false
			continue
		default:
			return false, fmt.Errorf("unsupported Match attribute %s", attr)
		}
		if r == neg {
			result = false
		}
	}
	if attrs == 0 {
		return false, errors.New("one or more attributes required for Match")
	}
	return result, nil
}

// parseJump applies a ProxyJump value, as readconf.c's parse_jump.
func (ev *eval) parseJump(s string, active bool) error {
	active = active && !ev.opt.proxyCommand.set && !ev.opt.jumpSet
	orig := s
	if i := strings.IndexByte(orig, '#'); i >= 0 {
		orig = orig[:i]
	}
	orig = strings.TrimRight(orig, " \t\r\n")
	var user, host string
	port := -1
	if !eqFold(s, "none") {
		rest := orig
		first := true
		for {
			hop := rest
			i := strings.LastIndexByte(rest, ',')
			if i >= 0 {
				hop, rest = rest[i+1:], rest[:i]
			}
			u, h, p, err := ev.parseHop(hop)
			if err != nil {
				return err
			}
			if first {
				user, host, port = u, h, p
				first = false
			}
			if i < 0 {
				break
			}
		}
	}
	if !active {
		return nil
	}
	ev.opt.jumpSet = true
	if eqFold(s, "none") {
		ev.opt.jumpHost, ev.opt.jumpPort = "none", 0
		return nil
	}
	ev.opt.jumpUser, ev.opt.jumpHost, ev.opt.jumpPort = user, host, port
	ev.opt.proxyCommand = setStr{"none", true}
	if i := strings.LastIndexByte(s, ','); i > 0 {
		ev.opt.jumpExtra = s[:i]
	}
	return nil
}

func (ev *eval) parseHop(s string) (user, host string, port int, err error) {
	port = -1
	fail := errors.New("bad jump host")
	if len(s) >= 6 && s[:6] == "ssh://" {
		s = s[6:]
		if i := strings.IndexByte(s, '@'); i >= 0 {
			user, s = s[:i], s[i+1:]
			if j := strings.IndexByte(user, ';'); j >= 0 {
				user = user[:j]
			}
			if user == "" {
				return "", "", 0, fail
			}
		}
		if i := strings.IndexByte(s, '/'); i >= 0 {
			if s[i+1:] != "" {
				return "", "", 0, fail // a path is not allowed
			}
			s = s[:i]
		}
	} else if i := strings.LastIndexByte(s, '@'); i >= 0 {
		user, s = s[:i], s[i+1:]
		if user == "" {
			return "", "", 0, fail
		}
	}
	h, rest, ok := hpdelim(s)
	if !ok || h == "" {
		return "", "", 0, fail
	}
	if len(h) >= 2 && h[0] == '[' && h[len(h)-1] == ']' {
		h = h[1 : len(h)-1]
	}
	if rest != "" {
		if port = ev.a2port(rest); port <= 0 {
			return "", "", 0, fail
		}
	}
	return user, h, port, nil
}

// hpdelim splits host from port at the first ':' or '/', honouring
// [brackets] around an IPv6 address.
func hpdelim(s string) (host, rest string, ok bool) {
	i := 0
	if strings.HasPrefix(s, "[") {
		j := strings.IndexByte(s, ']')
		if j < 0 {
			return "", "", false
		}
		i = j + 1
	} else if j := strings.IndexAny(s, ":/"); j >= 0 {
		i = j
	} else {
		i = len(s)
	}
	if i == len(s) {
		return s, "", true
	}
	if s[i] != ':' && s[i] != '/' {
		return "", "", false
	}
	return s[:i], s[i+1:], true
}
