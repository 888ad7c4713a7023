#!/bin/bash
# Regenerate the interface-list fixture: what fabrictui's INTERFACES_SCRIPT
# (fabrictui/parsers/interfaces.py) prints in a network namespace with a port up,
# a port set down, a port at MTU 1400 and a bridge. Nothing in the host namespace;
# the namespaces are removed on exit, also on failure.
# Needs root and iproute2. Usage: sudo tests/data/interfaces/regenerate.sh
set -euo pipefail
OUT="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$OUT/../../.." && pwd)"
teardown() { ip netns del fif-a 2>/dev/null; ip netns del fif-b 2>/dev/null; true; }
trap teardown EXIT
ip netns add fif-a
ip netns add fif-b
ip link add swp51 netns fif-a type veth peer name swp1 netns fif-b
ip link add swp52 netns fif-a type veth peer name swp2 netns fif-b
ip -n fif-a link add bridge type bridge
ip -n fif-a link set swp52 mtu 1400
for l in lo swp51 swp52 bridge; do ip -n fif-a link set "$l" up; done
ip -n fif-b link set swp1 up
ip -n fif-b link set swp2 down  # fif-a's swp52 loses its carrier
sleep 1
script="$(PYTHONPATH="$ROOT" python3 -c 'from fabrictui.parsers.interfaces import INTERFACES_SCRIPT; print(INTERFACES_SCRIPT)')"
ip netns exec fif-a sh -c "$script" >"$OUT/netns-leaf.txt"
echo "wrote $OUT/netns-leaf.txt"
