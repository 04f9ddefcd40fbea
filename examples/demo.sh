#!/usr/bin/env bash
# The Vigil demo: in private network namespaces (nothing touches this machine's network), two
# Vigil daemons and one real keepalived elect a master; the master is killed, the VIP moves
# (takeover time measured against the RFC bound), the old master comes back and preempts, then
# resigns gracefully. Everything is removed at the end, also on Ctrl-C.
#
#   sudo bash examples/demo.sh [--kill crash|shutdown] [--vrrp-version 2|3] [--advert-ms N]
#   bash examples/demo.sh --simulate      # without root: the same engine in the simulator
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=tests/lib/deps.sh
source tests/lib/deps.sh
vigil_need_cargo
if [[ $(id -u) == 0 ]]; then
    vigil_apt keepalived iproute2 iputils-ping
fi
vigil_log "building vigil (first run compiles the workspace: about a minute)"
cargo build --quiet --locked -p vigil
exec "${CARGO_TARGET_DIR:-target}/debug/vigil" demo "$@"
