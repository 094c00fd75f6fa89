package bans

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sshdoctor/sshdoctor/host"
)

// Limits on how much Gather asks fail2ban's server. fail2ban-client is a
// Python program that takes a good fraction of a second per call, so the
// calls run a few at a time, and a server with very many jails is asked
// about the first MaxJails only (the rest keep their configuration facts).
var (
	MaxJails        = 64
	JailConcurrency = 4
)

// fail2banBinaries show that fail2ban is installed even without a
// configuration directory.
var fail2banBinaries = []string{"/usr/bin/fail2ban-server", "/usr/local/bin/fail2ban-server"}

func gatherFail2ban(ctx context.Context, sys host.System, o Options) *Fail2ban {
	installed := false
	for _, p := range append([]string{path.Join(Fail2banDir, "jail.conf")}, fail2banBinaries...) {
		if _, err := sys.Lstat(p); err == nil {
			installed = true
			break
		}
	}
	if !installed {
		return nil
	}
	f := &Fail2ban{ConfigDir: Fail2banDir}
	jcfg := readF2BConfig(sys, Fail2banDir, "jail")
	f.Problems = append(f.Problems, jcfg.problems...)
	f.Jails = jcfg.jails(readServices(sys))
	gcfg := readF2BConfig(sys, Fail2banDir, "fail2ban")
	f.Problems = append(f.Problems, gcfg.problems...)
	f.DBFile = "/var/lib/fail2ban/fail2ban.sqlite3"
	for _, sec := range []string{"Definition", "DEFAULT"} {
		if v, ok := gcfg.get(sec, "dbfile"); ok {
			f.DBFile = strings.TrimSpace(v)
			break
		}
	}
	if f.DBFile == ":memory:" || strings.EqualFold(f.DBFile, "none") {
		f.DBFile = ""
	}

	if err := f.askServer(ctx, sys, o.From, o.Quick); err != nil {
		f.ServerErr = err.Error()
		f.readDatabase(ctx, sys, o.SQLite)
	}
	sort.Slice(f.Jails, func(i, k int) bool { return f.Jails[i].Name < f.Jails[k].Name })
	return f
}

// jail returns the jail named name, adding it when the configuration did
// not have it.
func (f *Fail2ban) jail(name string) *Jail {
	for _, j := range f.Jails {
		if j.Name == name {
			return j
		}
	}
	j := &Jail{Name: name, CurrentlyBanned: -1, TotalBanned: -1, IgnoreSelf: true}
	f.Jails = append(f.Jails, j)
	return j
}

// askServer asks the running server for its jails and their bans. An
// error means the server could not be asked.
func (f *Fail2ban) askServer(ctx context.Context, sys host.System, from netip.Addr, quick bool) error {
	// fail2ban-client is a Python program that takes a third of a second
	// to start: without the server's socket there is nobody to ask.
	if quick && sys.Live && !socketExists(sys) {
		return errors.New("fail2ban is not running (no /run/fail2ban/fail2ban.sock)")
	}
	out, err := sys.Command(ctx, "fail2ban-client", "status")
	if err != nil {
		return clientErr(err)
	}
	names, err := ParseStatus(out)
	if err != nil {
		return err
	}
	f.Running = true
	f.BanSource = SourceServer
	// The version is asked alongside the jails: each fail2ban-client costs
	// a Python start-up.
	version := make(chan string, 1)
	go func() {
		v, err := sys.Command(ctx, "fail2ban-client", "-V")
		if err != nil {
			v = nil
		}
		version <- strings.TrimSpace(string(v))
	}()
	defer func() { f.Version = <-version }()
	if len(names) > MaxJails {
		f.Problems = append(f.Problems, fmt.Sprintf("fail2ban runs %d jails; only the first %d were asked for their bans", len(names), MaxJails))
		f.BansUnknown = fmt.Sprintf("only %d of %d jails were asked", MaxJails, len(names))
		names = names[:MaxJails]
	}
	jails := make([]*Jail, len(names))
	for i, n := range names {
		jails[i] = f.jail(n)
		jails[i].Running = true
		jails[i].Enabled = true
	}
	var mu sync.Mutex
	problem := func(s string) {
		mu.Lock()
		f.Problems = append(f.Problems, s)
		mu.Unlock()
	}
	parallel(len(jails), JailConcurrency, func(i int) {
		j := jails[i]
		out, err := sys.Command(ctx, "fail2ban-client", "status", j.Name)
		if err != nil {
			problem(fmt.Sprintf("fail2ban-client status %s: %v", j.Name, clientErr(err)))
			return
		}
		st, err := ParseJailStatus(out)
		if err != nil {
			problem(fmt.Sprintf("fail2ban-client status %s: %v", j.Name, err))
			return
		}
		j.CurrentlyBanned, j.TotalBanned = st.CurrentlyBanned, st.TotalBanned
		for _, a := range st.Banned {
			j.Bans = append(j.Bans, newBan(a))
		}
		if !from.IsValid() || !banned(j.Bans, from) {
			return
		}
		// Details for the jails that ban the client: when each ban ends,
		// and what the server ignores now (addignoreip included).
		if out, err := sys.Command(ctx, "fail2ban-client", "get", j.Name, "banip", "--with-time"); err == nil {
			times := ParseBanTimes(out, time.Local)
			for k := range j.Bans {
				if t, ok := times[j.Bans[k].Addr]; ok {
					j.Bans[k].At, j.Bans[k].Until, j.Bans[k].Permanent = t.At, t.Until, t.Permanent
				}
			}
		}
		if out, err := sys.Command(ctx, "fail2ban-client", "get", j.Name, "ignoreip"); err == nil {
			j.IgnoreIP = ParseIgnoreIP(out)
		}
	})
	return nil
}

// clientErr turns a failed fail2ban-client into an error that says why in
// its own words.
func clientErr(err error) error {
	var ee *host.ExitError
	if errors.As(err, &ee) {
		msg := strings.TrimSpace(ee.Stderr)
		if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
			msg = strings.TrimSpace(msg[i+1:])
		}
		// Drop the log prefix ("2026-11-24 04:51:30,005 fail2ban
		// [20706]: ERROR   ").
		if i := strings.Index(msg, "ERROR"); i >= 0 {
			msg = strings.TrimSpace(msg[i+len("ERROR"):])
		}
		if msg != "" {
			return fmt.Errorf("fail2ban-client: %s", msg)
		}
	}
	return fmt.Errorf("fail2ban-client: %w", err)
}

func banned(bans []Ban, a netip.Addr) bool {
	for _, b := range bans {
		if b.Contains(a) {
			return true
		}
	}
	return false
}

func newBan(s string) Ban {
	b := Ban{Addr: s}
	if p, err := netip.ParsePrefix(s); err == nil {
		b.Prefix = p.Masked()
	} else if a, err := netip.ParseAddr(s); err == nil {
		a = a.Unmap()
		b.Prefix = netip.PrefixFrom(a, a.BitLen())
	}
	return b
}

// parallel runs fn(0..n-1), at most limit at a time.
func parallel(n, limit int, fn func(int)) {
	if limit < 1 {
		limit = 1
	}
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			fn(i)
		}()
	}
	wg.Wait()
}

// ParseStatus reads `fail2ban-client status` and returns the jail names.
func ParseStatus(out []byte) ([]string, error) {
	kv := statusFields(out)
	list, ok := kv["jail list"]
	if !ok {
		return nil, fmt.Errorf("bans: fail2ban-client status: no jail list in %q", clip(string(out)))
	}
	var names []string
	for _, n := range strings.Split(list, ",") {
		if n = strings.TrimSpace(n); n != "" {
			names = append(names, n)
		}
	}
	return names, nil
}

// JailStatus is what `fail2ban-client status JAIL` says.
type JailStatus struct {
	// CurrentlyBanned and TotalBanned are the counters; -1 when absent.
	CurrentlyBanned, TotalBanned int
	// Banned are the entries of "Banned IP list", as printed.
	Banned []string
}

// ParseJailStatus reads `fail2ban-client status JAIL`.
func ParseJailStatus(out []byte) (*JailStatus, error) {
	kv := statusFields(out)
	list, ok := kv["banned ip list"]
	if !ok {
		return nil, fmt.Errorf("bans: no \"Banned IP list\" in %q", clip(string(out)))
	}
	st := &JailStatus{CurrentlyBanned: -1, TotalBanned: -1, Banned: strings.Fields(list)}
	if n, err := strconv.Atoi(kv["currently banned"]); err == nil {
		st.CurrentlyBanned = n
	}
	if n, err := strconv.Atoi(kv["total banned"]); err == nil {
		st.TotalBanned = n
	}
	return st, nil
}

// statusFields reads fail2ban's tree output ("|- Jail list:\tsshd") into
// lower-case keys and trimmed values.
func statusFields(out []byte) map[string]string {
	kv := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		line = strings.TrimLeft(line, " \t|`-")
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		kv[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
	}
	return kv
}

// BanTime is when one ban started and ends.
type BanTime struct {
	At, Until time.Time
	Permanent bool
}

// ParseBanTimes reads `fail2ban-client get JAIL banip --with-time`, whose
// lines are "ADDR \tSTART + SECONDS = END" in the server's local time (loc).
func ParseBanTimes(out []byte, loc *time.Location) map[string]BanTime {
	times := map[string]BanTime{}
	for _, line := range strings.Split(string(out), "\n") {
		addr, rest, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok {
			continue
		}
		start, rest, ok := strings.Cut(strings.TrimSpace(rest), " + ")
		if !ok {
			continue
		}
		secs, end, ok := strings.Cut(rest, " = ")
		if !ok {
			continue
		}
		var bt BanTime
		bt.At, _ = time.ParseInLocation(time.DateTime, strings.TrimSpace(start), loc)
		if n, err := strconv.ParseInt(strings.TrimSpace(secs), 10, 64); err == nil && n < 0 {
			bt.Permanent = true
		} else {
			bt.Until, _ = time.ParseInLocation(time.DateTime, strings.TrimSpace(end), loc)
		}
		times[addr] = bt
	}
	return times
}

// ParseIgnoreIP reads `fail2ban-client get JAIL ignoreip`.
func ParseIgnoreIP(out []byte) []string {
	var ips []string
	for _, line := range strings.Split(string(out), "\n") {
		t := strings.TrimSpace(line)
		if !strings.HasPrefix(t, "|-") && !strings.HasPrefix(t, "`-") {
			continue
		}
		if v := strings.TrimSpace(t[2:]); v != "" {
			ips = append(ips, v)
		}
	}
	return ips
}

func clip(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}

// socketExists reports whether fail2ban's server socket is there (the
// default path; a custom "socket =" in fail2ban.conf is asked about anyway).
func socketExists(sys host.System) bool {
	for _, p := range []string{"/run/fail2ban/fail2ban.sock", "/var/run/fail2ban/fail2ban.sock"} {
		if st, err := sys.Lstat(p); err == nil && st.Mode()&os.ModeSocket != 0 {
			return true
		}
	}
	b, err := sys.ReadFile("/etc/fail2ban/fail2ban.local")
	return err == nil && strings.Contains(string(b), "socket")
}
