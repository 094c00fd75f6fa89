package probe

import (
	"bytes"
	"net"
	"sync"
)

// tapConn sits between the SSH library and the socket. It replays what the
// banner probe already read (so the identification is read only once and
// one connection serves every layer), swallows the library's own copy of the
// identification line we already sent, keeps the clear-text start of the
// stream for parsing the server's KEXINIT, and counts writes so the auth
// probe knows whether a query actually went out.
type tapConn struct {
	net.Conn

	mu       sync.Mutex
	replay   []byte
	swallow  []byte
	tap      bytes.Buffer
	tapLimit int
	writes   int
}

func newTapConn(c net.Conn, replay, swallow []byte) *tapConn {
	return &tapConn{Conn: c, replay: replay, swallow: swallow, tapLimit: 64 * 1024}
}

func (t *tapConn) Read(p []byte) (int, error) {
	t.mu.Lock()
	if len(t.replay) > 0 {
		n := copy(p, t.replay)
		t.replay = t.replay[n:]
		t.record(p[:n])
		t.mu.Unlock()
		return n, nil
	}
	t.mu.Unlock()
	n, err := t.Conn.Read(p)
	if n > 0 {
		t.mu.Lock()
		t.record(p[:n])
		t.mu.Unlock()
	}
	return n, err
}

func (t *tapConn) record(p []byte) {
	if room := t.tapLimit - t.tap.Len(); room > 0 {
		t.tap.Write(p[:min(len(p), room)])
	}
}

func (t *tapConn) Write(p []byte) (int, error) {
	t.mu.Lock()
	if len(t.swallow) > 0 && bytes.Equal(p, t.swallow) {
		t.swallow = nil
		t.mu.Unlock()
		return len(p), nil
	}
	t.writes++
	t.mu.Unlock()
	return t.Conn.Write(p)
}

// Writes returns how many writes reached the socket.
func (t *tapConn) Writes() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.writes
}

// stream returns the recorded clear-text start of the server's stream.
func (t *tapConn) stream() []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]byte(nil), t.tap.Bytes()...)
}
