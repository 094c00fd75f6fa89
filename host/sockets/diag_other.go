//go:build !linux

package sockets

import "errors"

// sockDiagListeners is Linux-only; elsewhere Gather falls back to /proc,
// which is not there either, and says so.
func sockDiagListeners() ([]Listener, error) {
	return nil, errors.New("sockets: sock_diag is only available on Linux")
}
