package sockets

import (
	"errors"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/sshdoctor/sshdoctor/host"
)

// attachOwners finds, for each listener, the processes whose file
// descriptors point at its socket inode ("socket:[INODE]" links in
// /proc/PID/fd), and returns how many processes' descriptors could not be
// read (other users' processes when not root).
func attachOwners(sys host.System, ls []Listener) ([]Listener, int) {
	byInode := make(map[uint64][]int, len(ls))
	for i, l := range ls {
		if l.Inode != 0 {
			byInode[l.Inode] = append(byInode[l.Inode], i)
		}
	}
	if len(byInode) == 0 {
		return ls, 0
	}
	procDir := sys.Path("/proc")
	entries, err := os.ReadDir(procDir)
	if err != nil {
		return ls, 1
	}
	unreadable := 0
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 0 {
			continue
		}
		fdDir := procDir + "/" + e.Name() + "/fd"
		fds, err := os.ReadDir(fdDir)
		if err != nil {
			// A process that exited meanwhile is no loss; one we may
			// not look into is.
			if errors.Is(err, fs.ErrPermission) {
				unreadable++
			}
			continue
		}
		var proc *Process
		for _, fd := range fds {
			target, err := os.Readlink(fdDir + "/" + fd.Name())
			if err != nil {
				continue
			}
			inode, ok := socketInode(target)
			if !ok {
				continue
			}
			idx, ok := byInode[inode]
			if !ok {
				continue
			}
			if proc == nil {
				proc = &Process{PID: pid}
				proc.Comm, proc.Cmdline = readProcIdentity(procDir + "/" + e.Name())
			}
			for _, i := range idx {
				if !slices.ContainsFunc(ls[i].Procs, func(p Process) bool { return p.PID == pid }) {
					ls[i].Procs = append(ls[i].Procs, *proc)
				}
			}
		}
	}
	for i := range ls {
		slices.SortFunc(ls[i].Procs, func(a, b Process) int { return a.PID - b.PID })
	}
	return ls, unreadable
}

// socketInode parses a /proc/PID/fd link target "socket:[12345]".
func socketInode(target string) (uint64, bool) {
	s, ok := strings.CutPrefix(target, "socket:[")
	if !ok {
		return 0, false
	}
	s, ok = strings.CutSuffix(s, "]")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil
}

// readProcIdentity reads a process's comm and command line from its
// /proc/PID directory; missing pieces are empty.
func readProcIdentity(dir string) (comm, cmdline string) {
	if b, err := os.ReadFile(dir + "/comm"); err == nil {
		comm = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile(dir + "/cmdline"); err == nil {
		cmdline = ParseCmdline(b)
	}
	return comm, cmdline
}

// ParseCmdline turns the NUL-separated /proc/PID/cmdline into one line.
// Programs that rewrite their title (sshd's "sshd: /usr/sbin/sshd -D
// [listener] 0 of 10-100 startups") leave a single string, kept as it is.
func ParseCmdline(b []byte) string {
	s := strings.TrimRight(string(b), "\x00")
	return strings.ReplaceAll(s, "\x00", " ")
}
