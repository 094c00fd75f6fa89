package check

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sshdoctor/sshdoctor/host/logs"
	"github.com/sshdoctor/sshdoctor/host/selinux"
	"github.com/sshdoctor/sshdoctor/host/sockets"
)

// svcSocketActivation explains a socket unit that decides the ports, and
// makes it an error when sshd_config asks for other ports.
func svcSocketActivation(in ServiceInput, v svcView) []Finding {
	if !v.bySocket {
		return nil
	}
	k := in.Service.Socket
	var listen []string
	for _, l := range k.Listen {
		listen = append(listen, strings.TrimSuffix(l.Raw, " (Stream)"))
	}
	sockPorts := k.Ports()
	ev := []KV{E("socket_unit", k.Name), E("listen", listen)}
	if len(k.DropInPaths) > 0 {
		ev = append(ev, E("drop_ins", k.DropInPaths))
	}
	if k.GeneratedBy != "" {
		ev = append(ev, E("generated_by", k.GeneratedBy))
	}
	cfg := in.Listen.Ports
	if len(cfg) == 0 || svcSamePorts(cfg, sockPorts) {
		ev = append(ev, E("sshd_config_ports", cfg))
		return []Finding{New("sshd.socket-activation", fmt.Sprintf("%s listens on port %s and starts sshd for each connection: Port and ListenAddress in sshd_config do not decide where sshd listens.", k.Name, svcJoinInts(sockPorts)), ev...)}
	}
	ev = append(ev, E("sshd_config_ports", cfg))
	if in.Listen.Where != "" {
		ev = append(ev, E("port_set_at", in.Listen.Where))
	}
	detail := fmt.Sprintf("sshd_config says Port %s but %s listens on %s: the socket unit decides, so SSH answers on %s and not on %s.",
		svcJoinInts(cfg), k.Name, svcJoinInts(sockPorts), svcJoinInts(sockPorts), svcJoinInts(cfg))
	f := New("sshd.socket-activation", detail, ev...).WithSeverity(SeverityError)
	if k.GeneratedBy != "" {
		return []Finding{f.WithFix("The generator writes "+k.Name+"'s ports from sshd_config only at boot and daemon-reload: regenerate them and restart the socket.",
			"systemctl daemon-reload", "systemctl restart "+k.Name)}
	}
	var streams strings.Builder
	streams.WriteString(`[Socket]\nListenStream=\n`)
	for _, p := range cfg {
		fmt.Fprintf(&streams, `ListenStream=%d\n`, p)
	}
	dir := "/etc/systemd/system/" + k.Name + ".d"
	return []Finding{f.WithFix("Make "+k.Name+" listen on sshd_config's ports with a drop-in, then restart it.",
		"mkdir -p "+dir,
		"printf '"+streams.String()+"' > "+dir+"/listen.conf",
		"systemctl daemon-reload",
		"systemctl restart "+k.Name).
		WithWarning("Or turn socket activation off so that sshd_config decides: systemctl disable --now " + k.Name + "; systemctl enable --now " + in.Service.UnitName())}
}

// svcConflicts reports other programs on sshd's ports.
func svcConflicts(in ServiceInput, v svcView) []Finding {
	if in.Sockets == nil || in.Sockets.Source == sockets.SourceNone {
		return nil
	}
	var out []Finding
	seen := map[int]bool{}
	for _, l := range in.Sockets.Listeners {
		if v.ownedBySSHD(l) || len(l.Procs) == 0 {
			continue
		}
		var wants []string
		for _, e := range v.expected {
			if e.port == l.Port && (!e.addr.IsValid() || l.Overlaps(e.addr, e.port)) {
				wants = append(wants, e.text)
			}
		}
		if len(wants) == 0 {
			continue
		}
		p := l.Procs[0]
		if seen[p.PID] {
			continue
		}
		seen[p.PID] = true
		ev := []KV{E("port", l.Port), E("address", l.String()), E("program", p.Comm), E("pid", p.PID)}
		if p.Cmdline != "" {
			ev = append(ev, E("command", p.Cmdline))
		}
		ev = append(ev, E("sshd_wants", wants))
		if bl := svcBindErrors(in, l.Port); len(bl) > 0 {
			ev = append(ev, E("sshd_log", bl))
		}
		detail := fmt.Sprintf("%s (PID %d) listens on %s, where sshd should: ", p.Comm, p.PID, l)
		if len(v.own) > 0 {
			var own []string
			for _, o := range v.own {
				own = append(own, o.String())
			}
			detail += fmt.Sprintf("sshd has only %s, and clients reaching %s get %s instead.", strings.Join(own, ", "), l, p.Comm)
		} else {
			detail += "sshd cannot bind the port."
		}
		out = append(out, New("sshd.port-conflict", detail, ev...).
			WithFix(fmt.Sprintf("Stop %s (PID %d) or move it to another port, then restart sshd.", p.Comm, p.PID),
				fmt.Sprintf("ss -ltnp 'sport = :%d'", l.Port), v.restart))
	}
	return out
}

// svcBindErrors quotes sshd's recent bind failures for a port.
func svcBindErrors(in ServiceInput, port int) []string {
	if in.Logs == nil {
		return nil
	}
	var out []string
	for _, e := range in.Logs.Of(svcSince(in.Logs), logs.KindBindFailed, logs.KindCannotBind) {
		if e.Event.Kind == logs.KindCannotBind || e.Event.LocalPort == port {
			out = append(out, e.String())
		}
	}
	if len(out) > 5 {
		out = out[len(out)-5:]
	}
	return out
}

func svcSince(l *logs.Facts) time.Time {
	if l.Read.IsZero() {
		return time.Time{}
	}
	return l.Read.Add(-recentLogs)
}

// svcListening reports sshd not listening where it should, or only where
// clients cannot reach it.
func svcListening(in ServiceInput, v svcView) []Finding {
	if in.Sockets == nil || in.Sockets.Source == sockets.SourceNone || !v.running {
		return nil
	}
	var out []Finding
	var missing []string
	for _, e := range v.expected {
		served := slices.ContainsFunc(v.own, e.servedBy)
		if !in.Sockets.OwnersComplete {
			// Without every process's descriptors (not root), a socket
			// of unknown owner may be sshd's: give it the benefit.
			served = served || slices.ContainsFunc(in.Sockets.Listeners, func(l sockets.Listener) bool { return len(l.Procs) == 0 && e.servedBy(l) })
		}
		taken := slices.ContainsFunc(in.Sockets.Listeners, func(l sockets.Listener) bool {
			return !v.ownedBySSHD(l) && len(l.Procs) > 0 && l.Port == e.port && (!e.addr.IsValid() || l.Overlaps(e.addr, e.port))
		})
		if !served && !taken {
			missing = append(missing, e.text)
		}
	}
	var ownText []string
	for _, l := range v.own {
		ownText = append(ownText, l.String())
	}
	var elsewhere []string
	for _, l := range in.Sockets.Listeners {
		if l.HasComm("sshd") && !slices.Contains(ownText, l.String()) {
			elsewhere = append(elsewhere, l.String())
		}
	}
	if len(missing) > 0 {
		ev := []KV{E("missing", missing), E("sshd_listens", append(append([]string{}, ownText...), elsewhere...))}
		if v.assumed {
			ev = append(ev, E("assumed", "sshd_config was not read: Port 22 on every address assumed"))
		}
		if bl := svcBindErrors(in, 0); len(bl) > 0 {
			ev = append(ev, E("sshd_log", bl))
		}
		detail := fmt.Sprintf("sshd runs but does not listen on %s.", strings.Join(missing, ", "))
		if len(elsewhere) > 0 {
			detail += fmt.Sprintf(" It listens on %s instead: the configuration was probably changed after sshd started.", strings.Join(elsewhere, ", "))
		}
		out = append(out, New("sshd.not-listening", detail, ev...).
			WithFix("Check the configuration, then restart sshd so that it listens where it says.", "sshd -t", v.restart, "ss -ltnp"))
	}
	if len(v.own) == 0 {
		return out
	}
	allLoopback := !slices.ContainsFunc(v.own, func(l sockets.Listener) bool { return !l.Loopback() })
	if allLoopback {
		return append(out, New("sshd.listen-restricted", fmt.Sprintf("sshd listens only on %s: only this machine can connect.", strings.Join(ownText, ", ")),
			E("sshd_listens", ownText), E("reason", "loopback only")).
			WithFix("Remove the ListenAddress lines that restrict sshd to loopback (or add the address clients use), then restart sshd.", "grep -rn ListenAddress /etc/ssh/sshd_config /etc/ssh/sshd_config.d", "sshd -t", v.restart))
	}
	if r := in.Sockets.Route; r != nil && r.Src.IsValid() && !r.Local {
		if !slices.ContainsFunc(v.own, func(l sockets.Listener) bool { return l.Covers(r.Src) }) {
			ev := []KV{E("from", r.From.String()), E("local_address", r.Src.String())}
			if r.Dev != "" {
				ev = append(ev, E("interface", r.Dev))
			}
			ev = append(ev, E("sshd_listens", ownText))
			return append(out, New("sshd.listen-restricted", fmt.Sprintf("This machine answers %s from %s, but sshd listens only on %s.", r.From, r.Src, strings.Join(ownText, ", ")), ev...).
				WithFix(fmt.Sprintf("Let sshd listen on %s too (ListenAddress %s), or remove ListenAddress, then restart sshd.", r.Src, r.Src), "sshd -t", v.restart))
		}
	}
	return out
}

// svcSELinux reports ports sshd is configured for that SELinux does not
// let it bind.
func svcSELinux(in ServiceInput, v svcView) []Finding {
	se := in.SELinux
	if se == nil || !se.Enforcing() || se.Ports == nil || v.bySocket {
		return nil
	}
	ports := in.Listen.Ports
	if len(ports) == 0 {
		for _, e := range in.Listen.Endpoints {
			if !slices.Contains(ports, e.Port) {
				ports = append(ports, e.Port)
			}
		}
	}
	var out []Finding
	for _, p := range ports {
		l, ok := se.Label("tcp", p)
		if ok && l.Type == "ssh_port_t" {
			continue
		}
		label, op := "none (port_t)", "-a"
		if ok {
			label = fmt.Sprintf("%s (%s)", l.Type, svcRange(l))
			if l.Low == l.High {
				op = "-m"
			}
		}
		ev := []KV{E("port", p), E("label", label), E("selinux_mode", se.Mode), E("labels_from", se.PortsSource)}
		if bl := svcBindErrors(in, p); len(bl) > 0 {
			ev = append(ev, E("sshd_log", bl))
		}
		out = append(out, New("sshd.selinux-port", fmt.Sprintf("SELinux is enforcing and tcp port %d is labelled %s, not ssh_port_t: the kernel refuses to let sshd bind it.", p, label), ev...).
			WithFix(fmt.Sprintf("Label port %d ssh_port_t, then restart sshd.", p),
				fmt.Sprintf("semanage port %s -t ssh_port_t -p tcp %d", op, p), v.restart))
	}
	return out
}

func svcRange(l selinux.PortLabel) string {
	if l.Low == l.High {
		return "tcp " + strconv.Itoa(l.Low)
	}
	return fmt.Sprintf("tcp %d-%d", l.Low, l.High)
}

// svcMaxStartups reports connections dropped by MaxStartups or
// PerSourcePenalties in the last hour of logs.
func svcMaxStartups(in ServiceInput) []Finding {
	if in.Logs == nil {
		return nil
	}
	since := svcSince(in.Logs)
	all := in.Logs.Of(since, logs.KindMaxStartups, logs.KindPenalty)
	if len(all) == 0 {
		return nil
	}
	var drops []logs.Entry
	sources := map[string]int{}
	penalty := false
	for _, e := range all {
		if e.Event.Addr != "" {
			drops = append(drops, e)
			sources[e.Event.Addr]++
		}
		penalty = penalty || e.Event.Kind == logs.KindPenalty
	}
	last := all[len(all)-1]
	var sample []string
	for _, e := range all[max(0, len(all)-5):] {
		sample = append(sample, e.String())
	}
	top := svcTopSources(sources, 5)
	ev := []KV{E("drops", len(drops)), E("first", all[0].Time.Format(time.RFC3339)), E("last", last.Time.Format(time.RFC3339))}
	if len(top) > 0 {
		ev = append(ev, E("top_sources", top))
	}
	ev = append(ev, E("log", sample), E("log_source", string(in.Logs.Source)))
	what := "MaxStartups"
	if penalty {
		what = "MaxStartups or PerSourcePenalties"
	}
	detail := fmt.Sprintf("sshd dropped %d connections in the last hour (%s): clients see the connection closed before the banner.", len(drops), what)
	f := New("sshd.max-startups", detail, ev...)
	if !in.Logs.Read.IsZero() && in.Logs.Read.Sub(last.Time) <= ongoingDrops {
		f = f.WithSeverity(SeverityError)
	}
	if penalty {
		addr := "ADDRESS"
		if len(top) > 0 {
			addr, _, _ = strings.Cut(top[0], " ")
		}
		return []Finding{f.WithFix("Penalised clients are refused for a while after failed logins. Fix the client's authentication; exempt only an address you trust.",
			fmt.Sprintf("echo 'PerSourcePenaltyExemptList %s' > /etc/ssh/sshd_config.d/60-penalty-exempt.conf", addr), "sshd -t", "systemctl reload "+in.svcUnit()).
			WithWarning("An exempt address can guess passwords without being slowed down: never exempt an address you do not control.")}
	}
	return []Finding{f.WithFix("Block the sources that flood sshd (fail2ban, the firewall) and raise MaxStartups for legitimate bursts.",
		"echo 'MaxStartups 50:30:200' > /etc/ssh/sshd_config.d/60-maxstartups.conf", "sshd -t", "systemctl reload "+in.svcUnit())}
}

func (in ServiceInput) svcUnit() string {
	if in.Service == nil {
		return "ssh.service"
	}
	return in.Service.UnitName()
}

func svcTopSources(m map[string]int, n int) []string {
	type kv struct {
		addr  string
		count int
	}
	var all []kv
	for a, c := range m {
		all = append(all, kv{a, c})
	}
	slices.SortFunc(all, func(a, b kv) int {
		if a.count != b.count {
			return b.count - a.count
		}
		return strings.Compare(a.addr, b.addr)
	})
	var out []string
	for i, x := range all {
		if i == n {
			break
		}
		out = append(out, fmt.Sprintf("%s (%d)", x.addr, x.count))
	}
	return out
}

func svcSamePorts(a, b []int) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}

func svcJoinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ", ")
}
