#!/bin/bash
# run.sh [--timeout S] [--install] -- CMD ARGS...
# Run one command inside a throw-away QEMU VM booting Debian's kernel (which has IPVS), with
# the host's / as the VM's root (read-only 9p + tmpfs overlay) and the current directory
# shared read-write. Exits with CMD's status; 124 on timeout, 125 when the lab fails, 2 on
# usage errors. See README.md in this directory.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PACKAGES=(qemu-system-x86 linux-image-amd64 busybox-static kmod ipvsadm)
SCHEDULERS=(rr wrr lc wlc lblc lblcr dh sh sed nq fo ovf mh twos)
TIMEOUT=${VIGIL_LAB_TIMEOUT:-600}
INSTALL=${VIGIL_LAB_INSTALL:-0}

usage() { sed -n '2,6s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2; exit 2; }
die() { echo "ipvs-vm: $*" >&2; exit 125; }

while (($#)); do
    case $1 in
    --timeout) [[ ${2:-} =~ ^[0-9]+$ ]] || usage; TIMEOUT=$2; shift 2 ;;
    --install) INSTALL=1; shift ;;
    --) shift; break ;;
    -h | --help) usage ;;
    *) usage ;;
    esac
done
(($#)) || usage

# --- prerequisites -------------------------------------------------------------------
find_kernel() { # newest /boot/vmlinuz-VER whose modules include ip_vs
    local k ver
    while read -r k; do
        ver=${k#/boot/vmlinuz-}
        if [[ -n $(find "/lib/modules/$ver" -name 'ip_vs.ko*' -print -quit 2>/dev/null) ]]; then
            KVER=$ver KERNEL=$k
            return 0
        fi
    done < <(find /boot -maxdepth 1 -name 'vmlinuz-*' 2>/dev/null | sort -rV)
    return 1
}
missing() {
    local m=()
    command -v qemu-system-x86_64 >/dev/null || m+=(qemu-system-x86)
    [[ -x /bin/busybox ]] || m+=(busybox-static)
    command -v modprobe >/dev/null || m+=(kmod)
    command -v ipvsadm >/dev/null || m+=(ipvsadm)
    find_kernel || m+=(linux-image-amd64)
    echo "${m[*]}"
}
MISSING=$(missing)
if [[ -n $MISSING && $INSTALL == 1 ]]; then
    echo "ipvs-vm: installing ${PACKAGES[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive INITRD=No
    apt_install() { apt-get install -y -q --no-install-recommends --no-upgrade "${PACKAGES[@]}"; }
    { apt_install || { apt-get update -q && apt_install; }; } >&2 || die "apt-get install failed"
    MISSING=$(missing)
fi
[[ -z $MISSING ]] || die "missing: $MISSING (run with --install, or: INITRD=No apt-get install ${PACKAGES[*]})"
find_kernel

# --- temp dir, cleanup ---------------------------------------------------------------
TMP=$(mktemp -d "${TMPDIR:-/tmp}/ipvs-vm.XXXXXX")
QPID=
# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() {
    if [[ -n $QPID ]]; then kill "$QPID" 2>/dev/null || true; wait "$QPID" 2>/dev/null || true; fi
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- initramfs: static busybox, modules (in dependency order), /init --------------------
IR=$TMP/initramfs
mkdir -p "$IR"/{bin,m,proc,sys,dev}
cp /bin/busybox "$IR/bin/busybox"
cp "$HERE/guest-init" "$IR/init"
declare -A SEEN=()
for mod in virtio_pci 9pnet_virtio 9p overlay ip_vs "${SCHEDULERS[@]/#/ip_vs_}"; do
    deps=$(modprobe -S "$KVER" --show-depends "$mod" 2>/dev/null) || {
        [[ $mod == ip_vs_* && $mod != ip_vs ]] && continue # scheduler not in this kernel
        die "module $mod not found for $KVER"
    }
    while read -r kind path _; do
        [[ $kind == insmod && -z ${SEEN[$path]:-} ]] || continue
        SEEN[$path]=1
        name=$(basename "$path")
        case $name in
        *.ko) cp "$path" "$IR/m/$name" ;;
        *.ko.xz) name=${name%.xz}; xz -dc "$path" >"$IR/m/$name" || die "xz $path" ;;
        *.ko.zst) name=${name%.zst}; zstd -qdc "$path" >"$IR/m/$name" || die "zstd $path" ;;
        *.ko.gz) name=${name%.gz}; gzip -dc "$path" >"$IR/m/$name" || die "gzip $path" ;;
        *) die "unknown module file $path" ;;
        esac
        echo "$name" >>"$IR/modules"
    done <<<"$deps"
done
(cd "$IR" && find . | /bin/busybox cpio -o -H newc >"$TMP/initramfs.cpio" 2>/dev/null) ||
    die "building the initramfs failed"

# --- control dir: cwd, environment, command, guest script ------------------------------
CTL=$TMP/ctl
mkdir "$CTL"
CWD=$(pwd -P)
printf '%s\n' "$CWD" >"$CTL/cwd"
cp "$HERE/guest.sh" "$CTL/guest.sh"
while read -r var; do
    case $var in
    PWD | OLDPWD | SHLVL | _ | TMPDIR | VIGIL_LAB_* | BASH* | SHELLOPTS | UID | EUID | PPID) ;;
    *) printf 'export %s=%q\n' "$var" "${!var}" ;;
    esac
done < <(compgen -e) >"$CTL/env.sh"
printf 'exec' >"$CTL/cmd.sh"
printf ' %q' "$@" >>"$CTL/cmd.sh"
echo >>"$CTL/cmd.sh"

# --- boot ------------------------------------------------------------------------------
q9p() { # tag path [extra fsdev options]
    printf -- '-fsdev\0local,id=%s,path=%s,security_model=none%s\0' "$1" "${2//,/,,}" "${3:-}"
    printf -- '-device\0virtio-9p-pci,fsdev=%s,mount_tag=%s\0' "$1" "$1"
}
QARGS=()
while IFS= read -r -d '' a; do QARGS+=("$a"); done < <(
    q9p vigilroot / ,readonly=on,multidevs=remap
    q9p vigilctl "$CTL"
    [[ $CWD == / ]] || q9p vigilcwd "$CWD"
)
START=$SECONDS
qemu-system-x86_64 -M pc -accel tcg,thread=multi -cpu max -smp 2 -m 1024 \
    -nodefaults -display none -no-reboot -nic none \
    -kernel "$KERNEL" -initrd "$TMP/initramfs.cpio" \
    -append "console=ttyS0 panic=-1 rdinit=/init quiet loglevel=3 mitigations=off cryptomgr.notests no_timer_check tsc=reliable" \
    -serial "file:$TMP/console.log" "${QARGS[@]}" </dev/null >"$TMP/qemu.log" 2>&1 &
QPID=$!

# Wait for qemu without forking: read -t on a private fifo that never gets data.
mkfifo "$TMP/tick"
exec {TICK}<>"$TMP/tick"
TIMED_OUT=0
while kill -0 "$QPID" 2>/dev/null; do
    if ((SECONDS - START >= TIMEOUT)); then TIMED_OUT=1; break; fi
    read -r -t 0.2 -u "$TICK" _ || true
done
if ((TIMED_OUT)); then
    kill "$QPID" 2>/dev/null || true
fi
wait "$QPID" 2>/dev/null || true
QPID=
exec {TICK}>&-

[[ -f $CTL/stdout ]] && cat "$CTL/stdout"
[[ -f $CTL/stderr ]] && cat "$CTL/stderr" >&2
if ((TIMED_OUT)); then
    echo "ipvs-vm: timed out after ${TIMEOUT}s; console tail:" >&2
    tail -n 20 "$TMP/console.log" >&2 2>/dev/null || true
    exit 124
fi
if [[ ! -s $CTL/rc ]]; then
    echo "ipvs-vm: the VM ended without an exit status; qemu log and console tail:" >&2
    cat "$TMP/qemu.log" >&2
    tail -n 30 "$TMP/console.log" >&2 2>/dev/null || true
    exit 125
fi
exit "$(<"$CTL/rc")"
