package firewall

import (
	"fmt"
	"strings"

	"github.com/sshdoctor/sshdoctor/host"
)

// gatherUFWOffline reads ufw's configuration in an offline tree and, when
// ufw is enabled, rebuilds the iptables rules ufw loads at boot (as
// /lib/ufw/ufw-init does): its framework chains and default policy from
// /etc/default/ufw, then before.rules, after.rules and user.rules, then
// the hook into the user chain and the skip-to-policy chain.
func gatherUFWOffline(sys host.System, f *Facts) *UFW {
	conf, err := sys.ReadFile("/etc/ufw/ufw.conf")
	if err != nil {
		return nil
	}
	def, _ := sys.ReadFile("/etc/default/ufw")
	dkv := readKV(def)
	pol := strings.ToUpper(dkv["DEFAULT_INPUT_POLICY"])
	if pol != "ACCEPT" && pol != "REJECT" {
		pol = "DROP"
	}
	u := &UFW{Active: strings.EqualFold(readKV(conf)["ENABLED"], "yes"),
		DefaultIncoming: map[string]string{"DROP": "deny", "REJECT": "reject", "ACCEPT": "allow"}[pol]}
	src := Source{What: "/etc/ufw", Backend: BackendUFW}
	switch on, known := unitEnabled(sys, "ufw.service"); {
	case !u.Active:
		src.Note = "ufw is not enabled (ENABLED=no in /etc/ufw/ufw.conf)"
	case known && !on:
		u.Active = false
		src.Note = "ufw.service is not enabled: ufw does not start at boot"
	}
	if !u.Active {
		f.Sources = append(f.Sources, src)
		return u
	}
	fams := []int{4}
	if !strings.EqualFold(dkv["IPV6"], "no") {
		fams = append(fams, 6)
	}
	for _, fam := range fams {
		text, err := ufwRules(sys, fam, pol)
		var rs *Ruleset
		if err == nil {
			rs, err = ParseIPTablesSave(text, fam, f.IPSets)
		}
		if err != nil {
			f.Sources = append(f.Sources, Source{What: "/etc/ufw", Backend: BackendUFW, Err: err.Error()})
			continue
		}
		rs.Source = "/etc/ufw"
		f.Rulesets = append(f.Rulesets, rs)
	}
	src.Note = "rules rebuilt from /etc/ufw and /etc/default/ufw as ufw loads them at boot"
	f.Sources = append(f.Sources, src)
	if user, err := sys.ReadFile("/etc/ufw/user.rules"); err == nil {
		for _, line := range strings.Split(string(user), "\n") {
			if rest, ok := strings.CutPrefix(line, "### tuple ### "); ok {
				u.Rules = append(u.Rules, strings.TrimSpace(rest))
			}
		}
	}
	return u
}

// ufwRules assembles the iptables-restore input ufw-init feeds the kernel
// for one family.
func ufwRules(sys host.System, fam int, pol string) ([]byte, error) {
	t, six := "", ""
	if fam == 6 {
		t, six = "6", "6"
	}
	var b strings.Builder
	inputPol := pol
	if pol == "REJECT" {
		inputPol = "DROP"
	}
	fmt.Fprintf(&b, "*filter\n:INPUT %s [0:0]\n", inputPol)
	chains := []string{"before-logging-input", "before-input", "after-input", "after-logging-input", "reject-input",
		"track-input", "logging-deny", "logging-allow", "user-input", "user-logging-input", "user-limit",
		"user-limit-accept", "skip-to-policy-input"}
	for _, c := range chains {
		fmt.Fprintf(&b, ":ufw%s-%s - [0:0]\n", t, c)
	}
	for _, c := range chains[:6] {
		fmt.Fprintf(&b, "-A INPUT -j ufw%s-%s\n", t, c)
	}
	switch pol {
	case "REJECT":
		fmt.Fprintf(&b, "-A ufw%s-reject-input -j REJECT\n", t)
	case "ACCEPT":
		fmt.Fprintf(&b, "-A ufw%s-track-input -p tcp -m conntrack --ctstate NEW -j ACCEPT\n", t)
		fmt.Fprintf(&b, "-A ufw%s-track-input -p udp -m conntrack --ctstate NEW -j ACCEPT\n", t)
	}
	b.WriteString("COMMIT\n")
	for _, name := range []string{"before", "after", "user"} {
		file := "/etc/ufw/" + name + six + ".rules"
		data, err := sys.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("ufw is enabled but %s cannot be read: %w", file, err)
		}
		b.Write(data)
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "*filter\n-A ufw%s-before-input -j ufw%s-user-input\n-A ufw%s-skip-to-policy-input -j %s\nCOMMIT\n", t, t, t, pol)
	return []byte(b.String()), nil
}
