package probe

import (
	"context"
	"net/netip"
	"sort"
	"sync"
	"time"
)

// DefaultAltPorts are the ports searched for an SSH server that moved.
var DefaultAltPorts = []int{22, 2222, 22222, 2022, 8022, 222, 2200, 10022}

// AltPort is what one other port answered.
type AltPort struct {
	Port    int
	Outcome TCPOutcome
	// Banner is the SSH identification found there; empty when none.
	Banner string
	// Elapsed is the time to the outcome.
	Elapsed time.Duration
}

// ScanPorts looks for SSH servers on ports of addr, all at once, each bounded
// by deadline. Only the identification is read; nothing is authenticated.
func ScanPorts(ctx context.Context, addr netip.Addr, ports []int, deadline time.Time) []AltPort {
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	out := make([]AltPort, len(ports))
	var wg sync.WaitGroup
	for i, p := range ports {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = scanOne(ctx, addr, p, deadline)
		}()
	}
	wg.Wait()
	sort.SliceStable(out, func(i, j int) bool { return out[i].Port < out[j].Port })
	return out
}

func scanOne(ctx context.Context, addr netip.Addr, port int, deadline time.Time) AltPort {
	start := time.Now()
	r := AltPort{Port: port}
	conn, a := Dialer{Timeout: time.Until(deadline)}.Connect(ctx, netip.AddrPortFrom(addr, uint16(port)))
	r.Outcome = a.Outcome
	if conn != nil {
		b := ReadBanner(conn, deadline)
		conn.Close()
		if b.Outcome == BannerSSH {
			r.Banner = b.Ident
		}
	}
	r.Elapsed = time.Since(start)
	return r
}
