package firewall

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/sshdoctor/sshdoctor/host"
)

// loadNFT turns an nft script into `nft -j list ruleset` output. The real
// nft reads it, so its whole language (defines, includes, every
// expression) is understood as the kernel would; it loads the script into
// a throwaway network namespace (unshare --net) that vanishes when nft
// exits, so nothing of this machine's firewall is touched. It needs root
// and nft on the machine running sshdoctor. ifaces are interface names the
// script refers to with iif/oif or ingress devices: they must exist for
// nft to accept the rules, so dummy interfaces of those names are created
// in the throwaway namespace first. Tests replace it.
var loadNFT = func(ctx context.Context, script []byte, ifaces []string) ([]byte, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("reading it needs root: nft loads it into a throwaway network namespace")
	}
	tmp, err := os.CreateTemp("", "sshdoctor-nft-*.conf")
	if err != nil {
		return nil, fmt.Errorf("firewall: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(script); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("firewall: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("firewall: %w", err)
	}
	// Names come from the tree: they are passed as arguments, never
	// pasted into the script.
	// A veth pair stands in where the dummy driver is missing; its peers
	// get names no script uses.
	// The bytecode listing follows the JSON, after a marker line (see
	// nftbytecode.go).
	const sh = `f=$1; shift; n=0; for i in "$@"; do n=$((n+1)); ip link add "$i" type dummy 2>/dev/null ||
ip link add "$i" type veth peer name "sdpeer$n" 2>/dev/null; done; nft -f "$f" && nft -j list ruleset &&
echo && echo '` + bytecodeMarker + `' && nft --debug=netlink list ruleset`
	args := append([]string{"--net", "sh", "-c", sh, "sh", tmp.Name()}, ifaces...)
	return host.ExecRunner{}.Run(ctx, "unshare", args...)
}

// bytecodeMarker separates loadNFT's JSON from the bytecode listing.
const bytecodeMarker = "--- sshdoctor: nft bytecode ---"

// The saved rules an offline tree loads at boot, and the unit that loads them.
var (
	nftConfs = []struct{ file, unit string }{
		{"/etc/nftables.conf", "nftables.service"},
		{"/etc/sysconfig/nftables.conf", "nftables.service"},
	}
	iptConfs = []struct {
		file, unit string
		family     int
	}{
		{"/etc/iptables/rules.v4", "netfilter-persistent.service", 4},
		{"/etc/iptables/rules.v6", "netfilter-persistent.service", 6},
		{"/etc/sysconfig/iptables", "iptables.service", 4},
		{"/etc/sysconfig/ip6tables", "ip6tables.service", 6},
	}
)

// gatherOffline reads the rules an offline tree (--root) loads at boot:
// /etc/nftables.conf (through loadNFT), the saved iptables rules of
// netfilter-persistent (/etc/iptables/rules.v4, rules.v6, ipsets) or of
// RHEL's iptables service (/etc/sysconfig/iptables), ufw's rules rebuilt
// from /etc/ufw the way ufw-init builds them, and firewalld's zones.
// A file whose service is not enabled is listed in Sources but not
// evaluated: the machine does not load it. These are the persisted rules,
// not necessarily the ones that ran when the machine was last up.
func gatherOffline(ctx context.Context, sys host.System) *Facts {
	f := &Facts{Persisted: true}
	seen := map[string]bool{}
	for _, c := range nftConfs {
		if seen[c.file] {
			continue
		}
		data, err := sys.ReadFile(c.file)
		if err != nil {
			continue
		}
		seen[c.file] = true
		src := Source{What: c.file, Backend: BackendNFT}
		if on, known := unitEnabled(sys, c.unit); known && !on {
			src.Note = c.unit + " is not enabled: the machine does not load this file at boot"
			f.Sources = append(f.Sources, src)
			continue
		}
		script, ifaces, err := expandNFTIncludes(sys, c.file, data)
		if err == nil {
			var out []byte
			out, err = loadNFT(ctx, script, ifaces)
			if err == nil {
				js, code, hasCode := bytes.Cut(out, []byte(bytecodeMarker))
				var rs *Ruleset
				rs, err = ParseNFTJSON(js)
				if err == nil {
					if needsBytecode(rs) {
						fams := map[string]int(nil)
						if hasCode {
							fams = parseNFTBytecode(code)
						}
						applyHiddenFamilies(rs, fams)
					}
					rs.Source = c.file
					f.Rulesets = append(f.Rulesets, rs)
				}
			}
		}
		if err != nil {
			src.Err = err.Error()
		}
		f.Sources = append(f.Sources, src)
	}

	if data, err := sys.ReadFile("/etc/iptables/ipsets"); err == nil {
		if sets, err := ParseIPSetSave(data); err == nil {
			f.IPSets = sets
		} else {
			f.Sources = append(f.Sources, Source{What: "/etc/iptables/ipsets", Err: err.Error()})
		}
	}
	for _, c := range iptConfs {
		data, err := sys.ReadFile(c.file)
		if err != nil {
			continue
		}
		backend := BackendIPTables
		if c.family == 6 {
			backend = BackendIP6Tables
		}
		src := Source{What: c.file, Backend: backend}
		if on, known := unitEnabled(sys, c.unit); known && !on {
			src.Note = c.unit + " is not enabled: the machine does not load this file at boot"
			f.Sources = append(f.Sources, src)
			continue
		}
		rs, err := ParseIPTablesSave(data, c.family, f.IPSets)
		if err != nil {
			src.Err = err.Error()
		} else {
			rs.Source, rs.Variant = c.file, ""
			f.Rulesets = append(f.Rulesets, rs)
		}
		f.Sources = append(f.Sources, src)
	}
	f.UFW = gatherUFWOffline(sys, f)
	f.Firewalld = gatherFirewalldOffline(sys, f)
	return f
}

// unitEnabled says whether a systemd unit is enabled in the tree (a link
// in some /etc/systemd/system/*.wants). known is false when the tree has
// no systemd configuration to tell.
func unitEnabled(sys host.System, unit string) (enabled, known bool) {
	dir := sys.Path("/etc/systemd/system")
	if _, err := os.Stat(dir); err != nil {
		return false, false
	}
	links, _ := filepath.Glob(filepath.Join(dir, "*.wants", unit))
	return len(links) > 0, true
}

var (
	nftInclude = regexp.MustCompile(`(?m)^[ \t]*include[ \t]+"([^"]+)"[ \t]*;?[ \t]*$`)
	nftIface   = regexp.MustCompile(`\b(?:iif|oif|device)\s+"?([A-Za-z0-9_.:@-]{1,15})"?`)
	nftDevices = regexp.MustCompile(`\bdevices\s*=\s*\{([^}]*)\}`)
	ifaceName  = regexp.MustCompile(`^[A-Za-z0-9_.:@-]{1,15}$`)
)

// expandNFTIncludes inlines the script's include statements, resolving
// their paths (and globs) inside the tree: absolute ones under the root,
// relative ones next to the including file or in /etc, as nft's default
// include path. It also returns the interface names the rules need.
func expandNFTIncludes(sys host.System, file string, data []byte) ([]byte, []string, error) {
	var expand func(file string, data []byte, depth int) ([]byte, error)
	expand = func(file string, data []byte, depth int) ([]byte, error) {
		if depth > 16 {
			return nil, fmt.Errorf("includes nest deeper than 16 at %s", file)
		}
		var err error
		out := nftInclude.ReplaceAllFunc(data, func(m []byte) []byte {
			if err != nil {
				return nil
			}
			name := string(nftInclude.FindSubmatch(m)[1])
			var candidates []string
			if path.IsAbs(name) {
				candidates = []string{name}
			} else {
				candidates = []string{path.Join(path.Dir(file), name), path.Join("/etc", name)}
			}
			var files []string
			for _, c := range candidates {
				matches, _ := filepath.Glob(sys.Path(c))
				if len(matches) > 0 {
					sort.Strings(matches)
					for _, mm := range matches {
						rel, _ := filepath.Rel(sys.Path("/"), mm)
						files = append(files, "/"+filepath.ToSlash(rel))
					}
					break
				}
			}
			if len(files) == 0 && !strings.ContainsAny(name, "*?[") {
				err = fmt.Errorf("%s includes %s, which is not in the tree", file, name)
				return nil
			}
			var b bytes.Buffer
			for _, inc := range files {
				d, rerr := sys.ReadFile(inc)
				if rerr != nil {
					if errors.Is(rerr, fs.ErrNotExist) {
						continue
					}
					err = rerr
					return nil
				}
				x, xerr := expand(inc, d, depth+1)
				if xerr != nil {
					err = xerr
					return nil
				}
				fmt.Fprintf(&b, "# included from %s\n", inc)
				b.Write(x)
				b.WriteByte('\n')
			}
			return b.Bytes()
		})
		return out, err
	}
	out, err := expand(file, data, 0)
	if err != nil {
		return nil, nil, err
	}
	var ifaces []string
	add := func(n string) {
		n = strings.Trim(strings.TrimSpace(n), `"`)
		if ifaceName.MatchString(n) && n != "lo" && !containsName(ifaces, n) {
			ifaces = append(ifaces, n)
		}
	}
	for _, m := range nftIface.FindAllSubmatch(out, -1) {
		add(string(m[1]))
	}
	for _, m := range nftDevices.FindAllSubmatch(out, -1) {
		for _, n := range strings.Split(string(m[1]), ",") {
			add(n)
		}
	}
	return out, ifaces, nil
}

// readKV reads a shell-style KEY=value file (/etc/default/ufw, ufw.conf,
// firewalld.conf).
func readKV(data []byte) map[string]string {
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		out[strings.TrimSpace(k)] = strings.Trim(strings.TrimSpace(v), `"'`)
	}
	return out
}
