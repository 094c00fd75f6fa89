//go:build linux

package accounts_test

import (
	"strings"
	"testing"

	"github.com/sshdoctor/sshdoctor/host/accounts"
	"github.com/sshdoctor/sshdoctor/internal/lab"
)

// TestAllowDenyAgreesWithSSHD holds Access.Allowed against the real sshd,
// run by the lab in a network namespace, logging in as root (the lab never
// creates users). root's groups are taken to be just "root", as on a
// stock Debian system.
func TestAllowDenyAgreesWithSSHD(t *testing.T) {
	p := lab.NewPair(t)
	key := lab.NewUserKey(t, "ed25519")
	client := p.Client.Addr4.String()
	cases := []struct {
		name string
		line string
		set  func(*accounts.Access, []accounts.Pattern)
	}{
		{"allow by wildcard", "AllowUsers r*t", func(a *accounts.Access, p []accounts.Pattern) { a.AllowUsers = p }},
		{"allow from the client", "AllowUsers root@" + client, func(a *accounts.Access, p []accounts.Pattern) { a.AllowUsers = p }},
		{"allow from another net", "AllowUsers root@10.99.0.0/16", func(a *accounts.Access, p []accounts.Pattern) { a.AllowUsers = p }},
		{"allow all but the client", "AllowUsers root@*,!" + client, func(a *accounts.Access, p []accounts.Pattern) { a.AllowUsers = p }},
		{"user part is not a list", "AllowUsers bob,root", func(a *accounts.Access, p []accounts.Pattern) { a.AllowUsers = p }},
		{"deny from the client's net", "DenyUsers root@" + p.Client.Addr4.String() + "/32", func(a *accounts.Access, p []accounts.Pattern) { a.DenyUsers = p }},
		{"deny someone else", "DenyUsers bob root@10.99.0.1", func(a *accounts.Access, p []accounts.Pattern) { a.DenyUsers = p }},
		{"allow group", "AllowGroups wheel r??t", func(a *accounts.Access, p []accounts.Pattern) { a.AllowGroups = p }},
		{"allow other group", "AllowGroups wheel", func(a *accounts.Access, p []accounts.Pattern) { a.AllowGroups = p }},
		{"deny group", "DenyGroups ro*", func(a *accounts.Access, p []accounts.Pattern) { a.DenyGroups = p }},
	}
	for _, c := range cases {
		sshd := p.Server.StartSSHD(t, lab.SSHDOptions{Extra: []string{c.line}, AuthorizedKeys: []string{key.AuthorizedLine}})
		var pats []accounts.Pattern
		for i, f := range strings.Fields(c.line) {
			if i > 0 {
				pats = append(pats, accounts.Pattern{Value: f, Source: "sshd_config:2"})
			}
		}
		acc := accounts.DefaultAccess()
		c.set(&acc, pats)
		want := acc.Allowed("root", []string{"root"}, accounts.Client{Addr: p.Client.Addr4}).Outcome == accounts.Allowed
		err := sshd.Login(t, key)
		if got := err == nil; got != want {
			t.Errorf("%s (%s): sshd lets root in: %v, sshdoctor says %v\n%s", c.name, c.line, got, want, sshd.Log())
		}
		if err := sshd.Proc.Stop(); err != nil {
			t.Logf("stopping sshd: %v", err)
		}
	}
}
