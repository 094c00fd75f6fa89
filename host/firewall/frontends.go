package firewall

import (
	"bufio"
	"context"
	"net/netip"
	"strings"

	"github.com/sshdoctor/sshdoctor/host"
)

// UFW is ufw's view of the firewall. ufw is a frontend that writes
// iptables rules (chains ufw-*, ufw6-*): the iptables evaluation decides,
// and this view names the backend and the fix ("ufw allow 22/tcp").
type UFW struct {
	// Active is true when ufw's rules are in force: its chains are loaded
	// (live), or ENABLED=yes in /etc/ufw/ufw.conf (offline).
	Active bool
	// DefaultIncoming is ufw's default for incoming connections: "deny",
	// "reject" or "allow". Empty when not known.
	DefaultIncoming string
	// Rules are the rule lines of `ufw status` ("22/tcp  ALLOW IN  10.0.0.0/8");
	// empty when there are none or the status could not be read.
	Rules []string
}

func gatherUFWLive(ctx context.Context, r host.Runner, f *Facts) *UFW {
	if !hasChainPrefix(f.Rulesets, "ufw-", "ufw6-") {
		return nil
	}
	u := &UFW{Active: true}
	out, err := r.Run(ctx, "ufw", "status", "verbose")
	if err != nil {
		f.Sources = append(f.Sources, Source{What: "ufw status verbose", Backend: BackendUFW, Err: err.Error()})
		return u
	}
	f.Sources = append(f.Sources, Source{What: "ufw status verbose", Backend: BackendUFW})
	parseUFWStatus(string(out), u)
	return u
}

// parseUFWStatus reads `ufw status verbose`.
func parseUFWStatus(s string, u *UFW) {
	sc := bufio.NewScanner(strings.NewReader(s))
	inRules := false
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "Status:"):
			u.Active = strings.TrimSpace(strings.TrimPrefix(line, "Status:")) == "active"
		case strings.HasPrefix(line, "Default:"):
			// "Default: deny (incoming), allow (outgoing), disabled (routed)"
			for _, part := range strings.Split(strings.TrimPrefix(line, "Default:"), ",") {
				part = strings.TrimSpace(part)
				if strings.HasSuffix(part, "(incoming)") {
					u.DefaultIncoming = strings.TrimSpace(strings.TrimSuffix(part, "(incoming)"))
				}
			}
		case strings.HasPrefix(line, "--"):
			inRules = true
		case inRules && strings.TrimSpace(line) != "":
			u.Rules = append(u.Rules, strings.Join(strings.Fields(line), " "))
		}
	}
}

// Firewalld is firewalld's view of the firewall. firewalld is a frontend
// that writes nftables rules (table inet firewalld) or iptables rules: that
// evaluation decides, and this view names the zone to fix.
type Firewalld struct {
	// Running is true when firewalld runs (live), or is enabled at boot
	// (offline).
	Running bool
	// DefaultZone is the zone of interfaces and sources not bound to
	// another one. Empty when not known.
	DefaultZone string
	// Zones are the active zones (live) or the configured ones (offline).
	Zones []FirewalldZone
}

// FirewalldZone is one zone, as `firewall-cmd --zone=Z --list-all` shows it.
type FirewalldZone struct {
	// Name is the zone's name ("public").
	Name string
	// Target is what happens to connections no rule allows: "default"
	// (reject), "ACCEPT", "DROP", "%%REJECT%%". Empty when not known.
	Target string
	// Interfaces and Sources bind connections to the zone; empty when
	// none are (the default zone takes the rest).
	Interfaces []string
	Sources    []string
	// Services and Ports ("2222/tcp") are allowed in the zone.
	Services []string
	Ports    []string
	// RichRules are the zone's rich rules as firewall-cmd shows them.
	RichRules []string
}

// ZoneFor returns the zone a connection from src arriving on iif falls in:
// a zone bound to the source first, then to the interface, then the
// default zone. Nil when none is known.
func (fw *Firewalld) ZoneFor(src netip.Addr, iif string) *FirewalldZone {
	if fw == nil {
		return nil
	}
	if src.IsValid() {
		for i, z := range fw.Zones {
			for _, s := range z.Sources {
				if p, err := netip.ParsePrefix(s); err == nil && p.Contains(src) {
					return &fw.Zones[i]
				}
				if a, err := netip.ParseAddr(s); err == nil && a == src {
					return &fw.Zones[i]
				}
			}
		}
	}
	if iif != "" {
		for i, z := range fw.Zones {
			if containsName(z.Interfaces, iif) {
				return &fw.Zones[i]
			}
		}
	}
	for i, z := range fw.Zones {
		if z.Name == fw.DefaultZone {
			return &fw.Zones[i]
		}
	}
	if fw.DefaultZone != "" {
		return &FirewalldZone{Name: fw.DefaultZone}
	}
	return nil
}

func gatherFirewalldLive(ctx context.Context, r host.Runner, f *Facts) *Firewalld {
	// A running firewalld always shows in the rules (its nft table, or its
	// iptables chains); firewall-cmd is slow to start, so ask it only then.
	seen := hasChainPrefix(f.Rulesets, "INPUT_ZONES", "IN_")
	for _, rs := range f.Rulesets {
		for _, t := range rs.Tables {
			seen = seen || t.Name == "firewalld"
		}
	}
	if !seen {
		return nil
	}
	out, err := r.Run(ctx, "firewall-cmd", "--state")
	if strings.TrimSpace(string(out)) != "running" {
		// Not installed, or installed and stopped (exit status 252).
		return nil
	}
	_ = err
	fw := &Firewalld{Running: true}
	f.Sources = append(f.Sources, Source{What: "firewall-cmd --state", Backend: BackendFirewalld})
	if out, err := r.Run(ctx, "firewall-cmd", "--get-default-zone"); err == nil {
		fw.DefaultZone = strings.TrimSpace(string(out))
	}
	names := []string{}
	if out, err := r.Run(ctx, "firewall-cmd", "--get-active-zones"); err == nil {
		for _, line := range strings.Split(string(out), "\n") {
			if line != "" && line[0] != ' ' && line[0] != '\t' {
				names = append(names, strings.Fields(line)[0])
			}
		}
	} else {
		f.Sources = append(f.Sources, Source{What: "firewall-cmd --get-active-zones", Backend: BackendFirewalld, Err: err.Error()})
	}
	if fw.DefaultZone != "" && !containsName(names, fw.DefaultZone) {
		names = append(names, fw.DefaultZone)
	}
	for _, n := range names {
		out, err := r.Run(ctx, "firewall-cmd", "--zone="+n, "--list-all")
		if err != nil {
			f.Sources = append(f.Sources, Source{What: "firewall-cmd --zone=" + n + " --list-all", Backend: BackendFirewalld, Err: err.Error()})
			continue
		}
		fw.Zones = append(fw.Zones, parseFirewalldListAll(n, string(out)))
	}
	return fw
}

// parseFirewalldListAll reads `firewall-cmd --zone=Z --list-all`.
func parseFirewalldListAll(name, s string) FirewalldZone {
	z := FirewalldZone{Name: name}
	inRich := false
	for _, line := range strings.Split(s, "\n") {
		t := strings.TrimSpace(line)
		if t == "" {
			continue
		}
		key, val, ok := strings.Cut(t, ":")
		if inRich && (strings.HasPrefix(t, "rule ") || !ok) {
			z.RichRules = append(z.RichRules, t)
			continue
		}
		if !ok {
			continue
		}
		inRich = false
		fields := strings.Fields(val)
		switch key {
		case "target":
			z.Target = strings.TrimSpace(val)
		case "interfaces":
			z.Interfaces = fields
		case "sources":
			z.Sources = fields
		case "services":
			z.Services = fields
		case "ports":
			z.Ports = fields
		case "rich rules":
			inRich = true
		}
	}
	return z
}
