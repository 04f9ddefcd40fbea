#!/usr/bin/env bash
# The Vigil demo: a three-router VRRP cluster elects a master, loses it, fails over and
# preempts back, with a timeline and the measured takeover time.
#
#   sudo bash examples/demo.sh [--kill crash|shutdown] [--vrrp-version 2|3] [--advert-ms N]
#
# Today the demo runs the real VRRP engine in Vigil's deterministic simulator (virtual time,
# in-memory LAN) and says so; the network-namespace demo with real sockets and a keepalived
# peer comes with the daemon.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=tests/lib/deps.sh
source tests/lib/deps.sh
vigil_need_cargo
vigil_log "building vigil (first run compiles the workspace: about a minute)"
cargo build --quiet --locked -p vigil
exec "${CARGO_TARGET_DIR:-target}/debug/vigil" demo "$@"
