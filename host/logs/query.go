package logs

import (
	"slices"
	"time"
)

// Of returns the entries of the given kinds logged at or after since (the
// zero time means all), oldest first.
func (f *Facts) Of(since time.Time, kinds ...Kind) []Entry {
	var out []Entry
	for _, e := range f.Entries {
		if !slices.Contains(kinds, e.Event.Kind) {
			continue
		}
		if !since.IsZero() && !e.Time.IsZero() && e.Time.Before(since) {
			continue
		}
		out = append(out, e)
	}
	return out
}

// Failure is why a unit's last start failed, from its messages.
type Failure struct {
	// Unit is the unit that failed.
	Unit string
	// Reason is the message that explains the failure best: sshd's own
	// complaint (a configuration line, missing host keys, a bind
	// failure) when there is one, else systemd's exit status.
	Reason Entry
	// Lines are sshd's messages of the failed attempt and systemd's
	// verdict, oldest first, for evidence.
	Lines []Entry
}

// followWindow is how long after systemd's verdict sshd's messages are
// still taken as part of the failed attempt.
const followWindow = 5 * time.Second

// reasonRank orders the kinds of message by how well they explain a
// failure; higher is better, 0 is no explanation.
var reasonRank = map[Kind]int{
	KindConfigError: 6, KindNoHostKeys: 6, KindPrivsep: 6,
	KindBindFailed: 5, KindCannotBind: 4, KindFatal: 3,
	KindUnitExit: 2, KindStartLimit: 1,
}

// FailureReason finds the last failed start of the unit (known by any of
// names) and what its messages say. It returns nil when the logs show no
// failure of the unit.
//
// The attempt is the stretch between systemd's "Starting UNIT" and its
// verdict ("Failed with result", "Main/Control process exited", "Start
// request repeated too quickly"), which holds the output of ExecStartPre
// (Debian runs 'sshd -t' there) and of sshd itself.
func (f *Facts) FailureReason(names ...string) *Failure {
	end := -1
	for i := len(f.Entries) - 1; i >= 0; i-- {
		e := f.Entries[i]
		if !slices.Contains(names, e.Unit) {
			continue
		}
		switch e.Event.Kind {
		case KindUnitFailed, KindUnitExit, KindStartLimit:
			end = i
		case KindUnitStarted:
			// A later successful start: the unit is not failed now.
			return nil
		}
		if end >= 0 {
			break
		}
	}
	if end < 0 {
		return nil
	}
	// Walk back over the verdict messages and the attempt itself.
	start := end
	for start > 0 {
		e := f.Entries[start-1]
		if slices.Contains(names, e.Unit) && e.Event.Kind == KindUnitStart {
			break
		}
		if slices.Contains(names, e.Unit) && e.Event.Kind == KindUnitStarted {
			break
		}
		start--
		if end-start > 50 {
			break
		}
	}
	// sshd's last words may be logged just after systemd's verdict (a
	// process that exits at once races journald), and without a unit
	// (journald could not look up the cgroup of a process already gone):
	// take sshd's messages that follow within a few seconds, up to the
	// unit's next start.
	verdict := f.Entries[end]
	for end+1 < len(f.Entries) {
		e := f.Entries[end+1]
		if slices.Contains(names, e.Unit) && (e.Event.Kind == KindUnitStart || e.Event.Kind == KindUnitStarted) {
			break
		}
		if !e.Time.IsZero() && !verdict.Time.IsZero() && e.Time.Sub(verdict.Time) > followWindow {
			break
		}
		end++
	}
	fl := &Failure{Unit: verdict.Unit}
	best := -1
	for i := start; i <= end; i++ {
		e := f.Entries[i]
		own := slices.Contains(names, e.Unit) || (isSSHDIdent(e.Ident) && e.Unit == "")
		if !own {
			continue
		}
		rank, explains := reasonRank[e.Event.Kind]
		if isSSHDIdent(e.Ident) || explains {
			fl.Lines = append(fl.Lines, e)
		}
		// The first of equally good messages is the cause ("line 12:
		// Bad configuration option" before "terminating, 1 bad
		// configuration options").
		if explains && rank > best {
			best, fl.Reason = rank, e
		}
	}
	if best < 0 {
		fl.Reason = verdict
	}
	// Prefer the sshd line that names the configuration line over the
	// summary "terminating, N bad configuration options".
	if fl.Reason.Event.Kind == KindConfigError && fl.Reason.Event.Line == 0 {
		for _, e := range fl.Lines {
			if e.Event.Kind == KindConfigError && e.Event.Line > 0 {
				fl.Reason = e
				break
			}
		}
	}
	return fl
}
