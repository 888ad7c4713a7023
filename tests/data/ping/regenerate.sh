#!/bin/bash
# Regenerate the real ping fixtures in this directory.
#
# Replies: iputils and busybox ping 127.0.0.1. Loss and errors: inside a
# throwaway network namespace ftp-p (nothing leaves it):
#   - 10.0.101.99 with a static ARP entry on a veth whose peer has no address:
#     sent, never answered (100% loss, no errors);
#   - 10.0.102.99 on a veth whose peer has no address: ARP fails, so ping reports
#     "Destination Host Unreachable" and "+N errors".
# The namespace is deleted on exit, also on failure or Ctrl-C.
# Usage: sudo tests/data/ping/regenerate.sh [output-dir]
set -euo pipefail

OUT="${1:-$(cd "$(dirname "$0")" && pwd)}"
NS=ftp-p
teardown() { ip netns del "$NS" 2>/dev/null || true; }
trap teardown EXIT
trap 'exit 130' INT TERM

[[ $(id -u) -eq 0 ]] || { echo "needs root (network namespace)" >&2; exit 2; }
command -v busybox >/dev/null || { echo "missing: busybox" >&2; exit 2; }
if ip netns list | grep -qw "$NS"; then echo "namespace $NS already exists" >&2; exit 2; fi
mkdir -p "$OUT"

ping_version="$(ping -V | sed -n 's/.*iputils[- ]\([0-9]*\).*/\1/p' | head -1)"
bb_version="$(busybox | sed -n 's/^BusyBox v\([0-9.]*\).*/\1/p' | head -1)"
ip_ping="$OUT/iputils-$ping_version"
bb_ping="$OUT/busybox-$bb_version"

# ping exits 1 when replies are missing: expected for the loss cases.
ping -c 3 -i 0.2 127.0.0.1 >"$ip_ping-ok.txt"
busybox ping -c 3 127.0.0.1 >"$bb_ping-ok.txt"

ip netns add "$NS"
ip -n "$NS" link set lo up
ip -n "$NS" link add ftp-p0 type veth peer name ftp-p1
ip -n "$NS" addr add 10.0.101.1/24 dev ftp-p0
ip -n "$NS" addr add 10.0.102.1/24 dev ftp-p0
ip -n "$NS" link set ftp-p0 up
ip -n "$NS" link set ftp-p1 up
ip -n "$NS" neigh add 10.0.101.99 lladdr 02:00:00:00:01:99 dev ftp-p0 nud permanent

ip netns exec "$NS" ping -c 3 -i 0.2 -W 1 10.0.101.99 >"$ip_ping-loss.txt" || true
ip netns exec "$NS" busybox ping -c 3 -W 1 10.0.101.99 >"$bb_ping-loss.txt" || true
ip netns exec "$NS" ping -c 5 -i 0.5 10.0.102.99 >"$ip_ping-unreachable.txt" || true
ip netns exec "$NS" busybox ping -c 5 10.0.102.99 >"$bb_ping-unreachable.txt" 2>&1 || true
ip netns exec "$NS" ping -c 1 no-such-host.invalid >"$ip_ping-unknown-host.txt" 2>&1 || true
echo "wrote $ip_ping-* $bb_ping-*"
