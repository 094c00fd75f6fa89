package probe

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// KexInit is the server's SSH_MSG_KEXINIT (RFC 4253 section 7.1): the
// algorithms it offers, in its order of preference. It travels in clear
// text, so it can be read before any cryptography.
type KexInit struct {
	KexAlgos        []string
	HostKeyAlgos    []string
	CiphersClientTo []string
	CiphersServerTo []string
	MACsClientTo    []string
	MACsServerTo    []string
	CompClientTo    []string
	CompServerTo    []string
	FirstKexFollows bool
}

// SSH message numbers used here (RFC 4253, 4250).
const (
	msgDisconnect = 1
	msgIgnore     = 2
	msgDebug      = 4
	msgKexInit    = 20
)

// maxPacket is the largest packet RFC 4253 section 6.1 requires to be
// handled; anything larger in the clear-text phase is a broken peer.
const maxPacket = 35000

var errShort = errors.New("truncated")

// ParsePacket reads one unencrypted binary packet from the front of b. It
// returns the payload and the number of bytes consumed, or errShort when b
// does not yet hold the whole packet.
func ParsePacket(b []byte) (payload []byte, n int, err error) {
	if len(b) < 5 {
		return nil, 0, errShort
	}
	plen := binary.BigEndian.Uint32(b)
	if plen < 5 || plen > maxPacket {
		return nil, 0, fmt.Errorf("probe: packet length %d out of range", plen)
	}
	pad := int(b[4])
	if pad < 4 || pad >= int(plen) {
		return nil, 0, fmt.Errorf("probe: padding length %d invalid for packet length %d", pad, plen)
	}
	if len(b) < 4+int(plen) {
		return nil, 0, errShort
	}
	return b[5 : 4+int(plen)-pad], 4 + int(plen), nil
}

// FindKexInit scans the clear-text stream that follows the identification
// line for the first KEXINIT, skipping IGNORE and DEBUG messages. It returns
// errShort when the stream ends first, and the disconnect text if the peer
// disconnected instead.
func FindKexInit(stream []byte) (*KexInit, error) {
	for range 16 {
		payload, n, err := ParsePacket(stream)
		if err != nil {
			return nil, err
		}
		stream = stream[n:]
		if len(payload) == 0 {
			continue
		}
		switch payload[0] {
		case msgKexInit:
			return ParseKexInit(payload)
		case msgIgnore, msgDebug:
			continue
		case msgDisconnect:
			return nil, fmt.Errorf("probe: server disconnected: %s", disconnectText(payload))
		default:
			return nil, fmt.Errorf("probe: message %d where KEXINIT was expected", payload[0])
		}
	}
	return nil, errors.New("probe: no KEXINIT among the first packets")
}

// ParseKexInit parses a KEXINIT payload (starting with the message number).
func ParseKexInit(p []byte) (*KexInit, error) {
	if len(p) < 1+16 || p[0] != msgKexInit {
		return nil, errors.New("probe: not a KEXINIT")
	}
	p = p[17:]
	var k KexInit
	lists := []*[]string{&k.KexAlgos, &k.HostKeyAlgos, &k.CiphersClientTo, &k.CiphersServerTo,
		&k.MACsClientTo, &k.MACsServerTo, &k.CompClientTo, &k.CompServerTo, nil, nil}
	for i, dst := range lists {
		if len(p) < 4 {
			return nil, fmt.Errorf("probe: KEXINIT truncated in name-list %d", i+1)
		}
		l := binary.BigEndian.Uint32(p)
		if uint64(l) > uint64(len(p)-4) {
			return nil, fmt.Errorf("probe: KEXINIT name-list %d longer than the packet", i+1)
		}
		s := string(p[4 : 4+l])
		p = p[4+l:]
		if dst != nil && s != "" {
			*dst = strings.Split(s, ",")
		}
	}
	if len(p) < 1 {
		return nil, errors.New("probe: KEXINIT truncated before first_kex_packet_follows")
	}
	k.FirstKexFollows = p[0] != 0
	return &k, nil
}

func disconnectText(p []byte) string {
	// byte 1, uint32 reason, string description, string language
	if len(p) < 9 {
		return "(no reason given)"
	}
	reason := binary.BigEndian.Uint32(p[1:])
	l := binary.BigEndian.Uint32(p[5:])
	desc := ""
	if uint64(l) <= uint64(len(p)-9) {
		desc = string(p[9 : 9+l])
	}
	return fmt.Sprintf("reason %d: %s", reason, desc)
}
