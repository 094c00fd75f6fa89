package service

import (
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/sshdoctor/sshdoctor/host"
)

// Process is a running sshd daemon.
type Process struct {
	PID, PPID int
	// Cmdline is the command line or the title sshd set ("sshd:
	// /usr/sbin/sshd -D [listener] 0 of 10-100 startups").
	Cmdline string
}

// sshdProcesses reads the process table for sshd daemons: processes named
// sshd whose parent is not an sshd (that excludes the per-connection
// children) and whose title is not a per-session one. On the system this
// process runs in, sshds of other network namespaces (containers, test
// namespaces) are someone else's server and are left out; other reports
// how many were.
func sshdProcesses(sys host.System) (procs []Process, other int, err error) {
	entries, err := os.ReadDir(sys.Path("/proc"))
	if err != nil {
		return nil, 0, err
	}
	var selfNet string
	if sys.Root == "" || sys.Root == "/" {
		// thread-self: a caller may have moved only its thread into a
		// namespace (setns on a locked OS thread).
		if selfNet, err = os.Readlink("/proc/thread-self/ns/net"); err != nil {
			selfNet, _ = os.Readlink("/proc/self/ns/net")
		}
	}
	type proc struct {
		comm string
		ppid int
	}
	all := map[int]proc{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(sys.Path("/proc/" + e.Name() + "/stat"))
		if err != nil {
			continue
		}
		comm, ppid, ok := ParseProcStat(stat)
		if !ok {
			continue
		}
		all[pid] = proc{comm: comm, ppid: ppid}
	}
	var out []Process
	for pid, p := range all {
		if p.comm != "sshd" {
			continue
		}
		if parent, ok := all[p.ppid]; ok && strings.HasPrefix(parent.comm, "sshd") {
			continue
		}
		cmd, _ := os.ReadFile(sys.Path("/proc/" + strconv.Itoa(pid) + "/cmdline"))
		cmdline := strings.ReplaceAll(strings.TrimRight(string(cmd), "\x00"), "\x00", " ")
		if strings.Contains(cmdline, "[priv]") || strings.Contains(cmdline, "[preauth]") || strings.Contains(cmdline, "@") {
			continue
		}
		if selfNet != "" {
			if ns, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/ns/net"); err == nil && ns != selfNet {
				other++
				continue
			}
		}
		out = append(out, Process{PID: pid, PPID: p.ppid, Cmdline: cmdline})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].PID < out[j].PID })
	return out, other, nil
}

// ParseProcStat returns the command name and parent PID from the text of
// /proc/PID/stat. The name is in parentheses and may itself contain spaces
// and parentheses, so the fields after it are found from the last ')'.
func ParseProcStat(b []byte) (comm string, ppid int, ok bool) {
	s := string(b)
	i := strings.IndexByte(s, '(')
	j := strings.LastIndexByte(s, ')')
	if i < 0 || j < i {
		return "", 0, false
	}
	f := strings.Fields(s[j+1:])
	if len(f) < 2 {
		return "", 0, false
	}
	ppid, err := strconv.Atoi(f[1])
	if err != nil {
		return "", 0, false
	}
	return s[i+1 : j], ppid, true
}
