package diag

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sshdoctor/sshdoctor/check"
	"github.com/sshdoctor/sshdoctor/host"
	"github.com/sshdoctor/sshdoctor/host/accounts"
	"github.com/sshdoctor/sshdoctor/host/authkeys"
	"github.com/sshdoctor/sshdoctor/host/bans"
	"github.com/sshdoctor/sshdoctor/host/firewall"
	"github.com/sshdoctor/sshdoctor/host/logs"
	"github.com/sshdoctor/sshdoctor/host/selinux"
	"github.com/sshdoctor/sshdoctor/host/service"
	"github.com/sshdoctor/sshdoctor/host/sockets"
	"github.com/sshdoctor/sshdoctor/host/sshdconfig"
	"github.com/sshdoctor/sshdoctor/host/tcpwrappers"
	"github.com/sshdoctor/sshdoctor/report"
)

// ServerOptions are the inputs of `sshdoctor server`.
type ServerOptions struct {
	// Root is an offline tree; empty means the live system.
	Root string
	// SSHDConfig is the configuration file as sshd sees it; empty means
	// /etc/ssh/sshd_config.
	SSHDConfig string
	// User is the account to evaluate; empty skips the account checks.
	User string
	// From is the client address; the zero Addr means any client.
	From netip.Addr
	// Key is a public key (file or text) to look for; empty skips it.
	Key string
	// NeedPassword says the user logs in with a password.
	NeedPassword bool
	// Runner runs commands on the live system; nil means host.ExecRunner.
	Runner host.Runner
}

// ServerFacts is everything `sshdoctor server` learnt. A nil field was not
// gathered.
type ServerFacts struct {
	Sys       host.System
	Config    sshdconfig.Facts
	Effective *sshdconfig.Effective
	Service   service.Facts
	Sockets   sockets.Facts
	Logs      logs.Facts
	SELinux   selinux.Facts
	Firewall  *firewall.Report
	Bans      *bans.Facts
	Wrappers  *tcpwrappers.Facts
	Account   *accounts.Facts
	Keys      *authkeys.Facts
	Key       *authkeys.Key
	From      netip.Addr
	// Ports are the ports sshd listens on, as the configuration or the
	// socket unit says.
	Ports []int
}

// KeyError is a --key that cannot be read: bad input.
type KeyError struct{ Err error }

func (e *KeyError) Error() string { return "cannot read --key: " + e.Err.Error() }

// Server inspects the SSH server of this machine, or of an offline tree.
// The inspectors run concurrently; each starts its processes once.
func Server(ctx context.Context, o ServerOptions) (*report.Report, *ServerFacts, error) {
	sys := host.LiveSystem()
	if o.Root != "" {
		abs, err := filepath.Abs(o.Root)
		if err != nil {
			return nil, nil, err
		}
		if st, err := os.Stat(abs); err != nil || !st.IsDir() {
			return nil, nil, &KeyError{Err: fmt.Errorf("--root %s is not a directory", o.Root)}
		}
		sys = host.Offline(abs)
	} else if o.Runner != nil {
		sys.Run = o.Runner
	}
	f := &ServerFacts{Sys: sys, From: o.From}
	if o.Key != "" {
		k, err := authkeys.LoadKey(o.Key)
		if err != nil {
			return nil, nil, &KeyError{Err: err}
		}
		f.Key = k
	}
	r := report.New("server")
	hostname, _ := os.Hostname()
	r.Target = &report.Target{Input: "this machine", Host: hostname, Addresses: []string{}, User: o.User, Root: sys.Root}
	r.Subject = "sshd on " + hostname
	if o.Root != "" {
		r.Target.Input = o.Root
		r.Subject = "sshd in " + o.Root
	}
	if o.User != "" {
		r.Subject = fmt.Sprintf("%s for %s", r.Subject, o.User)
		if o.From.IsValid() {
			r.Subject += " from " + o.From.String()
		}
	}
	times := map[string]time.Duration{}
	var mu sync.Mutex
	timed := func(name string, fn func()) {
		start := time.Now()
		fn()
		mu.Lock()
		times[name] += time.Since(start)
		mu.Unlock()
	}

	// The account first (it is quick): Match Group needs its groups.
	if o.User != "" {
		timed("access", func() {
			a, err := accounts.Inspect(ctx, sys, o.User)
			if err == nil {
				f.Account = a
			}
		})
	}
	var groups []string
	if f.Account != nil {
		groups = f.Account.Groups
	}
	conn := sshdconfig.Conn{User: o.User, Groups: groups}
	if o.From.IsValid() {
		conn.Addr, conn.Host = o.From.String(), o.From.String()
	}

	var wg sync.WaitGroup
	run := func(name string, fn func()) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			timed(name, fn)
		}()
	}
	var fwFacts *firewall.Facts
	run("config", func() {
		f.Config = sshdconfig.Inspect(ctx, sshdconfig.InspectOptions{Root: rootArg(o.Root), File: o.SSHDConfig, Conn: conn})
	})
	run("service", func() { f.Service = service.Gather(ctx, sys) })
	run("listen", func() { f.Sockets = sockets.Gather(ctx, sys, sockets.Options{From: o.From}) })
	run("logs", func() { f.Logs = logs.Gather(ctx, sys, logs.Options{}) })
	run("selinux", func() { f.SELinux = selinux.Gather(ctx, sys) })
	run("firewall", func() { fwFacts = firewall.Gather(ctx, sys) })
	run("bans", func() {
		f.Bans = bans.Gather(ctx, sys, bans.Options{From: o.From, Quick: true})
		f.Wrappers = tcpwrappers.Gather(sys, "/usr/sbin/sshd")
	})
	wg.Wait()

	// What sshd listens on: the socket unit when it owns the port, else the
	// configuration.
	listen := check.SSHDListen{}
	if f.Config.Config != nil {
		startup := f.Config.Config.Startup()
		listen.Ports = startup.Ports()
		for _, ep := range startup.Endpoints() {
			listen.Endpoints = append(listen.Endpoints, check.SSHDEndpoint{Host: ep.Host, Port: ep.Port})
		}
		if d := startup.Source("Port"); d != nil {
			listen.Where = fmt.Sprintf("%s line %d", d.File, d.Line)
		}
		lport := 0
		if len(listen.Ports) > 0 {
			lport = listen.Ports[0]
		}
		conn.LocalPort = lport
		f.Effective = f.Config.Config.Effective(conn)
	}
	f.Ports = sshPorts(listen, f.Service)

	// The firewall evaluation needs the ports.
	timed("firewall", func() {
		q := firewall.Query{From: o.From}
		for _, p := range f.Ports {
			q.Ports = append(q.Ports, uint16(p))
		}
		for _, ep := range listen.Endpoints {
			if a, err := netip.ParseAddr(ep.Host); err == nil && !a.IsUnspecified() {
				q.Listen = append(q.Listen, a)
			}
		}
		f.Firewall = firewall.Inspect(ctx, sys, fwFacts, q)
	})
	if f.Account != nil && f.Account.Entry != nil && f.Effective != nil {
		timed("keys", func() {
			k, err := authkeys.Inspect(sys, f.Account, keysConfig(f.Effective))
			if err == nil {
				f.Keys = k
			}
		})
	}

	// Checks: pure functions of the facts.
	add := func(step string, fs []check.Finding) {
		r.Findings = append(r.Findings, fs...)
		r.Steps = append(r.Steps, report.Step{Name: step, Status: status(fs), MS: ms(times[step])})
	}
	add("config", check.SSHDConfig(&f.Config))
	add("service", check.SSHDService(check.ServiceInput{Service: &f.Service, Sockets: &f.Sockets, Logs: &f.Logs, SELinux: &f.SELinux, Listen: listen}))
	add("firewall", check.Firewall(f.Firewall))
	var ports []uint16
	for _, p := range f.Ports {
		ports = append(ports, uint16(p))
	}
	add("bans", check.ServerBans(&check.ServerBansFacts{Bans: f.Bans, Wrappers: f.Wrappers, From: o.From, Ports: ports, Firewall: banEvidence(f.Firewall)}))
	if o.User != "" {
		acc := check.ServerAccessFacts{Account: f.Account, Client: accounts.Client{Addr: o.From}, Keys: f.Keys, Key: f.Key, NeedPassword: o.NeedPassword}
		acc.Access = accessOf(f.Effective)
		if f.Account == nil {
			acc.Account = &accounts.Facts{User: o.User}
		}
		fs := check.ServerAccess(&acc)
		times["access"] += times["keys"]
		add("access", fs)
	}
	r.Findings = check.ReconcileServer(r.Findings, &f.Config, &f.Service)
	for _, ns := range [][]string{f.Service.Notes, f.Sockets.Notes, f.Logs.Notes, f.SELinux.Notes} {
		r.Notes = append(r.Notes, ns...)
	}
	if f.Firewall != nil {
		r.Notes = append(r.Notes, f.Firewall.Notes...)
	}
	r.Finalize()
	if r.OK {
		r.OKSummary = serverOK(f)
	}
	return r, f, nil
}

func rootArg(root string) string {
	if root == "" {
		return ""
	}
	abs, _ := filepath.Abs(root)
	return abs
}

// sshPorts are the ports to evaluate: the socket unit's when socket
// activation decides them, else the configuration's, else 22.
func sshPorts(l check.SSHDListen, s service.Facts) []int {
	if k := s.Socket; k != nil && ((s.Live && k.ActiveState == "active") || (!s.Live && k.Enabled())) {
		if ps := k.Ports(); len(ps) > 0 {
			return ps
		}
	}
	if len(l.Ports) > 0 {
		return l.Ports
	}
	return []int{22}
}

func keysConfig(e *sshdconfig.Effective) authkeys.Config {
	c := authkeys.DefaultConfig()
	c.Files = e.AuthorizedKeysFiles()
	c.Command = e.AuthorizedKeysCommand()
	c.CommandUser = e.AuthorizedKeysCommandUser()
	c.StrictModes = e.StrictModes()
	c.AcceptedAlgorithms = e.PubkeyAcceptedAlgorithms()
	c.Sources = map[string]string{}
	for _, d := range []string{"AuthorizedKeysFile", "AuthorizedKeysCommand", "StrictModes", "PubkeyAcceptedAlgorithms"} {
		if src := e.Source(d); src != nil {
			c.Sources[d] = src.Location()
		}
	}
	return c
}

func accessOf(e *sshdconfig.Effective) accounts.Access {
	a := accounts.DefaultAccess()
	if e == nil {
		return a
	}
	conv := func(rs []sshdconfig.Rule) []accounts.Pattern {
		var out []accounts.Pattern
		for _, r := range rs {
			out = append(out, accounts.Pattern{Value: r.Pattern, Source: r.File + ":" + strconv.Itoa(r.Line)})
		}
		return out
	}
	a.AllowUsers, a.DenyUsers = conv(e.AllowUsers()), conv(e.DenyUsers())
	a.AllowGroups, a.DenyGroups = conv(e.AllowGroups()), conv(e.DenyGroups())
	a.PermitRootLogin = e.PermitRootLogin()
	a.UsePAM = e.UsePAM()
	a.PasswordAuthentication = e.PasswordAuthentication()
	a.KbdInteractiveAuthentication = e.KbdInteractiveAuthentication()
	a.PubkeyAuthentication = e.PubkeyAuthentication()
	a.PermitEmptyPasswords = strings.EqualFold(strings.Join(e.Args("PermitEmptyPasswords"), ""), "yes")
	a.ChrootDirectory = strings.Join(e.Args("ChrootDirectory"), " ")
	a.ForceCommand = strings.Join(e.Args("ForceCommand"), " ")
	a.Sources = map[string]string{}
	for _, d := range []string{"PermitRootLogin", "UsePAM", "PasswordAuthentication", "KbdInteractiveAuthentication", "PubkeyAuthentication", "PermitEmptyPasswords", "ChrootDirectory", "ForceCommand"} {
		if src := e.Source(d); src != nil {
			a.Sources[d] = src.Location()
		}
	}
	return a
}

// banEvidence turns the firewall's view of fail2ban's and sshguard's rules
// into the bans check's input.
func banEvidence(rep *firewall.Report) *bans.FirewallEvidence {
	if rep == nil || rep.Facts == nil || len(rep.Facts.Rulesets) == 0 {
		return nil
	}
	ev := &bans.FirewallEvidence{Known: true}
	for _, b := range rep.Bans() {
		mr := bans.ManagedRule{Tool: b.Tool, Jail: b.Jail, Backend: b.Backend, Verdict: string(b.Verdict)}
		if b.RejectWith != "" {
			mr.Verdict += " with " + b.RejectWith
		}
		if b.Rule != nil {
			mr.Handle, mr.Rule = b.Rule.Handle, b.Rule.Text
			if sets := b.Rule.SetNames(); len(sets) > 0 {
				mr.Set = sets[0]
			}
			if c := b.Rule.Chain; c != nil {
				mr.Chain = c.Name
				if c.Table != nil {
					mr.Family, mr.Table = c.Table.Family, c.Table.Name
				}
			}
		}
		ev.Rules = append(ev.Rules, mr)
	}
	return ev
}

func serverOK(f *ServerFacts) string {
	parts := []string{}
	if f.Service.Binary.Version != "" {
		parts = append(parts, f.Service.Binary.Version)
	}
	ports := make([]string, len(f.Ports))
	for i, p := range f.Ports {
		ports[i] = strconv.Itoa(p)
	}
	s := "looks fine: sshd listens on port " + strings.Join(ports, ", ")
	if len(parts) > 0 {
		s += " (" + strings.Join(parts, ", ") + ")"
	}
	if f.Account != nil && f.Account.Entry != nil {
		s += " and " + f.Account.User + " may log in"
	}
	return s
}
