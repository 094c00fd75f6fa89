package check

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sshdoctor/sshdoctor/internal/escape"
	"github.com/sshdoctor/sshdoctor/probe"
)

var (
	_ = Register(Doc{
		Code: "ssh.closed-before-banner", Severity: SeverityError, Layer: LayerTransport,
		Title: "The server closed the connection before identifying itself",
		Meaning: `TCP connected, then the server closed or reset the connection before sending its
"SSH-2.0-..." line. ssh prints "kex_exchange_identification: Connection closed by remote host"
(or "read: Connection reset by peer"). The usual causes: sshd's MaxStartups limit on
unauthenticated connections, PerSourcePenalties (OpenSSH 9.8+) penalising this address, TCP
wrappers (hosts.deny) in a libwrap-built sshd, an sshd that dies on start of each connection
(bad host keys, missing /run/sshd), or a proxy or port forward with no working backend.`,
		Detection: `After connect(), sshdoctor sends its identification and reads the answer: end of
file or a reset before any identification line. Text sshd sends when it drops a connection
("Exceeded MaxStartups", "Not allowed at this time") is recognised.`,
		Fix: `Read sshd's log on the server ('journalctl -u ssh -u sshd -n 50' or /var/log/auth.log): it
names the reason ("drop connection ... past MaxStartups", "refused connect from", "penalty").
'sshdoctor server --from YOUR_ADDRESS' there checks the usual suspects.`,
	})
	_ = Register(Doc{
		Code: "ssh.no-banner", Severity: SeverityError, Layer: LayerTransport,
		Title: "The server accepts the connection but never identifies itself",
		Meaning: `TCP connected, but no identification line arrived before the timeout. ssh hangs at
"Connection established." and then times out in kex_exchange_identification. Causes: a service
that waits for the client to speak (most non-SSH services), a wedged or overloaded sshd, a
firewall or proxy that completes the TCP handshake itself, or a very slow sender.`,
		Detection: `sshdoctor sends its own identification at once (as ssh does) and waits, with a
time limit, for an "SSH-" line; anything received is kept as evidence.`,
		Fix: `On the server, see which program owns the port ('sudo ss -ltnp') and whether sshd
is stuck ('systemctl status ssh', its log). Try from the server itself: 'nc -v 127.0.0.1 22'.`,
	})
	_ = Register(Doc{
		Code: "ssh.not-ssh", Severity: SeverityError, Layer: LayerTransport,
		Title: "Something other than SSH answers on the port",
		Meaning: `Another service holds the port: a web server, a TLS service, a mail or FTP server,
telnet... ssh prints "kex_exchange_identification: banner line contains invalid characters" or
"Bad packet length". sshd is elsewhere, or not running.`,
		Detection: `The first bytes of the answer (after sshdoctor sent its identification) match a
known protocol (HTTP status line, TLS record, 220 greeting, telnet option negotiation, ...), or
break SSH's limits (lines over 255 bytes, binary data). A silent port is probed once more with
a TLS ClientHello.`,
		Fix: `Find the program on the port ('sudo ss -ltnp') and move one of the two; connect to
the port sshd really uses (sshdoctor looks for it on the usual alternative ports).`,
	})
	_ = Register(Doc{
		Code: "ssh.kex-mismatch", Severity: SeverityError, Layer: LayerTransport,
		Title: "Client and server have no algorithm in common",
		Meaning: `For one category (key exchange, host key, cipher or MAC) nothing the client allows
is offered by the server. ssh prints "Unable to negotiate with HOST port 22: no matching host
key type found. Their offer: ssh-rsa". This is usually an old server meeting a new client that
disabled SHA-1 and other weak algorithms, or a hardened config on one side.`,
		Detection: `The server's KEXINIT travels in clear text; sshdoctor parses it and compares each
list with the client's effective lists from 'ssh -G' (so per-host options count).`,
		Fix: `Best: upgrade or reconfigure the server to offer a modern algorithm. Meanwhile, enable
the algorithm for this host only with the exact option shown (e.g. 'HostKeyAlgorithms +ssh-rsa'
in a Host block), never globally, and know what it costs.`,
	})
	_ = Register(Doc{
		Code: "ssh.kex-stalled", Severity: SeverityError, Layer: LayerTransport,
		Title: "The key exchange stalls after the algorithms were agreed",
		Meaning: `Identification and algorithm lists went through, then the server's next large
packet never arrived. This is the signature of a path-MTU black hole: packets bigger than some
link's MTU are dropped, and the ICMP "fragmentation needed" that would tell the sender is
filtered. Small packets pass, so ping and the banner work. ssh hangs at "expecting
SSH2_MSG_KEX_ECDH_REPLY".`,
		Detection: `sshdoctor saw the banner and the server's KEXINIT (or its start), the algorithm
lists overlap, and then nothing more came before the timeout.`,
		Fix: `Allow ICMP type 3 code 4 (and ICMPv6 packet-too-big) through firewalls, clamp the TCP MSS
on routers, or lower the MTU on this side to test ('sudo ip link set dev IFACE mtu 1400').
Smaller key exchanges (-o KexAlgorithms=curve25519-sha256 -o HostKeyAlgorithms=ssh-ed25519) may
slip through meanwhile.`,
	})
	_ = Register(Doc{
		Code: "ssh.kex-failed", Severity: SeverityError, Layer: LayerTransport,
		Title: "The key exchange failed",
		Meaning: `The server identified itself but the key exchange broke off for another reason: the
server closed the connection, sent a malformed packet, or failed to prove its host key.`,
		Detection: `The SSH handshake (golang.org/x/crypto/ssh over the connection sshdoctor dialled)
returned an error that is neither an algorithm mismatch nor a timeout.`,
		Fix: `Read sshd's log on the server for the same moment; run 'ssh -vvv' to compare.`,
	})
	_ = Register(Doc{
		Code: "probe.incomplete", Severity: SeverityInfo, Layer: LayerTransport,
		Title: "sshdoctor could not finish a layer itself",
		Meaning: `ssh would get further than sshdoctor could check: the server only offers algorithms
that OpenSSH implements but sshdoctor's SSH library does not (for example sntrup761x25519), or
the probe was cut short. The layers after it were not checked.`,
		Detection: `The algorithm comparison against the client's lists succeeded, but the library's
handshake failed.`,
		Fix: `Nothing is wrong by itself. Run 'ssh -v DEST true' to check the remaining layers.`,
	})
)

// Banner judges the identification exchange.
func Banner(f *probe.Facts) []Finding {
	b := f.Banner
	if b == nil || b.Outcome == probe.BannerSSH {
		return nil
	}
	open := f.Open()
	where := "the server"
	if open != nil {
		where = open.Addr.String()
	}
	ev := []KV{E("after_ms", b.Elapsed.Milliseconds()), E("bytes_received", b.Received)}
	if len(b.First) > 0 {
		ev = append(ev, E("first_bytes", escape.Bytes(b.First)))
	}
	serverCmd := "sshdoctor server"
	if open != nil && open.Source.IsValid() {
		serverCmd += " --from " + open.Source.String()
	}
	port := 22
	if f.Target != nil {
		port = f.Target.Port
	}
	var out []Finding
	switch {
	case b.Outcome == probe.BannerNotSSH || f.TLS != "":
		kind := b.Kind
		if f.TLS != "" {
			kind = "TLS"
			ev = append(ev, E("tls", f.TLS))
		}
		if kind == "" {
			kind = "unknown"
		}
		ev = append([]KV{E("looks_like", kind)}, ev...)
		if b.Reason != "" {
			ev = append(ev, E("reason", b.Reason))
		}
		out = append(out, New("ssh.not-ssh",
			fmt.Sprintf("Port %d of %s is not served by SSH: what answers looks like %s.", port, hostOf(f), kind), ev...).
			WithFix("See which program holds the port on the server, and connect to the port sshd really uses.",
				fmt.Sprintf("sudo ss -ltnp 'sport = :%d'", port), serverCmd))
		out = append(OtherPort(f), out...)
	case b.Outcome == probe.BannerTimeout:
		if len(b.PreLines) > 0 {
			ev = append(ev, E("lines_before_identification", escapeAll(b.PreLines)))
		}
		detail := fmt.Sprintf("%s accepted the connection but sent no identification within %s.", where, b.Elapsed.Round(1e7))
		if b.Received > 0 {
			detail = fmt.Sprintf("%s accepted the connection and sent %d bytes, but no SSH identification within %s.", where, b.Received, b.Elapsed.Round(1e7))
		}
		out = append(out, New("ssh.no-banner", detail, ev...).
			WithFix("On the server, see what holds the port and whether sshd is stuck.",
				fmt.Sprintf("sudo ss -ltnp 'sport = :%d'", port), "sudo systemctl status ssh sshd", "sudo journalctl -u ssh -u sshd -n 50"))
		out = append(OtherPort(f), out...)
	default: // closed or reset
		how := "closed"
		if b.Outcome == probe.BannerReset {
			how = "reset"
		}
		detail := fmt.Sprintf("%s accepted the connection, then %s it before identifying itself.", where, how)
		switch b.Kind {
		case "text: sshd MaxStartups":
			detail += " sshd said \"Exceeded MaxStartups\": it is refusing new unauthenticated connections."
		case "text: sshd PerSourcePenalties":
			detail += " sshd said \"Not allowed at this time\": PerSourcePenalties is penalising this address."
		default:
			detail += " Usual causes: sshd's MaxStartups limit, PerSourcePenalties, TCP wrappers (hosts.deny), or an sshd that fails on every connection."
		}
		if len(b.PreLines) > 0 {
			ev = append(ev, E("server_said", escapeAll(b.PreLines)))
		}
		ev = append(ev, E("how", how))
		out = append(out, New("ssh.closed-before-banner", detail, ev...).
			WithFix("Read sshd's log on the server for the reason it dropped the connection.",
				"sudo journalctl -u ssh -u sshd -n 50 --no-pager", "sudo grep sshd /var/log/auth.log | tail -n 50", serverCmd))
	}
	return out
}

// Kex judges the key exchange: the algorithm comparison against the
// client's own lists first, then how the exchange ended.
func Kex(f *probe.Facts) []Finding {
	if f.SSH == nil {
		return nil
	}
	k := f.SSH.Kex
	if k.Server != nil && f.Target != nil {
		if out := kexMismatch(f, k.Server); len(out) > 0 {
			return out
		}
	}
	if k.Done {
		return nil
	}
	ev := []KV{}
	if f.Banner != nil {
		ev = append(ev, E("server_version", escape.String(f.Banner.Ident)))
	}
	if k.Err != "" {
		ev = append(ev, E("error", k.Err))
	}
	switch {
	case k.TimedOut && !k.GotReply:
		stage := "the key exchange reply (the largest packet of the handshake)"
		detail := "The server identified itself and the algorithms match, but " + stage + " never arrived: a path-MTU black hole is the prime suspect."
		if k.Server == nil {
			stage = "the server's KEXINIT (about a kilobyte)"
			detail = "The server identified itself, but " + stage + ", the first large packet, never arrived: a path-MTU black hole is the prime suspect."
		}
		ev = append(ev, E("waited_for", stage), E("bytes_after_kexinit", k.BytesAfterKexInit))
		return []Finding{New("ssh.kex-stalled", detail, ev...).
			WithFix("Let ICMP 'fragmentation needed' through, clamp the MSS, or test with a lower MTU on this side.",
				"ip route get "+hostOf(f),
				"sudo ip link set dev IFACE mtu 1400   # IFACE from the line above; undo afterwards",
				fmt.Sprintf("ssh -o KexAlgorithms=curve25519-sha256 -o HostKeyAlgorithms=ssh-ed25519 %s", destOf(f)))}
	case k.Negotiation != nil:
		n := k.Negotiation
		ev = append(ev, E("category", n.What), E("client", n.Client), E("server", n.Server))
		return []Finding{New("ssh.kex-mismatch",
			fmt.Sprintf("No %s in common between this client and the server.", n.What), ev...).
			WithFix("Enable one of the server's algorithms for this host only, or modernise the server.")}
	case k.LibraryLists:
		return []Finding{New("probe.incomplete",
			"The server only offers algorithms that ssh implements but sshdoctor's SSH library does not; the host key and authentication were not checked.", ev...).
			WithFix("Check the rest with ssh itself.", "ssh -v "+destOf(f)+" true")}
	default:
		return []Finding{New("ssh.kex-failed",
			fmt.Sprintf("The key exchange with %s failed: %s.", hostOf(f), k.Err), ev...).
			WithFix("Compare with ssh's own account and the server's log.", "ssh -vvv "+destOf(f)+" true", "sudo journalctl -u ssh -u sshd -n 50 --no-pager")}
	}
}

// kexCategory is one of the four negotiated categories.
type kexCategory struct {
	name, option string
	client       []string
	server       []string
}

func kexMismatch(f *probe.Facts, s *probe.KexInit) []Finding {
	t := f.Target
	cats := []kexCategory{
		{"key exchange algorithm", "KexAlgorithms", t.KexAlgorithms, realAlgos(s.KexAlgos)},
		{"host key algorithm", "HostKeyAlgorithms", t.HostKeyAlgorithms, s.HostKeyAlgos},
		{"cipher", "Ciphers", t.Ciphers, commonList(s.CiphersClientTo, s.CiphersServerTo)},
	}
	if c := firstCommon(t.Ciphers, commonList(s.CiphersClientTo, s.CiphersServerTo)); c == "" || !isAEAD(c) {
		cats = append(cats, kexCategory{"MAC", "MACs", t.MACs, commonList(s.MACsClientTo, s.MACsServerTo)})
	}
	var out []Finding
	for _, c := range cats {
		if len(c.client) == 0 || firstCommon(c.client, c.server) != "" {
			continue
		}
		var supported []string
		if f.ClientAlgorithms != nil {
			switch c.option {
			case "KexAlgorithms":
				supported = f.ClientAlgorithms.Kex
			case "HostKeyAlgorithms":
				supported = f.ClientAlgorithms.HostKey
			case "Ciphers":
				supported = f.ClientAlgorithms.Cipher
			case "MACs":
				supported = f.ClientAlgorithms.MAC
			}
		}
		pick := ""
		for _, a := range c.server {
			if (supported == nil || slices.Contains(supported, a)) && (pick == "" || weakness(a) < weakness(pick)) {
				pick = a
			}
		}
		ev := []KV{E("category", c.name), E("client", c.client), E("server", c.server)}
		if f.Banner != nil {
			ev = append(ev, E("server_version", escape.String(f.Banner.Ident)))
		}
		detail := fmt.Sprintf("No %s in common: the server offers only %s, and this client allows none of them.", c.name, strings.Join(c.server, ","))
		if pick == "" {
			out = append(out, New("ssh.kex-mismatch", detail+" The local ssh implements none of the server's either.", ev...).
				WithFix("The server must be reconfigured or upgraded to offer a current algorithm; no client option can fix this."))
			continue
		}
		opt := c.option + " +" + pick
		ev = append(ev, E("option", opt))
		alias := t.Alias
		out = append(out, New("ssh.kex-mismatch", detail, ev...).
			WithFix(fmt.Sprintf("Enable %s for this host only (not in 'Host *'), and plan to modernise the server.", pick),
				fmt.Sprintf("ssh -o %s=+%s %s", c.option, pick, destOf(f)),
				fmt.Sprintf("printf 'Host %s\\n    %s\\n\\n' | cat - ~/.ssh/config > ~/.ssh/config.new && mv ~/.ssh/config.new ~/.ssh/config", alias, opt)).
			WithWarning(algoWarning(pick)))
	}
	return out
}

// weakLegacy ranks the legacy algorithms a mismatch fix may enable, best
// first; anything not listed is current and ranks before them all.
var weakLegacy = []string{
	"diffie-hellman-group14-sha256", "diffie-hellman-group16-sha512", "diffie-hellman-group-exchange-sha256",
	"diffie-hellman-group14-sha1", "diffie-hellman-group-exchange-sha1", "diffie-hellman-group1-sha1",
	"rsa-sha2-512", "rsa-sha2-256", "ssh-rsa", "ssh-rsa-cert-v01@openssh.com", "ssh-dss", "ssh-dss-cert-v01@openssh.com",
	"aes256-ctr", "aes128-ctr", "aes256-cbc", "aes192-cbc", "aes128-cbc", "3des-cbc", "blowfish-cbc", "cast128-cbc", "arcfour256", "arcfour128", "arcfour",
	"hmac-sha2-512", "hmac-sha2-256", "hmac-sha1", "hmac-sha1-96", "hmac-md5", "hmac-md5-96",
}

func weakness(a string) int {
	return slices.Index(weakLegacy, a) + 1 // 0 when unknown: current
}

func algoWarning(a string) string {
	switch {
	case a == "ssh-rsa" || a == "ssh-rsa-cert-v01@openssh.com":
		return "ssh-rsa signs with SHA-1, which is broken for collisions; OpenSSH 8.8 turned it off by default. RSA user keys to this host will also need 'PubkeyAcceptedAlgorithms +ssh-rsa'."
	case strings.HasPrefix(a, "ssh-dss"):
		return "DSA keys are 1024-bit and obsolete (removed from OpenSSH 9.8+); anyone able to forge them can impersonate the server."
	case a == "diffie-hellman-group1-sha1":
		return "A 1024-bit Diffie-Hellman group (Logjam): a well-funded attacker can break it and read the session."
	case strings.HasSuffix(a, "-sha1") && strings.HasPrefix(a, "diffie-hellman"):
		return "A SHA-1 based key exchange: weak, disabled by default in current OpenSSH."
	case strings.HasSuffix(a, "-cbc") || a == "arcfour" || strings.HasPrefix(a, "arcfour") || a == "3des-cbc":
		return "CBC-mode and RC4 ciphers are open to plaintext-recovery attacks; disabled by default in current OpenSSH."
	case strings.Contains(a, "md5") || strings.HasSuffix(a, "-96"):
		return "A weak MAC (MD5 or truncated): disabled by default in current OpenSSH."
	default:
		return "The client disables this algorithm by default for security reasons: enable it for this host only."
	}
}

func realAlgos(l []string) []string {
	var out []string
	for _, a := range l {
		if strings.HasPrefix(a, "ext-info-") || strings.HasPrefix(a, "kex-strict-") {
			continue
		}
		out = append(out, a)
	}
	return out
}

// commonList is the algorithms offered in both directions (a mismatch in
// either direction breaks the connection).
func commonList(a, b []string) []string {
	var out []string
	for _, x := range a {
		if slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

func firstCommon(client, server []string) string {
	for _, c := range client {
		if slices.Contains(server, c) {
			return c
		}
	}
	return ""
}

func isAEAD(c string) bool {
	return strings.Contains(c, "gcm") || strings.HasPrefix(c, "chacha20-poly1305")
}

func escapeAll(l []string) []string {
	out := make([]string, len(l))
	for i, s := range l {
		out[i] = escape.String(s)
	}
	return out
}

func hostOf(f *probe.Facts) string {
	if f.Target == nil {
		return "the server"
	}
	return f.Target.HostName
}

func destOf(f *probe.Facts) string {
	if f.Target == nil {
		return "HOST"
	}
	t := f.Target
	s := t.User + "@" + t.Alias
	if t.Port != 22 {
		s = fmt.Sprintf("-p %d %s", t.Port, s)
	}
	return s
}
