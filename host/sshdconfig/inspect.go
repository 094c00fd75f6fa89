package sshdconfig

import (
	"context"
	"fmt"
)

// DefaultBinary is where sshd is installed on Debian, Ubuntu and Red Hat.
const DefaultBinary = "/usr/sbin/sshd"

// InspectOptions says what Inspect looks at.
type InspectOptions struct {
	// Root is the directory of an offline tree; empty means the live
	// system. Every path is resolved inside it.
	Root string
	// File is the configuration file as sshd sees it; empty means
	// /etc/ssh/sshd_config.
	File string
	// Binary is the sshd binary as sshd sees it; empty means
	// /usr/sbin/sshd.
	Binary string
	// Conn is the connection to cross-check Match evaluation for with
	// `sshd -T` (live only). The zero Conn checks the startup values.
	Conn Conn
	// Runner runs sshd for the live cross-check; nil means ExecRunner{}.
	Runner Runner
	// NoRun disables running sshd even on the live system.
	NoRun bool
	// TreeIsLive makes Inspect treat the tree at Root as the running
	// system: sshd is run (through Runner, which must make sshd see the
	// tree as /) and the privilege separation directory is judged as live.
	// For tests that build a system in a mount namespace.
	TreeIsLive bool
}

// Facts is what the configuration checks need to know about sshd's
// configuration, host keys and privilege separation directory.
type Facts struct {
	// Root is the tree inspected; empty for the live system.
	Root string
	// Live is true when Root is the running system (always when Root is
	// empty): sshd may be run, and /run is judged as it is.
	Live bool
	// File is the main configuration file, as sshd sees it.
	File string
	// Binary is what the sshd binary tells; zero when it was not found
	// (BinaryErr says why).
	Binary    Binary
	BinaryErr error
	// Config is the parsed configuration; nil when it could not be read
	// (Err says why).
	Config *Config
	// Err is a failure of the inspection itself (a file this process may
	// not read); nil when the configuration was read.
	Err error
	// HostKeys are the host key files sshd would load; nil when Config is
	// nil.
	HostKeys []HostKey
	// Privsep is the privilege separation directory.
	Privsep Privsep
	// SSHDTest is the outcome of the real `sshd -t` (live only); nil when
	// it was not run (offline, NoRun, or no sshd binary). SSHDTestErr says
	// why sshd could not be run at all.
	SSHDTest    *TestResult
	SSHDTestErr error
	// Disagreements are the keys where `sshd -T` and our evaluation of
	// Conn differ: bugs of ours, for debug output. Nil when they agree or
	// the cross-check did not run (CrossCheckErr says why, if it tried).
	Disagreements []Disagreement
	CrossCheckErr error
}

// Offline reports whether an offline tree rather than the running system
// was inspected.
func (f *Facts) Offline() bool { return !f.Live }

// Inspect gathers the facts. It never judges: check.SSHDConfig does.
func Inspect(ctx context.Context, o InspectOptions) Facts {
	fsys := RootFS{Dir: o.Root}
	f := Facts{Root: o.Root, File: o.File, Live: o.Root == "" || o.Root == "/" || o.TreeIsLive}
	if f.File == "" {
		f.File = DefaultFile
	}
	bin := o.Binary
	if bin == "" {
		bin = DefaultBinary
	}
	if host, err := fsys.Resolve(bin); err != nil {
		f.BinaryErr = err
	} else {
		f.Binary, f.BinaryErr = ReadBinary(host)
	}
	cfg, err := Load(Options{FS: fsys, File: f.File, Version: f.Binary.Version})
	f.Config, f.Err = cfg, err
	privsepDir := f.Binary.PrivsepDir
	if privsepDir == "" {
		// No binary to read it from: take the first known directory the
		// tree has (Red Hat's is not under /run, so it exists offline).
		for _, d := range privsepDirs {
			if fi, err := fsys.Stat(d); err == nil && fi.IsDir() {
				privsepDir = d
				break
			}
		}
	}
	f.Privsep = InspectPrivsep(fsys, privsepDir, f.Offline())
	if cfg == nil {
		return f
	}
	f.HostKeys = InspectHostKeys(fsys, cfg.Startup())
	if f.Offline() || o.NoRun || f.BinaryErr != nil {
		return f
	}
	sshd := SSHD{Path: bin, Runner: o.Runner}
	res, err := sshd.Test(ctx, f.File)
	if err != nil {
		f.SSHDTestErr = err
		return f
	}
	f.SSHDTest = &res
	var ours []string
	for _, p := range cfg.Errors() {
		ours = append(ours, p.Message)
	}
	switch {
	case res.OK && len(ours) > 0:
		f.Disagreements = append(f.Disagreements, Disagreement{Key: "sshd -t", Ours: ours, SSHD: []string{"ok"}})
	case !res.OK && len(ours) == 0 && len(res.Messages) > 0:
		// sshd names a configuration line we found nothing wrong with.
		f.Disagreements = append(f.Disagreements, Disagreement{Key: "sshd -t", Ours: []string{"ok"}, SSHD: []string{res.Output}})
	}
	if !res.OK {
		// sshd -T fails the same way; there is nothing to compare.
		return f
	}
	conn := o.Conn
	if conn.LocalPort == 0 {
		// sshd -T refuses a configuration with Match LocalPort unless the
		// test names a port; a real connection always has one.
		conn.LocalPort = cfg.Startup().Ports()[0]
	}
	dump, err := sshd.Dump(ctx, f.File, conn)
	if err != nil {
		f.CrossCheckErr = err
		return f
	}
	f.Disagreements = append(f.Disagreements, cfg.Effective(conn).Compare(dump)...)
	return f
}

// String summarizes the facts for debug output.
func (f *Facts) String() string {
	if f.Config == nil {
		return fmt.Sprintf("sshd config %s: not read: %v", f.File, f.Err)
	}
	return fmt.Sprintf("sshd config %s: %d files, %d directives, %d problems, %d host keys, privsep %s",
		f.File, len(f.Config.Files), len(f.Config.Directives), len(f.Config.Problems), len(f.HostKeys), f.Privsep.Path)
}
