package check_test

import (
	"strings"
	"testing"

	"github.com/sshdoctor/sshdoctor/check"
	"github.com/sshdoctor/sshdoctor/host/service"
	"github.com/sshdoctor/sshdoctor/host/sshdconfig"
)

func TestReconcileServer(t *testing.T) {
	privsep := check.New("sshd.privsep-dir-missing", "/run/sshd does not exist", check.E("problem", "missing"))
	cfg := &sshdconfig.Facts{Privsep: sshdconfig.Privsep{Path: "/run/sshd", Creators: []string{"/lib/systemd/system/ssh.service: RuntimeDirectory=sshd"}}}
	stopped := &service.Facts{Live: true, Manager: service.ManagerSystemd, Service: &service.Unit{Name: "ssh.service", ActiveState: "inactive"}}
	running := &service.Facts{Live: true, Manager: service.ManagerSystemd, Service: &service.Unit{Name: "ssh.service", ActiveState: "active"}}

	if got := check.ReconcileServer([]check.Finding{privsep}, cfg, stopped); len(got) != 0 {
		t.Errorf("a stopped unit removes its RuntimeDirectory: no finding expected, got %v", got)
	}
	if got := check.ReconcileServer([]check.Finding{privsep}, cfg, running); len(got) != 1 {
		t.Errorf("with sshd running the missing directory matters: got %v", got)
	}
	noCreator := &sshdconfig.Facts{Privsep: sshdconfig.Privsep{Path: "/run/sshd"}}
	if got := check.ReconcileServer([]check.Finding{privsep}, noCreator, stopped); len(got) != 1 {
		t.Errorf("nothing creates it: the finding stays, got %v", got)
	}

	failed := check.New("sshd.failed", "ssh.service failed: Control process exited, code=exited, status=255.")
	invalid := check.New("sshd.config-invalid", "bad keyword", check.E("message", "/etc/ssh/sshd_config: line 3: Bad configuration option: Bogus"))
	got := check.ReconcileServer([]check.Finding{invalid, failed}, nil, nil)
	if !strings.Contains(got[1].Detail, "Bad configuration option: Bogus") {
		t.Errorf("the failure should point at the configuration error: %q", got[1].Detail)
	}
}
