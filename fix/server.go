package fix

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/sshdoctor/sshdoctor/check"
	"github.com/sshdoctor/sshdoctor/internal/diag"
)

// Phases order a server plan: files and accounts first, then the sshd
// configuration, then runtime state (firewall, bans), then the service.
const (
	PhaseFiles    = 0
	PhaseConfig   = 1
	PhaseRuntime  = 2
	PhaseServices = 3
)

// ServerContext is what server planners see: the findings, the facts they
// rest on, and the shared sshd_config editor (so every configuration change
// of a plan becomes one validated write per file).
type ServerContext struct {
	Facts    *diag.ServerFacts
	Findings []check.Finding
	// Conf edits the sshd configuration; its steps are added to the plan
	// once, after every planner ran.
	Conf *SSHDConf
	// Only are the codes named with --only; empty means all that need no
	// consent.
	Only []string
	// Live is false for an offline tree (--root): nothing runs, only files
	// change.
	Live bool
	// Root is "/" live, or the tree.
	Root string

	// ConfigChanged is set by planners that changed sshd's configuration,
	// so that the plan restarts (or starts) sshd at the end.
	ConfigChanged bool
	// ServiceHandled is set by the planner that already starts or restarts
	// sshd, so no second restart is planned.
	ServiceHandled bool
}

// Outcome of one planner for one finding.
type Planned struct {
	Steps  []Step
	Manual []Step
	// Skip says why the finding is left alone; empty when handled.
	Skip string
}

// ServerPlanner plans the repair of one finding.
type ServerPlanner func(sc *ServerContext, f check.Finding) Planned

var (
	plannersMu sync.Mutex
	planners   = map[string]ServerPlanner{}
	// consent lists codes that change accounts, access rules or trust:
	// they are planned only when named with --only.
	consent = map[string]bool{}
)

// RegisterServer adds the planner for a code; needsConsent marks codes
// that are fixed only when named with --only. It panics on a duplicate.
func RegisterServer(code string, needsConsent bool, p ServerPlanner) {
	plannersMu.Lock()
	defer plannersMu.Unlock()
	if _, dup := planners[code]; dup {
		panic("fix: duplicate planner for " + code)
	}
	if _, ok := check.Lookup(code); !ok {
		panic("fix: planner for unknown code " + code)
	}
	planners[code] = p
	consent[code] = needsConsent
}

// PlanServer turns the findings of `sshdoctor server` into a plan.
func PlanServer(findings []check.Finding, f *diag.ServerFacts, only []string) *Plan {
	sc := newServerContext(f, only)
	sc.Findings = findings
	p := &Plan{SSHPorts: f.Ports}
	var steps []Step
	for _, fd := range findings {
		if fd.Severity == check.SeverityInfo {
			continue
		}
		plannersMu.Lock()
		pl, ok := planners[fd.Code]
		needs := consent[fd.Code]
		plannersMu.Unlock()
		if len(only) > 0 && !slices.Contains(only, fd.Code) {
			continue
		}
		if needs && !slices.Contains(only, fd.Code) {
			p.Skipped = append(p.Skipped, fmt.Sprintf("%s: %s (This changes who may log in, so sshdoctor fixes it only when asked: --only %s.)", fd.Code, fd.Detail, fd.Code))
			continue
		}
		if !ok {
			if fd.Severity == check.SeverityError {
				p.Manual = append(p.Manual, manualFrom(fd))
			}
			continue
		}
		out := pl(sc, fd)
		steps = append(steps, out.Steps...)
		p.Manual = append(p.Manual, out.Manual...)
		if out.Skip != "" {
			p.Skipped = append(p.Skipped, fd.Code+": "+out.Skip)
		}
	}
	if sc.Conf.Changed() {
		for _, st := range sc.Conf.Steps("sshd_config", "change sshd's configuration (validated with sshd -t first)") {
			st.Phase = PhaseConfig
			steps = append(steps, st)
		}
		sc.ConfigChanged = true
	}
	if sc.ConfigChanged && !sc.ServiceHandled && sc.Live {
		steps = append(steps, applyConfigSteps(sc)...)
	}
	sortPhases(steps)
	p.Steps = steps
	return p
}

func sortPhases(steps []Step) {
	sort.SliceStable(steps, func(i, j int) bool { return steps[i].Phase < steps[j].Phase })
}

// manualFrom shows a finding's own fix commands as manual steps.
func manualFrom(fd check.Finding) Step {
	st := Step{Finding: fd.Code, Kind: KindManual, Summary: fd.Title, Risk: "sshdoctor has no safe automatic repair for this"}
	if fd.Fix != nil {
		st.Summary = fd.Fix.Summary
		if len(fd.Fix.Commands) > 0 {
			st.Command = []string{strings.Join(fd.Fix.Commands, " && ")}
		}
	}
	return st
}

// applyConfigSteps makes a changed configuration take effect: a restart of
// a running sshd (guarded, since a bad listen setting would cut every new
// connection), nothing for a stopped one (starting it is planned apart).
func applyConfigSteps(sc *ServerContext) []Step {
	svc := sc.Facts.Service
	unit := svc.UnitName()
	running := svc.Service != nil && (svc.Service.ActiveState == "active" || svc.Service.ActiveState == "reloading")
	if !running {
		return nil
	}
	restart := []string{"systemctl", "restart", unit}
	if svc.Socket != nil && svc.Socket.ActiveState == "active" && (svc.Service == nil || svc.Service.ActiveState != "active") {
		restart = []string{"systemctl", "restart", svc.Socket.Name}
	}
	pre, post := around(restart, "sshd_config", "restart sshd so the new configuration takes effect")
	post.Guarded = true
	sc.ServiceHandled = true
	return []Step{pre, post}
}

// around returns the pair of steps that make a runtime action follow file
// changes both ways: the first (placed before the file steps by its phase)
// does nothing when applied and runs cmd when undone, after the files were
// restored; the second runs cmd when applied.
func around(cmd []string, finding, summary string) (Step, Step) {
	pre := Step{Finding: finding, Kind: KindExec, Command: []string{"true"}, Undo: cmd, Phase: PhaseFiles, Hidden: true,
		Summary: "(on undo: " + commandLine(cmd) + " after the files are restored)"}
	post := Step{Finding: finding, Kind: KindExec, Command: cmd, Phase: PhaseServices, Summary: summary}
	return pre, post
}
