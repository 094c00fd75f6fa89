package fix

import (
	"bytes"
	"fmt"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/sshdoctor/sshdoctor/check"
	"github.com/sshdoctor/sshdoctor/host/accounts"
	"github.com/sshdoctor/sshdoctor/host/authkeys"
)

// authorized_keys

// planKeyPermissions changes exactly the owner and the mode bits that the
// StrictModes walk found wrong on one path component, nothing else.
func planKeyPermissions(sc *ServerContext, f check.Finding) Planned {
	want, _ := f.Evidence.Get("path").(string)
	k := sc.Facts.Keys
	if k == nil || want == "" {
		return Planned{Manual: []Step{manualFrom(f)}}
	}
	var pr *authkeys.Problem
	for i := range k.Files {
		for j := range k.Files[i].Problems {
			if k.Files[i].Problems[j].Path == want {
				pr = &k.Files[i].Problems[j]
			}
		}
	}
	if pr == nil {
		return Planned{Manual: []Step{manualFrom(f)}, Skip: want + " is no longer among the inspected paths"}
	}
	host := sc.Conf.host(pr.Path)
	risk := ""
	if home := k.HomeReal; home != "" && pr.Path != home && !strings.HasPrefix(pr.Path, strings.TrimSuffix(home, "/")+"/") {
		risk = fmt.Sprintf("%s is outside %s's home directory: the change applies to everything below it, other users' files included", pr.Path, k.User)
	}
	var steps []Step
	if pr.OwnerChanged() {
		// The group stays as it is: StrictModes judges the owner, and
		// the mode fix below takes care of group write.
		steps = append(steps, Step{Finding: f.Code, Kind: KindChown, NoFollow: true, Path: host, UID: int(pr.WantUID), GID: int(pr.GID), Phase: PhaseFiles,
			Summary: fmt.Sprintf("give %s to %s (it belongs to %s; the group stays %s)", pr.Path, pr.WantOwner, pr.Owner, pr.Group), Risk: risk})
	}
	if pr.ModeChanged() {
		steps = append(steps, Step{Finding: f.Code, Kind: KindChmod, NoFollow: true, Path: host, Mode: unixMode(pr.WantMode), Phase: PhaseFiles,
			Summary: fmt.Sprintf("chmod %04o %s (was %04o: %s)", pr.WantMode, pr.Path, pr.Mode, strings.Join(pr.Reasons, "; ")), Risk: risk})
	}
	return Planned{Steps: steps}
}

// unixMode turns permission bits as stat gives them (07777) into an
// os.FileMode, whose setuid, setgid and sticky flags are not those bits.
func unixMode(m uint32) os.FileMode {
	fm := os.FileMode(m & 0o777)
	if m&0o4000 != 0 {
		fm |= os.ModeSetuid
	}
	if m&0o2000 != 0 {
		fm |= os.ModeSetgid
	}
	if m&0o1000 != 0 {
		fm |= os.ModeSticky
	}
	return fm
}

// planKeysMissing creates the missing directories (0700, the user's) and
// authorized_keys (0600, the user's), with --key's line when given, else
// empty with a note. When a file exists but holds no key there is nothing
// to create: --key is appended (by this code or authkeys.key-absent,
// whichever the plan handles), or the plan says to add a key.
func planKeysMissing(sc *ServerContext, f check.Finding) Planned {
	k, a := sc.Facts.Keys, sc.Facts.Account
	if k == nil || a == nil || a.Entry == nil {
		return Planned{Manual: []Step{manualFrom(f)}}
	}
	key := sc.Facts.Key
	if key != nil && isCertificate(key) {
		return Planned{Manual: []Step{certManual(f.Code, a.User)}}
	}
	file := keysTarget(k, false)
	if file == nil {
		return Planned{Manual: []Step{manualFrom(f)}, Skip: "AuthorizedKeysFile names no file sshdoctor can create"}
	}
	if file.Exists {
		if key != nil {
			// The key-absent finding says the key is not there; whichever
			// of the two the plan handles appends it.
			return planKeysFile(sc, f)
		}
		return Planned{Manual: []Step{addKeyManual(f.Code, a.User, file.Path)}}
	}
	// Creating a home directory is the account's business (skeleton files,
	// ownership policy): say so instead.
	if file.MissingDir != "" && (file.MissingDir == a.Entry.Home || isBelow(a.Entry.Home, file.MissingDir)) {
		return Planned{Manual: []Step{{Finding: f.Code, Kind: KindManual,
			Summary: fmt.Sprintf("%s's home directory %s does not exist: create it as your system does (mkhomedir_helper %s), then run sshdoctor fix again", a.User, a.Entry.Home, a.User),
			Command: []string{"mkhomedir_helper " + shellQuote(a.User)}, Risk: "creating a home directory is an account change"}}}
	}
	// Resolve the deepest existing directory inside the tree, so that no
	// step follows a link out of it.
	existing := path.Dir(file.Path)
	if file.MissingDir != "" {
		existing = path.Dir(file.MissingDir)
	}
	realDir, err := accounts.RealPath(sc.Root, existing)
	if err != nil {
		return Planned{Manual: []Step{manualFrom(f)}, Skip: err.Error()}
	}
	if (existing == a.Entry.Home || isBelow(existing, a.Entry.Home)) && k.HomeReal != "" && realDir != k.HomeReal && !isBelow(realDir, k.HomeReal) {
		return Planned{Manual: []Step{manualFrom(f)}, Skip: fmt.Sprintf("%s leads out of %s's home directory (to %s): sshdoctor does not create files through such links", existing, a.User, realDir)}
	}
	uid, gid := int(a.Entry.UID), int(a.Entry.GID)
	var steps []Step
	if file.MissingDir != "" {
		for _, d := range keysDirsBetween(file.MissingDir, path.Dir(file.Path)) {
			real := path.Join(realDir, strings.TrimPrefix(d, existing))
			st := Step{Finding: f.Code, Kind: KindMkdir, NoFollow: true, Path: sc.Conf.host(real), Mode: 0o700, UID: uid, GID: gid, Phase: PhaseFiles,
				Summary: fmt.Sprintf("create %s (0700, owned by %s)", d, a.User)}
			if !isBelow(d, a.Entry.Home) {
				// A directory outside the home (AuthorizedKeysFile
				// /etc/ssh/keys/%u) is root's, readable by all.
				st.Mode, st.UID, st.GID = 0o755, 0, 0
				st.Summary = fmt.Sprintf("create %s (0755, owned by root)", d)
			}
			steps = append(steps, st)
		}
	}
	real := path.Join(realDir, strings.TrimPrefix(file.Path, existing))
	st := Step{Finding: f.Code, Kind: KindWrite, NoFollow: true, Path: sc.Conf.host(real), Mode: 0o600, UID: uid, GID: gid, Phase: PhaseFiles}
	var manual []Step
	if key != nil {
		st.Content = []byte(key.Line() + "\n")
		st.Summary = fmt.Sprintf("create %s (0600, owned by %s) with the key %s", file.Path, a.User, key.Fingerprint)
	} else {
		st.Content = []byte{}
		st.Summary = fmt.Sprintf("create an empty %s (0600, owned by %s)", file.Path, a.User)
		st.Risk = "the file is empty: no key can log in until one is added (give --key, or run ssh-copy-id from the client)"
		manual = append(manual, addKeyManual(f.Code, a.User, file.Path))
	}
	return Planned{Steps: append(steps, st), Manual: manual}
}

// planKeysFile edits one existing authorized_keys file for every finding
// about it at once: unparseable lines are commented out with InvalidMarker
// and the --key line is appended (once), the rest kept byte for byte. The
// first finding of the plan that edits the file plans the write; the
// others add nothing, so the file is written once with every change.
func planKeysFile(sc *ServerContext, f check.Finding) Planned {
	k, a := sc.Facts.Keys, sc.Facts.Account
	if k == nil || a == nil || a.Entry == nil {
		return Planned{Manual: []Step{manualFrom(f)}}
	}
	if f.Code == "authkeys.key-absent" {
		if skip, manual := keyAbsentKind(sc, f); skip != "" || manual != nil {
			return Planned{Skip: skip, Manual: manual}
		}
	}
	edits := keysEdits(sc)
	i := slices.IndexFunc(edits, func(e keysEdit) bool { return sameFinding(e.finding, f) })
	if i < 0 {
		return Planned{} // no existing file to edit: authkeys.missing creates it
	}
	file := edits[i].file
	if first := slices.IndexFunc(edits, func(e keysEdit) bool { return e.file.Path == file.Path }); first != i {
		return Planned{} // planned with the first finding about this file
	}
	host, err := keysHostPath(sc, file)
	if err != nil {
		return Planned{Manual: []Step{manualFrom(f)}, Skip: err.Error()}
	}
	old, err := os.ReadFile(host)
	if err != nil {
		return Planned{Manual: []Step{manualFrom(f)}, Skip: fmt.Sprintf("cannot read %s: %v", file.Path, err)}
	}
	var lines []int
	var key *authkeys.Key
	for _, e := range edits {
		if e.file.Path != file.Path {
			continue
		}
		if e.line > 0 {
			lines = append(lines, e.line)
		}
		if e.addKey {
			key = sc.Facts.Key
		}
	}
	now, done := editKeys(old, lines, key, k.Now.Location())
	if bytes.Equal(now, old) {
		return Planned{Skip: file.Path + " already has these changes"}
	}
	st := Step{Finding: f.Code, Kind: KindWrite, NoFollow: true, Path: host, Content: now, Diff: Diff(file.Path, string(old), string(now)),
		Mode: 0o600, UID: -1, GID: -1, Phase: PhaseFiles, Summary: strings.Join(done, "; ") + " in " + file.Path}
	return Planned{Steps: []Step{st}}
}

// keysEdit is one finding's change to an existing authorized_keys file.
type keysEdit struct {
	finding check.Finding
	file    *authkeys.File
	line    int  // the line to comment out; 0 for none
	addKey  bool // append --key
}

// keysEdits lists, in the plan's order, the changes that the findings the
// plan handles make to existing authorized_keys files. --key is added by
// the key-absent finding, or by authkeys.missing (a file without keys)
// when that is the code named with --only.
func keysEdits(sc *ServerContext) []keysEdit {
	k := sc.Facts.Keys
	if k == nil {
		return nil
	}
	plainAbsent := func(g check.Finding) bool {
		skip, manual := keyAbsentKind(sc, g)
		return g.Code == "authkeys.key-absent" && g.Severity == check.SeverityError && skip == "" && manual == nil
	}
	absentPlanned, absentFound := false, false
	for _, g := range sc.Findings {
		if plainAbsent(g) {
			absentFound = true
			absentPlanned = absentPlanned || accWillPlan(sc, g)
		}
	}
	var out []keysEdit
	for _, g := range sc.Findings {
		if !accWillPlan(sc, g) {
			continue
		}
		switch {
		case g.Code == "authkeys.invalid-entry":
			if file := keysFileOf(sc, g); file != nil && file.Exists {
				out = append(out, keysEdit{finding: g, file: file, line: evInt(g.Evidence.Get("line"))})
			}
		case plainAbsent(g), g.Code == "authkeys.missing" && absentFound && !absentPlanned:
			if file := keysTarget(k, true); file != nil {
				out = append(out, keysEdit{finding: g, file: file, addKey: true})
			}
		}
	}
	return out
}

// keyAbsentKind sorts the key-absent findings that are not a plain "not
// listed": listed with options that refuse the client (manual), listed
// for some addresses only, or possibly supplied by AuthorizedKeysCommand
// (left alone, with the reason).
func keyAbsentKind(sc *ServerContext, f check.Finding) (skip string, manual []Step) {
	a := sc.Facts.Account
	switch {
	case f.Evidence.Get("found_at") != nil:
		m := manualFrom(f)
		m.Risk = "the key's line has options (from=, expiry-time=, principals=) that someone set on purpose; sshdoctor does not change them"
		return "", []Step{m}
	case f.Evidence.Get("restricted_at") != nil:
		return "the key is listed for some client addresses only: run again with --from ADDRESS", nil
	case f.Evidence.Get("authorized_keys_command") != nil:
		return "keys may come from AuthorizedKeysCommand, which sshdoctor cannot see or change", nil
	case sc.Facts.Key == nil:
		return "no --key was given", nil
	case isCertificate(sc.Facts.Key):
		return "", []Step{certManual(f.Code, a.User)}
	}
	return "", nil
}

// editKeys comments out the given (1-based) lines, if they still do not
// parse, and appends key unless the file already lists it. It returns the
// new content and what was done.
func editKeys(data []byte, lines []int, key *authkeys.Key, loc *time.Location) ([]byte, []string) {
	if loc == nil {
		loc = time.UTC
	}
	entries, invalid := authkeys.Parse(data, loc)
	bad := map[int]bool{}
	for _, inv := range invalid {
		bad[inv.Line] = true
	}
	parts := bytes.SplitAfter(data, []byte("\n"))
	var done []string
	var commented []string
	for _, n := range lines {
		if n < 1 || n > len(parts) || !bad[n] || bytes.HasPrefix(parts[n-1], []byte(InvalidMarker)) {
			continue
		}
		parts[n-1] = append([]byte(InvalidMarker), parts[n-1]...)
		bad[n] = false
		commented = append(commented, strconv.Itoa(n))
	}
	if len(commented) == 1 {
		done = append(done, "comment out line "+commented[0]+" (sshd cannot parse it)")
	} else if len(commented) > 1 {
		done = append(done, "comment out lines "+strings.Join(commented, ", ")+" (sshd cannot parse them)")
	}
	out := bytes.Join(parts, nil)
	if key != nil && !slices.ContainsFunc(entries, func(e authkeys.Entry) bool { return sameKey(e.Key, key) }) {
		if len(out) > 0 && out[len(out)-1] != '\n' {
			// A last line without its newline would swallow the key.
			out = append(out, '\n')
		}
		out = append(out, key.Line()+"\n"...)
		done = append(done, "add the key "+key.Fingerprint)
	}
	return out, done
}

func sameKey(a ssh.PublicKey, k *authkeys.Key) bool {
	return a != nil && k != nil && k.Key != nil && bytes.Equal(a.Marshal(), k.Key.Marshal())
}

// keysTarget picks the authorized_keys file a key goes into: the first
// existing regular file, the one sshd reads first; with existingOnly false
// and none existing, the first file AuthorizedKeysFile names.
func keysTarget(k *authkeys.Facts, existingOnly bool) *authkeys.File {
	for i := range k.Files {
		if f := &k.Files[i]; f.Exists && f.Regular && f.Err == "" {
			return f
		}
	}
	if existingOnly {
		return nil
	}
	for i := range k.Files {
		if f := &k.Files[i]; f.Path != "" && f.Err == "" && !f.Exists {
			return f
		}
	}
	return nil
}

// keysFileOf returns the file a finding edits.
func keysFileOf(sc *ServerContext, f check.Finding) *authkeys.File {
	k := sc.Facts.Keys
	if f.Code == "authkeys.key-absent" {
		return keysTarget(k, true)
	}
	p, _ := f.Evidence.Get("file").(string)
	for i := range k.Files {
		if k.Files[i].Path == p && p != "" {
			return &k.Files[i]
		}
	}
	return nil
}

func sameFinding(a, b check.Finding) bool {
	return a.Code == b.Code && a.Detail == b.Detail && a.Severity == b.Severity
}

// keysHostPath returns where an existing authorized_keys file is on this
// machine, refusing a file that is itself a symbolic link, or that a link
// takes out of the user's home directory: the user controls those links,
// and root must not write through them.
func keysHostPath(sc *ServerContext, file *authkeys.File) (string, error) {
	k := sc.Facts.Keys
	dir, err := accounts.RealPath(sc.Root, path.Dir(file.Path))
	if err != nil {
		return "", err
	}
	if file.Real != path.Join(dir, path.Base(file.Path)) {
		return "", fmt.Errorf("%s is a symbolic link (to %s): sshdoctor does not write through links the user controls", file.Path, file.Real)
	}
	if isBelow(file.Path, k.Home) && k.HomeReal != "" && !isBelow(file.Real, k.HomeReal) {
		return "", fmt.Errorf("%s leads out of %s's home directory (to %s): sshdoctor does not write there", file.Path, k.User, file.Real)
	}
	return sc.Conf.host(file.Real), nil
}

// isBelow reports whether p is strictly inside directory dir.
func isBelow(p, dir string) bool {
	if dir == "" {
		return false
	}
	return strings.HasPrefix(p, strings.TrimSuffix(dir, "/")+"/")
}

// keysDirsBetween lists the directories from first down to last (first is
// last or one of its ancestors).
func keysDirsBetween(first, last string) []string {
	var out []string
	for d := last; ; d = path.Dir(d) {
		out = append(out, d)
		if d == first || d == "/" || d == "." {
			break
		}
	}
	slices.Reverse(out)
	return out
}

func isCertificate(k *authkeys.Key) bool { return strings.Contains(k.Type, "-cert-v01@openssh.com") }

func certManual(code, user string) Step {
	return Step{Finding: code, Kind: KindManual,
		Summary: "--key is a certificate: sshd trusts certificates through their CA, not by listing them",
		Command: []string{fmt.Sprintf("echo 'cert-authority ssh-... CA-KEY' >> ~%s/.ssh/authorized_keys   # or TrustedUserCAKeys in sshd_config", user)},
		Risk:    "trusting a CA lets in every certificate it signs for this user"}
}

func addKeyManual(code, user, file string) Step {
	return Step{Finding: code, Kind: KindManual,
		Summary: fmt.Sprintf("put %s's public key in %s", user, file),
		Command: []string{fmt.Sprintf("ssh-copy-id -i KEY.pub %s@HOST   # from the client; or: sshdoctor fix --user %s --key KEY.pub", user, user)},
		Risk:    "sshdoctor cannot know which key is the user's: give it with --key"}
}

// planAlgorithm adds the key's strongest signature algorithm to
// PubkeyAcceptedAlgorithms: on the line that decides it (keeping its list,
// plus the one algorithm), or "+ALG" (the default plus it) where nothing
// sets it.
func planAlgorithm(sc *ServerContext, f check.Finding) Planned {
	typ, _ := f.Evidence.Get("key_type").(string)
	typ, _, _ = strings.Cut(typ, ",")
	if typ == "" || sc.Facts.Effective == nil {
		return Planned{Manual: []Step{manualFrom(f)}}
	}
	alg := authkeys.SignatureAlgorithms(typ)[0]
	conn := sc.Facts.Effective.Conn
	cfg, err := sc.Conf.Load()
	if err != nil {
		return Planned{Manual: []Step{manualFrom(f)}, Skip: err.Error()}
	}
	eff := cfg.Effective(conn)
	if len(authkeys.AcceptedAlgorithms(typ, eff.PubkeyAcceptedAlgorithms())) > 0 {
		return Planned{} // an earlier edit of this plan already accepts it
	}
	where := ""
	if d := eff.Source("PubkeyAcceptedAlgorithms"); d != nil && len(d.Args) > 0 {
		v := d.Args[0]
		switch v[0] {
		case '-', '^':
			// Removing or reordering against the default cannot be
			// combined with adding: write the list it makes out.
			v = strings.Join(eff.PubkeyAcceptedAlgorithms(), ",")
		}
		if err := sc.Conf.ReplaceLine(d.File, d.Line, d.Written+" "+v+","+alg); err != nil {
			return Planned{Manual: []Step{manualFrom(f)}, Skip: err.Error()}
		}
		where = d.Location()
	} else {
		if where, err = sc.Conf.Set("PubkeyAcceptedAlgorithms", "+"+alg); err != nil {
			return Planned{Manual: []Step{manualFrom(f)}, Skip: err.Error()}
		}
	}
	if cfg, err = sc.Conf.Load(); err != nil || len(authkeys.AcceptedAlgorithms(typ, cfg.Effective(conn).PubkeyAcceptedAlgorithms())) == 0 {
		return Planned{Manual: []Step{manualFrom(f)}, Skip: "the edit would not make sshd accept " + alg + " for this connection"}
	}
	sc.ConfigChanged = true
	risk := fmt.Sprintf("every user: sshd accepts %s signatures from any key of that type, not only this one", alg)
	switch {
	case strings.HasPrefix(alg, "ssh-dss"):
		risk += "; DSA keys are 1024-bit and deprecated (OpenSSH 9.8 removed them): replacing the key is the real fix"
	case strings.HasPrefix(alg, "ssh-rsa"):
		risk += "; ssh-rsa signatures use SHA-1, which is broken for collisions"
	}
	return Planned{Steps: []Step{noteStep(f.Code, fmt.Sprintf("accept %s keys: add %s to PubkeyAcceptedAlgorithms (%s)", typ, alg, where), risk)}}
}
