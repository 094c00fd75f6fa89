package probe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// SSHOptions configures the SSH-layer probe: key exchange, host key and
// authentication, on the connection the banner probe opened.
type SSHOptions struct {
	// User is the login name.
	User string
	// Timeout bounds each step (key exchange, each auth query).
	Timeout time.Duration
	// The client's algorithm lists (ssh -G), in preference order. They shape
	// the library's offer so it negotiates what ssh would.
	KexAlgorithms     []string
	HostKeyAlgorithms []string
	Ciphers           []string
	MACs              []string
	// PubkeyAlgorithms is the client's PubkeyAcceptedAlgorithms.
	PubkeyAlgorithms []string
	// Keys are queried in order, without signing; nil skips the queries
	// but still learns the offered methods.
	Keys []ClientKey
	// Redial opens a fresh connection (TCP plus banner) for auth queries
	// that a disconnect cut short ("Too many authentication failures").
	// nil means no second connection.
	Redial func(ctx context.Context) (net.Conn, BannerFacts, error)
	// SkipAuth stops after the host key.
	SkipAuth bool
	// HostKeyGate, when set, sees the host key before any authentication
	// request is sent; an error aborts the connection, so that nothing
	// (not even a public key) is sent to a host whose key is wrong.
	HostKeyGate func(*PresentedKey) error
}

// KexFacts is what happened during the key exchange.
type KexFacts struct {
	// Server is the server's KEXINIT; nil when none arrived.
	Server *KexInit
	// ServerErr is why Server is nil; empty when it is set.
	ServerErr string
	// Done is true when the key exchange completed.
	Done bool
	// Negotiated holds what the library agreed with the server; zero unless Done.
	Negotiated ssh.NegotiatedAlgorithms
	// Err is the handshake error before authentication; empty on success.
	Err string
	// Negotiation is set when the library found no common algorithm.
	Negotiation *NegotiationFailure
	// TimedOut is true when the exchange hit the time limit.
	TimedOut bool
	// GotReply is true once the server's key exchange reply (with its host
	// key) arrived.
	GotReply bool
	// LibraryLists is true when the library had to use its own algorithm
	// lists because it implements none of the client's in some category.
	LibraryLists bool
	// BytesAfterKexInit counts bytes the server sent after its KEXINIT,
	// before the failure or the end of the exchange.
	BytesAfterKexInit int64
	// Elapsed is the duration of the exchange.
	Elapsed time.Duration
}

// NegotiationFailure is the library's AlgorithmNegotiationError, as data.
type NegotiationFailure struct {
	What   string
	Client []string
	Server []string
}

// PresentedKey is the host key the server proved it holds.
type PresentedKey struct {
	Key         ssh.PublicKey `json:"-"`
	Type        string
	Fingerprint string
	// IsCert is true for a host certificate; CAFingerprint is its signer.
	IsCert        bool
	CAFingerprint string
	CAKey         ssh.PublicKey `json:"-"`
	// BaseKey is the key a certificate certifies; nil for a plain key.
	BaseKey ssh.PublicKey `json:"-"`
}

// KeyResult is what the server said about one client key.
type KeyResult struct {
	Key ClientKey
	// Result is "accepted", "refused", "no-signature-algorithm" (no query
	// could be sent: no signature algorithm in common), "skipped" (the
	// client's PubkeyAcceptedAlgorithms excludes the type) or "untried"
	// (never reached).
	Result string
	// Conn is the connection number (1-based) and Position the query's
	// position in it; 0 when not queried.
	Conn, Position int
	// Algorithm is the signature algorithm the query named.
	Algorithm string
}

// AuthFacts is what the server said about authentication.
type AuthFacts struct {
	// Reached is true when the probe got as far as authentication.
	Reached bool
	// Methods are the methods the server offers after "none".
	Methods []string
	// NoneAccepted is true when the server let us in without credentials.
	NoneAccepted bool
	// Banner is the server's SSH_MSG_USERAUTH_BANNER text (raw; escape it).
	Banner string
	// Keys are per-key results, in ssh's order.
	Keys []KeyResult
	// Disconnects are disconnect messages received during auth, per connection.
	Disconnects []string
	// RefusedBeforeDisconnect is the number of keys the first connection
	// refused, the one the disconnect answered included: the server's
	// MaxAuthTries. 0 when it never disconnected.
	RefusedBeforeDisconnect int
	// Connections is the number of connections the auth probe used.
	Connections int
	// Err is an unexpected error; empty when the probe finished.
	Err string
	// SHA1Only are RSA keys the server refused with the client's signature
	// algorithms but accepts with ssh-rsa (SHA-1), which the client disables;
	// nil when not asked.
	SHA1Only []ClientKey
	// Refused is why the probe stopped before authenticating (the host key
	// gate); empty when it did not.
	Refused string
	// Elapsed is the time spent in authentication.
	Elapsed time.Duration
}

// Accepted returns the first accepted key result, or nil.
func (a AuthFacts) Accepted() *KeyResult {
	for i := range a.Keys {
		if a.Keys[i].Result == "accepted" {
			return &a.Keys[i]
		}
	}
	return nil
}

// SSHFacts is everything the SSH layers found.
type SSHFacts struct {
	Kex     KexFacts
	HostKey *PresentedKey
	Auth    AuthFacts
}

var (
	errAccepted = errors.New("probe: key accepted")
	errDone     = errors.New("probe: auth probe finished")
	errNoPubkey = errors.New("probe: publickey not offered")
)

// ProbeSSH runs the key exchange, records the host key, and queries the
// authentication methods and keys, on conn (whose banner was read into b).
// It never signs: a key's acceptance is learnt from SSH_MSG_USERAUTH_PK_OK.
func ProbeSSH(ctx context.Context, conn net.Conn, b BannerFacts, o SSHOptions) SSHFacts {
	var f SSHFacts
	q := &authQuery{opts: o, keys: o.Keys}
	q.results = make([]KeyResult, len(o.Keys))
	for i := range q.results {
		q.results[i] = KeyResult{Key: o.Keys[i], Result: "untried"}
	}
	kex, hk, more := q.runConn(ctx, conn, b, true)
	f.Kex, f.HostKey = kex, hk
	for more && q.conns < 4 && o.Redial != nil && ctx.Err() == nil {
		c, b2, err := o.Redial(ctx)
		if err != nil {
			q.auth.Err = "reconnecting for the remaining keys: " + err.Error()
			break
		}
		_, _, more = q.runConn(ctx, c, b2, false)
	}
	q.auth.Keys = q.results
	f.Auth = q.auth
	return f
}

type authQuery struct {
	opts    SSHOptions
	keys    []ClientKey
	results []KeyResult
	auth    AuthFacts
	conns   int
	next    int // index of the next key to query
}

// runConn runs one SSH connection. It reports whether keys remain that a
// disconnect kept from being queried.
func (q *authQuery) runConn(ctx context.Context, conn net.Conn, b BannerFacts, first bool) (KexFacts, *PresentedKey, bool) {
	defer conn.Close()
	q.conns++
	q.auth.Connections = q.conns
	connNo := q.conns
	var kf KexFacts
	var hk *PresentedKey
	timeout := q.opts.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	tc := newTapConn(conn, append(b.identLine(), b.rest...), []byte(ClientIdent+"\r\n"))
	// The library reads the identification from the replay, then the
	// server's KEXINIT follows: everything clear text is in the tap.
	identLen := len(b.identLine())
	_ = tc.SetDeadline(time.Now().Add(timeout))
	stop := context.AfterFunc(ctx, func() { _ = tc.SetDeadline(time.Now()) })
	defer stop()

	cfg := &ssh.ClientConfig{
		User:          q.opts.User,
		ClientVersion: ClientIdent,
		Timeout:       timeout,
	}
	var libraryLists bool
	cfg.KeyExchanges, libraryLists = usable(q.opts.KexAlgorithms, libKex())
	cfg.Ciphers, kf.LibraryLists = usable(q.opts.Ciphers, libCiphers())
	libraryLists = libraryLists || kf.LibraryLists
	cfg.MACs, kf.LibraryLists = usable(q.opts.MACs, libMACs())
	kf.LibraryLists = kf.LibraryLists || libraryLists
	var hkLib bool
	cfg.HostKeyAlgorithms, hkLib = usable(q.opts.HostKeyAlgorithms, libHostKeys())
	kf.LibraryLists = kf.LibraryLists || hkLib

	start := time.Now()
	cfg.HostKeyCallback = func(_ string, _ net.Addr, key ssh.PublicKey) error {
		kf.GotReply = true
		kf.Elapsed = time.Since(start)
		hk = presented(key)
		_ = tc.SetDeadline(time.Now().Add(timeout))
		if q.opts.HostKeyGate != nil {
			if err := q.opts.HostKeyGate(hk); err != nil {
				q.auth.Refused = err.Error()
				return err
			}
		}
		return nil
	}
	cfg.BannerCallback = func(msg string) error {
		if len(q.auth.Banner) < 4096 {
			q.auth.Banner += msg
		}
		return nil
	}
	more := false
	position := 0
	var pending *KeyResult
	var pendingWrites int
	cfg.AuthCallback = func(ac *ssh.ClientAuthContext) (ssh.AuthMethod, error) {
		_ = tc.SetDeadline(time.Now().Add(timeout))
		if !q.auth.Reached {
			q.auth.Reached = true
			q.auth.Methods = ac.AllowedMethods
			kf.Negotiated = ac.Algorithms
		}
		if pending != nil {
			switch {
			case pending.Result == "accepted":
				return nil, errAccepted
			case tc.Writes() == pendingWrites:
				pending.Result = "no-signature-algorithm"
				pending.Position = 0
			default:
				pending.Result = "refused"
			}
			pending = nil
		}
		if q.opts.SkipAuth || q.opts.Keys == nil {
			return nil, errDone
		}
		if !slices.Contains(ac.AllowedMethods, "publickey") {
			return nil, errNoPubkey
		}
		for q.next < len(q.keys) {
			i := q.next
			q.next++
			k := q.keys[i]
			algos := sigAlgorithms(k.Type, q.opts.PubkeyAlgorithms)
			if len(algos) == 0 {
				q.results[i].Result = "skipped"
				continue
			}
			position++
			pending = &q.results[i]
			pending.Conn, pending.Position = connNo, position
			pendingWrites = tc.Writes()
			return ssh.PublicKeys(&querySigner{pub: k.Key, algos: algos, result: pending}), nil
		}
		return nil, errDone
	}
	sc, chans, reqs, err := ssh.NewClientConn(tc, conn.RemoteAddr().String(), cfg)
	if kf.Elapsed == 0 {
		kf.Elapsed = time.Since(start)
	}
	q.auth.Elapsed += time.Since(start) - kf.Elapsed
	if err == nil {
		// The server let us in with "none" (or a method not needing keys).
		q.auth.Reached = true
		q.auth.NoneAccepted = true
		kf.Done = true
		go ssh.DiscardRequests(reqs)
		go func() {
			for c := range chans {
				_ = c.Reject(ssh.Prohibited, "probe")
			}
		}()
		sc.Close()
		return kf, hk, false
	}

	stream := tc.stream()
	if len(stream) >= identLen {
		kex, perr := FindKexInit(stream[identLen:])
		switch {
		case perr == nil:
			kf.Server = kex
		case errors.Is(perr, errShort):
			kf.ServerErr = "the server's KEXINIT never arrived in full"
		default:
			kf.ServerErr = perr.Error()
		}
	}
	if kf.Server != nil {
		kf.BytesAfterKexInit = max(0, int64(len(stream))-int64(identLen)-kexInitLen(stream[identLen:]))
	}

	switch {
	case errors.Is(err, errAccepted), errors.Is(err, errDone), errors.Is(err, errNoPubkey):
		kf.Done = true
	case q.auth.Refused != "":
		kf.Done = true
	case q.auth.Reached:
		kf.Done = true
		if pending != nil {
			// The connection ended while a query was outstanding. sshd
			// disconnects with "Too many authentication failures" in answer
			// to the query that reached MaxAuthTries, so that key was
			// refused; any other ending leaves it untried.
			msg := err.Error()
			q.auth.Disconnects = append(q.auth.Disconnects, msg)
			tooMany := strings.Contains(strings.ToLower(msg), "too many authentication failures")
			if tooMany {
				pending.Result = "refused"
			} else {
				pending.Result, pending.Conn, pending.Position = "untried", 0, 0
				q.next-- // ask again on the next connection
			}
			if first {
				for _, r := range q.results {
					if r.Conn == connNo && r.Result == "refused" {
						q.auth.RefusedBeforeDisconnect++
					}
				}
			}
			more = q.next < len(q.keys) && isDisconnect(err) && (tooMany || position > 1)
			if !isDisconnect(err) {
				q.auth.Err = msg
			}
		} else {
			q.auth.Err = err.Error()
		}
	default:
		kf.Err = err.Error()
		var ne *ssh.AlgorithmNegotiationError
		if errors.As(err, &ne) {
			kf.Negotiation = &NegotiationFailure{What: ne.What, Client: ne.SupportedAlgorithms, Server: ne.RequestedAlgorithms}
		}
		var nerr net.Error
		if errors.As(err, &nerr) && nerr.Timeout() {
			kf.TimedOut = true
		}
	}
	return kf, hk, more
}

// isDisconnect reports whether err is an SSH_MSG_DISCONNECT from the
// server. The library's disconnect type is unexported; its message format
// ("ssh: disconnect, reason N: ...") is stable.
func isDisconnect(err error) bool {
	return strings.Contains(err.Error(), "ssh: disconnect, reason ")
}

func kexInitLen(stream []byte) int64 {
	var total int64
	for range 16 {
		payload, n, err := ParsePacket(stream)
		if err != nil {
			return total
		}
		total += int64(n)
		if len(payload) > 0 && payload[0] == msgKexInit {
			return total
		}
		stream = stream[n:]
	}
	return total
}

func presented(key ssh.PublicKey) *PresentedKey {
	p := &PresentedKey{Key: key, Type: key.Type(), Fingerprint: ssh.FingerprintSHA256(key)}
	if c, ok := key.(*ssh.Certificate); ok {
		p.IsCert = true
		p.CAKey = c.SignatureKey
		p.CAFingerprint = ssh.FingerprintSHA256(c.SignatureKey)
		p.BaseKey = c.Key
	}
	return p
}

// querySigner proves acceptance without signing: the library asks it to
// sign only after the server answered SSH_MSG_USERAUTH_PK_OK, and it
// refuses, which ends the attempt.
type querySigner struct {
	pub    ssh.PublicKey
	algos  []string
	result *KeyResult
}

func (s *querySigner) PublicKey() ssh.PublicKey { return s.pub }
func (s *querySigner) Sign(_ io.Reader, _ []byte) (*ssh.Signature, error) {
	s.result.Result = "accepted"
	return nil, errAccepted
}
func (s *querySigner) SignWithAlgorithm(_ io.Reader, _ []byte, algo string) (*ssh.Signature, error) {
	s.result.Result = "accepted"
	s.result.Algorithm = algo
	return nil, errAccepted
}
func (s *querySigner) Algorithms() []string { return s.algos }

// sigAlgorithms returns the signature algorithms the client allows for a key
// type, in the client's order, as the library names them.
func sigAlgorithms(keyType string, accepted []string) []string {
	var cands []string
	switch keyType {
	case ssh.KeyAlgoRSA:
		cands = []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	default:
		cands = []string{keyType}
	}
	if len(accepted) == 0 {
		return cands
	}
	var out []string
	for _, a := range accepted {
		if slices.Contains(cands, a) && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

// usable intersects the client's list with what the library implements,
// keeping the client's order. When nothing is left it falls back to the
// library's own list and says so.
func usable(client, lib []string) ([]string, bool) {
	if len(client) == 0 {
		return nil, false
	}
	var out []string
	for _, a := range client {
		if slices.Contains(lib, a) {
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		return lib, true
	}
	return out, false
}

func libKex() []string {
	return slices.Concat(ssh.SupportedAlgorithms().KeyExchanges, ssh.InsecureAlgorithms().KeyExchanges)
}
func libCiphers() []string {
	return slices.Concat(ssh.SupportedAlgorithms().Ciphers, ssh.InsecureAlgorithms().Ciphers)
}
func libMACs() []string {
	return slices.Concat(ssh.SupportedAlgorithms().MACs, ssh.InsecureAlgorithms().MACs)
}
func libHostKeys() []string {
	return slices.Concat(ssh.SupportedAlgorithms().HostKeys, ssh.InsecureAlgorithms().HostKeys)
}

// DisconnectReason extracts the reason code from a disconnect message; 0
// when there is none.
func DisconnectReason(msg string) int {
	_, rest, ok := strings.Cut(msg, "reason ")
	if !ok {
		return 0
	}
	num, _, _ := strings.Cut(rest, ":")
	n, _ := strconv.Atoi(num)
	return n
}

// String renders a key for evidence: "ssh-ed25519 SHA256:... (~/.ssh/id_ed25519)".
func (k ClientKey) String() string {
	where := k.Path
	if where == "" {
		where = "agent"
		if k.Comment != "" {
			where = "agent: " + k.Comment
		}
	} else if k.InAgent {
		where += ", in agent"
	}
	return fmt.Sprintf("%s %s (%s)", k.Type, k.Fingerprint, where)
}
