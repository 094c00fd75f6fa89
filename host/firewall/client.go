package firewall

import "strings"

// ClientSees says what a client of the family (4 or 6) gets from the
// decision: the ICMP type and code of a reject (-1 when none), and what ssh
// prints ("Connection refused", "No route to host", "Connection timed
// out"). The errors are the kernel's translation of each ICMP code
// (icmp_err_convert, icmpv6_err_convert).
func (d Decision) ClientSees(family int) (icmpType, icmpCode int, sshSays string) {
	switch d.Verdict {
	case VerdictAccept:
		return -1, -1, ""
	case VerdictDrop:
		return -1, -1, "Connection timed out"
	case VerdictReject:
	default:
		return -1, -1, ""
	}
	kind, code, _ := strings.Cut(d.RejectWith, " ")
	if d.RejectWith == "tcp reset" {
		return -1, -1, "Connection refused"
	}
	if kind == "icmpx" {
		// icmpx names map to one code per family.
		x := map[string][2]string{
			"port-unreachable": {"port-unreachable", "port-unreachable"},
			"admin-prohibited": {"admin-prohibited", "admin-prohibited"},
			"no-route":         {"net-unreachable", "no-route"},
			"host-unreachable": {"host-unreachable", "addr-unreachable"},
		}[code]
		if family == 6 {
			kind, code = "icmpv6", x[1]
		} else {
			kind, code = "icmp", x[0]
		}
	}
	if kind == "icmpv6" || family == 6 {
		c, ok := icmp6Codes[code]
		if !ok {
			return 1, -1, ""
		}
		return 1, c.code, c.says
	}
	c, ok := icmp4Codes[code]
	if !ok {
		return 3, -1, ""
	}
	return 3, c.code, c.says
}

// icmpCode is an ICMP code and what ssh prints for it.
type icmpCode struct {
	code int
	says string
}

var icmp4Codes = map[string]icmpCode{
	"net-unreachable":  {0, "Network is unreachable"},
	"host-unreachable": {1, "No route to host"},
	"prot-unreachable": {2, "Protocol not available"},
	"port-unreachable": {3, "Connection refused"},
	"net-prohibited":   {9, "Network is unreachable"},
	"host-prohibited":  {10, "No route to host"},
	"admin-prohibited": {13, "No route to host"},
}

var icmp6Codes = map[string]icmpCode{
	"no-route":         {0, "Network is unreachable"},
	"admin-prohibited": {1, "Permission denied"},
	"addr-unreachable": {3, "No route to host"},
	"port-unreachable": {4, "Connection refused"},
	"policy-fail":      {5, "Permission denied"},
	"reject-route":     {6, "Permission denied"},
}
