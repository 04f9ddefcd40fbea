#!/usr/bin/env bash
# capture-keepalived-auth.sh - run real keepalived in a throw-away pair of network namespaces,
# capture its VRRP adverts with tshark and turn them into golden vectors (via
# extract-keepalived-vectors.sh) for the cases the shared captures do not cover.
#
# Usage (as root):
#   capture-keepalived-auth.sh [--keep-pcaps DIR] [SCENARIO...]
#     SCENARIO      one or more of the names below (default: all of them)
#     --keep-pcaps  also copy the pcapng captures and keepalived configs into DIR
#                   (they are not checked in: the .txt vectors are)
#
# Writes core/vrrp/tests/data/keepalived/<scenario>.txt next to this script. Takes about 25 s.
#
# Scenarios (node1 always has the higher priority and becomes master; then node1 and, after
# the takeover, node2 are stopped with SIGTERM, so each one also sends a priority-0 advert):
#   v2-ipv4-1000ms-auth-pass          VRRPv2, vrid 42, priorities 200/100, advert_int 1,
#                                     `authentication { auth_type PASS auth_pass secret1 }`,
#                                     three VIPs 192.0.2.100 192.0.2.101 198.51.100.7
#   v3-ipv4-100ms-unicast-old-checksum
#                                     VRRPv3 unicast, `old_unicast_checksum` on both nodes:
#                                     keepalived's pre-1.3.6 VRRPv3 checksum, whose pseudo-header
#                                     carries 224.0.0.18 instead of the unicast peer
#   v3-ipv6-500ms-multi-vip           VRRPv3 IPv6 multicast (ff02::12 from link-local),
#                                     vrid 7, priorities 255 (address owner) / 100,
#                                     advert_int 0.5, two VIPs 2001:db8::100 2001:db8:0:1::200
#
# Why there is no "v3_checksum_as_v2" capture: keepalived has no such option. keepalived 2.2.7
# rejects it (`keepalived -t`: "Unknown keyword 'v3_checksum_as_v2'"), and neither
# keepalived.conf(5) nor the binary mention it. The only VRRPv3 checksum variant keepalived can
# produce is old_unicast_checksum above.
#
# Isolation: everything happens in two namespaces this script creates, named
# vigilcap-<pid>-<hex>-a / -b, joined by one veth (eth0 in each; the peer is created directly
# in the other namespace, so nothing ever appears in the root namespace). Addresses are
# documentation ranges only: 192.0.2.11/24 + 2001:db8::11/64 (a) and .12 / ::12 (b). tshark
# captures on a's eth0, which sees both directions. A trap on EXIT/INT/TERM stops the
# processes this script started (by pid), then anything left inside *its own* namespaces,
# then deletes the namespaces and the temp dir, on success and on failure alike.
#
# Requirements: root (CAP_NET_ADMIN + CAP_SYS_ADMIN), bash >= 4, iproute2, keepalived (tested
# with 2.2.7), tshark, awk. `apt-get install -y keepalived tshark iproute2`.
set -euo pipefail
export LC_ALL=C

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ALL_SCENARIOS=(v2-ipv4-1000ms-auth-pass v3-ipv4-100ms-unicast-old-checksum v3-ipv6-500ms-multi-vip)
KEEP=""
SCENARIOS=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --keep-pcaps) KEEP=$2; shift 2 ;;
        -h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        -*) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
        *) SCENARIOS+=("$1"); shift ;;
    esac
done
[[ ${#SCENARIOS[@]} -gt 0 ]] || SCENARIOS=("${ALL_SCENARIOS[@]}")

die() { echo "capture-keepalived-auth: ERROR: $*" >&2; exit 1; }
say() { echo "capture-keepalived-auth: $*" >&2; }

[[ $(id -u) == 0 ]] || die "must run as root (network namespaces)"
for tool in ip keepalived tshark awk; do command -v "$tool" >/dev/null || die "$tool not installed"; done

PREFIX="vigilcap-$$-$(printf '%04x' $((RANDOM)))"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/$PREFIX.XXXXXX")"
NS_CREATED=()
PIDS=()
CLEANED=0

kill_pid() { # kill_pid PID: CONT, TERM, wait up to 2 s, KILL. Only the given pid.
    local pid=$1 t
    kill -0 "$pid" 2>/dev/null || return 0
    kill -CONT "$pid" 2>/dev/null || true
    kill -TERM "$pid" 2>/dev/null || true
    for ((t = 0; t < 40; t++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.05
    done
    kill -KILL "$pid" 2>/dev/null || true
}

cleanup() {
    [[ $CLEANED == 1 ]] && return 0
    CLEANED=1
    set +e
    local pid ns
    for pid in "${PIDS[@]}"; do kill_pid "$pid"; wait "$pid" 2>/dev/null; done
    # Anything still inside our own namespaces was started by this script (keepalived's
    # VRRP child, for instance).
    for ns in "${NS_CREATED[@]}"; do
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill_pid "$pid"; done
    done
    for ns in "${NS_CREATED[@]}"; do ip netns del "$ns" 2>/dev/null; done
    NS_CREATED=()
    rm -rf -- "$WORK"
    return 0
}
trap cleanup EXIT
trap 'cleanup; trap - INT; kill -INT $$' INT
trap 'cleanup; trap - TERM; kill -TERM $$' TERM

# make_pair: create namespaces A and B joined by a veth, addresses 192.0.2.1x, 2001:db8::1x.
make_pair() {
    NS_A="$PREFIX-a" NS_B="$PREFIX-b"
    local ns i=0
    for ns in "$NS_A" "$NS_B"; do
        ip netns add "$ns" || die "cannot create namespace $ns"
        NS_CREATED+=("$ns")
        ip -n "$ns" link set lo up
        # DAD off before eth0 exists: link-local and global IPv6 are usable at once.
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 >/dev/null
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.accept_dad=0 >/dev/null
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.dad_transmits=0 >/dev/null
    done
    ip -n "$NS_A" link add eth0 type veth peer name eth0 netns "$NS_B" || die "cannot create veth"
    for ns in "$NS_A" "$NS_B"; do
        i=$((i + 1))
        ip -n "$ns" link set eth0 up
        ip -n "$ns" addr add "192.0.2.1$i/24" dev eth0
        ip -n "$ns" -6 addr add "2001:db8::1$i/64" dev eth0 nodad
    done
}

del_pair() {
    local ns pid
    for ns in "$NS_A" "$NS_B"; do
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill_pid "$pid"; done
        ip netns del "$ns" 2>/dev/null || true
    done
    NS_CREATED=()
}

# write_conf SCENARIO NODE FILE
write_conf() {
    local s=$1 node=$2 f=$3 me peer
    me=$((10 + node)) peer=$((13 - node))
    {
        echo "global_defs {"
        echo "    router_id vigil-cap-n$node"
        echo "    max_auto_priority -1"
        echo "}"
        echo "vrrp_instance VI_1 {"
        echo "    state BACKUP"
        echo "    interface eth0"
        case $s in
            v2-ipv4-1000ms-auth-pass)
                echo "    virtual_router_id 42"
                echo "    priority $([[ $node == 1 ]] && echo 200 || echo 100)"
                echo "    advert_int 1"
                echo "    version 2"
                echo "    authentication {"
                echo "        auth_type PASS"
                echo "        auth_pass secret1"
                echo "    }"
                echo "    virtual_ipaddress {"
                echo "        192.0.2.100/24"
                echo "        192.0.2.101/24"
                echo "        198.51.100.7/24"
                echo "    }"
                ;;
            v3-ipv4-100ms-unicast-old-checksum)
                echo "    virtual_router_id 51"
                echo "    priority $([[ $node == 1 ]] && echo 150 || echo 100)"
                echo "    advert_int 0.1"
                echo "    version 3"
                echo "    unicast_src_ip 192.0.2.$me"
                echo "    unicast_peer {"
                echo "        192.0.2.$peer"
                echo "    }"
                echo "    old_unicast_checksum"
                echo "    virtual_ipaddress {"
                echo "        192.0.2.100/24"
                echo "    }"
                ;;
            v3-ipv6-500ms-multi-vip)
                echo "    virtual_router_id 7"
                echo "    priority $([[ $node == 1 ]] && echo 255 || echo 100)"
                echo "    advert_int 0.5"
                echo "    version 3"
                echo "    virtual_ipaddress {"
                echo "        2001:db8::100/64"
                echo "        2001:db8:0:1::200/64"
                echo "    }"
                ;;
            *) die "unknown scenario $s" ;;
        esac
        echo "}"
    } >"$f"
}

# wait_vip NS VIP TIMEOUT_S: wait until namespace NS holds VIP.
wait_vip() {
    local ns=$1 vip=$2 t a
    for ((t = 0; t < $3 * 20; t++)); do
        a=$(ip -n "$ns" -o addr show 2>/dev/null || true)
        [[ $a == *" $vip/"* ]] && return 0
        sleep 0.05
    done
    return 1
}

# stop_and_wait PID: graceful SIGTERM (keepalived then sends its priority-0 advert).
stop_and_wait() {
    local pid=$1 t
    kill -TERM "$pid" 2>/dev/null || true
    for ((t = 0; t < 100; t++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    kill_pid "$pid"
    wait "$pid" 2>/dev/null || true
}

start_keepalived() { # start_keepalived NS NODE SCENARIO -> KA_PID
    local ns=$1 n=$2 s=$3 d="$WORK/run-$3"
    ip netns exec "$ns" keepalived -n -l -D -G -P -f "$d/$s.node$n.conf" \
        -p "$d/ka$n.pid" -r "$d/ka$n.vrrp.pid" -c "$d/ka$n.chk.pid" -b "$d/ka$n.bfd.pid" \
        >"$d/ka$n.log" 2>&1 </dev/null &
    KA_PID=$!
    PIDS+=("$KA_PID")
}

capture() { # capture SCENARIO: leaves $WORK/caps/SCENARIO.{pcapng,node1.conf,node2.conf}
    local s=$1 d="$WORK/run-$1" vip adv_s n t tpid ka1 ka2
    mkdir -p "$d" "$WORK/caps"
    for n in 1 2; do
        write_conf "$s" "$n" "$d/$s.node$n.conf"
        keepalived -t -f "$d/$s.node$n.conf" 2>"$d/configtest$n.log" \
            || { cat "$d/configtest$n.log" >&2; die "$s: keepalived rejected node$n's config"; }
    done
    vip=$(awk '/virtual_ipaddress/ { getline; sub(/\/.*/, "", $1); print $1; exit }' "$d/$s.node1.conf")
    adv_s=$(awk '$1 == "advert_int" { print $2 }' "$d/$s.node1.conf")

    make_pair
    ip netns exec "$NS_A" tshark -i eth0 -n -q -f "ip proto 112 or ip6 proto 112" \
        -w "$d/$s.pcapng" >"$d/tshark.log" 2>&1 </dev/null &
    tpid=$!
    PIDS+=("$tpid")
    for ((t = 0; t < 200; t++)); do
        grep -q "Capturing on" "$d/tshark.log" 2>/dev/null && break
        kill -0 "$tpid" 2>/dev/null || { cat "$d/tshark.log" >&2; die "$s: tshark failed"; }
        sleep 0.05
    done

    start_keepalived "$NS_A" 1 "$s"; ka1=$KA_PID
    start_keepalived "$NS_B" 2 "$s"; ka2=$KA_PID
    wait_vip "$NS_A" "$vip" 15 || { tail -n 20 "$d/ka1.log" >&2; die "$s: node1 never became master"; }
    sleep "$(awk -v a="$adv_s" 'BEGIN { printf "%.2f", 2.5 * a }')"
    stop_and_wait "$ka1"
    wait_vip "$NS_B" "$vip" 15 || { tail -n 20 "$d/ka2.log" >&2; die "$s: node2 never took over"; }
    sleep "$(awk -v a="$adv_s" 'BEGIN { printf "%.2f", 2.5 * a }')"
    stop_and_wait "$ka2"
    sleep 0.3
    kill -INT "$tpid" 2>/dev/null || true
    for ((t = 0; t < 100; t++)); do kill -0 "$tpid" 2>/dev/null || break; sleep 0.05; done
    kill_pid "$tpid"
    wait "$tpid" 2>/dev/null || true
    del_pair

    cp "$d/$s.pcapng" "$d/$s.node1.conf" "$d/$s.node2.conf" "$WORK/caps/"
    say "$s: captured $(tshark -r "$d/$s.pcapng" -n -Y vrrp 2>/dev/null | wc -l) VRRP packets"
}

for s in "${SCENARIOS[@]}"; do
    [[ " ${ALL_SCENARIOS[*]} " == *" $s "* ]] || die "unknown scenario $s (known: ${ALL_SCENARIOS[*]})"
    capture "$s"
done

"$HERE/extract-keepalived-vectors.sh" "$WORK/caps" "$HERE/keepalived"
if [[ -n $KEEP ]]; then
    mkdir -p "$KEEP"
    cp "$WORK/caps/"* "$KEEP/"
    say "captures and configs kept in $KEEP"
fi
say "done"
