#!/bin/bash
# run.sh — runs one command inside one of Debian's own kernels under qemu (TCG),
# with the host's root as the guest's root (read-only 9p + tmpfs overlay, so the
# guest may write anywhere and the host is never changed) and an ext4 /var/tmp on
# a virtio block device; exits with the command's exit code.
#
# Usage: test/vm/run.sh KERNEL [options] -- CMD [ARG...]
#   KERNEL           5.10 | 6.1 | 6.12 (see kernels.sh --list)
#   --mem SIZE       guest memory (default 3G)
#   --smp N          guest CPUs (default 2)
#   --timeout SECS   kill the VM after SECS and exit 124 (default 1200)
#   --disk SIZE      size of the sparse ext4 image on /var/tmp (default 2G)
#   --env NAME=VAL   set a variable in the guest (repeatable)
# Environment: EBTOP_VM_CACHE (kernel cache dir, default /var/cache/ebtop-vm),
#   EBTOP_VM_QEMU_ARGS (extra qemu arguments, word-split), EBTOP_VM_APPEND (extra
#   kernel command line), EBTOP_VM_LOGLEVEL (console loglevel once booted,
#   default 5: kernel warnings and stack traces appear in the output).
# The command runs as root with cwd = the caller's cwd, HOME=/root, a standard
# PATH, and CI, TERM, LANG, LC_ALL and every EBTOP_* variable passed through.
# Its stdout+stderr stream to stdout (through the serial console). Exit codes:
# the command's; 124 on timeout; 125 when the guest died without one (panic...).
# A summary line ("[vm] ...: boot ..s, command ..s") goes to stderr.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${EBTOP_VM_CACHE:-/var/cache/ebtop-vm}

usage() {
	sed -n '2,/^set -e/{/^set -e/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" >&2
	exit 2
}

[ $# -ge 1 ] || usage
case $1 in -h | --help) usage ;; esac
KERNEL=$1
shift
MEM=3G SMP=2 TIMEOUT=1200 DISK=2G
EXTRA_ENV=()
while [ $# -gt 0 ]; do
	case $1 in
	--mem) MEM=$2; shift 2 ;;
	--smp) SMP=$2; shift 2 ;;
	--timeout) TIMEOUT=$2; shift 2 ;;
	--disk) DISK=$2; shift 2 ;;
	--env) EXTRA_ENV+=("$2"); shift 2 ;;
	--) shift; break ;;
	*) echo "run.sh: unknown option '$1'" >&2; usage ;;
	esac
done
[ $# -ge 1 ] || { echo "run.sh: no command given after --" >&2; usage; }
[ "$(id -u)" = 0 ] || { echo "run.sh: must run as root (reads the whole root fs, makes the initramfs)" >&2; exit 2; }

# Fetches/unpacks the kernel and builds its initramfs the first time only.
"$HERE/kernels.sh" "$KERNEL" >/dev/null
KDIR=$CACHE/$KERNEL
REL=$(cat "$KDIR/release")

TMP=$(mktemp -d /tmp/ebtop-vm.XXXXXX)
QEMU_PID=
cleanup() {
	[ -n "$QEMU_PID" ] && kill "$QEMU_PID" 2>/dev/null && wait "$QEMU_PID" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

VMIO=$TMP/vmio
mkdir -p "$VMIO"
cp "$HERE/guest.sh" "$VMIO/guest.sh"

# Environment for the guest, shell-quoted; sourced by guest.sh as PID 1.
{
	while IFS= read -r name; do
		printf 'export %s=%q\n' "$name" "${!name}"
	done < <(compgen -e | grep -E '^(CI|TERM|LANG|LC_ALL|EBTOP_[A-Za-z0-9_]*)$' | grep -v '^EBTOP_VM_')
	for kv in "${EXTRA_ENV[@]+"${EXTRA_ENV[@]}"}"; do
		printf 'export %s=%q\n' "${kv%%=*}" "${kv#*=}"
	done
	printf 'export EBTOP_VM_KERNEL=%q\n' "$KERNEL"
	printf 'export EBTOP_VM_LOGLEVEL=%q\n' "${EBTOP_VM_LOGLEVEL:-5}"
} >"$VMIO/env"
# EBTOP_VM_KERNEL stays set in the guest so tests can tell where they run.
# init bind-mounts this kernel's modules on /lib/modules/<release> for modprobe.
echo "$KDIR/lib/modules/$REL" >"$VMIO/modules"
printf 'cd %q || exit 126\nexec' "$PWD" >"$VMIO/cmd"
printf ' %q' "$@" >>"$VMIO/cmd"
echo >>"$VMIO/cmd"

# A fresh sparse ext4 image per run for /var/tmp.
truncate -s "$DISK" "$TMP/vartmp.img"
mkfs.ext4 -q -F -E lazy_itable_init=1,lazy_journal_init=1 "$TMP/vartmp.img"

# The ELF vmlinux boots through PVH, skipping the bzImage's slow decompression.
KIMAGE=$KDIR/vmlinux
[ -s "$KIMAGE" ] || KIMAGE=$KDIR/vmlinuz

# /dev/kvm cannot run a guest on the machines this runs on: plain TCG emulation,
# one host thread for all vCPUs by default: with thread=multi, 6.1 locked up
# (soft lockup in the int3 handler while a CPU patched a tracepoint under the
# other one: cross-modifying code that multi-threaded TCG does not serialise).
qemu=(qemu-system-x86_64 -nodefaults -no-user-config -no-reboot
	-machine q35 -accel tcg,thread="${EBTOP_VM_TCG_THREAD:-single}" -cpu max -smp "$SMP" -m "$MEM"
	-display none -monitor none -serial stdio
	-kernel "$KIMAGE" -initrd "$KDIR/initramfs.cpio"
	-append "console=ttyS0 quiet loglevel=3 panic=-1 rdinit=/init ${EBTOP_VM_APPEND:-}"
	-fsdev "local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap"
	-device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot
	-fsdev "local,id=vmio,path=$VMIO,security_model=none"
	-device virtio-9p-pci,fsdev=vmio,mount_tag=vmio
	-drive "file=$TMP/vartmp.img,format=raw,if=virtio,cache=unsafe"
	-device virtio-rng-pci)
# EBTOP_VM_QEMU_ARGS: extra qemu arguments (word-split), e.g. "-cpu Haswell".
# shellcheck disable=SC2206
qemu+=(${EBTOP_VM_QEMU_ARGS:-})

start=$(date +%s.%N)
# timeout: the VM may panic, hang or run away; the caller must not hang with it.
# stdin from /dev/null: the guest reads nothing, and a terminal is never left raw.
timeout -k 10 "$TIMEOUT" "${qemu[@]}" </dev/null &
QEMU_PID=$!
qrc=0
wait "$QEMU_PID" || qrc=$?
QEMU_PID=
total=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')

if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
	echo "[vm] $KERNEL ($REL): timeout after ${TIMEOUT}s" >&2
	exit 124
fi
if [ ! -s "$VMIO/rc" ]; then
	echo "[vm] $KERNEL ($REL): guest stopped without an exit code (qemu exit $qrc; kernel panic?)" >&2
	exit 125
fi
rc=$(cat "$VMIO/rc")
boot=$(cat "$VMIO/boot_seconds" 2>/dev/null || echo "?")
end=$(cat "$VMIO/end_seconds" 2>/dev/null || echo "?")
cmdtime=$(awk -v a="$boot" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
echo "[vm] $KERNEL ($REL): boot ${boot}s, command ${cmdtime}s, total ${total}s, exit $rc" >&2
exit "$rc"
