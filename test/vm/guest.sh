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

# Boot was quiet (loglevel=3); from here on warnings and their stack traces
# (soft lockups, RCU stalls, WARN_ON in BPF code...) show up inline in the output.
echo "${EBTOP_VM_LOGLEVEL:-5}" >/proc/sys/kernel/printk
unset EBTOP_VM_LOGLEVEL

read -r up _ </proc/uptime
read -r rel </proc/sys/kernel/osrelease
echo "[vm] $rel up after ${up}s"
echo "$up" >/vmio/boot_seconds

# The command sees a pipe on stdout/stderr (as under CI), not the console's tty;
# cat copies the pipe to the console.
exec 3> >(exec cat)
catpid=$!
/bin/bash /vmio/cmd </dev/null >&3 2>&3 &
wait $!
rc=$?
read -r end _ </proc/uptime
# The command is done: whatever it left running (daemons, stray children) would
# keep the pipe open, so everything but cat goes (kernel threads ignore this).
exec 3>&-
for p in /proc/[0-9]*; do
	p=${p#/proc/}
	[ "$p" = $$ ] || [ "$p" = "$catpid" ] || kill -KILL "$p" 2>/dev/null
done
wait "$catpid"
# stty applies settings with TCSADRAIN: returns once the UART has sent everything,
# so no output is lost to the power-off.
stty -onlcr 2>/dev/null
echo "$end" >/vmio/end_seconds
echo "$rc" >/vmio/rc
sync
