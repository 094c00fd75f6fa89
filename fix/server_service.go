package fix

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/sshdoctor/sshdoctor/check"
	"github.com/sshdoctor/sshdoctor/host/service"
)

func init() {
	RegisterServer("sshd.config-invalid", false, planConfigInvalid)
	RegisterServer("sshd.not-running", false, planStart)
	RegisterServer("sshd.failed", false, planStart)
	RegisterServer("sshd.not-enabled", false, planEnable)
	RegisterServer("sshd.hostkeys-missing", false, planHostKeys)
	RegisterServer("sshd.privsep-dir-missing", false, planPrivsep)
	RegisterServer("sshd.socket-activation", false, planSocket)
	RegisterServer("sshd.listen-restricted", false, planListen)
	RegisterServer("sshd.not-listening", false, planNotListening)
	RegisterServer("sshd.port-conflict", false, planPortConflict)
}

// planConfigInvalid corrects a mistyped keyword, or comments the bad line
// out with a marker; the whole candidate is validated with sshd -t before
// it is installed.
func planConfigInvalid(sc *ServerContext, f check.Finding) Planned {
	file, _ := f.Evidence.Get("file").(string)
	line := evInt(f.Evidence.Get("line"))
	if file == "" || line == 0 {
		return Planned{Manual: []Step{manualFrom(f)}}
	}
	var err error
	if corrected, ok := f.Evidence.Get("corrected").(string); ok && corrected != "" {
		err = sc.Conf.ReplaceLine(file, line, corrected)
	} else {
		err = sc.Conf.CommentOut(file, line, "invalid")
	}
	if err != nil {
		return Planned{Manual: []Step{manualFrom(f)}, Skip: err.Error()}
	}
	sc.ConfigChanged = true
	return Planned{}
}

// planStart starts (or restarts a failed) sshd through its service
// manager, after the configuration validates (the plan validates every
// configuration change first; an untouched invalid configuration keeps
// its own finding and planner).
func planStart(sc *ServerContext, f check.Finding) Planned {
	svc := sc.Facts.Service
	if !sc.Live {
		if svc.Manager == service.ManagerSystemd || svc.Service != nil {
			return planEnable(sc, f)
		}
		return Planned{Skip: "an offline tree: sshd starts when the machine boots"}
	}
	if sc.ServiceHandled {
		return Planned{}
	}
	var steps []Step
	switch {
	case svc.Manager == service.ManagerSystemd && svc.Service.Exists():
		u := svc.Service.Name
		if svc.Service.Masked() {
			steps = append(steps, Step{Finding: f.Code, Kind: KindExec, Phase: PhaseServices,
				Command: []string{"systemctl", "unmask", u}, Undo: []string{"systemctl", "mask", u},
				Summary: "unmask " + u + " (it was linked to /dev/null)"})
		}
		if svc.Service.ActiveState == "failed" || svc.Service.SubState == "auto-restart" || svc.Service.Restarts > 0 {
			steps = append(steps, Step{Finding: f.Code, Kind: KindExec, Phase: PhaseServices,
				Command: []string{"systemctl", "reset-failed", u}, Summary: "clear " + u + "'s failed state and restart counter"})
		}
		undo := []string{"systemctl", "stop", u}
		steps = append(steps, Step{Finding: f.Code, Kind: KindExec, Phase: PhaseServices,
			Command: []string{"systemctl", "restart", u}, Undo: undo,
			Summary: "start " + u, Risk: "sshd starts with the configuration shown above (validated first)"})
		if !svc.Service.Enabled() && !svc.Service.Masked() {
			steps = append(steps, enableStep(f.Code, u))
		}
	case svc.Init != nil:
		name := filepath.Base(svc.Init.Path)
		steps = append(steps, Step{Finding: f.Code, Kind: KindExec, Phase: PhaseServices,
			Command: []string{"service", name, "start"}, Undo: []string{"service", name, "stop"}, Summary: "start sshd with its init script"})
	default:
		bin := svc.Binary.Path
		if bin == "" {
			bin = "/usr/sbin/sshd"
		}
		steps = append(steps, Step{Finding: f.Code, Kind: KindExec, Phase: PhaseServices,
			Command: []string{bin}, Summary: "start sshd directly (no service manager was found)",
			Risk: "nothing will restart it or start it at boot"})
	}
	sc.ServiceHandled = true
	return Planned{Steps: steps}
}

func enableStep(code, unit string) Step {
	return Step{Finding: code, Kind: KindExec, Phase: PhaseServices,
		Command: []string{"systemctl", "enable", unit}, Undo: []string{"systemctl", "disable", unit},
		Summary: "enable " + unit + " at boot", Persist: "a symlink in multi-user.target.wants"}
}

// planEnable enables sshd at boot; on an offline tree, with systemctl
// --root, which only writes the symlinks.
func planEnable(sc *ServerContext, f check.Finding) Planned {
	svc := sc.Facts.Service
	unit := svc.UnitName()
	if svc.Socket != nil && svc.Socket.Enabled() && (svc.Service == nil || !svc.Service.Enabled()) {
		return Planned{} // socket activation is how it starts
	}
	if !sc.Live {
		cmd := []string{"systemctl", "--root", sc.Root, "enable", unit}
		undo := []string{"systemctl", "--root", sc.Root, "disable", unit}
		var steps []Step
		if svc.Service != nil && svc.Service.Masked() {
			steps = append(steps, Step{Finding: f.Code, Kind: KindExec, Command: []string{"systemctl", "--root", sc.Root, "unmask", unit},
				Undo: []string{"systemctl", "--root", sc.Root, "mask", unit}, Summary: "unmask " + unit + " in the tree"})
		}
		steps = append(steps, Step{Finding: f.Code, Kind: KindExec, Command: cmd, Undo: undo,
			Summary: "enable " + unit + " at boot in the tree", Persist: "the symlinks are in the tree"})
		return Planned{Steps: steps}
	}
	if svc.Manager != service.ManagerSystemd {
		return Planned{Manual: []Step{manualFrom(f)}}
	}
	return Planned{Steps: []Step{enableStep(f.Code, unit)}}
}

// planHostKeys generates the missing default host keys; undo removes the
// ones created.
func planHostKeys(sc *ServerContext, f check.Finding) Planned {
	var created []string
	for _, t := range []string{"rsa", "ecdsa", "ed25519"} {
		p := path.Join("/etc/ssh", "ssh_host_"+t+"_key")
		if _, err := os.Stat(sc.Conf.host(p)); os.IsNotExist(err) {
			created = append(created, sc.Conf.host(p), sc.Conf.host(p)+".pub")
		}
	}
	cmd := []string{"ssh-keygen", "-A"}
	if sc.Root != "/" {
		cmd = append(cmd, "-f", sc.Root)
	}
	var undo []string
	if len(created) > 0 {
		undo = append([]string{"rm", "-f", "--"}, created...)
	}
	steps := []Step{{Finding: f.Code, Kind: KindExec, Phase: PhaseFiles, Command: cmd, Undo: undo,
		Summary: "generate the missing host keys (ssh-keygen -A)",
		Risk:    "clients that knew an old key of this host will see a host key change"}}
	if sc.Live && sshdRunning(sc) {
		sc.ConfigChanged = true
	}
	return Planned{Steps: steps}
}

// planPrivsep creates /run/sshd.
func planPrivsep(sc *ServerContext, f check.Finding) Planned {
	p, _ := f.Evidence.Get("path").(string)
	if p == "" {
		p = "/run/sshd"
	}
	if !sc.Live {
		return Planned{Skip: "/run is empty on a disk that is not booted; the service creates it at start"}
	}
	return Planned{Steps: []Step{{Finding: f.Code, Kind: KindMkdir, Path: p, Mode: 0o755, UID: 0, GID: 0, Phase: PhaseFiles,
		Summary: "create " + p + " (root, 0755)", Persist: "systemd recreates it at each start (RuntimeDirectory); sshdoctor creates it for now"}}}
}

// planSocket aligns a socket unit with sshd_config's Port, with a drop-in
// (the unit file itself is the distribution's and is never edited).
func planSocket(sc *ServerContext, f check.Finding) Planned {
	if f.Severity != check.SeverityError {
		return Planned{}
	}
	svc := sc.Facts.Service
	if svc.Socket == nil || sc.Facts.Config.Config == nil {
		return Planned{Manual: []Step{manualFrom(f)}}
	}
	ports := sc.Facts.Config.Config.Startup().Ports()
	if len(ports) == 0 {
		ports = []int{22}
	}
	return Planned{Steps: socketSteps(sc, f.Code, ports)}
}

// socketSteps writes the socket unit drop-in for ports and makes systemd
// use it (guarded: the listening port changes).
func socketSteps(sc *ServerContext, code string, ports []int) []Step {
	unit := sc.Facts.Service.Socket.Name
	var b strings.Builder
	b.WriteString("# Written by sshdoctor: the ports sshd listens on with socket activation.\n# sshd_config's Port is not used while " + unit + " is active.\n[Socket]\nListenStream=\n")
	for _, p := range ports {
		fmt.Fprintf(&b, "ListenStream=%d\n", p)
	}
	dropin := sc.Conf.host(path.Join("/etc/systemd/system", unit+".d", "sshdoctor.conf"))
	files := []Step{
		{Finding: code, Kind: KindMkdir, Path: filepath.Dir(dropin), Mode: 0o755, UID: 0, GID: 0, Phase: PhaseFiles, Summary: "create " + filepath.Dir(dropin)},
		{Finding: code, Kind: KindWrite, Path: dropin, Content: []byte(b.String()), Mode: 0o644, UID: 0, GID: 0, Phase: PhaseFiles,
			Summary: fmt.Sprintf("make %s listen on %s, as sshd_config says", unit, joinInts(ports)), Persist: "a drop-in in /etc/systemd/system"},
	}
	sc.ServiceHandled = true
	if !sc.Live {
		return files
	}
	pre, post := around([]string{"sh", "-c", "systemctl daemon-reload && systemctl restart " + unit}, code,
		"reload systemd and restart "+unit+" on the new ports")
	post.Guarded, post.VerifyPorts = true, ports
	return append(append([]Step{pre}, files...), post)
}

// planListen removes ListenAddress lines that keep sshd on loopback (or off
// the client's address), so sshd listens on every address; guarded.
func planListen(sc *ServerContext, f check.Finding) Planned {
	cfg := sc.Facts.Config.Config
	if cfg == nil {
		return Planned{Manual: []Step{manualFrom(f)}}
	}
	ds := cfg.Startup().Sources("ListenAddress")
	if len(ds) == 0 {
		return Planned{Manual: []Step{manualFrom(f)}, Skip: "no ListenAddress line restricts sshd: a socket unit or another program decides"}
	}
	for _, d := range ds {
		if d.Match != nil {
			continue
		}
		if err := sc.Conf.CommentOut(d.File, d.Line, "listen on every address"); err != nil {
			return Planned{Manual: []Step{manualFrom(f)}, Skip: err.Error()}
		}
	}
	sc.ConfigChanged = true
	return Planned{}
}

// planNotListening restarts sshd when it runs but does not listen where its
// configuration says (typically a config change never applied).
func planNotListening(sc *ServerContext, f check.Finding) Planned {
	if !sc.Live || !sshdRunning(sc) {
		return Planned{}
	}
	sc.ConfigChanged = true
	return Planned{}
}

// planPortConflict never kills the other program: it says who holds the
// port and what the choices are.
func planPortConflict(sc *ServerContext, f check.Finding) Planned {
	prog, _ := f.Evidence.Get("program").(string)
	pid := evInt(f.Evidence.Get("pid"))
	port := evInt(f.Evidence.Get("port"))
	m := Step{Finding: f.Code, Kind: KindManual,
		Summary: fmt.Sprintf("%s (PID %d) holds port %d: stop or move it, or move sshd with 'sshdoctor port move N'", prog, pid, port),
		Command: []string{fmt.Sprintf("ss -ltnp 'sport = :%d'; systemctl status %d", port, pid)},
		Risk:    "sshdoctor does not stop other programs: it cannot know what depends on them"}
	return Planned{Manual: []Step{m}}
}

func sshdRunning(sc *ServerContext) bool {
	s := sc.Facts.Service
	return (s.Service != nil && s.Service.ActiveState == "active") || (s.Socket != nil && s.Socket.ActiveState == "active") || len(s.Processes) > 0
}

func evInt(v any) int {
	switch x := v.(type) {
	case int:
		return x
	case float64:
		return int(x)
	case string:
		n, _ := strconv.Atoi(x)
		return n
	}
	return 0
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ", ")
}
