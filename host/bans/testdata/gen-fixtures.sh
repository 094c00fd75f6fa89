#!/bin/sh
# gen-fixtures.sh regenerates the fixtures in this directory from a real
# fail2ban server and real sshguard backends, run as root from this
# directory. Nothing touches this machine's own firewall or files: every
# command runs in a throwaway network namespace, and fail2ban runs in a
# private mount namespace whose /etc/fail2ban, /var/run/fail2ban and
# /var/lib/fail2ban are bind mounts of temporary directories.
set -eu
OUT=$(pwd)
T=$(mktemp -d)
NS=sdb-gen-$$
PID=
stop() {
	if [ -n "$PID" ]; then
		kill "$PID" 2>/dev/null || true
		while kill -0 "$PID" 2>/dev/null; do sleep 0.2; done
		PID=
	fi
}
# killns ends whatever this script left running in its namespace (the
# backends' nft and sleep children, a server that did not come up).
killns() {
	for p in $(ip netns pids "$NS" 2>/dev/null); do
		kill "$p" 2>/dev/null || true
	done
}
cleanup() {
	stop
	killns
	ip netns del "$NS" 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT
nsx() { ip netns exec "$NS" "$@"; }
fresh() {
	stop
	killns
	ip netns del "$NS" 2>/dev/null || true
	ip netns add "$NS"
	ip -n "$NS" link set lo up
}

# f2b BANACTION: start fail2ban with three jails and this banaction.
f2b() {
	rm -rf "$T/etc" "$T/run" "$T/lib"
	mkdir -p "$T/etc" "$T/run" "$T/lib"
	cp -a /etc/fail2ban/. "$T/etc/"
	: >"$T/auth.log"
	cat >"$T/etc/jail.d/zz-fixtures.local" <<EOF
[DEFAULT]
banaction = $1

[sshd]
enabled = true
backend = polling
logpath = $T/auth.log
ignoreip = 127.0.0.1/8 ::1 192.0.2.0/24

[nginx-http-auth]
enabled = true
backend = polling
logpath = $T/auth.log

[recidive]
enabled = true
backend = polling
logpath = $T/auth.log
bantime = -1
EOF
	# Not through nsx: a backgrounded shell function would be a subshell,
	# and $! must be fail2ban-server itself (ip netns exec, unshare and
	# sh all exec in place).
	ip netns exec "$NS" unshare -m --propagation private sh -c "
		mount --bind $T/etc /etc/fail2ban &&
		mount --bind $T/run /var/run/fail2ban &&
		mount --bind $T/lib /var/lib/fail2ban &&
		exec fail2ban-server -f -x --logtarget=stderr" >"$T/log" 2>&1 &
	PID=$!
	for _ in $(seq 50); do
		[ -S "$T/run/fail2ban.sock" ] && c ping >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	cat "$T/log"
	exit 1
}
c() { nsenter -t "$PID" -m -n fail2ban-client "$@"; }

# 1. fail2ban with iptables-multiport (Debian's default banaction).
fresh
f2b iptables-multiport
c set sshd banip 198.51.100.7 198.51.100.8 2001:db8::7 >/dev/null
c set nginx-http-auth banip 203.0.113.5 >/dev/null
c set recidive banip 203.0.113.9 >/dev/null
c status >f2b-status.txt
c status sshd >f2b-status-sshd.txt
c status nginx-http-auth >f2b-status-nginx.txt
c status recidive >f2b-status-recidive.txt
c get sshd banip --with-time >f2b-banip-sshd.txt
c get recidive banip --with-time >f2b-banip-recidive.txt
c get sshd ignoreip >f2b-ignoreip-sshd.txt
c get recidive ignoreip >f2b-ignoreip-recidive.txt
c -V >f2b-version.txt
nsx iptables -w -S >f2b-ipt.iptables-S
nsx ip6tables -w -S >f2b-ipt.ip6tables-S
cp "$T/lib/fail2ban.sqlite3" f2b.sqlite3
chmod 644 f2b.sqlite3
# The same database once the server is gone: fail2ban-client's error.
stop
nsx unshare -m --propagation private sh -c "
	mount --bind $T/run /var/run/fail2ban && rm -f /var/run/fail2ban/fail2ban.sock &&
	fail2ban-client status" >/dev/null 2>f2b-not-running.stderr || true

# 2. fail2ban with the nftables action.
fresh
f2b nftables
c set sshd banip 198.51.100.7 2001:db8::7 >/dev/null
nsx nft -j list table inet f2b-table >f2b-nft.nft.json

# 3. fail2ban with iptables-ipset-proto6.
fresh
f2b iptables-ipset-proto6
c set sshd banip 198.51.100.7 2001:db8::7 >/dev/null
nsx ipset save >f2b-ipset.ipset.save
nsx iptables -w -S >f2b-ipset.iptables-S
nsx ip6tables -w -S >f2b-ipset.ip6tables-S
stop

# 4. sshguard's nft-sets backend, fed as sshg-blocker feeds it.
fresh
{
	echo "block 198.51.100.9 4 32"
	echo "block 10.9.0.0 4 24"
	echo "block 2001:db8::9 6 128"
	sleep 20
} | nsx /usr/libexec/sshguard/sshg-fw-nft-sets &
SG=$!
# The backend runs a dozen nft commands first; wait for the last block.
for _ in $(seq 75); do
	nsx nft list set ip6 sshguard attackers 2>/dev/null | grep -q 2001:db8::9 && break
	sleep 0.2
done
nsx nft -j list table ip sshguard >sshguard.ip.nft.json
nsx nft -j list table ip6 sshguard >sshguard.ip6.nft.json
wait "$SG"

# 5. sshguard's iptables backend, with the chain its documentation asks for.
fresh
nsx iptables -w -N sshguard
nsx iptables -w -A INPUT -j sshguard
{
	echo "block 198.51.100.9 4 32"
	sleep 1
} | nsx /usr/libexec/sshguard/sshg-fw-iptables
nsx iptables -w -S >sshguard.iptables-S
echo "fixtures written to $OUT"
