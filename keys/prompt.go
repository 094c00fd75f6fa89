package keys

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

// Prompter asks the person at the terminal. It is the only source of
// passwords, passphrases and of the consent to trust an unknown host key:
// an implementation must read from a terminal a person types at, never
// from a file, a pipe or the environment.
type Prompter interface {
	// Secret shows prompt and reads one line without echo (a password, a
	// passphrase).
	Secret(prompt string) ([]byte, error)
	// Line shows prompt and reads one line with echo (a yes/no answer).
	Line(prompt string) (string, error)
	// Say shows a message (a fingerprint, a server's instructions).
	Say(msg string)
}

// ErrNoTTY means there is no terminal to ask at.
var ErrNoTTY = errors.New("keys: no terminal to ask at")

// TTY is a Prompter on the process's controlling terminal (/dev/tty), so
// that prompts work while stdout is a pipe (--json) and input cannot come
// from a redirected stdin.
type TTY struct {
	f *os.File
}

// OpenTTY opens the controlling terminal. The error wraps ErrNoTTY when the
// process has none (a cron job, a CI run, ssh without -t).
func OpenTTY() (*TTY, error) {
	f, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoTTY, err)
	}
	if !term.IsTerminal(int(f.Fd())) {
		f.Close()
		return nil, ErrNoTTY
	}
	return &TTY{f: f}, nil
}

// Close closes the terminal.
func (t *TTY) Close() error { return t.f.Close() }

// Secret reads a line with echo off (golang.org/x/term), as ssh reads a
// password.
func (t *TTY) Secret(prompt string) ([]byte, error) {
	if _, err := io.WriteString(t.f, prompt); err != nil {
		return nil, fmt.Errorf("keys: terminal: %w", err)
	}
	b, err := term.ReadPassword(int(t.f.Fd()))
	io.WriteString(t.f, "\n")
	if err != nil {
		return nil, fmt.Errorf("keys: reading from the terminal: %w", err)
	}
	return b, nil
}

// Line reads a line with echo. It reads one byte at a time so that nothing
// typed after the line is taken from a later prompt.
func (t *TTY) Line(prompt string) (string, error) {
	if _, err := io.WriteString(t.f, prompt); err != nil {
		return "", fmt.Errorf("keys: terminal: %w", err)
	}
	var b strings.Builder
	buf := make([]byte, 1)
	for {
		n, err := t.f.Read(buf)
		if n == 1 {
			if buf[0] == '\n' || buf[0] == '\r' {
				return b.String(), nil
			}
			b.WriteByte(buf[0])
			if b.Len() > 4096 {
				return "", errors.New("keys: terminal: line too long")
			}
		}
		if err != nil {
			if err == io.EOF && b.Len() > 0 {
				return b.String(), nil
			}
			return "", fmt.Errorf("keys: reading from the terminal: %w", err)
		}
	}
}

// Say writes msg and a newline to the terminal.
func (t *TTY) Say(msg string) {
	io.WriteString(t.f, strings.TrimSuffix(msg, "\n")+"\n")
}
