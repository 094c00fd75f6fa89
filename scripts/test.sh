#!/usr/bin/env bash
# Installs what sshdoctor's tests need (Debian packages, as root) and runs
# every test: go vet, gofmt, and go test ./... with the real-component lab.
# CI runs exactly this (.ci/run). Under CI=true a lab test that skips fails.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  openssh-server openssh-client iproute2 nftables iptables
  fail2ban sshguard nmap ssh-audit debootstrap systemd-container ufw sqlite3
)

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "test.sh: installing ${missing[*]}" >&2
    # Installing must never start daemons on this machine (sshd on port 22,
    # fail2ban, ufw): a policy-rc.d that refuses service starts guards it.
    guard=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
      chmod 755 /usr/sbin/policy-rc.d
      guard=1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    [ -n "$guard" ] && rm -f /usr/sbin/policy-rc.d
  fi
else
  echo "test.sh: not root or no apt-get: lab tests will skip (they fail under CI=true)" >&2
fi

echo "test.sh: go vet" >&2
go vet ./...
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "test.sh: gofmt would change:" >&2
  echo "$unformatted" >&2
  exit 1
fi
echo "test.sh: go test" >&2
go test -count=1 -timeout 30m "$@" ./...
