package fix

import (
	"bytes"
	"fmt"
	"os/exec"
	"slices"
	"strconv"
	"strings"

	"github.com/sshdoctor/sshdoctor/check"
	"github.com/sshdoctor/sshdoctor/host/accounts"
	"github.com/sshdoctor/sshdoctor/host/sshdconfig"
)

// Planners for authorized_keys (no consent: they only make the user's own
// files what sshd needs) and for accounts, Allow/Deny rules, accepted key
// algorithms and password logins (consent: they change who may log in, so
// they run only when named with --only, and each step says who is
// affected).
func init() {
	RegisterServer("authkeys.permissions", false, planKeyPermissions)
	RegisterServer("authkeys.missing", false, planKeysMissing)
	RegisterServer("authkeys.key-absent", false, planKeysFile)
	RegisterServer("authkeys.invalid-entry", false, planKeysFile)
	// Accepting another signature algorithm widens what the server trusts
	// for every user (ssh-rsa is SHA-1, ssh-dss is 1024-bit DSA): consent.
	RegisterServer("authkeys.algorithm-refused", true, planAlgorithm)
	RegisterServer("account.locked", true, planUnlock)
	RegisterServer("account.expired", true, planExpired)
	RegisterServer("account.nologin-shell", true, planShell)
	RegisterServer("account.nologin-file", true, planNologinFile)
	RegisterServer("access.denied-by-config", true, planAccessRules)
	RegisterServer("auth.password-disabled", true, planPasswordAuth)
}

// InvalidMarker starts an authorized_keys line that sshdoctor commented out
// because sshd cannot parse it; the line's text follows unchanged.
const InvalidMarker = "# sshdoctor: invalid: "

func noteStep(code, summary, risk string) Step {
	return Step{Finding: code, Kind: KindNote, Phase: PhaseConfig, Summary: summary, Risk: risk}
}

// accLookPath finds the account tools (usermod, chage); a variable so that
// tests can take them away and exercise the file-edit fallback.
var accLookPath = exec.LookPath

// sshd_config: Allow/Deny, PermitRootLogin, PubkeyAuthentication, passwords

// planAccessRules edits exactly the lines that keep the user out. For the
// Allow/Deny rules it repeats sshd's evaluation on the edited
// configuration until the user is let in, so that a second pattern or
// list that would refuse them too is handled in the same plan.
func planAccessRules(sc *ServerContext, f check.Finding) Planned {
	a := sc.Facts.Account
	if a == nil || a.Entry == nil || sc.Facts.Effective == nil {
		return Planned{Manual: []Step{manualFrom(f)}}
	}
	if f.Severity != check.SeverityError {
		return Planned{Skip: "whether sshd lets " + a.User + " in depends on the client's address: run again with --from ADDRESS"}
	}
	switch dir, _ := f.Evidence.Get("directive").(string); dir {
	case "PermitRootLogin":
		risk := "root may log in with a key from every address sshd allows; passwords stay refused for root"
		if v, _ := f.Evidence.Get("value").(string); v == "forced-commands-only" {
			risk = "root's keys no longer need a command= option: each of them gets a full root shell"
		}
		return setDeciding(sc, f, "PermitRootLogin", "prohibit-password", risk)
	case "PubkeyAuthentication":
		return setDeciding(sc, f, "PubkeyAuthentication", "yes", "every user: the keys in their authorized_keys files can log in again")
	}
	conn := sc.Facts.Effective.Conn
	client := accounts.Client{Addr: sc.Facts.From}
	var notes []Step
	// All or nothing: when one edit cannot be made, the ones before it
	// are taken back, since they alone would not let the user in.
	saved := map[string][]byte{}
	stop := func(skip string) Planned {
		for file, data := range saved {
			_ = sc.Conf.set(file, data)
		}
		return Planned{Manual: []Step{manualFrom(f)}, Skip: skip}
	}
	for range 16 {
		cfg, err := sc.Conf.Load()
		if err != nil {
			return stop(err.Error())
		}
		res := accessOfEffective(cfg.Effective(conn)).Allowed(a.User, a.Groups, client)
		if res.Outcome != accounts.Denied {
			sc.ConfigChanged = sc.ConfigChanged || len(notes) > 0
			return Planned{Steps: notes}
		}
		file, line, ok := splitLoc(res.Source)
		if !ok {
			return stop("the rule's place in the configuration is not known")
		}
		if _, ok := saved[file]; !ok {
			if saved[file], _, err = sc.Conf.read(file); err != nil {
				return stop(err.Error())
			}
		}
		var note Step
		switch res.Directive {
		case "DenyUsers":
			note, err = removePattern(sc, f.Code, file, line, res.Pattern, usersMatching(a.DB, res.Pattern, client))
		case "DenyGroups":
			note, err = removePattern(sc, f.Code, file, line, res.Pattern, groupMembers(a.DB, res.Pattern))
		case "AllowUsers":
			note, err = addPattern(sc, f.Code, file, line, a.User,
				fmt.Sprintf("only %s, from any address (the other entries keep their limits)", a.User))
		case "AllowGroups":
			if a.PrimaryGroup == "" || res.Reason == "not in any group" {
				return stop(a.User + " is in no group that sshd can name")
			}
			note, err = addPattern(sc, f.Code, file, line, a.PrimaryGroup, affected("every member of group "+a.PrimaryGroup, groupMembers(a.DB, a.PrimaryGroup)))
		default:
			err = fmt.Errorf("fix: %s cannot be edited automatically", res.Directive)
		}
		if err != nil {
			return stop(err.Error())
		}
		notes = append(notes, note)
	}
	return stop("the Allow/Deny rules still refuse " + a.User + " after 16 edits")
}

// setDeciding sets keyword to value on the line that decides it for this
// connection (a global line or one inside a Match block).
func setDeciding(sc *ServerContext, f check.Finding, keyword, value, risk string) Planned {
	cfg, err := sc.Conf.Load()
	if err != nil {
		return Planned{Manual: []Step{manualFrom(f)}, Skip: err.Error()}
	}
	eff := cfg.Effective(sc.Facts.Effective.Conn)
	d := eff.Source(keyword)
	if d == nil {
		return Planned{Manual: []Step{manualFrom(f)}}
	}
	if len(d.Args) > 0 && strings.EqualFold(d.Args[0], value) {
		return Planned{}
	}
	if err := sc.Conf.ReplaceLine(d.File, d.Line, d.Written+" "+value); err != nil {
		return Planned{Manual: []Step{manualFrom(f)}, Skip: err.Error()}
	}
	sc.ConfigChanged = true
	return Planned{Steps: []Step{noteStep(f.Code, fmt.Sprintf("set %s %s at %s (was %s)", keyword, value, d.Location(), strings.Join(d.Args, " ")), risk)}}
}

// accessOfEffective is the part of accounts.Access the Allow/Deny
// evaluation reads.
func accessOfEffective(e *sshdconfig.Effective) accounts.Access {
	conv := func(rs []sshdconfig.Rule) []accounts.Pattern {
		var out []accounts.Pattern
		for _, r := range rs {
			out = append(out, accounts.Pattern{Value: r.Pattern, Source: r.File + ":" + strconv.Itoa(r.Line)})
		}
		return out
	}
	a := accounts.DefaultAccess()
	a.AllowUsers, a.DenyUsers = conv(e.AllowUsers()), conv(e.DenyUsers())
	a.AllowGroups, a.DenyGroups = conv(e.AllowGroups()), conv(e.DenyGroups())
	return a
}

func splitLoc(s string) (string, int, bool) {
	i := strings.LastIndexByte(s, ':')
	if i <= 0 {
		return "", 0, false
	}
	n, err := strconv.Atoi(s[i+1:])
	return s[:i], n, err == nil && n > 0
}

// removePattern takes pattern out of the line; a line left without
// patterns is commented out (a bare "DenyUsers" is an error for sshd).
func removePattern(sc *ServerContext, code, file string, line int, pattern string, hit []string) (Step, error) {
	text, err := confLine(sc, file, line)
	if err != nil {
		return Step{}, err
	}
	words, comment, ok := cfgWords(text)
	if !ok || len(words) < 2 {
		return Step{}, fmt.Errorf("fix: %s line %d has quotes or escapes; edit it yourself", file, line)
	}
	kept := []string{words[0]}
	for _, w := range words[1:] {
		if w != pattern {
			kept = append(kept, w)
		}
	}
	risk := affected(fmt.Sprintf("everyone %q matched", pattern), hit)
	if len(kept) == 1 {
		err = sc.Conf.CommentOut(file, line, "no longer refuses "+pattern)
		return noteStep(code, fmt.Sprintf("comment out %s at %s:%d (its only pattern, %q, refused the user)", words[0], file, line, pattern), risk), err
	}
	err = sc.Conf.ReplaceLine(file, line, joinWords(kept, comment))
	return noteStep(code, fmt.Sprintf("remove %q from %s at %s:%d", pattern, words[0], file, line), risk), err
}

// addPattern appends pattern to the line's list.
func addPattern(sc *ServerContext, code, file string, line int, pattern, risk string) (Step, error) {
	text, err := confLine(sc, file, line)
	if err != nil {
		return Step{}, err
	}
	words, comment, ok := cfgWords(text)
	if !ok || len(words) < 2 {
		return Step{}, fmt.Errorf("fix: %s line %d has quotes or escapes; edit it yourself", file, line)
	}
	err = sc.Conf.ReplaceLine(file, line, joinWords(append(words, pattern), comment))
	return noteStep(code, fmt.Sprintf("add %s to %s at %s:%d", pattern, words[0], file, line), risk), err
}

// confLine returns line n of file as it is with the plan's edits so far.
func confLine(sc *ServerContext, file string, n int) (string, error) {
	data, _, err := sc.Conf.read(file)
	if err != nil {
		return "", err
	}
	lines := strings.Split(string(data), "\n")
	if n < 1 || n > len(lines) {
		return "", fmt.Errorf("fix: %s has no line %d", file, n)
	}
	return lines[n-1], nil
}

// cfgWords splits an sshd_config line into its words and a trailing
// comment ("#" starting a word ends the line for sshd). Lines with quotes,
// escapes or "=" are refused: rewriting them word by word could change
// their meaning.
func cfgWords(line string) (words []string, comment string, ok bool) {
	body := strings.TrimRight(strings.TrimLeft(line, " \t"), " \t\r")
	if strings.ContainsAny(body, "\"'\\=") {
		return nil, "", false
	}
	for i := 0; i < len(body); {
		if body[i] == ' ' || body[i] == '\t' {
			i++
			continue
		}
		if body[i] == '#' {
			return words, body[i:], true
		}
		j := strings.IndexAny(body[i:], " \t")
		if j < 0 {
			j = len(body) - i
		}
		words = append(words, body[i:i+j])
		i += j
	}
	return words, "", true
}

func joinWords(words []string, comment string) string {
	s := strings.Join(words, " ")
	if comment != "" {
		s += " " + comment
	}
	return s
}

// usersMatching lists the accounts a DenyUsers/AllowUsers pattern matches
// for this client (for an unknown client, its USER part).
func usersMatching(db *accounts.DB, pattern string, c accounts.Client) []string {
	var out []string
	if db == nil {
		return nil
	}
	for _, p := range db.Passwd {
		if p.Compat {
			continue
		}
		hit := false
		if c.Known() {
			ip := c.Addr.Unmap().String()
			hit = accounts.MatchUser(p.Name, ip, ip, pattern) == 1
		} else {
			u, _, _ := strings.Cut(pattern, "@")
			hit = accounts.MatchPattern(p.Name, u)
		}
		if hit && !slices.Contains(out, p.Name) {
			out = append(out, p.Name)
		}
	}
	return out
}

// groupMembers lists the accounts in the groups a DenyGroups/AllowGroups
// pattern matches: primary members and listed ones.
func groupMembers(db *accounts.DB, pattern string) []string {
	var out []string
	if db == nil {
		return nil
	}
	add := func(n string) {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	for _, g := range db.Group {
		if g.Compat || !accounts.MatchPattern(g.Name, pattern) {
			continue
		}
		for _, p := range db.Passwd {
			if !p.Compat && p.GID == g.GID {
				add(p.Name)
			}
		}
		for _, m := range g.Members {
			add(m)
		}
	}
	return out
}

// affected says who a change lets in.
func affected(who string, names []string) string {
	switch {
	case len(names) == 0:
		return who + ": no local account today"
	case len(names) == 1:
		return who + ": " + names[0]
	case len(names) <= 10:
		return fmt.Sprintf("%s: %d accounts (%s)", who, len(names), strings.Join(names, ", "))
	}
	return fmt.Sprintf("%s: %d accounts (%s and %d more)", who, len(names), strings.Join(names[:10], ", "), len(names)-10)
}

// planPasswordAuth allows passwords for this user only: a Match User block
// at the end of the main sshd_config, with PasswordAuthentication yes (and
// PermitRootLogin yes for root when that is what refuses). An account
// without a usable password needs a person to choose one.
func planPasswordAuth(sc *ServerContext, f check.Finding) Planned {
	a := sc.Facts.Account
	if a == nil || a.Entry == nil || sc.Facts.Effective == nil {
		return Planned{Manual: []Step{manualFrom(f)}}
	}
	u := a.User
	var manual []Step
	hash, _ := a.Hash()
	if !accounts.LockedForSSHD(hash) && !accounts.PasswordUsable(hash) && a.ShadowErr == "" {
		manual = append(manual, Step{Finding: f.Code, Kind: KindManual, Summary: fmt.Sprintf("give %s a password", u),
			Command: []string{commandLine(accTool(sc, "passwd", u))}, Risk: "only a person can choose the password"})
	}
	conn := sc.Facts.Effective.Conn
	cfg, err := sc.Conf.Load()
	if err != nil {
		return Planned{Manual: []Step{manualFrom(f)}, Skip: err.Error()}
	}
	eff := cfg.Effective(conn)
	var settings []string
	if !eff.PasswordAuthentication() && !(eff.KbdInteractiveAuthentication() && eff.UsePAM()) {
		settings = append(settings, "PasswordAuthentication yes")
	}
	root := a.Entry.UID == 0 && strings.ToLower(eff.PermitRootLogin()) != "yes" && strings.ToLower(eff.PermitRootLogin()) != "no"
	if root {
		settings = append(settings, "PermitRootLogin yes")
	}
	if len(settings) == 0 {
		return Planned{Manual: manual}
	}
	if strings.ContainsAny(u, " \t,*?!\"'#") {
		return Planned{Manual: append(manual, manualFrom(f)), Skip: "the user name cannot be written in a Match User line safely"}
	}
	old, _, err := sc.Conf.read(sc.Conf.File)
	if err != nil {
		return Planned{Manual: []Step{manualFrom(f)}, Skip: err.Error()}
	}
	marker := fmt.Sprintf("# Added by sshdoctor (fix --only auth.password-disabled): passwords for %s only.\n", u)
	if bytes.Contains(old, []byte(marker)) {
		return Planned{Manual: append(manual, manualFrom(f)), Skip: "sshdoctor's Match block for " + u + " is already there, and something before it still decides"}
	}
	var b strings.Builder
	b.Write(old)
	if len(old) > 0 && old[len(old)-1] != '\n' {
		b.WriteByte('\n')
	}
	b.WriteString("\n" + marker + "Match User " + u + "\n")
	for _, s := range settings {
		b.WriteString("    " + s + "\n")
	}
	if err := sc.Conf.set(sc.Conf.File, []byte(b.String())); err != nil {
		return Planned{Manual: []Step{manualFrom(f)}, Skip: err.Error()}
	}
	// A Match block earlier in the configuration that matches the user
	// would win (the first value obtained is used): check, and take the
	// edit back if so.
	ok := false
	if cfg, err := sc.Conf.Load(); err == nil {
		e := cfg.Effective(conn)
		ok = (e.PasswordAuthentication() || (e.KbdInteractiveAuthentication() && e.UsePAM())) && (!root || strings.EqualFold(e.PermitRootLogin(), "yes"))
	}
	if !ok {
		_ = sc.Conf.set(sc.Conf.File, old)
		return Planned{Manual: append(manual, manualFrom(f)), Skip: "a Match block earlier in the configuration decides for " + u + ": change it yourself"}
	}
	sc.ConfigChanged = true
	risk := fmt.Sprintf("only %s, from every address sshd allows: a guessed or leaked password is enough to log in; other users keep their settings. A key is the better fix", u)
	if root {
		risk = "root, with a password, from every address sshd allows: the account every password-guessing bot tries first. A key is the better fix"
	}
	return Planned{Steps: []Step{noteStep(f.Code, fmt.Sprintf("allow passwords for %s only: a Match User %s block at the end of %s (%s)", u, u, sc.Conf.File, strings.Join(settings, ", ")), risk)}, Manual: manual}
}

// accWillPlan reports whether PlanServer runs the planner of finding g:
// not info, named by --only when --only is given, and named there in any
// case when its code needs consent.
func accWillPlan(sc *ServerContext, g check.Finding) bool {
	if g.Severity == check.SeverityInfo {
		return false
	}
	plannersMu.Lock()
	needs := consent[g.Code]
	_, ok := planners[g.Code]
	plannersMu.Unlock()
	named := slices.Contains(sc.Only, g.Code)
	return ok && (named || (len(sc.Only) == 0 && !needs))
}
