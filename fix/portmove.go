package fix

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/sshdoctor/sshdoctor/check"
	"github.com/sshdoctor/sshdoctor/host/firewall"
	"github.com/sshdoctor/sshdoctor/internal/diag"
)

// PlanPortMove plans the first half of moving sshd to port n, the half
// that cannot lock anyone out: label n for SELinux when it enforces, open n
// in every active firewall that would block it (fwN is the firewall
// evaluated for n), and make sshd listen on n beside its current ports;
// then restart, guarded and verified on n. The old ports stay until the
// move is confirmed (PlanPortFinish).
func PlanPortMove(f *diag.ServerFacts, fwN *firewall.Report, n int) (*Plan, error) {
	if slices.Contains(f.Ports, n) && len(f.Ports) == 1 {
		return &Plan{SSHPorts: f.Ports}, nil
	}
	sc := newServerContext(f, nil)
	p := &Plan{SSHPorts: []int{n}}
	var steps []Step
	if f.SELinux.Enforcing() {
		if l, ok := f.SELinux.Label("tcp", n); !ok || l.Type != "ssh_port_t" {
			steps = append(steps, selinuxStep("port.move", n))
		}
	}
	// The firewall, judged for the new port, repaired by the firewall
	// planner as any firewall.blocks would be.
	if fwN != nil {
		fsc := *sc
		ff := *f
		ff.Firewall = fwN
		fsc.Facts = &ff
		for _, fd := range check.Firewall(fwN) {
			if fd.Severity != check.SeverityError {
				continue
			}
			if pl, ok := planners[fd.Code]; ok {
				out := pl(&fsc, fd)
				steps = append(steps, out.Steps...)
				p.Manual = append(p.Manual, out.Manual...)
			} else {
				p.Manual = append(p.Manual, manualFrom(fd))
			}
		}
	}
	ports := append(slices.Clone(f.Ports), n)
	if s := f.Service.Socket; s != nil && s.ActiveState == "active" {
		steps = append(steps, socketSteps(sc, "port.move", ports)...)
	} else {
		if _, err := sc.Conf.SetPorts(ports); err != nil {
			return nil, err
		}
		for _, st := range sc.Conf.Steps("port.move", fmt.Sprintf("listen on port %d beside %s", n, joinInts(f.Ports))) {
			st.Phase = PhaseConfig
			steps = append(steps, st)
		}
		sc.ConfigChanged = true
		steps = append(steps, restartForPorts(sc, ports)...)
	}
	for i := range steps {
		if steps[i].Guarded {
			steps[i].VerifyPorts = []int{n}
		}
	}
	sortPhases(steps)
	p.Steps = steps
	return p, nil
}

// PlanPortFinish plans the second half: sshd stops listening on the old
// ports. Their firewall openings are left to the admin (they predate
// sshdoctor, and other services may rely on them): the plan lists them.
func PlanPortFinish(f *diag.ServerFacts, n int) (*Plan, error) {
	sc := newServerContext(f, nil)
	p := &Plan{SSHPorts: []int{n}}
	var steps []Step
	if s := f.Service.Socket; s != nil && s.ActiveState == "active" {
		steps = append(steps, socketSteps(sc, "port.move", []int{n})...)
	} else {
		if where, err := sc.Conf.SetPorts([]int{n}); err != nil {
			return nil, err
		} else if where == "already set" {
			return p, nil
		}
		for _, st := range sc.Conf.Steps("port.move", fmt.Sprintf("stop listening on %s", joinInts(without(f.Ports, n)))) {
			st.Phase = PhaseConfig
			steps = append(steps, st)
		}
		sc.ConfigChanged = true
		steps = append(steps, restartForPorts(sc, []int{n})...)
	}
	for _, old := range without(f.Ports, n) {
		p.Manual = append(p.Manual, Step{Finding: "port.move", Kind: KindManual,
			Summary: fmt.Sprintf("close port %d in the firewall if nothing else uses it", old),
			Command: []string{"sshdoctor server   # lists what the firewall still allows", "ufw delete allow " + strconv.Itoa(old) + "/tcp   # if ufw opened it"},
			Risk:    "sshdoctor did not open it, so it does not close it"})
	}
	for i := range steps {
		if steps[i].Guarded {
			steps[i].VerifyPorts = []int{n}
		}
	}
	sortPhases(steps)
	p.Steps = steps
	return p, nil
}

// restartForPorts restarts sshd (guarded) so it listens on ports.
func restartForPorts(sc *ServerContext, ports []int) []Step {
	out := applyConfigSteps(sc)
	if len(out) == 0 && sc.Live {
		// Not running: start it, which cannot cut anything.
		unit := sc.Facts.Service.UnitName()
		out = []Step{{Finding: "port.move", Kind: KindExec, Phase: PhaseServices, Command: []string{"systemctl", "restart", unit},
			Undo: []string{"systemctl", "stop", unit}, Summary: "start " + unit, Guarded: true}}
	}
	return out
}

func selinuxStep(code string, n int) Step {
	p := strconv.Itoa(n)
	return Step{Finding: code, Kind: KindExec, Phase: PhaseRuntime,
		Command: []string{"semanage", "port", "-a", "-t", "ssh_port_t", "-p", "tcp", p},
		Undo:    []string{"semanage", "port", "-d", "-t", "ssh_port_t", "-p", "tcp", p},
		Summary: "label port " + p + " ssh_port_t for SELinux", Persist: "semanage writes the policy store"}
}

func newServerContext(f *diag.ServerFacts, only []string) *ServerContext {
	sc := &ServerContext{Facts: f, Only: only, Live: f.Sys.Live, Root: f.Sys.Root}
	if sc.Root == "" {
		sc.Root = "/"
	}
	sc.Conf = NewSSHDConf(sc.Root, f.Config.File)
	return sc
}

func without(ports []int, n int) []int {
	var out []int
	for _, p := range ports {
		if p != n {
			out = append(out, p)
		}
	}
	return out
}
