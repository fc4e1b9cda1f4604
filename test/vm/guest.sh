#!/bin/bash
# guest.sh — PID 1 inside the VM once the initramfs (test/vm/init) has built the
# root: runs the caller's command from /vmio/cmd with /vmio/env, streams its
# output to the serial console, writes its exit code to /vmio/rc and powers off.
# run.sh copies this file into the run's vmio share; it runs under the host's bash.
# Few execs on purpose: each one loads binaries over 9p under emulation.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root
umask 022
cd /

# reboot(2) via the host's busybox-static: unlike sysrq it powers off without
# printing to the console; sysrq is the fallback.
off() {
	echo 0 >/proc/sys/kernel/printk
	/bin/busybox poweroff -f
	echo o >/proc/sysrq-trigger
	sleep 10
}
trap off EXIT

[ -f /vmio/env ] || { echo "[vm] guest: no /vmio/env"; exit; }
. /vmio/env

# The serial console: LF only (no CR added), so captured logs look like the host's.
stty -onlcr 2>/dev/null

read -r up _ </proc/uptime
read -r rel </proc/sys/kernel/osrelease
echo "[vm] $rel up after ${up}s"
echo "$up" >/vmio/boot_seconds

# The command sees a pipe on stdout/stderr (as under CI), not the console's tty.
/bin/bash /vmio/cmd </dev/null 2>&1 | cat
rc=${PIPESTATUS[0]}
# stty applies settings with TCSADRAIN: returns once the UART has sent everything,
# so no output is lost to the power-off below.
stty -onlcr 2>/dev/null
read -r end _ </proc/uptime
echo "$end" >/vmio/end_seconds
echo "$rc" >/vmio/rc
sync
