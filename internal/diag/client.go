// Package diag runs a diagnosis: it calls the probes layer by layer, hands
// each layer's facts to the pure checks, and stops at the first broken
// layer so that later layers never report noise.
package diag

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sshdoctor/sshdoctor/check"
	"github.com/sshdoctor/sshdoctor/dest"
	"github.com/sshdoctor/sshdoctor/probe"
	"github.com/sshdoctor/sshdoctor/report"
)

// CheckOptions are the inputs of `sshdoctor check`.
type CheckOptions struct {
	// Input is the destination as typed.
	Input string
	// Dest shapes the ssh configuration lookup (-F, -p, -l, -i, -o, -4/-6).
	Dest dest.Options
	// KnownHosts replaces the known_hosts files of the configuration; nil
	// means use UserKnownHostsFile and GlobalKnownHostsFile.
	KnownHosts []string
	// Timeout is the per-step network timeout; zero means ConnectTimeout from
	// the configuration, or 5s.
	Timeout time.Duration
	// Ports are extra ports to search for SSH when the main one fails.
	Ports []int
	// Login performs a real login with the accepted key.
	Login bool
	// NoServer skips the server inspection that is added when the target
	// is this very machine.
	NoServer bool
	// Env reads the environment (SSH_AUTH_SOCK); nil means os.Getenv.
	Env func(string) string
	// Resolver looks names up; nil means the system resolver.
	Resolver probe.Resolver
}

// altPortDelay is how long the main connect may stay silent before the
// search on other ports starts alongside it, so that a dropped port costs
// one timeout, not two.
const altPortDelay = 150 * time.Millisecond

// Check diagnoses SSH to a destination from this machine. A bad destination
// or configuration is returned as a *dest.Error.
func Check(ctx context.Context, o CheckOptions) (*report.Report, *probe.Facts, error) {
	if o.Env == nil {
		o.Env = os.Getenv
	}
	r := report.New("check")
	f := &probe.Facts{}
	run := &runner{r: r, ctx: ctx, server: !o.NoServer}

	// Destination.
	start := time.Now()
	d, err := dest.Parse(o.Input)
	if err != nil {
		return nil, nil, err
	}
	if o.Dest.Env == nil {
		o.Dest.Env = o.Env
	}
	t, err := dest.Resolve(ctx, d, o.Dest)
	if err != nil {
		return nil, nil, err
	}
	var notes []check.Finding
	if t.ProxyJump != "" {
		jt, jerr := jumpTarget(ctx, t.ProxyJump, o.Dest)
		if jerr != nil {
			return nil, nil, jerr
		}
		notes = append(notes, check.New("probe.incomplete",
			fmt.Sprintf("ssh reaches %s through the jump host %s (ProxyJump); sshdoctor checks the first hop, %s, and not %s itself.", t.HostName, t.ProxyJump, jt.HostName, t.HostName),
			check.E("proxy_jump", t.ProxyJump)).WithFix("Once the jump host passes, check the last hop from the jump host itself.", "ssh "+t.ProxyJump+" sshdoctor check "+t.Alias))
		t = jt
	} else if t.ProxyCommand != "" {
		notes = append(notes, check.New("probe.incomplete",
			"ssh connects through a ProxyCommand; sshdoctor connected directly, which may not be the path ssh takes.",
			check.E("proxy_command", t.ProxyCommand)))
	}
	f.Target = t
	r.Target = &report.Target{Input: o.Input, Host: t.HostName, Port: t.Port, User: t.User, Addresses: []string{}}
	r.Subject = "ssh to " + t.User + "@" + t.Alias
	if t.Port != 22 {
		r.Subject += " port " + strconv.Itoa(t.Port)
	}
	timeout := o.Timeout
	if timeout == 0 {
		timeout = t.ConnectTimeout
	}
	if timeout == 0 {
		timeout = 5 * time.Second
	}
	detail := t.String()
	if t.Source != "" {
		detail += ", from " + t.Source
	}
	run.step("destination", start, notes, detail)
	r.Findings = append(r.Findings, notes...)

	// DNS.
	start = time.Now()
	dns := probe.LookupHost(ctx, o.Resolver, t.HostName, t.AddressFamily, timeout)
	f.DNS = &dns
	for _, a := range dns.Addrs {
		r.Target.Addresses = append(r.Target.Addresses, a.String())
	}
	dnsDetail := strings.Join(r.Target.Addresses, ", ")
	if dns.Literal {
		dnsDetail += " (address, no lookup)"
	}
	if !run.layer("dns", start, check.DNS(f), dnsDetail) {
		return run.finish(f), f, nil
	}

	// TCP, with the search for SSH elsewhere alongside when it is slow.
	start = time.Now()
	altPorts := altPortList(t.Port, o.Ports)
	alt := newAltSearch(ctx, dns.Addrs[0], altPorts, timeout, start)
	var conn net.Conn
	timer := time.AfterFunc(altPortDelay, alt.start)
	for _, a := range dns.Addrs {
		c, at := probe.Dialer{Timeout: timeout}.Connect(ctx, netip.AddrPortFrom(a, uint16(t.Port)))
		f.TCP = append(f.TCP, at)
		if c != nil {
			conn = c
			break
		}
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
	}
	timer.Stop()
	if conn == nil {
		alt.start()
		f.AltPorts = alt.wait()
		if last := f.TCP[len(f.TCP)-1]; last.Outcome == probe.TCPTimeout {
			f.Neighbour = probe.Neighbour(last.Addr.Addr())
		}
	} else {
		alt.cancel()
	}
	if !run.layer("tcp", start, check.TCP(f), tcpDetail(f)) {
		return run.finish(f), f, nil
	}
	open := *f.Open()

	// Banner.
	start = time.Now()
	b := probe.ReadBanner(conn, time.Now().Add(timeout))
	f.Banner = &b
	if b.Outcome != probe.BannerSSH {
		conn.Close()
		if b.Outcome != probe.BannerClosed && b.Outcome != probe.BannerReset || b.Kind != "" && !strings.HasPrefix(b.Kind, "text:") {
			f.AltPorts = probe.ScanPorts(ctx, open.Addr.Addr(), altPorts, time.Now().Add(min(timeout, 2*time.Second)))
		}
		if (b.Outcome == probe.BannerTimeout || b.Outcome == probe.BannerClosed) && b.Received == 0 {
			f.TLS = probe.ProbeTLS(ctx, open.Addr, min(timeout, 2*time.Second))
		}
	}
	bannerDetail := ""
	if b.Outcome == probe.BannerSSH {
		bannerDetail = b.Ident
	}
	if !run.layer("banner", start, check.Banner(f), bannerDetail) {
		return run.finish(f), f, nil
	}

	// Local facts for the SSH layers: known_hosts and the keys ssh would offer.
	khFiles := o.KnownHosts
	if khFiles == nil {
		khFiles = slices.Concat(t.UserKnownHostsFiles, t.GlobalKnownHostsFiles)
	}
	var ip net.IP = open.Addr.Addr().AsSlice()
	kh := probe.LookupKnownHosts(khFiles, probe.KnownHostsNames(t.HostName, t.Port, t.HostKeyAlias, ip, t.Raw.Get("checkhostip") == "yes"))
	f.KnownHosts = &kh
	agentSock := t.IdentityAgent
	if agentSock == "" {
		agentSock = o.Env("SSH_AUTH_SOCK")
	} else if agentSock == "none" {
		agentSock = ""
	}
	keys := probe.LoadKeys(probe.KeyOptions{IdentityFiles: t.IdentityFiles, IdentitiesOnly: t.IdentitiesOnly, AgentSocket: agentSock, Timeout: timeout})
	f.Keys = &keys

	// Key exchange, host key and authentication, on the same connection.
	start = time.Now()
	redial := func(ctx context.Context) (net.Conn, probe.BannerFacts, error) {
		c, at := probe.Dialer{Timeout: timeout}.Connect(ctx, open.Addr)
		if c == nil {
			return nil, probe.BannerFacts{}, errors.New(at.Message)
		}
		b := probe.ReadBanner(c, time.Now().Add(timeout))
		if b.Outcome != probe.BannerSSH {
			c.Close()
			return nil, b, fmt.Errorf("no SSH identification (%s)", b.Outcome)
		}
		return c, b, nil
	}
	var queryKeys []probe.ClientKey
	if t.PubkeyAuthentication {
		queryKeys = keys.Keys
	}
	if queryKeys == nil {
		queryKeys = []probe.ClientKey{}
	}
	sshf := probe.ProbeSSH(ctx, conn, b, probe.SSHOptions{
		User: t.User, Timeout: timeout,
		KexAlgorithms: t.KexAlgorithms, HostKeyAlgorithms: orderHostKeyAlgorithms(t.HostKeyAlgorithms, kh),
		Ciphers: t.Ciphers, MACs: t.MACs, PubkeyAlgorithms: t.PubkeyAcceptedAlgorithms,
		Keys: queryKeys, Redial: redial,
		HostKeyGate: func(p *probe.PresentedKey) error {
			g := *f
			g.SSH = &probe.SSHFacts{HostKey: p}
			for _, fd := range check.HostKey(&g) {
				if fd.Severity == check.SeverityError {
					return fmt.Errorf("host key refused: %s", fd.Code)
				}
			}
			return nil
		},
	})
	if acc := sshf.Auth.Accepted(); acc == nil && sshf.Auth.Reached && !slices.Contains(t.PubkeyAcceptedAlgorithms, "ssh-rsa") {
		// An RSA key may be authorized on a server that only verifies
		// SHA-1 (ssh-rsa) signatures, which this client refuses to make: ask
		// once more, for those keys only, naming ssh-rsa.
		var rsa []probe.ClientKey
		for _, r := range sshf.Auth.Keys {
			if r.Key.Type == "ssh-rsa" && (r.Result == "refused" || r.Result == "no-signature-algorithm") {
				rsa = append(rsa, r.Key)
			}
		}
		if len(rsa) > 0 {
			if c, b2, err := redial(ctx); err == nil {
				again := probe.ProbeSSH(ctx, c, b2, probe.SSHOptions{
					User: t.User, Timeout: timeout, KexAlgorithms: t.KexAlgorithms,
					HostKeyAlgorithms: []string{sshf.HostKey.Type}, Ciphers: t.Ciphers, MACs: t.MACs,
					PubkeyAlgorithms: []string{"ssh-rsa"}, Keys: rsa,
					HostKeyGate: func(p *probe.PresentedKey) error {
						if p.Fingerprint != sshf.HostKey.Fingerprint {
							return errors.New("host key changed between connections")
						}
						return nil
					},
				})
				for _, r := range again.Auth.Keys {
					if r.Result == "accepted" {
						sshf.Auth.SHA1Only = append(sshf.Auth.SHA1Only, r.Key)
					}
				}
			}
		}
	}
	f.SSH = &sshf
	kexFindings := check.Kex(f)
	if hasCode(kexFindings, "ssh.kex-mismatch") {
		f.ClientAlgorithms = probe.ClientSupport(ctx, o.Dest.SSH)
		kexFindings = check.Kex(f)
	}
	kexDetail := ""
	if n := sshf.Kex.Negotiated; n.KeyExchange != "" {
		kexDetail = fmt.Sprintf("%s, %s, %s", n.KeyExchange, n.HostKey, n.Read.Cipher)
	} else if sshf.HostKey != nil {
		kexDetail = "host key " + sshf.HostKey.Type
	}
	if !run.layerDur("kex", sshf.Kex.Elapsed, kexFindings, kexDetail) {
		return run.finish(f), f, nil
	}
	hkDetail := ""
	if sshf.HostKey != nil {
		hkDetail = sshf.HostKey.Type + " " + sshf.HostKey.Fingerprint
	}
	if !run.layerDur("hostkey", 0, check.HostKey(f), hkDetail) {
		return run.finish(f), f, nil
	}
	authDetail := ""
	if acc := sshf.Auth.Accepted(); acc != nil {
		authDetail = "accepts " + acc.Key.String()
	} else if len(sshf.Auth.Methods) > 0 {
		authDetail = "methods: " + strings.Join(sshf.Auth.Methods, ",")
	}
	if sshf.Auth.NoneAccepted {
		authDetail = "no authentication required"
	}
	if !run.layerDur("auth", sshf.Auth.Elapsed, check.Auth(f), authDetail) {
		return run.finish(f), f, nil
	}

	if o.Login {
		start = time.Now()
		if acc := sshf.Auth.Accepted(); acc != nil {
			f.Login = probe.Login(ctx, probe.LoginOptions{
				User: t.User, Key: acc.Key, Timeout: timeout, AgentSocket: agentSock, HostKey: sshf.HostKey,
				Dial: func(ctx context.Context) (net.Conn, error) {
					c, at := probe.Dialer{Timeout: timeout}.Connect(ctx, open.Addr)
					if c == nil {
						return nil, errors.New(at.Message)
					}
					return c, nil
				},
			})
		} else {
			f.Login = &probe.LoginFacts{Err: "no key was accepted, so there is nothing to log in with"}
			if sshf.Auth.NoneAccepted {
				f.Login = &probe.LoginFacts{OK: true}
			}
		}
		run.layer("login", start, check.Login(f), "ran true")
	}
	return run.finish(f), f, nil
}

// runner records steps and findings and knows when to stop.
type runner struct {
	r      *report.Report
	ctx    context.Context
	server bool // inspect the server too when the target is this machine
}

func (u *runner) step(name string, start time.Time, fs []check.Finding, detail string) {
	u.r.Steps = append(u.r.Steps, report.Step{Name: name, Status: status(fs), MS: ms(time.Since(start)), Detail: detail})
}

// layer records a layer's findings and reports whether the diagnosis goes
// on (no error finding).
func (u *runner) layer(name string, start time.Time, fs []check.Finding, detail string) bool {
	return u.layerDur(name, time.Since(start), fs, detail)
}

func (u *runner) layerDur(name string, d time.Duration, fs []check.Finding, detail string) bool {
	st := status(fs)
	if st == report.StepFail {
		detail = ""
		for _, f := range fs {
			if f.Severity == check.SeverityError {
				detail = f.Title
				break
			}
		}
	}
	u.r.Steps = append(u.r.Steps, report.Step{Name: name, Status: st, MS: ms(d), Detail: detail})
	u.r.Findings = append(u.r.Findings, fs...)
	return st != report.StepFail
}

var clientSteps = []string{"destination", "dns", "tcp", "banner", "kex", "hostkey", "auth"}

func (u *runner) finish(f *probe.Facts) *report.Report {
	done := map[string]bool{}
	for _, s := range u.r.Steps {
		done[s.Name] = true
	}
	for _, n := range clientSteps {
		if !done[n] {
			u.r.Steps = append(u.r.Steps, report.Step{Name: n, Status: report.StepSkip})
		}
	}
	if u.server && targetIsThisMachine(f) {
		u.addServer(f)
	}
	u.r.Finalize()
	if u.r.OK && f.SSH != nil {
		server := ""
		if f.Banner != nil {
			server = " (" + f.Banner.Software + ")"
		}
		switch acc := f.SSH.Auth.Accepted(); {
		case acc != nil:
			u.r.OKSummary = fmt.Sprintf("would work: the server%s accepts %s", server, acc.Key.String())
		case f.SSH.Auth.NoneAccepted:
			u.r.OKSummary = "would work: the server" + server + " asks for no authentication"
		default:
			u.r.OKSummary = "would reach the server" + server + "; ssh will ask for a password"
		}
		if f.Login != nil && f.Login.OK {
			u.r.OKSummary = "works: a real login ran 'true'" + server
		}
	}
	return u.r
}

func status(fs []check.Finding) string {
	st := report.StepOK
	for _, f := range fs {
		switch f.Severity {
		case check.SeverityError:
			return report.StepFail
		case check.SeverityWarning:
			st = report.StepWarn
		}
	}
	return st
}

func ms(d time.Duration) float64 {
	return float64(d.Microseconds()) / 1000
}

func hasCode(fs []check.Finding, code string) bool {
	for _, f := range fs {
		if f.Code == code {
			return true
		}
	}
	return false
}

func tcpDetail(f *probe.Facts) string {
	if o := f.Open(); o != nil {
		return o.Addr.String() + " open"
	}
	return ""
}

func altPortList(port int, extra []int) []int {
	var out []int
	for _, p := range slices.Concat(probe.DefaultAltPorts, extra) {
		if p != port && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// orderHostKeyAlgorithms puts the algorithms of key types already in
// known_hosts first, as ssh does, so the server proves the key we know.
func orderHostKeyAlgorithms(algos []string, kh probe.KnownHostsFacts) []string {
	known := map[string]bool{}
	for _, m := range kh.Matches {
		if m.Marker == "" {
			known[m.Key.Type()] = true
		}
	}
	if len(known) == 0 {
		return algos
	}
	var first, rest []string
	for _, a := range algos {
		base := strings.Replace(a, "-cert-v01@openssh.com", "", 1)
		if base == "rsa-sha2-256" || base == "rsa-sha2-512" {
			base = "ssh-rsa"
		}
		if known[base] && !strings.Contains(a, "-cert-") {
			first = append(first, a)
		} else {
			rest = append(rest, a)
		}
	}
	return append(first, rest...)
}

// jumpTarget resolves the first hop of a ProxyJump specification.
func jumpTarget(ctx context.Context, spec string, o dest.Options) (*dest.Resolved, error) {
	first, _, _ := strings.Cut(spec, ",")
	d, err := dest.Parse(first)
	if err != nil {
		return nil, err
	}
	o.Port, o.User, o.Identities, o.Extra = 0, "", nil, nil
	return dest.Resolve(ctx, d, o)
}

// altSearch runs the search for SSH on other ports, at most once per address.
type altSearch struct {
	ctx     context.Context
	cancelF context.CancelFunc
	addr    netip.Addr
	ports   []int
	timeout time.Duration
	mainAt  time.Time

	once   sync.Once
	done   chan struct{}
	result []probe.AltPort
}

func newAltSearch(ctx context.Context, addr netip.Addr, ports []int, timeout time.Duration, mainAt time.Time) *altSearch {
	ctx, cancel := context.WithCancel(ctx)
	return &altSearch{ctx: ctx, cancelF: cancel, addr: addr, ports: ports, timeout: timeout, mainAt: mainAt, done: make(chan struct{})}
}

func (a *altSearch) start() {
	a.once.Do(func() {
		now := time.Now()
		// Bound the search so a dropped main port costs one timeout, not two.
		deadline := now.Add(min(a.timeout, 2*time.Second))
		if cap := a.mainAt.Add(a.timeout + 50*time.Millisecond); deadline.After(cap) && cap.After(now.Add(300*time.Millisecond)) {
			deadline = cap
		}
		go func() {
			a.result = probe.ScanPorts(a.ctx, a.addr, a.ports, deadline)
			close(a.done)
		}()
	})
}

func (a *altSearch) wait() []probe.AltPort {
	<-a.done
	return a.result
}

// cancel stops a search that is no longer needed; one that never started
// never will.
func (a *altSearch) cancel() {
	a.cancelF()
	a.once.Do(func() { close(a.done) })
}

// targetIsThisMachine reports whether every address of the target belongs
// to this machine (localhost, or one of its own addresses).
func targetIsThisMachine(f *probe.Facts) bool {
	if f.DNS == nil || len(f.DNS.Addrs) == 0 {
		return false
	}
	for _, a := range f.DNS.Addrs {
		if !probe.IsLocalAddr(a) {
			return false
		}
	}
	return true
}

// addServer adds what `sshdoctor server` finds here, for the target's user
// and from the address the client used: a check of this very machine sees
// both ends.
func (u *runner) addServer(f *probe.Facts) {
	start := time.Now()
	o := ServerOptions{}
	if f.Target != nil {
		o.User = f.Target.User
	}
	if len(f.TCP) > 0 && f.TCP[len(f.TCP)-1].Source.IsValid() {
		o.From = f.TCP[len(f.TCP)-1].Source
	}
	sr, _, err := Server(u.ctx, o)
	if err != nil {
		u.r.Notes = append(u.r.Notes, "the server side of this machine could not be inspected: "+err.Error())
		return
	}
	u.r.Findings = append(u.r.Findings, sr.Findings...)
	u.r.Notes = append(u.r.Notes, sr.Notes...)
	u.r.Steps = append(u.r.Steps, report.Step{Name: "server", Status: status(sr.Findings), MS: ms(time.Since(start)), Detail: "this machine is the target: its sshd inspected too"})
}
