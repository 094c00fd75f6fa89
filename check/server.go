package check

import (
	"strings"

	"github.com/sshdoctor/sshdoctor/host/service"
	"github.com/sshdoctor/sshdoctor/host/sshdconfig"
)

// ReconcileServer adjusts findings of one area by facts of another, where
// judging them apart would mislead. Today: a missing /run/sshd is normal
// while the systemd unit that creates it (RuntimeDirectory=sshd) is not
// running, since systemd removes the directory when the unit stops and
// makes it again before sshd starts; it is then not a cause of anything.
func ReconcileServer(fs []Finding, cfg *sshdconfig.Facts, svc *service.Facts) []Finding {
	fs = explainFailure(fs)
	if cfg == nil || svc == nil || !svc.Live || svc.Manager != service.ManagerSystemd {
		return fs
	}
	byUnit := false
	for _, c := range cfg.Privsep.Creators {
		if strings.Contains(c, "RuntimeDirectory=") {
			byUnit = true
		}
	}
	if !byUnit || svcActive(svc) || len(svc.Processes) > 0 {
		return fs
	}
	out := fs[:0:0]
	for _, f := range fs {
		if f.Code == "sshd.privsep-dir-missing" && f.Evidence.Get("problem") == "missing" {
			continue
		}
		out = append(out, f)
	}
	return out
}

// explainFailure links a failed service to a configuration error when the
// log gave no better reason: the unit's ExecStartPre runs sshd -t, which is
// what failed.
func explainFailure(fs []Finding) []Finding {
	var cfg *Finding
	for i := range fs {
		if fs[i].Code == "sshd.config-invalid" && fs[i].Severity == SeverityError {
			cfg = &fs[i]
			break
		}
	}
	if cfg == nil {
		return fs
	}
	for i := range fs {
		f := &fs[i]
		if f.Code != "sshd.failed" {
			continue
		}
		msg, _ := cfg.Evidence.Get("message").(string)
		if msg != "" && !strings.Contains(f.Detail, msg) && !strings.Contains(f.Detail, "configuration option") {
			f.Detail += " sshd -t refuses the configuration (" + msg + "), which is the likely reason."
		}
	}
	return fs
}

func svcActive(s *service.Facts) bool {
	for _, u := range []*service.Unit{s.Service, s.Socket} {
		if u != nil && (u.ActiveState == "active" || u.ActiveState == "reloading") {
			return true
		}
	}
	return false
}
