#!/usr/bin/env bash
# Compares sshdoctor's time to an answer with the tools people reach for
# today (ssh itself, ssh-keyscan, nmap, ssh-audit) on the same targets:
# a healthy sshd, a port where nothing listens, and a port a firewall drops.
# Everything runs in two network namespaces made here and removed at exit;
# nothing touches this machine's own network, firewall or sshd.
#
#   sudo ./scripts/bench-compare.sh [RUNS]      (default 10 runs per tool)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
[ "$(id -u)" = 0 ] || { echo "bench-compare.sh: needs root (network namespaces)" >&2; exit 2; }
for t in ip sshd ssh ssh-keyscan nmap ssh-audit iptables; do
  command -v "$t" >/dev/null || [ -x "/usr/sbin/$t" ] || { echo "bench-compare.sh: $t is missing" >&2; exit 2; }
done

id=$$
cli=sdb-$id-c srv=sdb-$id-s
tmp=$(mktemp -d /run/sshdoctor-bench-XXXXXX)
cleanup() {
  [ -f "$tmp/sshd.pid" ] && kill "$(cat "$tmp/sshd.pid")" 2>/dev/null || true
  ip netns del "$cli" 2>/dev/null || true
  ip netns del "$srv" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

ip netns add "$cli"; ip netns add "$srv"
ip -n "$cli" link add veth0 type veth peer name veth0 netns "$srv"
ip -n "$cli" addr add 10.250.0.1/24 dev veth0; ip -n "$srv" addr add 10.250.0.2/24 dev veth0
for n in "$cli" "$srv"; do ip -n "$n" link set lo up; ip -n "$n" link set veth0 up; done

go build -o "$tmp/sshdoctor" ./cmd/sshdoctor
ssh-keygen -q -t ed25519 -N '' -f "$tmp/hostkey"
ssh-keygen -q -t ed25519 -N '' -f "$tmp/user"
cp "$tmp/user.pub" "$tmp/authorized_keys"; chmod 600 "$tmp/authorized_keys"
mkdir -p /run/sshd
cat > "$tmp/sshd_config" <<EOF
Port 22
HostKey $tmp/hostkey
PidFile $tmp/sshd.pid
UsePAM no
AuthorizedKeysFile $tmp/authorized_keys
PermitRootLogin prohibit-password
EOF
ip netns exec "$srv" /usr/sbin/sshd -f "$tmp/sshd_config"
# Port 2200: nothing listens. Port 2300: dropped.
ip netns exec "$srv" iptables -A INPUT -p tcp --dport 2300 -j DROP
touch "$tmp/kh"

in_cli() { ip netns exec "$cli" "$@"; }

# bench NAME CMD...: mean wall time over $runs runs, in ms.
bench() {
  local name=$1; shift
  local start end total=0
  for _ in $(seq "$runs"); do
    start=$(date +%s%N)
    in_cli "$@" >/dev/null 2>&1 || true
    end=$(date +%s%N)
    total=$((total + (end - start) / 1000))
  done
  printf '  %-44s %8.1f ms\n' "$name" "$(echo "$total / $runs / 1000" | bc -l)"
}

sd=("$tmp/sshdoctor" check --json -F none --known-hosts "$tmp/kh" -i "$tmp/user")
echo "healthy sshd (10.250.0.2:22), $runs runs each:"
bench "sshdoctor check (every layer, key accepted)" "${sd[@]}" root@10.250.0.2
bench "ssh -o BatchMode=yes ... true (a real login)" ssh -F none -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -i "$tmp/user" root@10.250.0.2 true
bench "ssh-keyscan (banner + host key)" ssh-keyscan -T 5 10.250.0.2
bench "nmap -sV -p 22 (service detection)" nmap -n -Pn -sV -p 22 10.250.0.2
bench "ssh-audit (algorithm audit)" ssh-audit -t 5 10.250.0.2

echo "nothing listens (port 2200):"
bench "sshdoctor check (with the other-port search)" "${sd[@]}" -p 2200 root@10.250.0.2
bench "ssh -p 2200" ssh -F none -o BatchMode=yes -p 2200 root@10.250.0.2 true
bench "nmap -p 22,2200,2222,22222,2022,8022,222,10022" nmap -n -Pn -p 22,2200,2222,22222,2022,8022,222,10022 10.250.0.2

runs=3
echo "dropped (port 2300), --timeout 2s / ConnectTimeout 2, $runs runs each:"
bench "sshdoctor check --timeout 2s" "${sd[@]}" --timeout 2s -p 2300 root@10.250.0.2
bench "ssh -o ConnectTimeout=2 -p 2300" ssh -F none -o BatchMode=yes -o ConnectTimeout=2 -p 2300 root@10.250.0.2 true
bench "nmap -p 2300 (default timing)" nmap -n -Pn -p 2300 10.250.0.2
