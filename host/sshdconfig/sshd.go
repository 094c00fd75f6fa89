package sshdconfig

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
)

// Runner runs a program and returns what it printed. err is non-nil when it
// could not run or exited with a failure; stdout and stderr are returned in
// both cases. Tests replace it, for example to run sshd in a private mount
// namespace.
type Runner interface {
	Run(ctx context.Context, name string, args ...string) (stdout, stderr []byte, err error)
}

// ExecRunner runs programs directly, in Dir ("/" when empty: sshd resolves
// relative paths against its working directory, and as a daemon that is
// "/").
type ExecRunner struct {
	Dir string
}

// Run implements Runner.
func (r ExecRunner) Run(ctx context.Context, name string, args ...string) ([]byte, []byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = r.Dir
	if cmd.Dir == "" {
		cmd.Dir = "/"
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.Bytes(), errb.Bytes(), err
}

// SSHD runs the real sshd in its test modes. Only the live system is ever
// inspected this way: the sshd of an offline tree may not run here, and it
// would read this machine's files, not the tree's.
type SSHD struct {
	// Path is the sshd binary; empty means /usr/sbin/sshd.
	Path string
	// Runner runs it; nil means ExecRunner{}.
	Runner Runner
}

func (s SSHD) path() string {
	if s.Path == "" {
		return "/usr/sbin/sshd"
	}
	return s.Path
}

func (s SSHD) runner() Runner {
	if s.Runner == nil {
		return ExecRunner{}
	}
	return s.Runner
}

// TestResult is the outcome of `sshd -t`.
type TestResult struct {
	// OK is true when sshd accepted the configuration (exit status 0).
	OK bool
	// Output is what sshd printed, stdout and stderr, as it printed it.
	Output string
	// Messages are the lines of Output that name a configuration line.
	Messages []Message
}

// Message is one line of sshd's output that names a file and line.
type Message struct {
	// File and Line locate it; File is empty when sshd gave only a line.
	File string
	Line int
	// Text is the whole output line.
	Text string
}

// Test runs `sshd -t -f file`. The error is for an sshd that could not be
// run at all; a configuration sshd refuses is a TestResult with OK false.
func (s SSHD) Test(ctx context.Context, file string) (TestResult, error) {
	out, errOut, err := s.runner().Run(ctx, s.path(), "-t", "-f", file)
	res := TestResult{Output: string(out) + string(errOut)}
	var ee *exec.ExitError
	switch {
	case err == nil:
		res.OK = true
	case errors.As(err, &ee):
	default:
		return res, fmt.Errorf("sshdconfig: run %s -t: %w", s.path(), err)
	}
	res.Messages = parseMessages(res.Output)
	return res, nil
}

var (
	// "FILE line N: msg", "FILE: line N: msg"
	msgFileLine = regexp.MustCompile(`^(.*?):? line ([0-9]+):`)
	// "... at line N" (Match address errors)
	msgAtLine = regexp.MustCompile(` at line ([0-9]+)$`)
)

func parseMessages(out string) []Message {
	var msgs []Message
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		t := sc.Text()
		if m := msgFileLine.FindStringSubmatch(t); m != nil {
			n, _ := strconv.Atoi(m[2])
			msgs = append(msgs, Message{File: m[1], Line: n, Text: t})
		} else if m := msgAtLine.FindStringSubmatch(t); m != nil {
			n, _ := strconv.Atoi(m[1])
			msgs = append(msgs, Message{Line: n, Text: t})
		}
	}
	return msgs
}

// Dump is the output of `sshd -T`: keyword (lower case, as sshd prints it)
// to values, one entry per output line.
type Dump map[string][]string

// ConnSpec formats conn as the -C argument of `sshd -T`; fields that are
// unknown are left out. LocalPort must be known when a Match LocalPort line
// exists, or sshd refuses the test.
func ConnSpec(conn Conn) string {
	var parts []string
	add := func(k, v string) {
		if v != "" {
			parts = append(parts, k+"="+v)
		}
	}
	add("user", conn.User)
	add("host", conn.Host)
	add("addr", conn.Addr)
	add("laddr", conn.LocalAddr)
	if conn.LocalPort != 0 {
		add("lport", strconv.Itoa(conn.LocalPort))
	}
	add("rdomain", conn.RDomain)
	return strings.Join(parts, ",")
}

// Dump runs `sshd -T -f file -C spec` and parses its output. Match Group
// is evaluated by sshd against this machine's group database, not
// conn.Groups.
func (s SSHD) Dump(ctx context.Context, file string, conn Conn) (Dump, error) {
	args := []string{"-T", "-f", file}
	if spec := ConnSpec(conn); spec != "" {
		args = append(args, "-C", spec)
	}
	out, errOut, err := s.runner().Run(ctx, s.path(), args...)
	if err != nil {
		msg := strings.TrimSpace(string(errOut))
		if msg == "" {
			msg = strings.TrimSpace(string(out))
		}
		return nil, fmt.Errorf("sshdconfig: %s -T: %w: %s", s.path(), err, msg)
	}
	return ParseDump(out), nil
}

// ParseDump parses `sshd -T` output.
func ParseDump(out []byte) Dump {
	d := Dump{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		k, v, _ := strings.Cut(strings.TrimSpace(sc.Text()), " ")
		if k == "" {
			continue
		}
		d[strings.ToLower(k)] = append(d[strings.ToLower(k)], v)
	}
	return d
}

// Version runs `sshd -V` and returns the release it prints (the zero
// Version when it prints none).
func (s SSHD) Version(ctx context.Context) (Version, error) {
	out, errOut, err := s.runner().Run(ctx, s.path(), "-V")
	v := ParseVersion(append(out, errOut...))
	if v.IsZero() && err != nil {
		return v, fmt.Errorf("sshdconfig: run %s -V: %w", s.path(), err)
	}
	return v, nil
}
