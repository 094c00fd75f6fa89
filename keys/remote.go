package keys

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/sshdoctor/sshdoctor/report"
)

// The server side is a few lines of POSIX sh, run as `exec sh -c '...'`
// whatever the login shell is (as ssh-copy-id does). The scripts hold no
// single quote, so that quoting them is trivial, and every piece of data
// (paths, the key line, the new file) travels on stdin, never on a command
// line that a shell would interpret. `read -r` takes one line and, as POSIX
// requires for pipes, no more, so the rest of stdin is left for cat.

// infoScript prints the home directory, user name and uid that sshd's
// AuthorizedKeysFile tokens (%h, %u, %U) stand for.
const infoScript = `printf "%s\n" "$HOME"; id -un; id -u`

// readScript prints "y" and the file, "n" when it does not exist.
const readScript = `read -r f || exit 90
if [ -f "$f" ]; then printf "y\n"; cat -- "$f" || exit 30
elif [ -e "$f" ]; then exit 31
else printf "n\n"; fi`

// appendScript adds one line to an authorized_keys file as ssh-copy-id
// does: umask 077 so that what it creates is 0700/0600, a newline first if
// the file does not end with one, go-w on the directory and file (what
// StrictModes checks), and the SELinux label restored where there is one.
const appendScript = `umask 077
read -r f || exit 90
read -r k || exit 90
d=$(dirname -- "$f")
mkdir -p -- "$d" || exit 10
[ -e "$f" ] || : > "$f" || exit 11
if [ -s "$f" ] && [ -n "$(tail -c 1 -- "$f")" ]; then echo >> "$f" || exit 12; fi
printf "%s\n" "$k" >> "$f" || exit 13
chmod go-w -- "$d" "$f" 2>/dev/null
if command -v restorecon >/dev/null 2>&1; then restorecon -F -- "$d" "$f" >/dev/null 2>&1; fi
exit 0`

// replaceScript replaces a file with stdin, only if it still has the
// checksum (POSIX cksum) it had when it was read, so that a concurrent edit
// is never lost. A copy made with cp -p keeps the owner and mode, and the
// rename makes the change atomic; a symlink is written through instead, so
// it stays a symlink.
const replaceScript = `read -r f || exit 90
read -r sum || exit 90
[ -f "$f" ] || exit 20
[ "$(cksum < "$f")" = "$sum" ] || exit 21
if [ -L "$f" ]; then cat > "$f" || exit 22; exit 0; fi
t="$f.sshdoctor.$$"
cp -p -- "$f" "$t" || exit 23
[ -w "$t" ] || { rm -f -- "$t"; exit 25; }
cat > "$t" || { rm -f -- "$t"; exit 22; }
mv -f -- "$t" "$f" || { rm -f -- "$t"; exit 24; }
exit 0`

// remoteMeaning explains the scripts' exit statuses.
var remoteMeaning = map[int]string{
	10: "cannot create the directory", 11: "cannot create the file", 12: "cannot write to the file",
	13: "cannot write to the file", 20: "the file is gone", 21: "the file changed while sshdoctor was working; run the command again",
	22: "cannot write the new file", 23: "cannot copy the file", 24: "cannot rename the new file into place",
	25: "the file is read-only", 30: "cannot read the file", 31: "it is not a regular file", 90: "the input was cut short",
}

// maxRemoteOutput bounds what is read back from the server.
const maxRemoteOutput = 4 << 20

// remoteError is a script that ended with a non-zero status.
type remoteError struct {
	status int
	stderr string
}

func (e *remoteError) Error() string {
	msg := remoteMeaning[e.status]
	if msg == "" {
		msg = "exit status " + strconv.Itoa(e.status)
	}
	if e.stderr != "" {
		msg += ": " + e.stderr
	}
	return msg
}

// run runs a script under sh on the server, with stdin, and returns its
// stdout. A non-zero exit is a *remoteError.
func (c *Conn) run(ctx context.Context, script string, stdin []byte) ([]byte, error) {
	if strings.Contains(script, "'") {
		panic("keys: a remote script must not contain a single quote")
	}
	sess, err := c.Client.NewSession()
	if err != nil {
		return nil, fmt.Errorf("opening a session: %w", err)
	}
	defer sess.Close()
	var out, errOut limitedBuffer
	out.max, errOut.max = maxRemoteOutput, 4096
	sess.Stdin = bytes.NewReader(stdin)
	sess.Stdout, sess.Stderr = &out, &errOut
	// The whole connection shares the deadline; the steps run one at a time.
	_ = c.raw.SetDeadline(time.Now().Add(max(6*c.timeout, 30*time.Second)))
	defer c.raw.SetDeadline(time.Time{})
	stop := context.AfterFunc(ctx, func() { sess.Close() })
	defer stop()
	err = sess.Run("exec sh -c '" + script + "'")
	if out.over {
		return nil, errors.New("the server sent more than sshdoctor reads back")
	}
	var ee *ssh.ExitError
	if errors.As(err, &ee) {
		return out.Bytes(), &remoteError{status: ee.ExitStatus(), stderr: report.Escape(strings.TrimSpace(errOut.String()))}
	}
	if err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

type limitedBuffer struct {
	bytes.Buffer
	max  int
	over bool
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > b.max {
		b.over = true
		p = p[:max(0, b.max-b.Len())]
	}
	b.Buffer.Write(p)
	return len(p), nil
}

// Account is who the login is on the server: what AuthorizedKeysFile's
// tokens stand for.
type Account struct {
	Home string // %h
	User string // %u
	UID  string // %U
}

// Account asks the server for the login's home directory, name and uid.
// An answer that does not look like one means the commands did not run as
// written (a forced command, a restricted shell).
func (c *Conn) Account(ctx context.Context) (Account, error) {
	out, err := c.run(ctx, infoScript, nil)
	if err != nil {
		return Account{}, err
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "/") || lines[1] == "" {
		return Account{}, fmt.Errorf("the server did not run sshdoctor's commands as written (a forced command or a restricted shell?): it answered %q", report.Escape(truncate(string(out), 120)))
	}
	if _, err := strconv.Atoi(lines[2]); err != nil {
		return Account{}, fmt.Errorf("the server answered %q for the uid", report.Escape(lines[2]))
	}
	return Account{Home: lines[0], User: lines[1], UID: lines[2]}, nil
}

// DefaultAuthorizedKeysFiles is sshd's default AuthorizedKeysFile.
var DefaultAuthorizedKeysFiles = []string{".ssh/authorized_keys", ".ssh/authorized_keys2"}

// ExpandAuthorizedKeysFile turns one AuthorizedKeysFile pattern into a path
// as sshd does: %h, %u, %U and %% are replaced, a leading ~ is the home
// directory, and a relative path is taken from the home directory.
func ExpandAuthorizedKeysFile(pattern string, a Account) (string, error) {
	var b strings.Builder
	for i := 0; i < len(pattern); i++ {
		if pattern[i] != '%' {
			b.WriteByte(pattern[i])
			continue
		}
		if i+1 == len(pattern) {
			return "", fmt.Errorf("keys: %q ends with a lone %%", pattern)
		}
		i++
		switch pattern[i] {
		case '%':
			b.WriteByte('%')
		case 'h':
			b.WriteString(a.Home)
		case 'u':
			b.WriteString(a.User)
		case 'U':
			b.WriteString(a.UID)
		default:
			return "", fmt.Errorf("keys: unknown token %%%c in %q (sshd knows %%h, %%u, %%U and %%%%)", pattern[i], pattern)
		}
	}
	p := b.String()
	switch {
	case p == "~":
		p = a.Home
	case strings.HasPrefix(p, "~/"):
		p = path.Join(a.Home, p[2:])
	case !strings.HasPrefix(p, "/"):
		p = path.Join(a.Home, p)
	}
	if strings.ContainsAny(p, "\n\r") {
		return "", fmt.Errorf("keys: the path %q holds a line break", p)
	}
	return path.Clean(p), nil
}

// ReadFile returns a file on the server; ok is false when it does not exist.
func (c *Conn) ReadFile(ctx context.Context, file string) (data []byte, ok bool, err error) {
	out, err := c.run(ctx, readScript, []byte(file+"\n"))
	if err != nil {
		return nil, false, err
	}
	switch {
	case bytes.HasPrefix(out, []byte("y\n")):
		return out[2:], true, nil
	case bytes.Equal(out, []byte("n\n")):
		return nil, false, nil
	}
	return nil, false, fmt.Errorf("unexpected answer %q", report.Escape(truncate(string(out), 80)))
}

// AppendLine appends line to the authorized_keys file on the server,
// creating it and its directory with modes 0600 and 0700 if needed.
func (c *Conn) AppendLine(ctx context.Context, file, line string) error {
	if strings.ContainsAny(line, "\n\r") {
		return errors.New("keys: the line holds a line break")
	}
	_, err := c.run(ctx, appendScript, []byte(file+"\n"+line+"\n"))
	return err
}

// ReplaceFile replaces the file on the server with data, if it still
// holds old (compared by POSIX cksum), keeping its owner and mode.
func (c *Conn) ReplaceFile(ctx context.Context, file string, old, data []byte) error {
	stdin := append([]byte(file+"\n"+Cksum(old)+"\n"), data...)
	_, err := c.run(ctx, replaceScript, stdin)
	return err
}

// cksumTable is the CRC-32 table of POSIX cksum: polynomial 0x04C11DB7,
// most significant bit first (not the reflected CRC of hash/crc32).
var cksumTable = func() (t [256]uint32) {
	for i := range t {
		c := uint32(i) << 24
		for range 8 {
			if c&0x80000000 != 0 {
				c = c<<1 ^ 0x04C11DB7
			} else {
				c <<= 1
			}
		}
		t[i] = c
	}
	return t
}()

// Cksum is what `cksum < FILE` prints for data, without the newline: the
// POSIX CRC (which covers the length too) and the length.
func Cksum(data []byte) string {
	var crc uint32
	for _, b := range data {
		crc = crc<<8 ^ cksumTable[byte(crc>>24)^b]
	}
	for n := len(data); n != 0; n >>= 8 {
		crc = crc<<8 ^ cksumTable[byte(crc>>24)^byte(n)]
	}
	return fmt.Sprintf("%d %d", ^crc, len(data))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
