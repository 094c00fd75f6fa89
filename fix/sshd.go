package fix

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/sshdoctor/sshdoctor/host/sshdconfig"
	"github.com/sshdoctor/sshdoctor/probe"
)

// SSHDValidator validates sshd configuration candidates with the real
// `sshd -t`, exactly where they will live: in a private mount namespace the
// directories holding them are replaced by copies that include the
// candidates, so Include paths, drop-ins and host keys resolve as they will
// after the change, and nothing outside the namespace changes.
type SSHDValidator struct {
	// Root is "/" for the live system, or the offline tree; sshd then runs
	// chrooted into it.
	Root string
	// Config is the main sshd_config path on the inspected system
	// (default /etc/ssh/sshd_config).
	Config string
	// SSHD is the sshd binary on the inspected system (default
	// /usr/sbin/sshd).
	SSHD string
}

// Validate implements Options.Validate.
func (v SSHDValidator) Validate(ctx context.Context, cands map[string][]byte) error {
	root := v.Root
	if root == "" {
		root = "/"
	}
	conf := v.Config
	if conf == "" {
		conf = "/etc/ssh/sshd_config"
	}
	sshd := v.SSHD
	if sshd == "" {
		sshd = "/usr/sbin/sshd"
	}
	if _, err := os.Stat(filepath.Join(root, sshd)); err != nil {
		return fmt.Errorf("cannot validate: %s is not installed", sshd)
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		return errors.New("cannot validate: unshare (util-linux) is not installed")
	}
	tmp, err := os.MkdirTemp("", "sshdoctor-validate-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := os.Chmod(tmp, 0o700); err != nil {
		return err
	}
	// One copy per directory holding a candidate (paths here are paths on
	// this machine, already under root).
	dirs := map[string]string{}
	var order []string
	for path := range cands {
		d := filepath.Dir(path)
		if _, ok := dirs[d]; ok {
			continue
		}
		cp := filepath.Join(tmp, fmt.Sprintf("d%d", len(dirs)))
		if err := copyDir(d, cp); err != nil {
			return fmt.Errorf("cannot validate: copying %s: %w", d, err)
		}
		dirs[d] = cp
		order = append(order, d)
	}
	sort.Strings(order) // parents before children, so a child mount stays visible
	for path, data := range cands {
		dst := filepath.Join(dirs[filepath.Dir(path)], filepath.Base(path))
		mode := os.FileMode(0o644)
		if st, err := os.Stat(path); err == nil {
			mode = st.Mode().Perm()
		}
		if err := os.WriteFile(dst, data, mode); err != nil {
			return err
		}
	}
	// sh -c SCRIPT sh ROOT SSHD CONF DIR1 COPY1 DIR2 COPY2 ...
	script := `set -e
root=$1 sshd=$2 conf=$3; shift 3
while [ $# -gt 0 ]; do mount --bind "$2" "$1"; shift 2; done
if [ ! -d "$root/run/sshd" ]; then mount -t tmpfs sshdoctor "$root/run" && mkdir -p "$root/run/sshd"; fi
if [ "$root" = / ]; then exec "$sshd" -t -f "$conf"; fi
exec chroot "$root" "$sshd" -t -f "$conf"`
	args := []string{"--mount", "--propagation", "private", "/bin/sh", "-c", script, "sh", root, sshd, conf}
	for _, d := range order {
		args = append(args, d, dirs[d])
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "unshare", args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		if root != "/" && (strings.Contains(out.String(), "chroot: failed to run command") || strings.Contains(out.String(), "cannot execute")) {
			// The tree's sshd cannot run here (another architecture, or
			// libraries missing): judge with sshdoctor's own parser.
			return v.validateWithParser(cands)
		}
		msg := strings.TrimSpace(out.String())
		// sshd names the file it read: show the real path, not the copy's.
		for d, cp := range dirs {
			msg = strings.ReplaceAll(msg, cp, d)
		}
		if msg == "" {
			msg = err.Error()
		}
		return fmt.Errorf("sshd -t: %s", msg)
	}
	return nil
}

// validateWithParser checks the candidates with sshdoctor's model of
// sshd's parser, for trees whose sshd cannot be run.
func (v SSHDValidator) validateWithParser(cands map[string][]byte) error {
	files := map[string][]byte{}
	rfs := sshdconfig.RootFS{Dir: v.Root}
	for p, data := range cands {
		// cands are paths on this machine; the parser wants them as sshd sees them.
		rel, err := filepath.Rel(v.Root, p)
		if err != nil || strings.HasPrefix(rel, "..") {
			return fmt.Errorf("cannot validate %s: outside the tree", p)
		}
		files["/"+rel] = data
	}
	cfg, err := sshdconfig.Load(sshdconfig.Options{FS: overlayFS{base: rfs, files: files}, File: v.Config})
	if err != nil {
		return err
	}
	if errs := cfg.Errors(); len(errs) > 0 {
		var msgs []string
		for _, e := range errs {
			msgs = append(msgs, e.Message)
		}
		return fmt.Errorf("sshdoctor's parser (the tree's sshd cannot run here): %s", strings.Join(msgs, "; "))
	}
	return nil
}

// copyDir copies the regular files, symlinks and subdirectories of src into
// dst, keeping modes and owners (host keys must stay private for sshd -t).
func copyDir(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			if err := os.MkdirAll(target, info.Mode().Perm()); err != nil {
				return err
			}
		case info.Mode()&fs.ModeSymlink != 0:
			l, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(l, target)
		case info.Mode().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if err := os.WriteFile(target, data, info.Mode().Perm()); err != nil {
				return err
			}
		default:
			return nil
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			_ = os.Lchown(target, int(st.Uid), int(st.Gid))
		}
		return os.Chmod(target, info.Mode().Perm())
	})
}

// HandshakeVerifier checks that sshd answers on each port with a complete
// key exchange, retrying for a while since a restarted sshd takes a moment.
type HandshakeVerifier struct {
	// Addrs are the addresses to connect to; empty means 127.0.0.1.
	Addrs []netip.Addr
	// Within is how long to keep trying; zero means 10s.
	Within time.Duration
}

// VerifyAddrs picks the address a guarded change is verified on: the one
// the current ssh session came in on (SSH_CONNECTION), so the check proves
// what matters to the person at the keyboard; else an address of this
// machine that is not loopback; else 127.0.0.1.
func VerifyAddrs(sshConnection string) []netip.Addr {
	if f := strings.Fields(sshConnection); len(f) == 4 {
		if a, err := netip.ParseAddr(f[2]); err == nil {
			return []netip.Addr{a.Unmap()}
		}
	}
	if ifaddrs, err := net.InterfaceAddrs(); err == nil {
		for _, x := range ifaddrs {
			if p, err := netip.ParsePrefix(x.String()); err == nil {
				a := p.Addr().Unmap()
				if a.Is4() && !a.IsLoopback() && !a.IsLinkLocalUnicast() {
					return []netip.Addr{a}
				}
			}
		}
	}
	return []netip.Addr{netip.MustParseAddr("127.0.0.1")}
}

// Verify implements Options.Verify.
func (h HandshakeVerifier) Verify(ctx context.Context, ports []int) error {
	addrs := h.Addrs
	if len(addrs) == 0 {
		addrs = []netip.Addr{netip.MustParseAddr("127.0.0.1")}
	}
	within := h.Within
	if within == 0 {
		within = 10 * time.Second
	}
	deadline := time.Now().Add(within)
	for _, port := range ports {
		for _, a := range addrs {
			var last error
			for {
				last = handshake(ctx, netip.AddrPortFrom(a, uint16(port)))
				if last == nil || time.Now().After(deadline) || ctx.Err() != nil {
					break
				}
				time.Sleep(200 * time.Millisecond)
			}
			if last != nil {
				return fmt.Errorf("%s: %w", netip.AddrPortFrom(a, uint16(port)), last)
			}
		}
	}
	return nil
}

func handshake(ctx context.Context, ap netip.AddrPort) error {
	conn, at := probe.Dialer{Timeout: 3 * time.Second}.Connect(ctx, ap)
	if conn == nil {
		return fmt.Errorf("TCP connect: %s", orOutcome(at))
	}
	b := probe.ReadBanner(conn, time.Now().Add(3*time.Second))
	if b.Outcome != probe.BannerSSH {
		conn.Close()
		return fmt.Errorf("no SSH identification (%s)", b.Outcome)
	}
	f := probe.ProbeSSH(ctx, conn, b, probe.SSHOptions{User: "sshdoctor-verify", Timeout: 3 * time.Second, SkipAuth: true})
	if !f.Kex.Done {
		return fmt.Errorf("SSH handshake: %s", f.Kex.Err)
	}
	return nil
}

func orOutcome(a probe.TCPAttempt) string {
	if a.Message != "" {
		return a.Message
	}
	return string(a.Outcome)
}
