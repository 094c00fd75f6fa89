package dest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Options are the command-line inputs that shape resolution, as in ssh.
type Options struct {
	// ConfigFile is ssh's -F: a file, "none" for no configuration, or empty
	// for the defaults (~/.ssh/config and /etc/ssh/ssh_config).
	ConfigFile string
	// Port and User override the configuration (ssh's -p and -l); zero
	// values mean not given.
	Port int
	User string
	// Identities are ssh's -i files, added to the configuration's.
	Identities []string
	// Extra are ssh's -o options ("Key=Value" or "Key Value").
	Extra []string
	// Family is 4 or 6 for ssh's -4/-6; 0 means not given.
	Family int
	// SSH is the ssh binary to run with -G; empty means look it up on PATH.
	// "-" disables it and forces the built-in parser (tests use this).
	SSH string
	// Home is the user's home directory; empty means $HOME or the passwd entry.
	Home string
	// Env reads the environment; nil means os.Getenv.
	Env func(string) string
}

// Config is the effective client configuration for one destination, keyed
// by lower-case option name exactly as `ssh -G` prints it. Options that may
// appear several times (identityfile) keep every value in order.
type Config map[string][]string

// Get returns the first value of key, or "".
func (c Config) Get(key string) string {
	if v := c[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// Resolved is a destination after the ssh client configuration was applied:
// what ssh would really connect to, as whom, and with what.
type Resolved struct {
	Dest
	// Alias is the host as given, used for Host matching; HostName is what
	// is resolved and connected to.
	Alias    string
	HostName string
	Port     int
	User     string
	// IdentityFiles are the identity files in ssh's order, tokens and ~
	// expanded. They need not exist.
	IdentityFiles []string
	// IdentityFilesExplicit is true when the configuration or -i named
	// identity files (rather than ssh's default list).
	IdentityFilesExplicit bool
	IdentitiesOnly        bool
	// IdentityAgent is the agent socket path; "none" disables the agent,
	// empty means SSH_AUTH_SOCK.
	IdentityAgent string
	// AddressFamily is "any", "inet" or "inet6".
	AddressFamily string
	// ConnectTimeout is 0 when not set.
	ConnectTimeout time.Duration
	// ProxyJump is the jump host specification; empty means direct.
	ProxyJump string
	// ProxyCommand is set when ssh connects through a command.
	ProxyCommand string
	// Algorithm lists, in the client's preference order.
	KexAlgorithms            []string
	HostKeyAlgorithms        []string
	Ciphers                  []string
	MACs                     []string
	PubkeyAcceptedAlgorithms []string
	// Known-hosts files, expanded.
	UserKnownHostsFiles   []string
	GlobalKnownHostsFiles []string
	HostKeyAlias          string
	StrictHostKeyChecking string
	// Authentication switches.
	PubkeyAuthentication         bool
	PasswordAuthentication       bool
	KbdInteractiveAuthentication bool
	BatchMode                    bool
	PreferredAuthentications     []string
	// Source says how the configuration was read: "ssh -G", "built-in parser"
	// or "none" (-F none).
	Source string
	// Notes are caveats of the resolution (unsupported Match criteria, ssh
	// missing), for debug output and evidence.
	Notes []string
	// Raw is the full effective configuration.
	Raw Config
}

// ErrSSH is returned when `ssh -G` refused the destination or configuration.
var ErrSSH = errors.New("ssh rejected the configuration")

// Resolve applies the ssh client configuration to d.
func Resolve(ctx context.Context, d Dest, o Options) (*Resolved, error) {
	if o.Env == nil {
		o.Env = os.Getenv
	}
	if o.Home == "" {
		o.Home = homeDir(o.Env)
	}
	if o.ConfigFile != "" && o.ConfigFile != "none" {
		if _, err := os.Stat(o.ConfigFile); err != nil {
			return nil, &Error{Input: o.ConfigFile, Msg: "cannot read the ssh config file: " + errText(err), Hint: "give an existing file to -F, or -F none"}
		}
	}
	if o.Port == 0 {
		o.Port = d.Port
	}
	if o.User == "" {
		o.User = d.User
	}
	var cfg Config
	var err error
	source := "ssh -G"
	sshBin := o.SSH
	if sshBin == "" {
		sshBin, _ = exec.LookPath("ssh")
	}
	if sshBin != "" && sshBin != "-" {
		cfg, err = runSSHG(ctx, sshBin, d.Host, o)
		if err != nil {
			return nil, err
		}
	} else {
		source = "built-in parser"
		cfg, err = Evaluate(d.Host, o)
		if err != nil {
			return nil, err
		}
	}
	if o.ConfigFile == "none" {
		source += " (-F none)"
	}
	r := fromConfig(d, cfg, o)
	r.Source = source
	r.Notes = append(r.Notes, cfg[NotesKey]...)
	if sshBin == "" || sshBin == "-" {
		r.Notes = append(r.Notes, "ssh is not installed; the configuration was read by sshdoctor's own parser")
	}
	return r, nil
}

func runSSHG(ctx context.Context, bin, host string, o Options) (Config, error) {
	args := []string{"-G"}
	if o.ConfigFile != "" {
		args = append(args, "-F", o.ConfigFile)
	}
	if o.Port != 0 {
		args = append(args, "-p", strconv.Itoa(o.Port))
	}
	if o.User != "" {
		args = append(args, "-l", o.User)
	}
	for _, i := range o.Identities {
		args = append(args, "-i", i)
	}
	for _, x := range o.Extra {
		args = append(args, "-o", x)
	}
	switch o.Family {
	case 4:
		args = append(args, "-4")
	case 6:
		args = append(args, "-6")
	}
	args = append(args, "--", host)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "HOME="+o.Home)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		msg = strings.TrimSpace(strings.ReplaceAll(msg, "Pseudo-terminal will not be allocated because stdin is not a terminal.", ""))
		if msg == "" {
			msg = err.Error()
		}
		return nil, &Error{Input: host, Msg: "ssh -G: " + firstLine(msg), Hint: "fix the ssh client configuration (see the file and line above), or pass -F none"}
	}
	return ParseG(out), nil
}

// ParseG parses the output of `ssh -G`.
func ParseG(out []byte) Config {
	cfg := Config{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), " ")
		if k == "" {
			continue
		}
		k = strings.ToLower(k)
		cfg[k] = append(cfg[k], v)
	}
	return cfg
}

func fromConfig(d Dest, c Config, o Options) *Resolved {
	r := &Resolved{Dest: d, Alias: d.Host, Raw: c}
	r.HostName = c.Get("hostname")
	if r.HostName == "" {
		r.HostName = d.Host
	}
	r.Port, _ = strconv.Atoi(c.Get("port"))
	if r.Port == 0 {
		r.Port = 22
	}
	r.User = c.Get("user")
	if r.User == "" {
		r.User = localUser(o.Env)
	}
	tokens := tokenMap(r, o)
	for _, f := range c["identityfile"] {
		r.IdentityFiles = append(r.IdentityFiles, expand(f, o.Home, tokens))
	}
	r.IdentityFilesExplicit = !isDefaultIdentityList(c["identityfile"]) || len(o.Identities) > 0
	r.IdentitiesOnly = yes(c.Get("identitiesonly"))
	r.IdentityAgent = c.Get("identityagent")
	if r.IdentityAgent != "" && r.IdentityAgent != "none" && r.IdentityAgent != "SSH_AUTH_SOCK" {
		r.IdentityAgent = expand(r.IdentityAgent, o.Home, tokens)
	}
	if r.IdentityAgent == "SSH_AUTH_SOCK" {
		r.IdentityAgent = ""
	}
	r.AddressFamily = c.Get("addressfamily")
	if r.AddressFamily == "" {
		r.AddressFamily = "any"
	}
	if n, err := strconv.Atoi(c.Get("connecttimeout")); err == nil && n > 0 {
		r.ConnectTimeout = time.Duration(n) * time.Second
	}
	if pj := c.Get("proxyjump"); pj != "" && pj != "none" {
		r.ProxyJump = pj
	}
	if pc := c.Get("proxycommand"); pc != "" && pc != "none" {
		r.ProxyCommand = pc
	}
	r.KexAlgorithms = list(c.Get("kexalgorithms"))
	r.HostKeyAlgorithms = list(c.Get("hostkeyalgorithms"))
	r.Ciphers = list(c.Get("ciphers"))
	r.MACs = list(c.Get("macs"))
	r.PubkeyAcceptedAlgorithms = list(c.Get("pubkeyacceptedalgorithms"))
	if r.PubkeyAcceptedAlgorithms == nil {
		r.PubkeyAcceptedAlgorithms = list(c.Get("pubkeyacceptedkeytypes"))
	}
	for _, f := range strings.Fields(c.Get("userknownhostsfile")) {
		r.UserKnownHostsFiles = append(r.UserKnownHostsFiles, expand(f, o.Home, tokens))
	}
	for _, f := range strings.Fields(c.Get("globalknownhostsfile")) {
		r.GlobalKnownHostsFiles = append(r.GlobalKnownHostsFiles, expand(f, o.Home, tokens))
	}
	if a := c.Get("hostkeyalias"); a != "" && a != "none" {
		r.HostKeyAlias = a
	}
	r.StrictHostKeyChecking = c.Get("stricthostkeychecking")
	r.PubkeyAuthentication = c.Get("pubkeyauthentication") != "no" && c.Get("pubkeyauthentication") != "false"
	r.PasswordAuthentication = c.Get("passwordauthentication") != "no"
	r.KbdInteractiveAuthentication = c.Get("kbdinteractiveauthentication") != "no"
	r.BatchMode = yes(c.Get("batchmode"))
	r.PreferredAuthentications = list(c.Get("preferredauthentications"))
	return r
}

// defaultIdentities is ssh's default IdentityFile list, as `ssh -G` prints it.
var defaultIdentities = []string{
	"~/.ssh/id_rsa", "~/.ssh/id_ecdsa", "~/.ssh/id_ecdsa_sk", "~/.ssh/id_ed25519",
	"~/.ssh/id_ed25519_sk", "~/.ssh/id_xmss", "~/.ssh/id_dsa",
}

func isDefaultIdentityList(files []string) bool {
	for _, f := range files {
		found := false
		for _, d := range defaultIdentities {
			if f == d {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func yes(v string) bool { return v == "yes" || v == "true" }

func list(v string) []string {
	if v == "" || v == "none" {
		return nil
	}
	return strings.Split(v, ",")
}

func tokenMap(r *Resolved, o Options) map[byte]string {
	lhost, _ := os.Hostname()
	short, _, _ := strings.Cut(lhost, ".")
	return map[byte]string{
		'%': "%",
		'd': o.Home,
		'h': r.HostName,
		'n': r.Alias,
		'p': strconv.Itoa(r.Port),
		'r': r.User,
		'u': localUser(o.Env),
		'i': strconv.Itoa(os.Getuid()),
		'L': short,
		'l': lhost,
		'k': hostKeyAliasOr(r.Raw.Get("hostkeyalias"), r.Alias),
	}
}

// expand replaces a leading ~ and %-tokens the way ssh does for file names.
func expand(s, home string, tokens map[byte]string) string {
	if s == "~" {
		s = home
	} else if strings.HasPrefix(s, "~/") {
		s = filepath.Join(home, s[2:])
	}
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+1 < len(s) {
			if v, ok := tokens[s[i+1]]; ok {
				b.WriteString(v)
				i++
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// hostKeyAliasOr is ssh's %k: the HostKeyAlias, or the host as typed.
func hostKeyAliasOr(alias, host string) string {
	if alias != "" && alias != "none" {
		return alias
	}
	return host
}

func homeDir(env func(string) string) string {
	if h := env("HOME"); h != "" {
		return h
	}
	if u, err := user.Current(); err == nil {
		return u.HomeDir
	}
	return "/"
}

func localUser(env func(string) string) string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	if u := env("USER"); u != "" {
		return u
	}
	return "root"
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

func errText(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// String renders the essentials for the ladder: "bob@10.0.0.5 port 22".
func (r *Resolved) String() string {
	s := fmt.Sprintf("%s@%s port %d", r.User, r.HostName, r.Port)
	if r.HostName != r.Alias {
		s += " (Host " + r.Alias + ")"
	}
	return s
}
