#!/bin/bash
# test-kernels.sh — `make test-kernels`: boots each of Debian's kernels under
# qemu (run.sh) and runs, inside it, ebtop's `--caps` and the kernel tests that
# say the most about an older kernel: exact CPU and short-lived exits, the JSON
# contract, a refused program, one disk, two network and the wait tests,
# cgroup rows against cpu.stat, and the exporter scraped by Prometheus (a
# burner's rate, 300 short processes and 3,000 names against wait4(), fio's
# and iperf3's bytes). The
# same checkout and the same built object as on the host: what a user builds
# is what each kernel loads.
#
# Usage: test/vm/test-kernels.sh [--quick] [KERNEL...]   (default: 5.10 6.1 6.12)
# VM_OUT=FILE writes a JSON summary ({kernels:[{kernel,passed,failed,...}]}),
# which .ci/run adds to its closing line. Exits 1 when any kernel failed.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)

# Emulation (TCG) runs kernel code ~5-10x slower than the host: these are the
# tests that cover each subsystem once, not the whole suite (README "Kernels").
FILES=(test/kernel/cpu.test.ts test/kernel/json.test.ts test/kernel/refused.test.ts
	test/kernel/disk.test.ts test/kernel/net.test.ts test/kernel/wait.test.ts test/kernel/record.test.ts
	test/kernel/cgroups.test.ts test/kernel/serve.test.ts)
TESTS=(
	'on-CPU total of a CPU burner'
	'300 processes of 20 ms: ≥99% reported'
	'prints -n samples of the documented shape'
	'a sleeping process is off-CPU'
	'a program the kernel refuses'
	'a 60 ms process reading 8 MiB with O_DIRECT'
	'cold read after drop_caches'
	'iperf3 TCP over 127.0.0.1'
	'unix socketpairs'
	'wait reasons'
	'a thread that exits while blocked'
	'a replay of a recording gives every figure'
	"each cgroup's on-CPU time over the run equals its cpu.stat usage"
	"a burner's rate"
	"their group counter grows"
	"3,000 distinct names"
	"fio's written bytes and iperf3's TCP bytes in their groups' counters"
)
# --quick (CI): one test per subsystem, the ones that hold under emulation:
# the core exact (a burner, 300 short-lived processes), the JSON contract, a
# refused program, one disk (and the page cache's hit and miss: before 6.6
# read at sys_exit), one network and one wait test, the cgroup rows.
if [ "${1:-}" = --quick ]; then
	shift
	TESTS=(
		'on-CPU total of a CPU burner'
		'300 processes of 20 ms: ≥99% reported'
		'prints -n samples of the documented shape'
		'a program the kernel refuses'
		'a 60 ms process reading 8 MiB with O_DIRECT'
		'cold read after drop_caches'
		'iperf3 TCP over 127.0.0.1'
		'read on a pipe fed by another process'
		'a replay of a recording gives every figure'
		"each cgroup's on-CPU time over the run equals its cpu.stat usage"
	)
fi
pattern=$(printf '%s|' "${TESTS[@]}")
pattern=${pattern%|}
KERNELS=("$@")
[ ${#KERNELS[@]} -gt 0 ] || KERNELS=(5.10 6.1 6.12)

# What runs inside: the sources this kernel gave, then the tests; the counts
# come back on one marked line (the guest's files do not outlive it).
guest=$(cat <<EOF
echo "[vm] ebtop --caps on \$(uname -r):"
./bin/ebtop --caps
npx vitest run ${FILES[*]} -t '${pattern//\'/\'\\\'\'}' --reporter=default --reporter=json --outputFile=/tmp/vm-report.json
rc=\$?
node -e 'const r = require("/tmp/vm-report.json"); const failures = r.testResults.flatMap((f) => f.assertionResults.filter((a) => a.status === "failed").map((a) => a.title + ": " + String(a.failureMessages[0] ?? "").replace(/\\x1b\\[[0-9;]*m/g, "").split("\\n")[0].slice(0, 300))); console.log("[vm-result] " + JSON.stringify({ passed: r.numPassedTests, failed: r.numFailedTests, failures }))' || true
exit \$rc
EOF
)

results=()
status=0
for k in "${KERNELS[@]}"; do
	echo "=== kernel $k: booting (qemu, software emulation)"
	log=$(mktemp /tmp/ebtop-vm-log.XXXXXX)
	start=$SECONDS
	(cd "$ROOT" && "$HERE/run.sh" "$k" --timeout "${VM_TIMEOUT:-1500}" -- bash -c "$guest") 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	took=$((SECONDS - start))
	line=$(grep -a '^\[vm-result\] ' "$log" | tail -n 1 | sed 's/^\[vm-result\] //')
	[ -n "$line" ] || line='{"passed":0,"failed":1}' # it never got to report: count the kernel as one failure
	# the kernel must not warn about ebtop (WARN_ONCE taints it: e.g. run-time
	# allocated maps used by tracing programs before 6.1) nor lock up
	if grep -aqE '\] (WARNING:|BUG:|watchdog: )' "$log"; then
		echo "=== kernel $k: the kernel complained:"; grep -aE -A2 '\] (WARNING:|BUG:|watchdog: )' "$log" | head -20
		line=$(echo "$line" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const r=JSON.parse(s);r.failed++;console.log(JSON.stringify(r))})')
		rc=1
	fi
	# every source attached or fell back on each of these kernels (README "Kernels"): one missing fails it
	if grep -aqE '^[a-z]+\.[a-z]+ +missing ' "$log"; then
		echo "=== kernel $k: a source is missing:"; grep -aE '^[a-z]+\.[a-z]+ +missing ' "$log"
		line=$(echo "$line" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const r=JSON.parse(s);r.failed++;console.log(JSON.stringify(r))})')
		rc=1
	fi
	caps=$(awk '/^\[vm\] ebtop --caps on/{on=1; next} on && /^[a-z]+\.[a-z]+ +(attached|fallback|missing|off) /{print $2} on && !/^[a-z]+\.[a-z]+ / && !/^\[ *[0-9.]+\]/{on=0}' "$log" | sort | uniq -c | awk '{printf "%s%s %s", sep, $1, $2; sep=", "}')
	echo "=== kernel $k: exit $rc in ${took}s; sources: ${caps:-none listed}; tests: $line"
	results+=("{\"kernel\":\"$k\",\"rc\":$rc,\"seconds\":$took,\"sources\":\"$caps\",\"tests\":$line}")
	[ "$rc" = 0 ] || status=1
	rm -f "$log"
done

if [ -n "${VM_OUT:-}" ]; then
	(IFS=,; echo "{\"kernels\":[${results[*]}]}") >"$VM_OUT"
fi
exit $status
