#!/bin/sh
# gen-fixtures.sh regenerates the fixtures in this directory from real
# rulesets loaded into a throwaway network namespace (root, nft, iptables,
# ipset needed). It never touches the host's own firewall: every command
# runs inside "ip netns exec $NS". Run it from this directory.
set -eu
NS=
cleanup() { [ -z "$NS" ] || ip netns del "$NS" 2>/dev/null || true; }
trap cleanup EXIT
nsx() { ip netns exec "$NS" "$@"; }
# fresh: a new, empty namespace for the next fixture.
fresh() {
	cleanup
	NS=sdfw-gen-$$-$1
	ip netns add "$NS"
}
# dump NAME: nft -j, iptables-nft-save, ip6tables-nft-save, the legacy
# saves and ipset save; empty outputs are not kept.
dump() {
	nsx nft -j list ruleset >"$1.nft.json"
	nsx iptables-nft-save >"$1.iptables-nft.save"
	nsx ip6tables-nft-save >"$1.ip6tables-nft.save"
	nsx iptables-legacy-save >"$1.iptables-legacy.save"
	nsx ip6tables-legacy-save >"$1.ip6tables-legacy.save"
	nsx ipset save >"$1.ipset.save"
	for f in "$1".*; do [ -s "$f" ] || rm -f "$f"; done
}

# 1. A typical server ruleset: default drop, SSH only from the admin network.
fresh restricted
nsx nft -f nft-restricted.nft
dump restricted

# 2. A ruleset that rejects SSH outright, and drops 2222, in a regular chain.
fresh blocks
nsx nft -f nft-blocks.nft
dump blocks

# 3. fail2ban's nftables action with a ban, next to an accepting ruleset.
fresh f2b-nft
nsx nft -f nft-f2b.nft
dump f2b-nft

# 4. sshguard's nft-sets backend with a blocked address.
fresh sshguard-nft
nsx nft -f nft-sshguard.nft
dump sshguard-nft

# 5. iptables (nf_tables variant) as fail2ban's iptables-multiport and
#    iptables-ipset actions leave it, with bans.
fresh f2b-ipt
nsx ipset create f2b-recidive hash:ip
nsx ipset add f2b-recidive 203.0.113.9
nsx ipset create allow-admins hash:net
nsx ipset add allow-admins 198.51.100.0/24
nsx ipset add allow-admins 198.51.100.128/25 nomatch
nsx iptables-nft-restore <ipt-f2b.rules
dump f2b-ipt

# 6. The same rules with legacy iptables: nothing shows nsx nft.
fresh f2b-ipt-legacy
nsx ipset create f2b-recidive hash:ip
nsx ipset add f2b-recidive 203.0.113.9
nsx ipset create allow-admins hash:net
nsx ipset add allow-admins 198.51.100.0/24
nsx iptables-legacy-restore <ipt-f2b.rules
dump f2b-ipt-legacy

# 7. raw and mangle PREROUTING drops, a netdev-free prerouting nft chain.
fresh prerouting
nsx nft -f nft-prerouting.nft
nsx iptables-nft-restore <ipt-raw.rules
dump prerouting

# 8. A real ufw, run in the namespace on private copies of its files (a
#    mount namespace binds them over /etc/ufw, /etc/default/ufw, /lib/ufw
#    and a tmpfs over /run), so the host's ufw files stay as they are.
# ufw_in_ns COMMANDS [SAVEDIR]: run ufw commands; keep its files in SAVEDIR.
ufw_in_ns() {
	T=$(mktemp -d)
	cp -a /etc/ufw "$T/etc-ufw"; cp -a /etc/default/ufw "$T/default-ufw"; cp -a /lib/ufw "$T/lib-ufw"
	nsx unshare --mount sh -c "
		mount --bind $T/etc-ufw /etc/ufw && mount --bind $T/default-ufw /etc/default/ufw &&
		mount --bind $T/lib-ufw /lib/ufw && mount -t tmpfs tmpfs /run && $1"
	if [ -n "${2:-}" ]; then
		rm -rf "$2"; mkdir -p "$2/etc/ufw" "$2/etc/default"
		cp "$T"/etc-ufw/*.rules "$T/etc-ufw/ufw.conf" "$2/etc/ufw/"
		cp "$T/default-ufw" "$2/etc/default/ufw"
	fi
	rm -rf "$T"
}
fresh ufw-default
ufw_in_ns 'ufw --force enable >/dev/null && ufw status verbose' >ufw-default.ufw-status.txt
dump ufw-default
fresh ufw-rules
ufw_in_ns 'ufw --force enable >/dev/null &&
	ufw allow from 10.0.0.0/8 to any port 22 proto tcp >/dev/null &&
	ufw limit 2222/tcp >/dev/null && ufw deny 8022 >/dev/null &&
	ufw allow in on eth1 to any port 10022 proto tcp >/dev/null &&
	ufw status verbose' >ufw-rules.ufw-status.txt
dump ufw-rules
# The same after "ufw reload", which loads the files as ufw does at boot.
# (At run time ufw 0.36 leaves ufw6-user-limit and ufw6-user-limit-accept
# empty after "ufw limit", so until a reload IPv6 connections to a limited
# port fall through to the policy: ufw-rules shows that state.)
fresh ufw-boot
ufw_in_ns 'ufw --force enable >/dev/null &&
	ufw allow from 10.0.0.0/8 to any port 22 proto tcp >/dev/null &&
	ufw limit 2222/tcp >/dev/null && ufw deny 8022 >/dev/null &&
	ufw allow in on eth1 to any port 10022 proto tcp >/dev/null &&
	ufw reload >/dev/null && ufw status verbose' ufw-rules.tree >ufw-boot.ufw-status.txt
dump ufw-boot

# 9. A native nft table named like an iptables one: iptables-nft-save calls
#    it incompatible and prints an empty placeholder instead.
fresh incompatible
nsx nft -f nft-incompatible.nft
dump incompatible

# 10. A real fail2ban, run in the namespace from a private copy of its
#     configuration (socket, pid file and log in a temp dir, database in
#     memory), banning one address in the sshd jail and one in recidive.
#     f2b_in_ns NAME BANACTION RECIDIVE_BANACTION
f2b_in_ns() {
	T=$(mktemp -d)
	cp -a /etc/fail2ban "$T/conf"
	rm -f "$T/conf/jail.d/defaults-debian.conf"
	touch "$T/auth.log"
	printf '[Definition]\nsocket = %s/f2b.sock\npidfile = %s/f2b.pid\ndbfile = :memory:\nlogtarget = %s/f2b.log\n' \
		"$T" "$T" "$T" >"$T/conf/fail2ban.local"
	printf '[DEFAULT]\nbackend = polling\nbanaction = %s\n[sshd]\nenabled = true\nport = ssh,2222\nlogpath = %s/auth.log\n[recidive]\nenabled = true\nlogpath = %s/auth.log\nbanaction = %s\n' \
		"$2" "$T" "$T" "$3" >"$T/conf/jail.local"
	fresh "$1"
	nsx fail2ban-client -c "$T/conf" -x start >/dev/null
	nsx fail2ban-client -c "$T/conf" set sshd banip 192.0.2.7 >/dev/null
	nsx fail2ban-client -c "$T/conf" set recidive banip 203.0.113.9 >/dev/null
	dump "$1"
	nsx fail2ban-client -c "$T/conf" stop >/dev/null
	rm -rf "$T"
}
f2b_in_ns f2b-real-ipt iptables-multiport iptables-ipset-proto4
f2b_in_ns f2b-real-nft nftables-multiport nftables-allports
