//go:build linux

package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Do runs fn on an OS thread that has entered the host's network namespace,
// then puts the thread back. Sockets keep the namespace they were created
// in, so a socket made in fn belongs to the host for its whole life and can
// be used from any goroutine afterwards. fn itself must create its sockets
// on its own goroutine and must not resolve names: Go's resolver and any
// goroutine fn starts may run on threads outside the namespace.
func (h *Host) Do(fn func() error) error {
	errc := make(chan error, 1)
	// A goroutine of its own, so that if the thread cannot go back to the
	// test's namespace it stays locked and the runtime destroys it when
	// this goroutine ends, instead of letting other goroutines run in the
	// wrong namespace.
	go func() {
		runtime.LockOSThread()
		errc <- h.doLocked(fn)
	}()
	return <-errc
}

func (h *Host) doLocked(fn func() error) error {
	self, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("lab: %w", err)
	}
	defer self.Close()
	target, err := os.Open("/run/netns/" + h.Name)
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("lab: host %s: %w", h.Name, err)
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("lab: entering %s: %w", h.Name, err)
	}
	ferr := fn()
	if err := unix.Setns(int(self.Fd()), unix.CLONE_NEWNET); err != nil {
		// Still locked on purpose: see Do.
		return errors.Join(ferr, fmt.Errorf("lab: leaving %s: %w", h.Name, err))
	}
	runtime.UnlockOSThread()
	return ferr
}

// Listen creates a listener inside the host from the test process itself,
// so a test can play any server in Go (see Serve). addr must use an IP
// literal or no host ("tcp", ":22"). The listener is closed when the test
// ends.
func (h *Host) Listen(t testing.TB, network, addr string) net.Listener {
	t.Helper()
	var ln net.Listener
	err := h.Do(func() error {
		var err error
		ln, err = net.Listen(network, addr)
		return err
	})
	if err != nil {
		t.Fatalf("lab: listen %s %s in %s: %v", network, addr, h.Name, err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// DialContext connects from inside the host, from the test process itself.
// addr must be an IP literal and port ("10.1.2.2:22", "[fd00:5d::2]:22"):
// names are refused because resolving them could leave the namespace.
func (h *Host) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if _, err := netip.ParseAddrPort(addr); err != nil {
		return nil, fmt.Errorf("lab: dial from %s: %w (use an IP literal)", h.Name, err)
	}
	var c net.Conn
	err := h.Do(func() error {
		var d net.Dialer
		var err error
		c, err = d.DialContext(ctx, network, addr)
		return err
	})
	return c, err
}

// Serve runs a TCP server on port (all addresses, IPv4 and IPv6) inside the
// host: each accepted connection is handed to handler on its own goroutine.
// Port 0 picks a free port; the returned listener's Addr tells which. When
// the test ends the listener and every open connection are closed and Serve
// waits a little for the handlers to return, so a handler should return once
// its connection fails.
func (h *Host) Serve(t testing.TB, port int, handler func(net.Conn)) net.Listener {
	t.Helper()
	ln := h.Listen(t, "tcp", ":"+strconv.Itoa(port))
	var (
		mu     sync.Mutex
		conns  = map[net.Conn]bool{}
		closed bool
		wg     sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return // closed at cleanup
			}
			mu.Lock()
			if closed {
				mu.Unlock()
				c.Close()
				return
			}
			conns[c] = true
			wg.Add(1)
			mu.Unlock()
			go func() {
				defer wg.Done()
				defer func() {
					mu.Lock()
					delete(conns, c)
					mu.Unlock()
					c.Close()
				}()
				handler(c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		closed = true
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Errorf("lab: a Serve handler in %s did not return after its connection was closed", h.Name)
		}
	})
	return ln
}

// Silent is a Serve handler that accepts and never says anything: it reads
// and discards until the client goes away.
func Silent(c net.Conn) { io.Copy(io.Discard, c) }

// Send returns a Serve handler that writes data (a banner, an HTTP
// response, garbage) and then keeps the connection open, reading and
// discarding, until the client goes away.
func Send(data []byte) func(net.Conn) {
	return func(c net.Conn) {
		if _, err := c.Write(data); err != nil {
			return
		}
		io.Copy(io.Discard, c)
	}
}
