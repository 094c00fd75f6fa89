package cli

import (
	"fmt"
	"strings"

	"github.com/sshdoctor/sshdoctor/check"
	"github.com/sshdoctor/sshdoctor/report"
)

func runExplain(e *env, args []string) error {
	fs := newFlagSet("explain", "sshdoctor explain CODE   (or --list)")
	listAll := fs.Bool("list", false, "list every finding code with its title")
	pos, err := fs.parse(args, e.stdout)
	if err == errHelp {
		return nil
	} else if err != nil {
		return err
	}
	if *listAll {
		for _, d := range check.All() {
			fmt.Fprintf(e.stdout, "%-28s %-7s %s\n", d.Code, d.Severity, d.Title)
		}
		return nil
	}
	if len(pos) != 1 {
		return usagef("run 'sshdoctor explain --list' to see every code", "explain takes exactly one finding code")
	}
	code := strings.ToLower(strings.TrimSpace(pos[0]))
	d, ok := check.Lookup(code)
	if !ok {
		hint := "run 'sshdoctor explain --list' to see every code"
		if sim := check.Similar(code); len(sim) > 0 {
			hint = "did you mean " + strings.Join(sim, ", ") + "?"
		}
		return usagef(hint, "unknown finding code %q", report.Escape(pos[0]))
	}
	fmt.Fprintf(e.stdout, "%s (%s): %s\n\n", d.Code, d.Severity, d.Title)
	section(e, "What it means", d.Meaning)
	section(e, "How sshdoctor detects it", d.Detection)
	section(e, "How to fix it", d.Fix)
	return nil
}

func section(e *env, title, text string) {
	fmt.Fprintf(e.stdout, "%s\n", title)
	for _, para := range strings.Split(strings.TrimSpace(text), "\n") {
		fmt.Fprintf(e.stdout, "  %s\n", strings.TrimSpace(para))
	}
	fmt.Fprintln(e.stdout)
}
