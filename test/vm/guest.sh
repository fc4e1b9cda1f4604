#!/bin/bash
# guest.sh — PID 1 inside the VM once the initramfs has switched to the overlay
# root (the host's / read-only + tmpfs): mounts what a booted Debian system would
# have, runs the caller's command from /vmio/cmd with /vmio/env, streams its
# output to the serial console, writes its exit code to /vmio/rc and powers off.
# run.sh copies this file into the run's vmio share; it runs with the host's bash.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root
umask 022

# The serial console: LF only (no CR added), so captured logs look like the host's.
stty -onlcr 2>/dev/null

# reboot(2) via busybox (the host's busybox-static): unlike sysrq it powers off
# without printing to the console; sysrq is the fallback.
off() {
	sync
	echo 0 >/proc/sys/kernel/printk 2>/dev/null
	/bin/busybox poweroff -f 2>/dev/null
	echo o >/proc/sysrq-trigger
	sleep 10
}
fail() {
	echo "[vm] guest: $*"
	off
}

mnt() { # TYPE DIR [OPTIONS]
	mkdir -p "$2"
	mount -t "$1" ${3:+-o "$3"} "$1" "$2" || echo "[vm] guest: cannot mount $1 on $2"
}
mnt proc /proc
mnt sysfs /sys
mountpoint -q /dev || mnt devtmpfs /dev
mnt devpts /dev/pts gid=5,mode=620,ptmxmode=666
mnt tmpfs /dev/shm mode=1777,nosuid,nodev
mnt tmpfs /run mode=755,nosuid,nodev
mkdir -p /run/lock
mnt bpf /sys/fs/bpf mode=700
mnt cgroup2 /sys/fs/cgroup nsdelegate
mnt debugfs /sys/kernel/debug
mnt tracefs /sys/kernel/tracing
[ -e /dev/ptmx ] || ln -s pts/ptmx /dev/ptmx
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
[ -e /dev/stdin ] || ln -s /proc/self/fd/0 /dev/stdin
[ -e /dev/stdout ] || ln -s /proc/self/fd/1 /dev/stdout
[ -e /dev/stderr ] || ln -s /proc/self/fd/2 /dev/stderr

[ -f /vmio/env ] || fail "no /vmio/env"
. /vmio/env

# modprobe from the host's root must find this kernel's modules, not the host's.
rel=$(uname -r)
if [ -n "${EBTOP_VM_MODULES:-}" ] && [ -d "$EBTOP_VM_MODULES" ]; then
	mkdir -p "/lib/modules/$rel" && mount --bind "$EBTOP_VM_MODULES" "/lib/modules/$rel"
fi
unset EBTOP_VM_MODULES

ip link set lo up
hostname "${EBTOP_VM_HOSTNAME:-ebtop-vm}"
unset EBTOP_VM_HOSTNAME

# /var/tmp on a real block device (virtio-blk, ext4 made by run.sh): ebtop's disk
# tests need I/O that shows up in /sys/block/<dev>/stat.
for _ in $(seq 100); do [ -b /dev/vda ] && break; sleep 0.05; done
mount -t ext4 /dev/vda /var/tmp || fail "cannot mount /dev/vda on /var/tmp"
chmod 1777 /var/tmp

read -r up _ </proc/uptime
echo "[vm] $(uname -r) up after ${up}s"
echo "$up" >/vmio/boot_seconds

# The command sees a pipe on stdout/stderr (as under CI), not the console's tty.
/bin/bash /vmio/cmd </dev/null 2>&1 | cat
rc=${PIPESTATUS[0]}
read -r end _ </proc/uptime
echo "$end" >/vmio/end_seconds
echo "$rc" >/vmio/rc
# Let the UART drain before the power goes.
stty -onlcr 2>/dev/null
sleep 0.2
off
