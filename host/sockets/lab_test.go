//go:build linux

package sockets

import (
	"context"
	"net"
	"testing"

	"github.com/sshdoctor/sshdoctor/host"
	"github.com/sshdoctor/sshdoctor/internal/lab"
)

// TestGatherDualStackInNamespace listens on [::] twice in a namespace of the
// lab's, once dual-stack and once IPv6-only, and checks that sock_diag
// tells them apart: a dual-stack [::]:22 (what systemd's ListenStream=22
// makes) also serves IPv4 clients, sshd's own [::]:22 does not.
func TestGatherDualStackInNamespace(t *testing.T) {
	p := lab.NewPair(t)
	dual := p.Server.Listen(t, "tcp", ":0").Addr().(*net.TCPAddr).AddrPort()
	only6 := p.Server.Listen(t, "tcp6", "[::]:0").Addr().(*net.TCPAddr).AddrPort()
	var f Facts
	if err := p.Server.Do(func() error {
		f = Gather(context.Background(), host.LiveSystem(), Options{From: p.Client.Addr4})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if f.Source != SourceSockDiag {
		t.Fatalf("source %q (%v)", f.Source, f.Err)
	}
	if len(f.Listeners) != 2 {
		t.Fatalf("listeners in a fresh namespace: %v", f.Listeners)
	}
	d, o := find(f, dual), find(f, only6)
	if d == nil || o == nil {
		t.Fatalf("missing listeners: %v", f.Listeners)
	}
	if !d.AcceptsIPv4() || !d.Covers(p.Server.Addr4) {
		t.Errorf("dual-stack %s: v6only=%v, AcceptsIPv4=%v", d, d.V6Only, d.AcceptsIPv4())
	}
	if o.V6Only == nil || !*o.V6Only || o.Covers(p.Server.Addr4) {
		t.Errorf("IPv6-only %s: v6only=%v covers %s", o, o.V6Only, p.Server.Addr4)
	}
	if f.Route == nil || f.Route.Src != p.Server.Addr4 {
		t.Errorf("route back to %s: %+v", p.Client.Addr4, f.Route)
	}
}
