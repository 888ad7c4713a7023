#!/bin/bash
# Regenerate the real-FRR BGP summary fixtures in this directory.
#
# Builds a throwaway two-router BGP setup in network namespaces ftp-a and
# ftp-b (a veth pair with 172.16.99.0/31 inside the namespaces only; the host
# namespace gets no address or route), runs zebra+bgpd per namespace under
# FRR's --pathspace so they coexist with any other FRR, waits until the a<->b
# session is Established, captures the summaries and tears everything down,
# also on failure or Ctrl-C.
#
# Router a (AS 65101, hostname ftp-a.lab.local):
#   172.16.99.1      ftp-b, Established (a has ebgp-requires-policy off: a number)
#   172.16.99.3      configured, nothing there: Active
#   172.16.99.5      configured and shut down: Idle (Admin)
#   fd00:99::3       IPv6 peer, activated in ipv4 and ipv6 unicast: Active
# Router b (AS 65001) keeps FRR's default ebgp-requires-policy with only an
# outbound route-map: it announces 172.16.255.1/32 to a but shows (Policy)
# for what it receives.
#
# Needs root, iproute2 and FRR (/usr/lib/frr/zebra, bgpd, vtysh).
# Usage: sudo tests/data/bgp/regenerate.sh [output-dir]
set -euo pipefail

OUT="${1:-$(cd "$(dirname "$0")" && pwd)}"
FRR=/usr/lib/frr
NS_A=ftp-a
NS_B=ftp-b
WORK="$(mktemp -d /tmp/ftp-frr.XXXXXX)"

teardown() {
    set +e
    for ns in "$NS_A" "$NS_B"; do
        for d in bgpd zebra; do
            pidfile="$WORK/$ns/$d.pid"
            if [[ -s "$pidfile" ]]; then
                pid="$(cat "$pidfile")"
                kill "$pid" 2>/dev/null
                for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
                kill -9 "$pid" 2>/dev/null
            fi
        done
        # Anything else still running inside our own namespace (a daemon whose
        # pid file was never written): stop it by pid before deleting the namespace.
        if ip netns list | grep -qw "$ns"; then
            for pid in $(ip netns pids "$ns" 2>/dev/null); do kill "$pid" 2>/dev/null; done
        fi
        ip netns del "$ns" 2>/dev/null
        rm -rf "/var/run/frr/$ns" "/etc/frr/$ns"
    done
    rm -rf "$WORK"
}
trap teardown EXIT
trap 'exit 130' INT TERM

for tool in ip "$FRR/zebra" "$FRR/bgpd" vtysh; do
    command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 2; }
done
[[ $(id -u) -eq 0 ]] || { echo "needs root (network namespaces, FRR)" >&2; exit 2; }
for ns in "$NS_A" "$NS_B"; do
    if ip netns list | grep -qw "$ns"; then echo "namespace $ns already exists" >&2; exit 2; fi
done

ip netns add "$NS_A"
ip netns add "$NS_B"
ip link add ftp-va netns "$NS_A" type veth peer name ftp-vb netns "$NS_B"
ip -n "$NS_A" link set lo up
ip -n "$NS_B" link set lo up
ip -n "$NS_A" addr add 172.16.99.0/31 dev ftp-va
ip -n "$NS_B" addr add 172.16.99.1/31 dev ftp-vb
ip -n "$NS_B" addr add 172.16.255.1/32 dev lo
ip -n "$NS_A" link set ftp-va up
ip -n "$NS_B" link set ftp-vb up

mkdir -p "$WORK/$NS_A" "$WORK/$NS_B" "/var/run/frr/$NS_A" "/var/run/frr/$NS_B"
# The daemons drop to FRR's own user: let it read configs and write pid/log files.
chown -R frr:frr "$WORK" "/var/run/frr/$NS_A" "/var/run/frr/$NS_B"
cat >"$WORK/$NS_A/bgpd.conf" <<CONF
hostname ftp-a.lab.local
router bgp 65101
 bgp router-id 172.16.255.101
 no bgp ebgp-requires-policy
 bgp default show-hostname
 timers bgp 3 9
 neighbor 172.16.99.1 remote-as 65001
 neighbor 172.16.99.1 timers connect 1
 neighbor 172.16.99.1 description spine b
 neighbor 172.16.99.3 remote-as 65002
 neighbor 172.16.99.5 remote-as 65003
 neighbor 172.16.99.5 shutdown
 neighbor fd00:99::3 remote-as 65004
 address-family ipv4 unicast
  network 10.0.101.0/24
 exit-address-family
 address-family ipv6 unicast
  neighbor fd00:99::3 activate
 exit-address-family
CONF
cat >"$WORK/$NS_B/bgpd.conf" <<CONF
hostname ftp-b.lab.local
router bgp 65001
 bgp router-id 172.16.255.1
 bgp default show-hostname
 timers bgp 3 9
 neighbor 172.16.99.0 remote-as 65101
 neighbor 172.16.99.0 timers connect 1
 address-family ipv4 unicast
  network 172.16.255.1/32
  neighbor 172.16.99.0 route-map ftp-all out
 exit-address-family
route-map ftp-all permit 10
CONF
for ns in "$NS_A" "$NS_B"; do
    echo "hostname $ns" >"$WORK/$ns/zebra.conf"
    chown frr:frr "$WORK/$ns/zebra.conf" "$WORK/$ns/bgpd.conf"
    # -N puts sockets under /var/run/frr/$ns; -P 0 disables the TCP vty.
    ip netns exec "$ns" "$FRR/zebra" -d -N "$ns" -P 0 \
        -f "$WORK/$ns/zebra.conf" -i "$WORK/$ns/zebra.pid" --log "file:$WORK/$ns/zebra.log"
    for _ in $(seq 50); do [[ -S /var/run/frr/$ns/zserv.api ]] && break; sleep 0.1; done
    ip netns exec "$ns" "$FRR/bgpd" -d -N "$ns" -P 0 \
        -f "$WORK/$ns/bgpd.conf" -i "$WORK/$ns/bgpd.pid" --log "file:$WORK/$ns/bgpd.log"
done

for ns in "$NS_A" "$NS_B"; do
    # vtysh -N reads /etc/frr/$ns/vtysh.conf and complains when it is missing.
    mkdir -p "/etc/frr/$ns" && touch "/etc/frr/$ns/vtysh.conf"
done
vty() { vtysh -N "$1" -c "$2"; }

# Wait (up to 60 s) until a has b's prefix and the absent peers sit in Active.
ready_check='
import json, sys
peers = json.load(sys.stdin).get("peers", {})
b, gone = peers.get("172.16.99.1", {}), peers.get("172.16.99.3", {})
ok = b.get("state") == "Established" and b.get("pfxRcd", 0) >= 1 and gone.get("state") == "Active"
sys.exit(0 if ok else 1)
'
ready=0
for _ in $(seq 600); do
    if vty "$NS_A" 'show bgp ipv4 unicast summary json' 2>/dev/null | python3 -c "$ready_check"; then
        ready=1
        break
    fi
    sleep 0.1
done
[[ $ready -eq 1 ]] || { echo "the a<->b session did not come up" >&2; cat "$WORK"/*/bgpd.log >&2; exit 1; }

version="$(vty "$NS_A" 'show version' | sed -n 's/^FRRouting \([0-9]*\.[0-9]*\).*/\1/p' | head -1)"
[[ -n "$version" ]] || { echo "could not read the FRR version" >&2; exit 1; }
mkdir -p "$OUT"
prefix="$OUT/frr-$version"
vty "$NS_A" 'show bgp summary' >"$prefix-show-bgp-summary.txt"
vty "$NS_A" 'show bgp summary json' >"$prefix-show-bgp-summary.json"
vty "$NS_A" 'show bgp ipv4 unicast summary' >"$prefix-show-bgp-ipv4-unicast-summary.txt"
vty "$NS_A" 'show bgp ipv4 unicast summary json' >"$prefix-show-bgp-ipv4-unicast-summary.json"
vty "$NS_A" 'show bgp vrf default summary json' >"$prefix-show-bgp-vrf-default-summary.json"
vty "$NS_B" 'show bgp summary' >"$prefix-policy-show-bgp-summary.txt"
vty "$NS_B" 'show bgp summary json' >"$prefix-policy-show-bgp-summary.json"
vty "$NS_B" 'show bgp l2vpn evpn summary' >"$prefix-no-neighbors-l2vpn-evpn-summary.txt"
vty "$NS_B" 'show bgp l2vpn evpn summary json' >"$prefix-no-neighbors-l2vpn-evpn-summary.json"
echo "wrote $prefix-*"
