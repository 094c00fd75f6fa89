//go:build linux

package lab

import (
	"context"
	"strings"
	"testing"
)

// IPTables runs iptables with args inside the host (and only there: it goes
// through ip netns exec like every Host command), failing the test on error.
// -w is added so a concurrent rule change waits instead of failing.
func (h *Host) IPTables(t testing.TB, args ...string) string {
	t.Helper()
	return h.Run(t, "iptables", append([]string{"-w"}, args...)...)
}

// IP6Tables is IPTables for ip6tables.
func (h *Host) IP6Tables(t testing.TB, args ...string) string {
	t.Helper()
	return h.Run(t, "ip6tables", append([]string{"-w"}, args...)...)
}

// NFT loads an nft script (as `nft -f -` reads it) inside the host, failing
// the test on error, for example
//
//	h.NFT(t, `table inet f { chain in { type filter hook input priority 0; tcp dport 22 reject with icmpx type admin-prohibited; } }`)
func (h *Host) NFT(t testing.TB, script string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), CommandTimeout)
	defer cancel()
	cmd := h.Command(ctx, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("lab: nft -f - in %s: %v\n%s\nscript:\n%s", h.Name, err, out, script)
	}
}
