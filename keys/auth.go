package keys

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/sshdoctor/sshdoctor/probe"
	"github.com/sshdoctor/sshdoctor/report"
)

// authKey is one key to offer, with the signer that proves it.
type authKey struct {
	key    probe.ClientKey
	signer ssh.Signer
}

// authPlan drives authentication through ssh.ClientConfig.AuthCallback: one
// key per attempt in ssh's order, then keyboard-interactive and password
// typed at the terminal. Driving it one attempt at a time is what lets a
// key that cannot be used (an encrypted file and no terminal) be skipped
// instead of ending the login, and what tells which key got in.
type authPlan struct {
	user, host string
	keys       []authKey
	order      []string // methods in preference order
	prompt     Prompter
	pause      func() func()

	nextKey    int
	kbdTries   int
	passTries  int
	promptDead bool // the terminal failed once; do not ask again

	current string   // the method of the attempt under way
	key     *authKey // its key, for publickey
	tried   []string // what was tried, for the error message
	allowed []string // the methods the server last allowed
	notes   []string
}

// errNoMethodLeft ends authentication when nothing is left to try.
var errNoMethodLeft = errors.New("keys: no authentication method left to try")

// maxPrompts is ssh's NumberOfPasswordPrompts default.
const maxPrompts = 3

func (a *authPlan) next(ctx *ssh.ClientAuthContext) (ssh.AuthMethod, error) {
	a.allowed = ctx.AllowedMethods
	for _, m := range a.order {
		if !slices.Contains(ctx.AllowedMethods, m) {
			continue
		}
		switch m {
		case "publickey":
			if a.nextKey < len(a.keys) {
				k := &a.keys[a.nextKey]
				a.nextKey++
				a.current, a.key = m, k
				a.tried = append(a.tried, k.key.Fingerprint)
				return ssh.PublicKeys(k.signer), nil
			}
		case "keyboard-interactive":
			if a.prompt != nil && !a.promptDead && a.kbdTries < maxPrompts {
				a.kbdTries++
				a.current, a.key = m, nil
				a.tried = append(a.tried, m)
				return ssh.KeyboardInteractive(a.challenge), nil
			}
		case "password":
			if a.prompt != nil && !a.promptDead && a.passTries < maxPrompts {
				a.passTries++
				a.current, a.key = m, nil
				a.tried = append(a.tried, m)
				return ssh.PasswordCallback(a.password), nil
			}
		}
	}
	return nil, errNoMethodLeft
}

func (a *authPlan) password() (string, error) {
	restore := a.pause()
	defer restore()
	p, err := a.prompt.Secret(fmt.Sprintf("%s@%s's password: ", report.Escape(a.user), report.Escape(a.host)))
	if err != nil {
		a.promptDead = true
		return "", err
	}
	return string(p), nil
}

// challenge answers keyboard-interactive questions at the terminal. The
// questions come from the server, so they are shown escaped.
func (a *authPlan) challenge(name, instruction string, questions []string, echos []bool) ([]string, error) {
	restore := a.pause()
	defer restore()
	if s := strings.TrimSpace(name + "\n" + instruction); s != "" {
		a.prompt.Say(report.Escape(s))
	}
	answers := make([]string, len(questions))
	for i, q := range questions {
		var err error
		if echos[i] {
			answers[i], err = a.prompt.Line(report.Escape(q))
		} else {
			var b []byte
			b, err = a.prompt.Secret(report.Escape(q))
			answers[i] = string(b)
		}
		if err != nil {
			a.promptDead = true
			return nil, err
		}
	}
	return answers, nil
}

// methodOrder is ssh's PreferredAuthentications (default publickey,
// keyboard-interactive, password), less what the configuration turns off.
func methodOrder(preferred []string, pubkey, kbd, password, batch bool) []string {
	if len(preferred) == 0 {
		preferred = []string{"publickey", "keyboard-interactive", "password"}
	}
	var out []string
	for _, m := range preferred {
		switch {
		case m == "publickey" && pubkey,
			m == "keyboard-interactive" && kbd && !batch,
			m == "password" && password && !batch:
			out = append(out, m)
		}
	}
	return out
}

// agentSigners lists the agent's signers by fingerprint. The agent is only
// asked to sign; it is never forwarded to the server.
func agentSigners(a agent.ExtendedAgent) map[string]ssh.Signer {
	out := map[string]ssh.Signer{}
	if a == nil {
		return out
	}
	signers, err := a.Signers()
	if err != nil {
		return out
	}
	for _, s := range signers {
		out[ssh.FingerprintSHA256(s.PublicKey())] = s
	}
	return out
}

// fileSigner proves a key from an identity file, reading the private key
// only when the server has said it would accept that key (the library
// queries before it signs), so a passphrase is asked for only when it
// matters.
type fileSigner struct {
	pub    ssh.PublicKey
	path   string
	algos  []string
	prompt Prompter
	pause  func() func()
	real   ssh.Signer
	err    error        // a failed load is not retried
	note   func(string) // says why a key could not be used
}

func (s *fileSigner) PublicKey() ssh.PublicKey { return s.pub }

func (s *fileSigner) Algorithms() []string { return s.algos }

func (s *fileSigner) Sign(r io.Reader, data []byte) (*ssh.Signature, error) {
	return s.SignWithAlgorithm(r, data, "")
}

func (s *fileSigner) SignWithAlgorithm(r io.Reader, data []byte, algo string) (*ssh.Signature, error) {
	if s.real == nil && s.err == nil {
		s.real, s.err = loadPrivateKey(s.path, s.pub, s.prompt, s.pause)
		if s.err != nil && s.note != nil {
			s.note("the server would accept " + s.path + ", but " + plain(s.err))
		}
	}
	if s.err != nil {
		return nil, s.err
	}
	if as, ok := s.real.(ssh.AlgorithmSigner); ok && algo != "" {
		return as.SignWithAlgorithm(r, data, algo)
	}
	return s.real.Sign(r, data)
}

// loadPrivateKey reads a private key file, asking for its passphrase at the
// terminal when it has one, and checks that it is the key expected.
func loadPrivateKey(path string, want ssh.PublicKey, prompt Prompter, pause func() func()) (ssh.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	s, err := ssh.ParsePrivateKey(data)
	var pm *ssh.PassphraseMissingError
	if errors.As(err, &pm) {
		if prompt == nil {
			return nil, fmt.Errorf("keys: %s is protected by a passphrase, is not in the agent, and there is no terminal to ask for it (ssh-add %s first)", path, path)
		}
		s, err = askPassphrase(path, data, prompt, pause)
	}
	if err != nil {
		return nil, fmt.Errorf("keys: reading %s: %w", path, err)
	}
	if want != nil && !bytes.Equal(s.PublicKey().Marshal(), want.Marshal()) {
		return nil, fmt.Errorf("keys: %s does not hold the key of its .pub file", path)
	}
	return s, nil
}

func askPassphrase(path string, data []byte, prompt Prompter, pause func() func()) (ssh.Signer, error) {
	if pause != nil {
		defer pause()()
	}
	for range maxPrompts {
		pp, err := prompt.Secret(fmt.Sprintf("Enter passphrase for key '%s': ", report.Escape(path)))
		if err != nil {
			return nil, err
		}
		if len(pp) == 0 {
			return nil, errors.New("no passphrase given")
		}
		s, err := ssh.ParsePrivateKeyWithPassphrase(data, pp)
		clear(pp)
		if err == nil {
			return s, nil
		}
		if !errors.Is(err, x509.IncorrectPasswordError) {
			return nil, err
		}
		prompt.Say("Bad passphrase, try again.")
	}
	return nil, errors.New("wrong passphrase")
}

// signatureAlgorithms are the algorithms to sign with for a key type: the
// SHA-2 ones for RSA (ssh-rsa only where the configuration accepts SHA-1,
// as OpenSSH 8.8 and later do), filtered by PubkeyAcceptedAlgorithms.
func signatureAlgorithms(keyType string, accepted []string) []string {
	var algos []string
	switch keyType {
	case ssh.KeyAlgoRSA:
		algos = []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256}
		if slices.Contains(accepted, ssh.KeyAlgoRSA) {
			algos = append(algos, ssh.KeyAlgoRSA)
		}
	default:
		algos = []string{keyType}
	}
	if len(accepted) == 0 {
		return algos
	}
	var out []string
	for _, a := range algos {
		if slices.Contains(accepted, a) {
			out = append(out, a)
		}
	}
	return out
}

// signersFor turns the keys ssh would offer into signers: the agent's for
// keys it holds, lazy file signers for the rest. Keys ssh would refuse to
// use (a private key others can read) are left out, with a note.
func signersFor(ks probe.KeySet, ag map[string]ssh.Signer, accepted []string, prompt Prompter, pause func() func(), note func(string)) ([]authKey, []string) {
	var out []authKey
	var notes []string
	for _, k := range ks.Keys {
		if s, ok := ag[k.Fingerprint]; ok && k.InAgent {
			if _, cert := s.PublicKey().(*ssh.Certificate); !cert && k.Type == ssh.KeyAlgoRSA {
				if as, ok := s.(ssh.AlgorithmSigner); ok {
					if algos := signatureAlgorithms(k.Type, accepted); len(algos) > 0 {
						if ms, err := ssh.NewSignerWithAlgorithms(as, algos); err == nil {
							s = ms
						}
					}
				}
			}
			out = append(out, authKey{key: k, signer: s})
			continue
		}
		if k.Path == "" {
			continue
		}
		if k.BadPerms {
			notes = append(notes, fmt.Sprintf("%s is readable by others (mode %04o); ssh refuses such a key, so sshdoctor does too", k.Path, k.Mode))
			continue
		}
		if _, err := os.Stat(k.Path); err != nil {
			continue // only a .pub: the agent would have had to hold it
		}
		if _, cert := k.Key.(*ssh.Certificate); cert {
			continue
		}
		algos := signatureAlgorithms(k.Type, accepted)
		if len(algos) == 0 {
			notes = append(notes, fmt.Sprintf("%s: PubkeyAcceptedAlgorithms leaves no signature algorithm for its %s key", k.Path, k.Type))
			continue
		}
		out = append(out, authKey{key: k, signer: &fileSigner{pub: k.Key, path: k.Path, algos: algos, prompt: prompt, pause: pause, note: note}})
	}
	for _, s := range ks.Skipped {
		notes = append(notes, "skipped "+s)
	}
	return out, notes
}
