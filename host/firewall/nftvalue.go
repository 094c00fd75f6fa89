package firewall

import (
	"encoding/json"
	"math"
	"net/netip"
)

func valueKindFor(f Field) ValueKind {
	switch f {
	case FieldSaddr, FieldDaddr:
		return ValAddrs
	case FieldDport, FieldL4Proto, FieldNFProto, FieldTCPFlags:
		return ValNums
	}
	return ValNames
}

func unionValue(a, b Value) Value {
	if a.Kind == 0 {
		return b
	}
	if a.Kind != b.Kind {
		return Value{Kind: -1}
	}
	a.Addrs = a.Addrs.Union(b.Addrs)
	a.Nums = append(a.Nums[:len(a.Nums):len(a.Nums)], b.Nums...)
	a.Names = append(a.Names[:len(a.Names):len(a.Names)], b.Names...)
	return a
}

// nftValue reads a right-hand value (or set element) for field f: a
// single value, a prefix, a range, an anonymous set, a list of flags.
func nftValue(f Field, v any) (Value, bool) {
	kind := valueKindFor(f)
	val := Value{Kind: kind}
	var add func(v any) bool
	add = func(v any) bool {
		switch x := v.(type) {
		case []any: // a list of flags: ct state { established, related }
			for _, e := range x {
				if !add(e) {
					return false
				}
			}
			return true
		case map[string]any:
			if s, ok := x["set"]; ok {
				items, _ := s.([]any)
				if items == nil {
					return add(s)
				}
				for _, e := range items {
					if !add(e) {
						return false
					}
				}
				return true
			}
			if e, ok := x["elem"].(map[string]any); ok {
				return add(e["val"])
			}
			if pr, ok := x["prefix"].(map[string]any); ok && kind == ValAddrs {
				a, err := netip.ParseAddr(str(pr["addr"]))
				n := num(pr["len"])
				if err != nil || n < 0 || n > a.BitLen() {
					return false
				}
				val.Addrs = val.Addrs.Union(PrefixSet(netip.PrefixFrom(a, n)))
				return true
			}
			if rg, ok := x["range"].([]any); ok && len(rg) == 2 {
				switch kind {
				case ValAddrs:
					lo, err1 := netip.ParseAddr(str(rg[0]))
					hi, err2 := netip.ParseAddr(str(rg[1]))
					if err1 != nil || err2 != nil {
						return false
					}
					val.Addrs = val.Addrs.Union(RangeSet(lo, hi))
					return true
				case ValNums:
					lo, ok1 := nftNumber(f, rg[0])
					hi, ok2 := nftNumber(f, rg[1])
					if !ok1 || !ok2 || hi < lo {
						return false
					}
					val.Nums = append(val.Nums, NumRange{lo, hi})
					return true
				}
			}
			return false
		}
		switch kind {
		case ValAddrs:
			a, err := netip.ParseAddr(str(v))
			if err != nil {
				return false
			}
			val.Addrs = val.Addrs.Union(SingleAddr(a))
		case ValNums:
			n, ok := nftNumber(f, v)
			if !ok {
				return false
			}
			val.Nums = append(val.Nums, NumRange{n, n})
		default:
			s, ok := v.(string)
			if !ok {
				return false
			}
			val.Names = append(val.Names, s)
		}
		return true
	}
	if !add(v) {
		return Value{}, false
	}
	return val, true
}

// nftNumber reads a number or a name nft prints for one: protocol names
// ("tcp"), families ("ipv4"), ethertypes ("ip"), well-known service names.
func nftNumber(f Field, v any) (uint32, bool) {
	switch x := v.(type) {
	case json.Number:
		i, err := x.Int64()
		if err != nil || i < 0 || i > math.MaxUint32 {
			return 0, false
		}
		if f == FieldNFProto && (i == 0x0800 || i == 0x86dd) {
			// meta protocol compares the ethertype
			if i == 0x0800 {
				return 2, true
			}
			return 10, true
		}
		return uint32(i), true
	case string:
		switch f {
		case FieldL4Proto:
			n, ok := protoNumbers[x]
			return n, ok
		case FieldNFProto:
			switch x {
			case "ipv4", "ip":
				return 2, true
			case "ipv6", "ip6":
				return 10, true
			}
			return 0, true // another family (arp, bridge...): never ours
		case FieldDport:
			n, ok := serviceNumbers[x]
			return n, ok
		}
	}
	return 0, false
}

var protoNumbers = map[string]uint32{
	"icmp": 1, "igmp": 2, "tcp": 6, "udp": 17, "ipv6": 41, "gre": 47, "esp": 50, "ah": 51,
	"icmpv6": 58, "ipv6-icmp": 58, "sctp": 132, "udplite": 136, "dccp": 33, "comp": 108,
}

var serviceNumbers = map[string]uint32{
	"ssh": 22, "http": 80, "https": 443, "domain": 53, "smtp": 25, "ftp": 21, "telnet": 23,
}

// tcpFlagBits reads TCP flag names ("syn", ["syn", "ack"]) or a number.
func tcpFlagBits(v any) (uint32, bool) {
	bitsOf := map[string]uint32{"fin": 0x01, "syn": 0x02, "rst": 0x04, "psh": 0x08, "ack": 0x10,
		"urg": 0x20, "ecn": 0x40, "cwr": 0x80}
	switch x := v.(type) {
	case string:
		b, ok := bitsOf[x]
		return b, ok
	case json.Number:
		i, err := x.Int64()
		return uint32(i), err == nil && i >= 0 && i < 256
	case []any:
		var out uint32
		for _, e := range x {
			b, ok := tcpFlagBits(e)
			if !ok {
				return 0, false
			}
			out |= b
		}
		return out, true
	case map[string]any:
		if s, ok := x["|"].([]any); ok {
			return tcpFlagBits(s)
		}
	}
	return 0, false
}
