package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	"golang.org/x/sys/unix"
)

var update = flag.Bool("update", false, "update the golden output in testdata scripts")

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"sshdoctor": func() { os.Exit(Main(context.Background(), os.Args[1:], os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs testdata/*.txtar: the command line as users type it.
//
// Extra commands:
//
//	exits CODE PROG [ARGS...]  run PROG and require exit status CODE
//	lines N stdout|stderr      require exactly N lines in the last output
//	jsondoc VERDICT            require stdout to be exactly one sshdoctor/v1
//	                           document whose verdict is VERDICT (or null)
//	fakeserver KIND VAR        serve KIND on 127.0.0.1 and put its port in $VAR
//	                           (KIND: escbanner, http)
//
// $CLOSED_PORT is a loopback port that nothing listens on.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata",
		UpdateScripts:       *update,
		RequireExplicitExec: true,
		Setup: func(e *testscript.Env) error {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return err
			}
			e.Setenv("CLOSED_PORT", strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
			return ln.Close()
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exits":      cmdExits,
			"lines":      cmdLines,
			"jsondoc":    cmdJSONDoc,
			"fakeserver": cmdFakeServer,
		},
	})
}

func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits CODE PROG [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exits: bad code %q", args[0])
	}
	err = ts.Exec(args[1], args[2:]...)
	got := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		got = ee.ExitCode()
	case err != nil:
		ts.Fatalf("exits: %v", err)
	}
	if got != want {
		ts.Fatalf("exit status %d, want %d", got, want)
	}
}

func cmdLines(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 || (args[1] != "stdout" && args[1] != "stderr") {
		ts.Fatalf("usage: lines N stdout|stderr")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("lines: bad count %q", args[0])
	}
	out := ts.ReadFile(args[1])
	got := strings.Count(out, "\n")
	if out != "" && !strings.HasSuffix(out, "\n") {
		got++
	}
	if got != want {
		ts.Fatalf("%s has %d lines, want %d:\n%s", args[1], got, want, out)
	}
}

func cmdJSONDoc(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: jsondoc VERDICT")
	}
	dec := json.NewDecoder(strings.NewReader(ts.ReadFile("stdout")))
	var doc struct {
		Schema  string `json:"schema"`
		OK      *bool  `json:"ok"`
		Verdict *struct {
			Code string `json:"code"`
		} `json:"verdict"`
		Findings []json.RawMessage `json:"findings"`
		Steps    []json.RawMessage `json:"steps"`
	}
	if err := dec.Decode(&doc); err != nil {
		ts.Fatalf("stdout is not a JSON document: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		ts.Fatalf("stdout holds more than one JSON document")
	}
	if doc.Schema != "sshdoctor/v1" || doc.OK == nil || doc.Findings == nil || doc.Steps == nil {
		ts.Fatalf("not an sshdoctor/v1 report: schema %q, ok %v", doc.Schema, doc.OK)
	}
	got := "null"
	if doc.Verdict != nil {
		got = doc.Verdict.Code
	}
	if got != args[0] {
		ts.Fatalf("verdict %s, want %s", got, args[0])
	}
	if *doc.OK != (got == "null") {
		ts.Fatalf("ok is %v with verdict %s", *doc.OK, got)
	}
}

// cmdFakeServer serves a misbehaving server on loopback for the rest of the
// script.
func cmdFakeServer(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: fakeserver KIND VAR")
	}
	var handler func(net.Conn)
	switch args[0] {
	case "escbanner":
		handler = func(c net.Conn) {
			_, _ = bufio.NewReader(c).ReadString('\n')
			_, _ = c.Write([]byte("SSH-2.0-\x1b]0;pwned\x07\x1b[2J\r\n"))
		}
	case "http":
		handler = func(c net.Conn) {
			_, _ = bufio.NewReader(c).ReadString('\n')
			_, _ = c.Write([]byte("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n"))
		}
	default:
		ts.Fatalf("fakeserver: unknown kind %q", args[0])
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		ts.Fatalf("fakeserver: %v", err)
	}
	var wg sync.WaitGroup
	ts.Defer(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				handler(c)
			}()
		}
	}()
	ts.Setenv(args[1], strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
}

// openPTY returns both ends of a new pseudo-terminal.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	skip := func(why string, err error) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s: %v (CI must run this test)", why, err)
		}
		t.Skipf("%s: %v", why, err)
	}
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		skip("no pseudo-terminals here", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		m.Close()
		skip("unlockpt", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		m.Close()
		skip("ptsname", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		m.Close()
		skip("opening the pty", err)
	}
	return m, s
}

// Colour appears on a terminal, and never with NO_COLOR or off a terminal.
func TestColourOnlyOnTerminalWithoutNoColor(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	args := []string{"check", "-F", "none", "--known-hosts", os.DevNull, "-p", port, "127.0.0.1"}
	home := t.TempDir()

	runOn := func(stdout io.Writer, noColor string) int {
		e := &env{ctx: context.Background(), stdout: stdout, stderr: io.Discard, getenv: func(k string) string {
			switch k {
			case "NO_COLOR":
				return noColor
			case "HOME":
				return home
			}
			return ""
		}}
		return e.main(args)
	}
	onTerminal := func(noColor string) string {
		m, s := openPTY(t)
		defer m.Close()
		var out bytes.Buffer
		done := make(chan struct{})
		go func() {
			_, _ = io.Copy(&out, m) // ends with EIO once the slave is closed
			close(done)
		}()
		if code := runOn(s, noColor); code != 1 {
			t.Errorf("exit %d, want 1", code)
		}
		s.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("the terminal output never ended")
		}
		return out.String()
	}

	if out := onTerminal(""); !strings.Contains(out, "\x1b[31m") {
		t.Errorf("no colour on a terminal without NO_COLOR:\n%q", out)
	}
	if out := onTerminal("1"); strings.Contains(out, "\x1b") {
		t.Errorf("escape codes on a terminal with NO_COLOR=1:\n%q", out)
	}
	var buf bytes.Buffer
	if code := runOn(&buf, ""); code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if strings.Contains(buf.String(), "\x1b") || !strings.Contains(buf.String(), "tcp.refused") {
		t.Errorf("output to a non-terminal:\n%q", buf.String())
	}
}

// A usage error is one line on stderr, however the flag package words it.
func TestUsageErrorsAreOneLine(t *testing.T) {
	for _, args := range [][]string{
		{"check", "--timeout"},
		{"check", "-p", "x\ny", "web1"},
		{"check", "web1\nrm -rf /"},
		{"explain", "tcp.rejected\x1b[2J"},
	} {
		var stdout, stderr bytes.Buffer
		code := Main(context.Background(), args, &stdout, &stderr)
		if code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
		if stdout.Len() != 0 {
			t.Errorf("%q: stdout %q", args, stdout.String())
		}
		if n := strings.Count(stderr.String(), "\n"); n != 1 || strings.ContainsAny(strings.TrimSuffix(stderr.String(), "\n"), "\n\r\x1b") {
			t.Errorf("%q: stderr is not one clean line: %q", args, stderr.String())
		}
	}
}
