package probe

import (
	"bytes"
	"encoding/binary"
	"errors"
	"slices"
	"strings"
	"testing"
)

// kexInitPayload builds an SSH_MSG_KEXINIT payload from its ten name-lists.
func kexInitPayload(lists [10]string, follows bool) []byte {
	var b bytes.Buffer
	b.WriteByte(msgKexInit)
	b.Write(bytes.Repeat([]byte{0xa5}, 16)) // cookie
	for _, l := range lists {
		_ = binary.Write(&b, binary.BigEndian, uint32(len(l)))
		b.WriteString(l)
	}
	if follows {
		b.WriteByte(1)
	} else {
		b.WriteByte(0)
	}
	b.Write([]byte{0, 0, 0, 0}) // reserved
	return b.Bytes()
}

// packet frames a payload as an unencrypted binary packet.
func packet(payload []byte) []byte {
	pad := 8 - (5+len(payload))%8
	if pad < 4 {
		pad += 8
	}
	var b bytes.Buffer
	_ = binary.Write(&b, binary.BigEndian, uint32(1+len(payload)+pad))
	b.WriteByte(byte(pad))
	b.Write(payload)
	b.Write(make([]byte, pad))
	return b.Bytes()
}

var openSSHLists = [10]string{
	"sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,diffie-hellman-group14-sha256,kex-strict-s-v00@openssh.com",
	"rsa-sha2-512,rsa-sha2-256,ecdsa-sha2-nistp256,ssh-ed25519",
	"chacha20-poly1305@openssh.com,aes128-ctr,aes256-gcm@openssh.com",
	"chacha20-poly1305@openssh.com,aes128-ctr,aes256-gcm@openssh.com",
	"umac-64-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-256",
	"umac-64-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-256",
	"none,zlib@openssh.com",
	"none,zlib@openssh.com",
	"",
	"",
}

func TestParseKexInit(t *testing.T) {
	k, err := ParseKexInit(kexInitPayload(openSSHLists, true))
	if err != nil {
		t.Fatalf("ParseKexInit: %v", err)
	}
	want := [][]string{k.KexAlgos, k.HostKeyAlgos, k.CiphersClientTo, k.CiphersServerTo, k.MACsClientTo, k.MACsServerTo, k.CompClientTo, k.CompServerTo}
	for i, got := range want {
		if !slices.Equal(got, strings.Split(openSSHLists[i], ",")) {
			t.Errorf("name-list %d = %q, want %q", i+1, got, openSSHLists[i])
		}
	}
	if !k.FirstKexFollows {
		t.Errorf("FirstKexFollows = false")
	}
}

func TestParseKexInitEmptyList(t *testing.T) {
	lists := openSSHLists
	lists[1] = ""
	k, err := ParseKexInit(kexInitPayload(lists, false))
	if err != nil {
		t.Fatal(err)
	}
	if k.HostKeyAlgos != nil {
		t.Errorf("empty name-list parsed as %q, want none", k.HostKeyAlgos)
	}
}

func TestParseKexInitMalformed(t *testing.T) {
	good := kexInitPayload(openSSHLists, false)
	// Every truncation of a valid payload is an error, never a panic.
	for n := 0; n < len(good)-4; n++ {
		if _, err := ParseKexInit(good[:n]); err == nil {
			t.Errorf("ParseKexInit accepted the payload cut at %d of %d bytes", n, len(good))
		}
	}
	long := slices.Clone(good)
	binary.BigEndian.PutUint32(long[17:], 0xffffffff)
	if _, err := ParseKexInit(long); err == nil || !strings.Contains(err.Error(), "longer than the packet") {
		t.Errorf("name-list longer than the packet: err = %v", err)
	}
	other := slices.Clone(good)
	other[0] = 21
	if _, err := ParseKexInit(other); err == nil {
		t.Errorf("accepted message 21 as a KEXINIT")
	}
}

func TestParsePacket(t *testing.T) {
	p := packet([]byte{msgIgnore, 1, 2, 3})
	payload, n, err := ParsePacket(append(p, 0xee))
	if err != nil || n != len(p) || !bytes.Equal(payload, []byte{msgIgnore, 1, 2, 3}) {
		t.Fatalf("ParsePacket = %x, %d, %v; want the payload and %d bytes", payload, n, err, len(p))
	}
	tests := []struct {
		name  string
		in    []byte
		short bool
	}{
		{"empty", nil, true},
		{"header only", p[:4], true},
		{"body cut", p[:len(p)-1], true},
		{"length 0xffffffff", []byte{0xff, 0xff, 0xff, 0xff, 4, 0, 0, 0, 0}, false},
		{"length too small", []byte{0, 0, 0, 4, 4, 0, 0, 0, 0}, false},
		{"length beyond 35000", []byte{0, 1, 0, 0, 4}, false},
		{"padding beyond length", []byte{0, 0, 0, 8, 200, 1, 2, 3, 4, 5, 6, 7}, false},
		{"padding equals length", []byte{0, 0, 0, 8, 8, 1, 2, 3, 4, 5, 6, 7}, false},
		{"padding below 4", []byte{0, 0, 0, 8, 3, 1, 2, 3, 4, 5, 6, 7}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := ParsePacket(tt.in)
			if err == nil {
				t.Fatalf("ParsePacket(%x) succeeded", tt.in)
			}
			if errors.Is(err, errShort) != tt.short {
				t.Errorf("ParsePacket(%x): err = %v, want short=%v", tt.in, err, tt.short)
			}
		})
	}
}

func TestFindKexInit(t *testing.T) {
	kex := packet(kexInitPayload(openSSHLists, false))
	ignore := packet([]byte{msgIgnore, 0, 0, 0, 1, 'x'})
	debug := packet([]byte{msgDebug, 1, 0, 0, 0, 2, 'h', 'i', 0, 0, 0, 0})

	k, err := FindKexInit(slices.Concat(ignore, debug, kex))
	if err != nil || k == nil || k.KexAlgos[0] != "sntrup761x25519-sha512@openssh.com" {
		t.Fatalf("FindKexInit after IGNORE and DEBUG = %+v, %v", k, err)
	}

	if _, err := FindKexInit(kex[:len(kex)-3]); !errors.Is(err, errShort) {
		t.Errorf("truncated stream: err = %v, want errShort", err)
	}

	disc := []byte{msgDisconnect, 0, 0, 0, 2}
	disc = binary.BigEndian.AppendUint32(disc, uint32(len("too many connections")))
	disc = append(disc, "too many connections"...)
	disc = append(disc, 0, 0, 0, 0)
	if _, err := FindKexInit(packet(disc)); err == nil || !strings.Contains(err.Error(), "reason 2: too many connections") {
		t.Errorf("disconnect: err = %v, want its reason and text", err)
	}
	if _, err := FindKexInit(packet([]byte{msgDisconnect})); err == nil || !strings.Contains(err.Error(), "no reason") {
		t.Errorf("bare disconnect: err = %v", err)
	}
	if _, err := FindKexInit(packet([]byte{50, 1, 2})); err == nil || !strings.Contains(err.Error(), "message 50") {
		t.Errorf("unexpected message: err = %v", err)
	}
	many := bytes.Repeat(ignore, 20)
	if _, err := FindKexInit(append(many, kex...)); err == nil || errors.Is(err, errShort) {
		t.Errorf("20 IGNOREs before KEXINIT: err = %v, want a bounded search", err)
	}
}

func FuzzParseKexInit(f *testing.F) {
	f.Add(kexInitPayload(openSSHLists, false))
	f.Add(kexInitPayload([10]string{}, true))
	f.Add([]byte{msgKexInit})
	f.Fuzz(func(t *testing.T, p []byte) {
		k, err := ParseKexInit(p)
		if err != nil {
			if k != nil {
				t.Fatalf("ParseKexInit returned both a KEXINIT and an error")
			}
			return
		}
		// What parsed, written back, parses the same.
		var lists [10]string
		for i, l := range [][]string{k.KexAlgos, k.HostKeyAlgos, k.CiphersClientTo, k.CiphersServerTo,
			k.MACsClientTo, k.MACsServerTo, k.CompClientTo, k.CompServerTo} {
			lists[i] = strings.Join(l, ",")
		}
		k2, err := ParseKexInit(kexInitPayload(lists, k.FirstKexFollows))
		if err != nil {
			t.Fatalf("re-encoded KEXINIT does not parse: %v", err)
		}
		if !slices.Equal(k.KexAlgos, k2.KexAlgos) || !slices.Equal(k.MACsServerTo, k2.MACsServerTo) || k.FirstKexFollows != k2.FirstKexFollows {
			t.Fatalf("round trip differs: %+v vs %+v", k, k2)
		}
	})
}

func FuzzFindKexInit(f *testing.F) {
	kex := packet(kexInitPayload(openSSHLists, false))
	f.Add(kex)
	f.Add(slices.Concat(packet([]byte{msgIgnore}), kex))
	f.Add(packet([]byte{msgDisconnect, 0, 0, 0, 11, 0, 0, 0, 3, 'b', 'y', 'e'}))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 4})
	f.Fuzz(func(t *testing.T, stream []byte) {
		k, err := FindKexInit(stream)
		if (k == nil) == (err == nil) {
			t.Fatalf("FindKexInit = %v, %v: want exactly one of a KEXINIT and an error", k, err)
		}
		n := kexInitLen(stream)
		if n < 0 || n > int64(len(stream)) {
			t.Fatalf("kexInitLen = %d for a %d-byte stream", n, len(stream))
		}
	})
}
