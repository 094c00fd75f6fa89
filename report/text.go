package report

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/sshdoctor/sshdoctor/check"
)

// TextOptions controls the human renderer.
type TextOptions struct {
	// Color enables ANSI colours; set it only for a terminal without NO_COLOR.
	Color bool
}

type painter struct{ on bool }

func (p painter) paint(code, s string) string {
	if !p.on {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}
func (p painter) red(s string) string    { return p.paint("31", s) }
func (p painter) green(s string) string  { return p.paint("32", s) }
func (p painter) yellow(s string) string { return p.paint("33", s) }
func (p painter) dim(s string) string    { return p.paint("2", s) }
func (p painter) bold(s string) string   { return p.paint("1", s) }

// WriteText renders the report for people: the verdict in one sentence, the
// layer ladder, then each finding with its evidence and fix. All text is
// escaped, since evidence may come from the network.
func WriteText(w io.Writer, r *Report, opt TextOptions) error {
	p := painter{opt.Color}
	var b strings.Builder

	subject := r.subject()
	if r.OK {
		fmt.Fprintf(&b, "%s %s\n", p.green("✓"), p.bold(Escape(subject+" "+r.okSentence())))
	} else {
		fmt.Fprintf(&b, "%s %s\n", p.red("✗"), p.bold(Escape(subject+" fails: "+lowerFirst(r.Verdict.Title))))
		if r.Verdict.Summary != "" {
			fmt.Fprintf(&b, "  %s\n", Escape(r.Verdict.Summary))
		}
	}

	if len(r.Steps) > 0 {
		b.WriteString("\n")
		width := 0
		for _, s := range r.Steps {
			width = max(width, len(s.Name))
		}
		for _, s := range r.Steps {
			mark, timing := stepMark(p, s.Status), ""
			if s.Status != StepSkip {
				timing = p.dim(fmtMS(s.MS))
			}
			detail := Escape(s.Detail)
			if s.Status == StepSkip && detail == "" {
				detail = p.dim("not reached")
			}
			line := fmt.Sprintf("  %s %-*s  %s", mark, width, s.Name, detail)
			if timing != "" {
				line += "  " + timing
			}
			b.WriteString(strings.TrimRight(line, " ") + "\n")
		}
	}

	if len(r.Notes) > 0 {
		b.WriteString("\n" + p.dim("Not known:") + "\n")
		for _, n := range r.Notes {
			fmt.Fprintf(&b, "  %s %s\n", p.dim("-"), Escape(n))
		}
	}
	for _, f := range r.Findings {
		b.WriteString("\n")
		writeFinding(&b, p, f)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeFinding(b *strings.Builder, p painter, f check.Finding) {
	sev := string(f.Severity)
	switch f.Severity {
	case check.SeverityError:
		sev = p.red("error")
	case check.SeverityWarning:
		sev = p.yellow("warning")
	case check.SeverityInfo:
		sev = p.dim("info")
	}
	fmt.Fprintf(b, "%s %s: %s\n", sev, p.bold(f.Code), Escape(f.Title))
	if f.Detail != "" {
		fmt.Fprintf(b, "  %s\n", Escape(f.Detail))
	}
	if len(f.Evidence) > 0 {
		width := 0
		for _, kv := range f.Evidence {
			width = max(width, utf8.RuneCountInString(kv.Key))
		}
		for _, kv := range f.Evidence {
			vals := evidenceLines(kv.Value)
			for i, v := range vals {
				key := kv.Key
				if i > 0 {
					key = ""
				}
				fmt.Fprintf(b, "    %-*s  %s\n", width, Escape(key), Escape(v))
			}
		}
	}
	if f.Fix != nil {
		if f.Fix.Summary != "" {
			fmt.Fprintf(b, "  %s %s\n", p.green("fix:"), Escape(f.Fix.Summary))
		}
		for _, c := range f.Fix.Commands {
			fmt.Fprintf(b, "    %s\n", Escape(c))
		}
		if f.Fix.Warning != "" {
			fmt.Fprintf(b, "  %s %s\n", p.yellow("warning:"), Escape(f.Fix.Warning))
		}
	}
}

// evidenceLines renders an evidence value; lists get one line per element.
func evidenceLines(v any) []string {
	switch x := v.(type) {
	case []string:
		if len(x) == 0 {
			return []string{"(none)"}
		}
		return wrapList(x)
	case []int:
		s := make([]string, len(x))
		for i, n := range x {
			s[i] = fmt.Sprint(n)
		}
		return []string{strings.Join(s, ", ")}
	case []any:
		s := make([]string, len(x))
		for i, n := range x {
			s[i] = fmt.Sprint(n)
		}
		return wrapList(s)
	case float64:
		return []string{fmt.Sprintf("%g", x)}
	default:
		return []string{fmt.Sprint(v)}
	}
}

func stepMark(p painter, status string) string {
	switch status {
	case StepOK:
		return p.green("✓")
	case StepFail:
		return p.red("✗")
	case StepWarn:
		return p.yellow("!")
	default:
		return p.dim("·")
	}
}

func fmtMS(ms float64) string {
	switch {
	case ms < 10:
		return fmt.Sprintf("%.1f ms", ms)
	case ms < 10000:
		return fmt.Sprintf("%.0f ms", ms)
	default:
		return fmt.Sprintf("%.1f s", ms/1000)
	}
}

func lowerFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if r >= 'A' && r <= 'Z' && !(len(s) > n && s[n] >= 'A' && s[n] <= 'Z') {
		return string(r+'a'-'A') + s[n:]
	}
	return s
}

func (r *Report) subject() string {
	if r.Subject != "" {
		return r.Subject
	}
	return "sshdoctor " + r.Command
}

func (r *Report) okSentence() string {
	if r.OKSummary != "" {
		return r.OKSummary
	}
	return "looks fine: no problem found"
}

// wrapList shows a list of words (algorithm names, ports) comma-separated
// and wrapped, and a list of phrases one per line.
func wrapList(items []string) []string {
	for _, it := range items {
		if strings.ContainsAny(it, " \t") {
			return items
		}
	}
	var lines []string
	cur := ""
	for i, it := range items {
		if i < len(items)-1 {
			it += ","
		}
		if cur != "" && len(cur)+1+len(it) > 76 {
			lines = append(lines, cur)
			cur = ""
		}
		if cur != "" {
			cur += " "
		}
		cur += it
	}
	return append(lines, cur)
}
