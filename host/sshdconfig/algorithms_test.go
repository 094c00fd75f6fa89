package sshdconfig

import (
	"strings"
	"testing"
)

func TestAssembleAlgorithms(t *testing.T) {
	def := strings.Split(DefaultKeyAlgorithms, ",")
	tests := []struct {
		value string
		want  []string
	}{
		{"", def},
		{"+ssh-rsa", append(append([]string(nil), def...), "ssh-rsa")},
		{"+ssh-ed25519", def}, // already there: not duplicated
		{"-rsa-sha2-*", filterOut(def, "rsa-sha2-")},
		{"^ssh-ed25519", append([]string{"ssh-ed25519"}, without(def, "ssh-ed25519")...)},
		{"ssh-ed25519,rsa-sha2-512", []string{"ssh-ed25519", "rsa-sha2-512"}},
		// Patterns expand in the order of the list of all algorithms.
		{"ssh-ed25519*", []string{"ssh-ed25519", "ssh-ed25519-cert-v01@openssh.com"}},
		{"nosuch-algo", nil},
		{"ssh-ed25519,!ssh-rsa", nil},
	}
	for _, tt := range tests {
		got := AssembleAlgorithms(tt.value, DefaultKeyAlgorithms, allKeyAlgorithms)
		if strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("AssembleAlgorithms(%q) =\n  %v\nwant\n  %v", tt.value, got, tt.want)
		}
	}
}

func filterOut(list []string, prefix string) []string {
	var out []string
	for _, x := range list {
		if !strings.HasPrefix(x, prefix) {
			out = append(out, x)
		}
	}
	return out
}

func without(list []string, name string) []string {
	var out []string
	for _, x := range list {
		if x != name {
			out = append(out, x)
		}
	}
	return out
}

func TestAlgorithmAccepted(t *testing.T) {
	def := AssembleAlgorithms("", DefaultKeyAlgorithms, allKeyAlgorithms)
	noRSA := AssembleAlgorithms("-rsa-sha2-*", DefaultKeyAlgorithms, allKeyAlgorithms)
	tests := []struct {
		list    []string
		keyType string
		want    bool
	}{
		{def, "ssh-ed25519", true},
		// An RSA key is usable by default: it signs with rsa-sha2-512.
		{def, "ssh-rsa", true},
		{noRSA, "ssh-rsa", false},
		{def, "ssh-dss", false},
		{def, "ecdsa-sha2-nistp256-cert-v01@openssh.com", true},
		{[]string{"ssh-rsa"}, "ssh-rsa", true},
	}
	for _, tt := range tests {
		if got := AlgorithmAccepted(tt.list, tt.keyType); got != tt.want {
			t.Errorf("AlgorithmAccepted(%v, %q) = %v, want %v", tt.list, tt.keyType, got, tt.want)
		}
	}
}
