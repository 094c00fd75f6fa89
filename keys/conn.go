package keys

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/sshdoctor/sshdoctor/dest"
	"github.com/sshdoctor/sshdoctor/probe"
	"github.com/sshdoctor/sshdoctor/report"
)

// ConnectOptions say where to connect and how to log in.
type ConnectOptions struct {
	// Target is the destination after the ssh client configuration.
	Target *dest.Resolved
	// KnownHosts are the known_hosts files to check the host key with; nil
	// means the target's UserKnownHostsFile and GlobalKnownHostsFile.
	KnownHosts []string
	// Timeout bounds each network step; zero means the target's
	// ConnectTimeout, or 5s.
	Timeout time.Duration
	// AgentSocket is the ssh-agent to sign with; empty means no agent.
	AgentSocket string
	// OnlyIdentities, when not empty, are the only identity files (and
	// their agent copies) offered, instead of everything ssh would offer.
	OnlyIdentities []string
	// Prompt asks the person at the terminal; nil means there is none: no
	// password, no passphrase, and no unknown host key accepted.
	Prompt Prompter
	// Resolver looks names up; nil means the system resolver.
	Resolver probe.Resolver
}

// Conn is a logged-in SSH connection, with what it took to get there.
type Conn struct {
	// Client is the SSH connection.
	Client *ssh.Client
	// Addr is the address connected to.
	Addr netip.AddrPort
	// ServerVersion is the server's identification string.
	ServerVersion string
	// HostKey is the key the server proved; later connections must see the
	// same one.
	HostKey ssh.PublicKey
	// HostKeyFrom says why the host key is trusted: the known_hosts
	// file:line, or that it was accepted at the terminal.
	HostKeyFrom string
	// Method is how the login succeeded: "publickey",
	// "keyboard-interactive", "password" or "none".
	Method string
	// Key is the key that logged in when Method is publickey; nil
	// otherwise.
	Key *probe.ClientKey
	// Notes say what was skipped or could not be done on the way.
	Notes []string

	o       ConnectOptions
	timeout time.Duration
	raw     net.Conn
	agentC  net.Conn
	agent   agent.ExtendedAgent
}

// Timeout returns the per-step network timeout in use.
func (c *Conn) Timeout() time.Duration { return c.timeout }

// Close ends the connection and the agent connection.
func (c *Conn) Close() error {
	if c.agentC != nil {
		c.agentC.Close()
	}
	if c.Client != nil {
		return c.Client.Close()
	}
	return nil
}

// effectiveTimeout is the option, else ConnectTimeout, else 5s.
func effectiveTimeout(o ConnectOptions) time.Duration {
	switch {
	case o.Timeout > 0:
		return o.Timeout
	case o.Target != nil && o.Target.ConnectTimeout > 0:
		return o.Target.ConnectTimeout
	}
	return 5 * time.Second
}

// Connect resolves, connects, checks the host key (refusing a changed or
// revoked one, and an unknown one unless it is accepted at the terminal)
// and logs in with what works: the agent's keys and identity files in ssh's
// order, then keyboard-interactive or a password typed at the terminal.
// Errors are *Error.
func Connect(ctx context.Context, o ConnectOptions) (*Conn, error) {
	t := o.Target
	if t.ProxyJump != "" || t.ProxyCommand != "" {
		how := "ProxyJump " + t.ProxyJump
		if t.ProxyJump == "" {
			how = "ProxyCommand " + t.ProxyCommand
		}
		return nil, &Error{Step: "connect", Reason: ReasonUnsupported,
			Message: fmt.Sprintf("ssh reaches %s through %s, which sshdoctor keys does not follow", t.Alias, how),
			Hint:    "run it on the jump host, or use ssh-copy-id"}
	}
	c := &Conn{o: o, timeout: effectiveTimeout(o)}
	if o.KnownHosts == nil {
		c.o.KnownHosts = slices.Concat(t.UserKnownHostsFiles, t.GlobalKnownHostsFiles)
	}
	conn, err := c.dial(ctx)
	if err != nil {
		return nil, err
	}
	c.raw = conn
	if o.AgentSocket != "" {
		if ac, err := net.DialTimeout("unix", o.AgentSocket, c.timeout); err == nil {
			c.agentC, c.agent = ac, agent.NewClient(ac)
		} else {
			c.Notes = append(c.Notes, "the agent at "+o.AgentSocket+" could not be reached: "+err.Error())
		}
	}
	files := t.IdentityFiles
	only := t.IdentitiesOnly
	if len(o.OnlyIdentities) > 0 {
		files, only = o.OnlyIdentities, true
	}
	var ks probe.KeySet
	if t.PubkeyAuthentication {
		ks = probe.LoadKeys(probe.KeyOptions{IdentityFiles: files, IdentitiesOnly: only, AgentSocket: o.AgentSocket, Timeout: c.timeout})
	}
	prompt := o.Prompt
	if t.BatchMode {
		prompt = nil
	}
	plan := &authPlan{user: t.User, host: t.HostName, prompt: prompt, pause: c.pause,
		order: methodOrder(t.PreferredAuthentications, t.PubkeyAuthentication, t.KbdInteractiveAuthentication, t.PasswordAuthentication, t.BatchMode)}
	var notes []string
	plan.keys, notes = signersFor(ks, agentSigners(c.agent), t.PubkeyAcceptedAlgorithms, prompt, c.pause,
		func(n string) { plan.notes = append(plan.notes, n) })
	c.Notes = append(c.Notes, notes...)
	gate := &hostKeyGate{target: t, files: c.o.KnownHosts, prompt: prompt, pause: c.pause}

	var ip net.IP = c.Addr.Addr().AsSlice()
	kh := probe.LookupKnownHosts(c.o.KnownHosts, probe.KnownHostsNames(t.HostName, t.Port, t.HostKeyAlias, ip, t.Raw.Get("checkhostip") == "yes"))
	cfg := &ssh.ClientConfig{
		User:              t.User,
		ClientVersion:     probe.ClientIdent,
		HostKeyCallback:   gate.check,
		HostKeyAlgorithms: hostKeyAlgorithms(t.HostKeyAlgorithms, kh),
		AuthCallback:      plan.next,
	}
	sc, chans, reqs, err := c.handshake(ctx, conn, cfg)
	c.Notes = append(c.Notes, gate.notes...)
	c.Notes = append(c.Notes, plan.notes...)
	if err != nil {
		c.Close()
		conn.Close()
		var ke *Error
		switch {
		case gate.err != nil:
			ke = gate.err
		case gate.key != nil:
			ke = authError(t, plan, err)
		default:
			ke = handshakeError(t, err)
		}
		ke.Notes = append(ke.Notes, c.Notes...)
		return nil, ke
	}
	c.Client = ssh.NewClient(sc, chans, reqs)
	c.ServerVersion = string(sc.ServerVersion())
	c.HostKey, c.HostKeyFrom = gate.key, gate.from
	c.Method = "none"
	if plan.current != "" {
		c.Method = plan.current
	}
	if plan.key != nil && c.Method == "publickey" {
		k := plan.key.key
		c.Key = &k
	}
	return c, nil
}

// dial resolves the host and connects to the first address that answers.
func (c *Conn) dial(ctx context.Context) (net.Conn, error) {
	t := c.o.Target
	dns := probe.LookupHost(ctx, c.o.Resolver, t.HostName, t.AddressFamily, c.timeout)
	if len(dns.Addrs) == 0 {
		msg := fmt.Sprintf("%s does not resolve", t.HostName)
		if dns.Err != "" {
			msg += ": " + dns.Err
		}
		return nil, &Error{Step: "connect", Reason: ReasonDNS, Message: msg, Hint: "run 'sshdoctor check " + t.Input + "' to find out why"}
	}
	var last probe.TCPAttempt
	for _, a := range dns.Addrs {
		conn, at := probe.Dialer{Timeout: c.timeout}.Connect(ctx, netip.AddrPortFrom(a, uint16(t.Port)))
		if conn != nil {
			c.Addr = at.Addr
			return conn, nil
		}
		last = at
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	return nil, &Error{Step: "connect", Reason: ReasonUnreachable,
		Message: fmt.Sprintf("cannot connect to %s: %s", last.Addr, last.Message),
		Hint:    "run 'sshdoctor check " + t.Input + "' to find out why"}
}

// handshake runs the SSH handshake with a deadline that prompts suspend,
// and that the context can cut short.
func (c *Conn) handshake(ctx context.Context, conn net.Conn, cfg *ssh.ClientConfig) (ssh.Conn, <-chan ssh.NewChannel, <-chan *ssh.Request, error) {
	_ = conn.SetDeadline(time.Now().Add(3 * c.timeout))
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()
	sc, chans, reqs, err := ssh.NewClientConn(conn, conn.RemoteAddr().String(), cfg)
	if err == nil {
		_ = conn.SetDeadline(time.Time{})
	}
	return sc, chans, reqs, err
}

// pause lifts the connection deadline while a person types, and returns
// the function that puts it back.
func (c *Conn) pause() func() {
	if c.raw == nil {
		return func() {}
	}
	_ = c.raw.SetDeadline(time.Time{})
	return func() { _ = c.raw.SetDeadline(time.Now().Add(3 * c.timeout)) }
}

func authError(t *dest.Resolved, plan *authPlan, err error) *Error {
	var what []string
	if n := len(plan.keys); n > 0 {
		what = append(what, fmt.Sprintf("%d key(s)", n))
	}
	if plan.kbdTries > 0 {
		what = append(what, "keyboard-interactive")
	}
	if plan.passTries > 0 {
		what = append(what, "password")
	}
	tried := "nothing could be tried"
	if len(what) > 0 {
		tried = "tried " + strings.Join(what, ", ")
	}
	msg := fmt.Sprintf("cannot log in to %s@%s: %s; the server offers %s", t.User, t.HostName, tried, strings.Join(plan.allowed, ","))
	if !errors.Is(err, errNoMethodLeft) {
		msg += " (" + report.Escape(err.Error()) + ")"
	}
	hint := "keys install logs in the way ssh does: give a key that works with -i, load it into ssh-agent, or run it from a terminal to type the password"
	if plan.prompt == nil && (slices.Contains(plan.allowed, "password") || slices.Contains(plan.allowed, "keyboard-interactive")) {
		hint = "the server takes a password, but there is no terminal to type it at (or BatchMode is on): run this from a terminal"
	}
	return &Error{Step: "auth", Reason: ReasonAuth, Message: msg, Hint: hint + "; 'sshdoctor check " + t.Input + "' tells why a key is refused"}
}

func handshakeError(t *dest.Resolved, err error) *Error {
	return &Error{Step: "connect", Reason: ReasonHandshake,
		Message: fmt.Sprintf("the SSH handshake with %s failed: %s", t.HostName, report.Escape(err.Error())),
		Hint:    "run 'sshdoctor check " + t.Input + "' to find out why"}
}

// redial opens a new connection to the same address that must present the
// same host key, authenticated only with signer. query makes it stop at
// the server's answer to the key (SSH_MSG_USERAUTH_PK_OK) without signing.
func (c *Conn) redial(ctx context.Context, signer ssh.Signer) (*ssh.Client, error) {
	return c.redialWith(ctx, ssh.PublicKeys(signer))
}

func (c *Conn) redialWith(ctx context.Context, auth ssh.AuthMethod) (*ssh.Client, error) {
	conn, at := probe.Dialer{Timeout: c.timeout}.Connect(ctx, c.Addr)
	if conn == nil {
		return nil, fmt.Errorf("connecting to %s: %s", c.Addr, at.Message)
	}
	want := c.HostKey.Marshal()
	cfg := &ssh.ClientConfig{
		User:          c.o.Target.User,
		ClientVersion: probe.ClientIdent,
		HostKeyCallback: func(_ string, _ net.Addr, key ssh.PublicKey) error {
			if !bytes.Equal(key.Marshal(), want) {
				return errors.New("the host key changed between connections")
			}
			return nil
		},
		HostKeyAlgorithms: pinnedAlgorithms(c.HostKey),
		Auth:              []ssh.AuthMethod{auth},
	}
	sc, chans, reqs, err := c.handshake(ctx, conn, cfg)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return ssh.NewClient(sc, chans, reqs), nil
}

// LoginWith logs in on a new connection with signer alone and runs `true`:
// the real login that proves a key works. nil means it did.
func (c *Conn) LoginWith(ctx context.Context, signer ssh.Signer) error {
	cl, err := c.redial(ctx, signer)
	if err != nil {
		return err
	}
	defer cl.Close()
	sess, err := cl.NewSession()
	if err != nil {
		return fmt.Errorf("opening a session: %w", err)
	}
	defer sess.Close()
	var stderr bytes.Buffer
	sess.Stderr = &stderr
	if err := sess.Run("true"); err != nil {
		msg := err.Error()
		if s := bytes.TrimSpace(stderr.Bytes()); len(s) > 0 {
			msg += ": " + report.Escape(string(s[:min(len(s), 200)]))
		}
		return fmt.Errorf("running true: %s", msg)
	}
	return nil
}

// Accepts asks the server, on a new connection, whether it would accept
// key for the user, without signing anything: the answer to a public key
// query (SSH_MSG_USERAUTH_PK_OK) is what sshd says after consulting
// authorized_keys, from= and the other options included.
func (c *Conn) Accepts(ctx context.Context, key ssh.PublicKey) (bool, error) {
	q := &querySigner{pub: key, algos: signatureAlgorithms(plainType(key), c.o.Target.PubkeyAcceptedAlgorithms)}
	if len(q.algos) == 0 {
		q.algos = signatureAlgorithms(plainType(key), nil)
	}
	reached := false // the server was asked about the key
	cl, err := c.redialWith(ctx, ssh.PublicKeysCallback(func() ([]ssh.Signer, error) {
		reached = true
		return []ssh.Signer{q}, nil
	}))
	if cl != nil {
		cl.Close()
		return true, nil // no authentication was needed at all
	}
	q.mu.Lock()
	asked := q.asked
	q.mu.Unlock()
	switch {
	case asked:
		return true, nil
	case reached:
		return false, nil
	}
	return false, err
}

func plainType(k ssh.PublicKey) string {
	if c, ok := k.(*ssh.Certificate); ok {
		return c.Key.Type()
	}
	return k.Type()
}

// querySigner holds a public key only. The library calls it to sign only
// after the server accepted the key, and it refuses: so the server's
// answer is learnt without any signature.
type querySigner struct {
	pub   ssh.PublicKey
	algos []string
	mu    sync.Mutex
	asked bool
}

var errQueryOnly = errors.New("keys: query only, no signature")

func (q *querySigner) PublicKey() ssh.PublicKey { return q.pub }

func (q *querySigner) Algorithms() []string { return q.algos }

func (q *querySigner) Sign(r io.Reader, d []byte) (*ssh.Signature, error) {
	return q.SignWithAlgorithm(r, d, "")
}

func (q *querySigner) SignWithAlgorithm(io.Reader, []byte, string) (*ssh.Signature, error) {
	q.mu.Lock()
	q.asked = true
	q.mu.Unlock()
	return nil, errQueryOnly
}
