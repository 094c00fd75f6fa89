package probe

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"time"
)

// DNSFacts is what resolving the host name produced.
type DNSFacts struct {
	// Name is the name looked up (the HostName after ssh's configuration).
	Name string
	// Family is "any", "inet" or "inet6" (ssh's AddressFamily).
	Family string
	// Literal is true when Name was an IP address and no lookup happened.
	Literal bool
	// Addrs are the usable addresses, in the order ssh would try them.
	Addrs []netip.Addr
	// Excluded are addresses the name has but AddressFamily rules out.
	Excluded []netip.Addr
	// NotFound is true when the resolver said the name does not exist.
	NotFound bool
	// Timeout is true when the resolver did not answer in time.
	Timeout bool
	// Err is the resolver's error text; empty on success.
	Err string
	// Server is the DNS server that answered or failed, when known.
	Server string
	// Elapsed is how long the lookup took.
	Elapsed time.Duration
}

// Resolver looks names up; *net.Resolver satisfies it.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// LookupHost resolves name as ssh would for the given AddressFamily
// ("any", "inet", "inet6"). A and AAAA are both asked for, so that an
// address excluded by the family can be shown.
func LookupHost(ctx context.Context, r Resolver, name, family string, timeout time.Duration) DNSFacts {
	f := DNSFacts{Name: name, Family: family}
	if f.Family == "" {
		f.Family = "any"
	}
	start := time.Now()
	defer func() { f.Elapsed = time.Since(start) }()
	if a, err := netip.ParseAddr(name); err == nil {
		f.Literal = true
		f.keep(a)
		return f
	}
	if r == nil {
		r = net.DefaultResolver
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	addrs, err := r.LookupNetIP(ctx, "ip", name)
	if err != nil {
		f.Err = err.Error()
		var de *net.DNSError
		if errors.As(err, &de) {
			f.NotFound = de.IsNotFound
			f.Timeout = de.IsTimeout
			f.Server = de.Server
		}
		if errors.Is(err, context.DeadlineExceeded) {
			f.Timeout = true
		}
		f.Elapsed = time.Since(start)
		return f
	}
	for _, a := range addrs {
		f.keep(a.Unmap())
	}
	return f
}

func (f *DNSFacts) keep(a netip.Addr) {
	switch {
	case f.Family == "inet" && !a.Is4(), f.Family == "inet6" && !a.Is6():
		f.Excluded = append(f.Excluded, a)
	default:
		f.Addrs = append(f.Addrs, a)
	}
}
