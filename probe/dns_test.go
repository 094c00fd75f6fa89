package probe

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"
)

type fakeResolver struct {
	addrs []netip.Addr
	err   error
	block bool // wait for the context to end
	calls int
}

func (r *fakeResolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	r.calls++
	if r.block {
		<-ctx.Done()
		return nil, &net.DNSError{Err: "i/o timeout", Name: host, IsTimeout: true}
	}
	return r.addrs, r.err
}

func addrs(s ...string) []netip.Addr {
	var out []netip.Addr
	for _, a := range s {
		out = append(out, netip.MustParseAddr(a))
	}
	return out
}

func TestLookupHost(t *testing.T) {
	tests := []struct {
		name     string
		r        *fakeResolver
		host     string
		family   string
		addrs    []netip.Addr
		excluded []netip.Addr
		notFound bool
		timeout  bool
		literal  bool
	}{
		{name: "found", r: &fakeResolver{addrs: addrs("10.0.0.5", "2001:db8::5")}, host: "web1",
			addrs: addrs("10.0.0.5", "2001:db8::5")},
		{name: "mapped addresses are unmapped", r: &fakeResolver{addrs: addrs("::ffff:10.0.0.5")}, host: "web1",
			addrs: addrs("10.0.0.5")},
		{name: "inet only", r: &fakeResolver{addrs: addrs("10.0.0.5", "2001:db8::5")}, host: "web1", family: "inet",
			addrs: addrs("10.0.0.5"), excluded: addrs("2001:db8::5")},
		{name: "inet6 only, name has only IPv4", r: &fakeResolver{addrs: addrs("10.0.0.5")}, host: "web1", family: "inet6",
			excluded: addrs("10.0.0.5")},
		{name: "no such host", r: &fakeResolver{err: &net.DNSError{Err: "no such host", Name: "nope", IsNotFound: true}}, host: "nope",
			notFound: true},
		{name: "resolver timeout", r: &fakeResolver{err: &net.DNSError{Err: "i/o timeout", Name: "web1", IsTimeout: true, Server: "10.0.0.53:53"}}, host: "web1",
			timeout: true},
		{name: "wrapped deadline", r: &fakeResolver{err: context.DeadlineExceeded}, host: "web1", timeout: true},
		{name: "literal address", r: &fakeResolver{err: errors.New("must not be called")}, host: "10.0.0.5",
			addrs: addrs("10.0.0.5"), literal: true},
		{name: "literal IPv6 excluded by family", r: &fakeResolver{}, host: "2001:db8::5", family: "inet",
			excluded: addrs("2001:db8::5"), literal: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := LookupHost(context.Background(), tt.r, tt.host, tt.family, time.Second)
			if !slices.Equal(f.Addrs, tt.addrs) || !slices.Equal(f.Excluded, tt.excluded) {
				t.Errorf("Addrs %v Excluded %v, want %v and %v", f.Addrs, f.Excluded, tt.addrs, tt.excluded)
			}
			if f.NotFound != tt.notFound || f.Timeout != tt.timeout || f.Literal != tt.literal {
				t.Errorf("NotFound %v Timeout %v Literal %v, want %v %v %v", f.NotFound, f.Timeout, f.Literal, tt.notFound, tt.timeout, tt.literal)
			}
			if (tt.notFound || tt.timeout) && f.Err == "" {
				t.Errorf("Err is empty on failure")
			}
			if tt.literal && tt.r.calls != 0 {
				t.Errorf("the resolver was asked about an address")
			}
			if f.Name != tt.host {
				t.Errorf("Name = %q", f.Name)
			}
		})
	}
}

func TestLookupHostTimeoutBoundsTheResolver(t *testing.T) {
	r := &fakeResolver{block: true}
	done := make(chan DNSFacts, 1)
	go func() { done <- LookupHost(context.Background(), r, "slow.example", "any", 50*time.Millisecond) }()
	select {
	case f := <-done:
		if !f.Timeout {
			t.Errorf("Timeout = false after the resolver hit the time limit: %+v", f)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("LookupHost did not return after its timeout")
	}
}

func TestLookupHostServer(t *testing.T) {
	r := &fakeResolver{err: &net.DNSError{Err: "server misbehaving", Name: "web1", Server: "10.0.0.53:53"}}
	f := LookupHost(context.Background(), r, "web1", "", time.Second)
	if f.Server != "10.0.0.53:53" || f.NotFound || f.Timeout || f.Family != "any" {
		t.Errorf("got %+v, want the server recorded, neither not-found nor timeout, family any", f)
	}
}
