package fix

import (
	"fmt"
	"os"
	"strings"
)

// Kind says what a step does.
type Kind string

// The kinds of step.
const (
	// KindWrite replaces (or creates) a file with Content, atomically.
	KindWrite Kind = "write"
	// KindRemove removes a file (its content is backed up first).
	KindRemove Kind = "remove"
	// KindChmod and KindChown change a file's mode or owner.
	KindChmod Kind = "chmod"
	KindChown Kind = "chown"
	// KindMkdir creates a directory with Mode and owner.
	KindMkdir Kind = "mkdir"
	// KindExec runs Command; Undo (if any) reverts it, and Snapshot/Restore
	// save and restore runtime state around it (a firewall ruleset).
	KindExec Kind = "exec"
	// KindManual is something sshdoctor will not do by itself: it shows the
	// exact commands for a person to run.
	KindManual Kind = "manual"
	// KindNote changes nothing: it carries the summary and risk of an edit
	// that is part of a shared step (several sshd_config edits become one
	// validated write per file), so the plan still says who is affected.
	KindNote Kind = "note"
)

// Step is one change of a plan. Steps are plain data so that the journal,
// the JSON plan and the rollback watcher all read the same thing.
type Step struct {
	// Finding is the code of the finding the step answers.
	Finding string `json:"finding"`
	// Summary says in one line what the step does.
	Summary string `json:"summary"`
	Kind    Kind   `json:"kind"`
	// Path is the file the step changes (on this machine: under --root it
	// already includes the root).
	Path string `json:"path,omitempty"`
	// Content is the new content of a KindWrite step.
	Content []byte `json:"-"`
	// Diff shows a KindWrite change for people; empty for new files.
	Diff string `json:"diff,omitempty"`
	// NoFollow refuses to act through a symbolic link at Path: for files a
	// user controls (~/.ssh, authorized_keys), where root following a link
	// swapped in after planning could change any file.
	NoFollow bool `json:"no_follow,omitempty"`
	// Mode, UID and GID are the wanted mode and owner (chmod, chown, mkdir,
	// and new files); -1 keeps an id as it is.
	Mode os.FileMode `json:"mode,omitempty"`
	UID  int         `json:"uid,omitempty"`
	GID  int         `json:"gid,omitempty"`
	// Command is run by KindExec and shown by KindManual.
	Command []string `json:"command,omitempty"`
	// Undo reverts a KindExec step; nil means it needs no undo or Restore
	// covers it.
	Undo []string `json:"undo,omitempty"`
	// Snapshot is run before the step and its output kept; Restore is run
	// with that output on stdin to undo (e.g. iptables-save / iptables-restore).
	Snapshot []string `json:"snapshot,omitempty"`
	Restore  []string `json:"restore,omitempty"`
	// RestorePrefix is written to Restore's stdin before the snapshot
	// ("flush ruleset" for nft, so the restore replaces instead of adding).
	RestorePrefix string `json:"restore_prefix,omitempty"`
	// ValidateSSHD marks a file of sshd's configuration: the candidate is
	// validated with sshd -t before it is installed.
	ValidateSSHD bool `json:"validate_sshd,omitempty"`
	// Guarded marks a change that can cut the connection: it is verified
	// with a fresh SSH handshake, and rolled back unless confirmed.
	Guarded bool `json:"guarded,omitempty"`
	// VerifyPorts are the ports to check with a handshake after a guarded
	// step; empty means the SSH ports of the plan.
	VerifyPorts []int `json:"verify_ports,omitempty"`
	// Risk explains what could go wrong or who is affected; empty for
	// routine steps.
	Risk string `json:"risk,omitempty"`
	// Persist says how the change survives a reboot, or that it does not.
	Persist string `json:"persist,omitempty"`
	// Phase orders a server plan (PhaseFiles...); steps of a phase keep
	// their order.
	Phase int `json:"-"`
	// Hidden marks bookkeeping steps not worth showing in the plan (the
	// undo half of a reload around file changes).
	Hidden bool `json:"hidden,omitempty"`
}

// Plan is an ordered list of steps, plus what cannot be fixed safely.
type Plan struct {
	Steps []Step `json:"steps"`
	// Manual lists findings sshdoctor will not repair by itself, with the
	// exact steps for a person.
	Manual []Step `json:"manual"`
	// Skipped lists findings left alone, and why ("accounts change only with
	// --only account.locked").
	Skipped []string `json:"skipped"`
	// SSHPorts are the ports a guarded change is verified on.
	SSHPorts []int `json:"ssh_ports,omitempty"`
}

// Empty reports whether the plan changes nothing.
func (p *Plan) Empty() bool { return len(p.Steps) == 0 }

// Guarded reports whether any step can cut the connection.
func (p *Plan) Guarded() bool {
	for _, s := range p.Steps {
		if s.Guarded {
			return true
		}
	}
	return false
}

// Render writes the plan for people: each step with the finding it
// answers, its diff or command, and its risk.
func (p *Plan) Render() string {
	var b strings.Builder
	if p.Empty() && len(p.Manual) == 0 {
		b.WriteString("Nothing to change.\n")
	}
	n := 0
	for _, s := range p.Steps {
		if s.Hidden {
			continue
		}
		n++
		fmt.Fprintf(&b, "%d. %s  [%s]\n", n, s.Summary, s.Finding)
		b.WriteString(indent(s.describe(), "     "))
		if s.Guarded {
			b.WriteString("     guarded: verified with a fresh SSH handshake, rolled back unless confirmed\n")
		}
		if s.Persist != "" {
			fmt.Fprintf(&b, "     persists: %s\n", s.Persist)
		}
		if s.Risk != "" {
			fmt.Fprintf(&b, "     risk: %s\n", s.Risk)
		}
	}
	if len(p.Manual) > 0 {
		b.WriteString("\nNot done automatically (run these yourself if they fit):\n")
		for _, s := range p.Manual {
			fmt.Fprintf(&b, "- %s  [%s]\n", s.Summary, s.Finding)
			if len(s.Command) > 0 {
				fmt.Fprintf(&b, "    %s\n", strings.Join(s.Command, " "))
			}
			if s.Risk != "" {
				fmt.Fprintf(&b, "    why not automatic: %s\n", s.Risk)
			}
		}
	}
	if len(p.Skipped) > 0 {
		b.WriteString("\nLeft alone:\n")
		for _, s := range p.Skipped {
			fmt.Fprintf(&b, "- %s\n", s)
		}
	}
	return b.String()
}

func (s Step) describe() string {
	switch s.Kind {
	case KindWrite:
		if s.Diff != "" {
			return s.Diff
		}
		return fmt.Sprintf("create %s (mode %04o)\n%s", s.Path, s.Mode.Perm(), indent(string(s.Content), "  + "))
	case KindRemove:
		return "rm " + shellQuote(s.Path) + "\n"
	case KindChmod:
		return fmt.Sprintf("chmod %04o %s\n", s.Mode.Perm(), shellQuote(s.Path))
	case KindChown:
		return fmt.Sprintf("chown %d:%d %s\n", s.UID, s.GID, shellQuote(s.Path))
	case KindMkdir:
		return fmt.Sprintf("install -d -m %04o -o %d -g %d %s\n", s.Mode.Perm(), s.UID, s.GID, shellQuote(s.Path))
	case KindExec, KindManual:
		return commandLine(s.Command) + "\n"
	case KindNote:
		return "(part of the sshd_config change below)\n"
	}
	return ""
}

func commandLine(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = shellQuote(a)
	}
	return strings.Join(q, " ")
}

func shellQuote(s string) string {
	if s == "" {
		return "''"
	}
	if strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+:@=,%", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func indent(s, prefix string) string {
	if s == "" {
		return ""
	}
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n") + "\n"
}
