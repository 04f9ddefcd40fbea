#!/bin/bash
# Runs after switch_root as PID 1 in the VM (host's bash). Control dir /run/vigil-lab holds
# (from the host) env.sh, cwd, cmd.sh; this writes stdout, stderr and rc there, then resets
# the VM, which ends qemu (-no-reboot). 9p with cache=none writes through, so nothing is lost.
set -u
ctl=/run/vigil-lab
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# shellcheck source=/dev/null
. "$ctl/env.sh"
rc=125
if cd "$(<"$ctl/cwd")"; then
    # shellcheck source=/dev/null
    (. "$ctl/cmd.sh") </dev/null >"$ctl/stdout" 2>"$ctl/stderr"
    rc=$?
else
    echo "vigil-lab: cannot cd to $(<"$ctl/cwd") in the VM" >"$ctl/stderr"
fi
echo "$rc" >"$ctl/rc"
echo "VIGIL-LAB: done rc=$rc" >/dev/ttyS0
echo b >/proc/sysrq-trigger
sleep 10
