#!/bin/bash
# Regenerate the real FRR and BIRD neighbor-detail fixtures in this directory
# (`show bgp neighbors [PEER] [json]`, `birdc show protocols all NAME`).
#
# Three network namespaces, nothing in the host namespace:
#   fnb-a  FRR, AS 65101: 172.16.98.0/31 to fnb-b, 172.16.98.2/31 to fnb-c,
#          peers 172.16.98.1 (fnb-b, BFD on), 172.16.98.3 (fnb-c's BIRD),
#          172.16.98.5 (nothing there: Active), 172.16.98.7 (shut down: Idle (Admin))
#   fnb-b  FRR, AS 65001 (timers 3/9, announces 172.16.254.1/32)
#   fnb-c  BIRD 1.6, AS 64512 (Calico's default), protocol Node_172_16_98_2 to fnb-a,
#          Node_172_16_98_9 to nobody
# The story captured: all up; fnb-b shuts its session to fnb-a (a NOTIFICATION,
# Cease/Administrative Shutdown) and fnb-a shuts its session to fnb-c; outputs while
# down; both cleared; outputs once up again (with the last reset remembered).
#
# Needs root, iproute2, FRR (zebra, bgpd, bfdd, vtysh) and BIRD 1.6 (bird, birdc).
# Usage: sudo tests/data/bgp/neighbors/regenerate.sh [output-dir]
set -euo pipefail

OUT="${1:-$(cd "$(dirname "$0")" && pwd)}"
FRR=/usr/lib/frr
WORK="$(mktemp -d /tmp/fnb.XXXXXX)"
FRR_NS=(fnb-a fnb-b)

teardown() {
    set +e
    for ns in fnb-a fnb-b fnb-c; do
        for pidfile in "$WORK/$ns"/*.pid; do
            [[ -s "$pidfile" ]] || continue
            pid="$(cat "$pidfile")"
            kill "$pid" 2>/dev/null
            for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -9 "$pid" 2>/dev/null
        done
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

for tool in ip "$FRR/zebra" "$FRR/bgpd" "$FRR/bfdd" vtysh bird birdc; do
    command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 2; }
done
[[ $(id -u) -eq 0 ]] || { echo "needs root (network namespaces, FRR, BIRD)" >&2; exit 2; }
for ns in fnb-a fnb-b fnb-c; do
    if ip netns list | grep -qw "$ns"; then echo "namespace $ns already exists" >&2; exit 2; fi
    ip netns add "$ns"
    ip -n "$ns" link set lo up
done
ip link add fnb-ab netns fnb-a type veth peer name fnb-ba netns fnb-b
ip link add fnb-ac netns fnb-a type veth peer name fnb-ca netns fnb-c
ip -n fnb-a addr add 172.16.98.0/31 dev fnb-ab
ip -n fnb-b addr add 172.16.98.1/31 dev fnb-ba
ip -n fnb-a addr add 172.16.98.2/31 dev fnb-ac
ip -n fnb-c addr add 172.16.98.3/31 dev fnb-ca
ip -n fnb-b addr add 172.16.254.1/32 dev lo
for pair in "fnb-a fnb-ab" "fnb-b fnb-ba" "fnb-a fnb-ac" "fnb-c fnb-ca"; do
    set -- $pair
    ip -n "$1" link set "$2" up
done

for ns in "${FRR_NS[@]}"; do mkdir -p "$WORK/$ns" "/var/run/frr/$ns"; done
mkdir -p "$WORK/fnb-c"
cat >"$WORK/fnb-a/bgpd.conf" <<CONF
hostname leaf-a.lab.local
router bgp 65101
 bgp router-id 172.16.254.101
 no bgp ebgp-requires-policy
 bgp default show-hostname
 timers bgp 3 9
 neighbor 172.16.98.1 remote-as 65001
 neighbor 172.16.98.1 timers connect 1
 neighbor 172.16.98.1 description spine b
 neighbor 172.16.98.1 bfd
 neighbor 172.16.98.3 remote-as 64512
 neighbor 172.16.98.3 timers connect 1
 neighbor 172.16.98.5 remote-as 65002
 neighbor 172.16.98.7 remote-as 65003
 neighbor 172.16.98.7 shutdown
 address-family ipv4 unicast
  network 10.0.101.0/24
 exit-address-family
CONF
cat >"$WORK/fnb-b/bgpd.conf" <<CONF
hostname spine-b.lab.local
router bgp 65001
 bgp router-id 172.16.254.1
 no bgp ebgp-requires-policy
 bgp default show-hostname
 timers bgp 3 9
 neighbor 172.16.98.0 remote-as 65101
 neighbor 172.16.98.0 timers connect 1
 neighbor 172.16.98.0 bfd
 address-family ipv4 unicast
  network 172.16.254.1/32
 exit-address-family
CONF
cat >"$WORK/fnb-c/bird.conf" <<CONF
router id 172.16.98.3;
protocol device { scan time 2; }
protocol static { route 192.168.77.0/26 blackhole; }
template bgp calico {
  local as 64512;
  import all;
  export all;
  connect delay time 1;
  connect retry time 2;
  error wait time 2, 10;
  hold time 9;
  keepalive time 3;
}
protocol bgp Node_172_16_98_2 from calico { neighbor 172.16.98.2 as 65101; }
protocol bgp Node_172_16_98_9 from calico { neighbor 172.16.98.9 as 65101; }
CONF
chown frr:frr "$WORK"
chown -R frr:frr "$WORK/fnb-a" "$WORK/fnb-b" /var/run/frr/fnb-a /var/run/frr/fnb-b
for ns in "${FRR_NS[@]}"; do
    echo "hostname $ns" >"$WORK/$ns/zebra.conf"
    echo "hostname $ns" >"$WORK/$ns/bfdd.conf"
    chown frr:frr "$WORK/$ns"/*.conf
    ip netns exec "$ns" "$FRR/zebra" -d -N "$ns" -P 0 \
        -f "$WORK/$ns/zebra.conf" -i "$WORK/$ns/zebra.pid" --log "file:$WORK/$ns/zebra.log"
    for _ in $(seq 50); do [[ -S /var/run/frr/$ns/zserv.api ]] && break; sleep 0.1; done
    ip netns exec "$ns" "$FRR/bfdd" -d -N "$ns" -P 0 \
        -f "$WORK/$ns/bfdd.conf" -i "$WORK/$ns/bfdd.pid" --log "file:$WORK/$ns/bfdd.log"
    ip netns exec "$ns" "$FRR/bgpd" -d -N "$ns" -P 0 \
        -f "$WORK/$ns/bgpd.conf" -i "$WORK/$ns/bgpd.pid" --log "file:$WORK/$ns/bgpd.log"
    mkdir -p "/etc/frr/$ns" && touch "/etc/frr/$ns/vtysh.conf"
done
ip netns exec fnb-c bird -c "$WORK/fnb-c/bird.conf" -s "$WORK/fnb-c/bird.ctl" -P "$WORK/fnb-c/bird.pid"

vty() { vtysh -N "$1" -c "$2"; }
birdc_c() { birdc -s "$WORK/fnb-c/bird.ctl" "$@"; }

# wait_for PEER STATE: fnb-a's session with PEER reaches STATE (60 s at most)
wait_for() {
    local check="import json,sys; p=json.load(sys.stdin).get('$1',{}); sys.exit(0 if p.get('bgpState')=='$2' else 1)"
    for _ in $(seq 600); do
        vty fnb-a "show bgp neighbors $1 json" 2>/dev/null | python3 -c "$check" && return 0
        sleep 0.1
    done
    echo "fnb-a: $1 never reached $2" >&2
    cat "$WORK"/*/bgpd.log >&2
    exit 1
}
wait_for 172.16.98.1 Established
wait_for 172.16.98.3 Established
wait_for 172.16.98.5 Active
sleep 4  # a keepalive or two, the BFD session up, prefixes exchanged

version="$(vty fnb-a 'show version' | sed -n 's/^FRRouting \([0-9]*\.[0-9]*\).*/\1/p' | head -1)"
[[ -n "$version" ]] || { echo "could not read the FRR version" >&2; exit 1; }
mkdir -p "$OUT"
p="$OUT/frr-$version"
vty fnb-a 'show bgp neighbors json' >"$p-neighbors-all-up.json"
vty fnb-a 'show bgp neighbors' >"$p-neighbors-all-up.txt"
vty fnb-a 'show bgp neighbors 172.16.98.9 json' >"$p-neighbor-unknown.json"
vty fnb-a 'show bgp neighbors 172.16.98.9' >"$p-neighbor-unknown.txt"
birdc_c show protocols all Node_172_16_98_2 >"$OUT/bird-1.6.8-protocols-all-up.txt"
birdc_c show protocols all Node_172_16_98_9 >"$OUT/bird-1.6.8-protocols-all-connect.txt"
birdc_c show protocols all Nope_1 >"$OUT/bird-1.6.8-protocols-all-unknown.txt" || true

# the stories: b shuts its session (a receives Cease/Administrative Shutdown);
# a shuts its session to BIRD (BIRD receives the same from FRR)
vtysh -N fnb-b -c 'configure terminal' -c 'router bgp 65001' -c 'neighbor 172.16.98.0 shutdown'
vtysh -N fnb-a -c 'configure terminal' -c 'router bgp 65101' -c 'neighbor 172.16.98.3 shutdown'
wait_for 172.16.98.1 Active
sleep 3
vty fnb-a 'show bgp neighbors 172.16.98.1 json' >"$p-neighbor-notification-received.json"
vty fnb-a 'show bgp neighbors 172.16.98.1' >"$p-neighbor-notification-received.txt"
vty fnb-b 'show bgp neighbors 172.16.98.0 json' >"$p-neighbor-admin-shutdown.json"
vty fnb-b 'show bgp neighbors 172.16.98.0' >"$p-neighbor-admin-shutdown.txt"
vty fnb-a 'show bgp neighbors 172.16.98.3 json' >"$p-neighbor-notification-sent.json"
birdc_c show protocols all Node_172_16_98_2 >"$OUT/bird-1.6.8-protocols-all-received-shutdown.txt"
birdc_c show protocols >"$OUT/bird-1.6.8-protocols-received-shutdown.txt"

vtysh -N fnb-b -c 'configure terminal' -c 'router bgp 65001' -c 'no neighbor 172.16.98.0 shutdown'
vtysh -N fnb-a -c 'configure terminal' -c 'router bgp 65101' -c 'no neighbor 172.16.98.3 shutdown'
wait_for 172.16.98.1 Established
wait_for 172.16.98.3 Established
sleep 4
vty fnb-a 'show bgp neighbors 172.16.98.1 json' >"$p-neighbor-up-after-reset.json"
vty fnb-a 'show bgp neighbors 172.16.98.1' >"$p-neighbor-up-after-reset.txt"
birdc_c show protocols all Node_172_16_98_2 >"$OUT/bird-1.6.8-protocols-all-up-after-reset.txt"
echo "wrote $p-* and $OUT/bird-1.6.8-*"
