package cli

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/sshdoctor/sshdoctor/fix"
	"github.com/sshdoctor/sshdoctor/host/firewall"
	"github.com/sshdoctor/sshdoctor/internal/diag"
	"github.com/sshdoctor/sshdoctor/report"
)

// portPhase is one half of a move in the JSON document.
type portPhase struct {
	Name    string       `json:"name"`
	Plan    []fix.Step   `json:"plan"`
	Manual  []fix.Step   `json:"manual"`
	Applied bool         `json:"applied"`
	Status  string       `json:"status,omitempty"`
	Reason  string       `json:"reason,omitempty"`
	Results []fix.Result `json:"results"`
}

type portReport struct {
	Schema  string      `json:"schema"`
	Command string      `json:"command"`
	Port    int         `json:"port"`
	KeepOld bool        `json:"keep_old"`
	Phases  []portPhase `json:"phases"`
	OK      bool        `json:"ok"`
	Ports   []int       `json:"ports"`
}

func runPort(e *env, args []string) error {
	if len(args) == 0 || args[0] != "move" {
		return usagef("for example: sshdoctor port move 2222", "port takes the sub-command 'move'")
	}
	fs := newFlagSet("port move", "sshdoctor port move N [--keep-old] [--apply] [--yes] [--json] [--confirm-timeout D]")
	keepOld := fs.Bool("keep-old", false, "keep listening on the old port(s) too")
	apply := fs.Bool("apply", false, "carry out the move (it asks first unless --yes)")
	yes := fs.Bool("yes", false, "do not ask before applying")
	asJSON := fs.Bool("json", false, "print one JSON document and nothing else on stdout")
	from := fs.String("from", "", "the client address to open the firewall for (default: any)")
	confirmTimeout := waitFlag(60 * time.Second)
	fs.Var(&confirmTimeout, "confirm-timeout", "how long each guarded half waits for 'sshdoctor confirm' before rolling back (0 turns the guard off)")
	stateDir := fs.String("state-dir", "/var/lib/sshdoctor", "where journals are kept")
	pos, err := fs.parse(args[1:], e.stdout)
	if err == errHelp {
		return nil
	} else if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("for example: sshdoctor port move 2222", "port move takes exactly one port")
	}
	n, err := parsePort(pos[0])
	if err != nil {
		ve := err.(*valueError)
		return usagef(ve.hint, "%s", ve.msg)
	}
	sf := serverFlags{from: *from}
	o, err := sf.options()
	if err != nil {
		return err
	}
	_, f, err := diag.Server(e.ctx, o)
	if err != nil {
		return err
	}
	var fwN *firewall.Report
	if f.Firewall != nil && f.Firewall.Facts != nil {
		fwN = firewall.Inspect(e.ctx, f.Sys, f.Firewall.Facts, firewall.Query{Ports: []uint16{uint16(n)}, From: o.From})
	}
	plan, err := fix.PlanPortMove(f, fwN, n)
	if err != nil {
		return err
	}
	opts := fix.Options{StateDir: *stateDir, Log: e.stderr, ConfirmTimeout: time.Duration(confirmTimeout),
		Validate: fix.SSHDValidator{Root: "/", Config: f.Config.File}.Validate, Verify: fix.HandshakeVerifier{Addrs: fix.VerifyAddrs(e.getenv("SSH_CONNECTION"))}.Verify}
	pr := &portReport{Schema: report.Schema, Command: "port", Port: n, KeepOld: *keepOld, Ports: f.Ports}
	phase := portPhase{Name: "add", Plan: nonNilSteps(plan.Steps), Manual: nonNilSteps(plan.Manual), Results: []fix.Result{}}
	if !*asJSON {
		fmt.Fprintf(e.stdout, "Moving sshd from port %s to %d. First, listen on both:\n", joinPorts(f.Ports), n)
		fmt.Fprint(e.stdout, plan.Render())
		if !*keepOld {
			fmt.Fprintf(e.stdout, "\nThen, once you confirm that port %d works from a new session, stop listening on %s.\n", n, joinPorts(f.Ports))
		}
	}
	if !*apply {
		if !*asJSON {
			fmt.Fprintln(e.stdout, "\nNothing was changed. Run again with --apply to carry this out.")
		}
		pr.Phases = append(pr.Phases, phase)
		return e.finishPort(pr, *asJSON)
	}
	if !*yes {
		ok, err := askApply()
		if err != nil {
			return err
		}
		if !ok {
			fmt.Fprintln(e.stderr, "Nothing was changed.")
			return nil
		}
	}
	out, applyErr := e.apply(plan, opts)
	phase.Applied = true
	if out != nil {
		phase.Status, phase.Reason, phase.Results = out.Status, out.Reason, nonNilResults(out.Results)
	}
	pr.Phases = append(pr.Phases, phase)
	if applyErr != nil || (out != nil && out.Status != fix.StatusConfirmed && out.Status != fix.StatusApplied) {
		if applyErr != nil && !*asJSON {
			fmt.Fprintf(e.stderr, "sshdoctor: %s\n", oneLine(applyErr.Error()))
		}
		return e.finishPort(pr, *asJSON)
	}
	if !*keepOld {
		_, f2, err := diag.Server(e.ctx, o)
		if err != nil {
			return err
		}
		plan2, err := fix.PlanPortFinish(f2, n)
		if err != nil {
			return err
		}
		if !*asJSON {
			fmt.Fprintf(e.stdout, "\nPort %d works. Now stop listening on %s:\n", n, joinPorts(f.Ports))
			fmt.Fprint(e.stdout, plan2.Render())
		}
		out2, err2 := e.apply(plan2, opts)
		p2 := portPhase{Name: "remove-old", Plan: nonNilSteps(plan2.Steps), Manual: nonNilSteps(plan2.Manual), Applied: true, Results: []fix.Result{}}
		if out2 != nil {
			p2.Status, p2.Reason, p2.Results = out2.Status, out2.Reason, nonNilResults(out2.Results)
		}
		pr.Phases = append(pr.Phases, p2)
		if err2 != nil && !*asJSON {
			fmt.Fprintf(e.stderr, "sshdoctor: %s\n", oneLine(err2.Error()))
		}
	}
	if _, f3, err := diag.Server(e.ctx, o); err == nil {
		pr.Ports = f3.Ports
	}
	pr.OK = slices.Contains(pr.Ports, n)
	for _, ph := range pr.Phases {
		if ph.Status != fix.StatusConfirmed && ph.Status != fix.StatusApplied {
			pr.OK = false
		}
	}
	if !*asJSON && pr.OK {
		fmt.Fprintf(e.stdout, "\nsshd listens on %s. On each client, 'sshdoctor fix DEST --apply' finds it there and records the port.\n", joinPorts(pr.Ports))
	}
	return e.finishPort(pr, *asJSON)
}

func (e *env) finishPort(pr *portReport, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(pr); err != nil {
			return err
		}
	}
	applied := false
	for _, ph := range pr.Phases {
		applied = applied || ph.Applied
	}
	if applied && !pr.OK {
		return exitError(report.ExitFailed)
	}
	return nil
}

func nonNilSteps(s []fix.Step) []fix.Step {
	if s == nil {
		return []fix.Step{}
	}
	return s
}

func nonNilResults(r []fix.Result) []fix.Result {
	if r == nil {
		return []fix.Result{}
	}
	return r
}

func joinPorts(ps []int) string {
	s := ""
	for i, p := range ps {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprint(p)
	}
	return s
}
