#!/usr/bin/env bash
# extract-keepalived-vectors.sh - turn pcap/pcapng captures of real keepalived into the small,
# commit-ready golden vector files that core/vrrp/tests/golden.rs checks our codec against.
#
# Usage:
#   extract-keepalived-vectors.sh [SRC_DIR [OUT_DIR]]
#     SRC_DIR  directory of captures, default /work/shared/vectors/keepalived
#     OUT_DIR  where to write <capture-name>.txt, default: keepalived/ next to this script
#   Environment: PRODUCER="keepalived 2.2.7" overrides the producer recorded in the headers
#   (default: the version of the keepalived binary on PATH, which is what made the captures
#   in the default SRC_DIR and what capture-keepalived-auth.sh runs).
#
# Input: for every capture SRC_DIR/<name>.pcapng (or .pcap) there must be the keepalived
# configs that produced it, SRC_DIR/<name>.node1.conf, <name>.node2.conf, ... (one
# vrrp_instance per file). The parameters written into the header come from those configs:
# version (instance `version`, else global `vrrp_version`, else 2 / 3 for IPv6), vrid,
# priority of every node, advert_int (converted to centiseconds), the virtual_ipaddress list
# in config order, authentication (auth_type PASS + auth_pass), unicast vs multicast,
# use_vmac, and old_unicast_checksum.
#
# Output: OUT_DIR/<name>.txt. Plain text, one advert per line, `#` starts a comment line:
#
#   # key: value                            header lines, see below
#   <ip-src> <ip-dst> <ttl> <hex>           one distinct advert (first-seen order)
#
#   <ip-src>, <ip-dst>  the IP source and destination of the packet as sent on the wire
#   <ttl>               IPv4 TTL or IPv6 hop limit, decimal
#   <hex>               the VRRP message (the IP payload: header, addresses, v2 auth data),
#                       lowercase hex without separators, exactly as keepalived sent it
#
# Header keys (all present in every file):
#   capture      source capture file name and its config files
#   producer     the software that sent the adverts
#   version      2 or 3
#   family       4 or 6
#   vrid         virtual_router_id
#   priorities   configured priorities of the nodes, node1 first. Priority 0 adverts (a
#                master resigning on shutdown, RFC 3768/9568 §6.4.3) may appear as well.
#   interval-cs  advert_int in centiseconds
#   addresses    the virtual addresses in config order, space separated (prefix length dropped)
#   auth         `none` or `pass <password>` (v2 simple text; keepalived uses the first 8 bytes)
#   transport    `multicast` or `unicast`
#   vmac         `yes` or `no`
#   checksum     `rfc` (RFC 3768 / RFC 9568 checksum) or `old-unicast` (keepalived's
#                old_unicast_checksum: a VRRPv3/IPv4 unicast advert whose pseudo-header uses
#                the multicast group 224.0.0.18 as destination instead of the real one)
#   tshark       how tshark judged the distinct adverts (checksum status), for information
#
# Only real adverts are kept: IP protocol / next header 112, excluding ICMP errors that quote
# an advert. Identical adverts (same src, dst, ttl and bytes) are written once.
#
# Requirements: bash, tshark (Wireshark >= 3.6), awk, sort. Re-running is deterministic.
set -euo pipefail
export LC_ALL=C

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SRC_DIR="${1:-/work/shared/vectors/keepalived}"
OUT_DIR="${2:-$HERE/keepalived}"

die() { echo "extract-keepalived-vectors: ERROR: $*" >&2; exit 1; }
say() { echo "extract-keepalived-vectors: $*" >&2; }

command -v tshark >/dev/null || die "tshark not installed (apt-get install -y tshark)"
[[ -d $SRC_DIR ]] || die "no such directory: $SRC_DIR"
mkdir -p "$OUT_DIR"

if [[ -z ${PRODUCER:-} ]]; then
    if command -v keepalived >/dev/null; then
        PRODUCER="keepalived $(keepalived -v 2>&1 | awk 'NR == 1 { sub(/^v/, "", $2); print $2 }')"
    else
        PRODUCER="keepalived (version not recorded)"
    fi
fi

# conf_param FILE KEY: print one parameter of the (single) vrrp_instance in FILE.
# KEY is one of: version vrid priority advert_int vips auth transport vmac checksum
conf_param() {
    awk -v key="$2" '
        function strip(s) { sub(/[#!].*/, "", s); gsub(/^[ \t]+|[ \t]+$/, "", s); return s }
        {
            line = strip($0)
            if (line == "") next
            n = split(line, f, /[ \t]+/)
            opens = gsub(/\{/, "{", line); closes = gsub(/\}/, "}", line)
            if (depth == 0 && f[1] == "global_defs") block = "global"
            if (depth == 0 && f[1] == "vrrp_instance") block = "instance"
            if (block == "global" && depth == 1 && f[1] == "vrrp_version") gversion = f[2]
            if (block == "instance" && depth == 1) {
                if (f[1] == "version") version = f[2]
                else if (f[1] == "virtual_router_id") vrid = f[2]
                else if (f[1] == "priority") prio = f[2]
                else if (f[1] == "advert_int") adv = f[2]
                else if (f[1] == "auth_type") atype = f[2]
                else if (f[1] == "auth_pass") apass = f[2]
                else if (f[1] == "use_vmac") vmac = "yes"
                else if (f[1] == "unicast_peer") unicast = "unicast"
                else if (f[1] == "old_unicast_checksum") oldck = "old-unicast"
                if (f[1] ~ /^(virtual_ipaddress|authentication|unicast_peer)$/) sub1 = f[1]
            } else if (block == "instance" && depth == 2 && sub1 == "virtual_ipaddress" && f[1] != "}") {
                a = f[1]; sub(/\/.*/, "", a); vips = vips (vips == "" ? "" : " ") a
                if (a ~ /:/) v6 = 1
            } else if (block == "instance" && depth == 2 && sub1 == "authentication") {
                if (f[1] == "auth_type") atype = f[2]
                if (f[1] == "auth_pass") apass = f[2]
            }
            depth += opens - closes
            if (depth == 1) sub1 = ""
            if (depth == 0) block = ""
        }
        END {
            if (version == "") version = (gversion != "" ? gversion : (v6 ? 3 : 2))
            if (v6) version = 3
            if (key == "version") print version
            else if (key == "family") print (v6 ? 6 : 4)
            else if (key == "vrid") print vrid
            else if (key == "priority") print (prio == "" ? 100 : prio)
            else if (key == "interval_cs") printf "%d\n", (adv == "" ? 1 : adv) * 100 + 0.5
            else if (key == "vips") print vips
            else if (key == "auth") print ((atype == "PASS" && version == 2) ? "pass " substr(apass, 1, 8) : "none")
            else if (key == "transport") print (unicast == "" ? "multicast" : unicast)
            else if (key == "vmac") print (vmac == "" ? "no" : vmac)
            else if (key == "checksum") print ((oldck != "" && unicast != "" && version == 3 && !v6) ? oldck : "rfc")
        }' "$1"
}

shopt -s nullglob
captures=("$SRC_DIR"/*.pcapng "$SRC_DIR"/*.pcap)
[[ ${#captures[@]} -gt 0 ]] || die "no .pcapng/.pcap captures in $SRC_DIR"

for cap in "${captures[@]}"; do
    base=$(basename "$cap")
    name=${base%.pcapng}
    name=${name%.pcap}
    confs=("$SRC_DIR/$name".node*.conf)
    [[ ${#confs[@]} -gt 0 ]] || die "$base: no $name.node*.conf next to it"
    node1="$SRC_DIR/$name.node1.conf"
    [[ -f $node1 ]] || die "$base: missing $name.node1.conf"

    prios=()
    conf_names=()
    for c in "${confs[@]}"; do
        prios+=("$(conf_param "$c" priority)")
        conf_names+=("$(basename "$c")")
        for k in version vrid interval_cs vips auth transport checksum; do
            [[ $(conf_param "$c" "$k") == "$(conf_param "$node1" "$k")" ]] \
                || die "$base: $(basename "$c") and node1 disagree on $k"
        done
    done

    # Real adverts only: dissect the VRRP message as plain data so that tshark hands us its
    # bytes; skip ICMP errors quoting an advert (they contain a second IP header).
    flt='(ip.proto == 112 || ipv6.nxt == 112) && !icmp && !icmpv6'
    rows=$(tshark -r "$cap" -n --disable-protocol vrrp -Y "$flt" -T fields -E separator=' ' \
        -e ip.src -e ip.dst -e ip.ttl -e ipv6.src -e ipv6.dst -e ipv6.hlim -e data.data 2>/dev/null \
        | awk 'NF == 4 && !seen[$0]++ { print $1, $2, $3, tolower($4) }') \
        || die "$base: tshark could not read the capture"
    [[ -n $rows ]] || die "$base: no VRRP adverts in the capture"
    total=$(tshark -r "$cap" -n -Y "vrrp && !icmp && !icmpv6" -T fields -e frame.number 2>/dev/null | wc -l)
    # tshark's own judgement of each distinct advert (1 = Good, 0 = Bad, 2 = Unverified).
    status=$(tshark -r "$cap" -n -Y "vrrp && !icmp && !icmpv6" -T fields -E separator=' ' \
        -e ip.src -e ip.dst -e ip.ttl -e ipv6.src -e ipv6.dst -e ipv6.hlim -e vrrp.prio -e vrrp.checksum \
        -e vrrp.checksum.status 2>/dev/null \
        | awk 'NF == 6 && !seen[$0]++ { n[$6]++ }
               END { printf "good=%d bad=%d unverified=%d", n["1"], n["0"], n["2"] }')

    out="$OUT_DIR/$name.txt"
    {
        echo "# Golden VRRP adverts sent by real keepalived, for core/vrrp/tests/golden.rs."
        echo "# Generated by core/vrrp/tests/data/extract-keepalived-vectors.sh (format documented there)."
        echo "# Do not edit by hand; re-run the script on the capture instead."
        echo "# capture: $base (configs ${conf_names[*]})"
        echo "# producer: $PRODUCER"
        echo "# version: $(conf_param "$node1" version)"
        echo "# family: $(conf_param "$node1" family)"
        echo "# vrid: $(conf_param "$node1" vrid)"
        echo "# priorities: ${prios[*]}"
        echo "# interval-cs: $(conf_param "$node1" interval_cs)"
        echo "# addresses: $(conf_param "$node1" vips)"
        echo "# auth: $(conf_param "$node1" auth)"
        echo "# transport: $(conf_param "$node1" transport)"
        echo "# vmac: $(conf_param "$node1" vmac)"
        echo "# checksum: $(conf_param "$node1" checksum)"
        echo "# tshark: $total adverts in the capture; distinct adverts' checksum status $status"
        echo "# <ip-src> <ip-dst> <ttl-or-hop-limit> <vrrp-message-hex>"
        printf '%s\n' "$rows"
    } >"$out"
    say "$name: $(printf '%s\n' "$rows" | wc -l) distinct adverts of $total -> $out"
done
