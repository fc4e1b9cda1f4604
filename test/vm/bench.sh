#!/bin/bash
# bench.sh — measures the harness under emulation, per kernel: boot time (guest
# uptime when the command starts), then `node -e 1` and `npx vitest --version`
# run from the repo root, each repeated (the first run reads its files over 9p
# cold; later ones hit the guest's page cache). For judging timeouts and changes
# to run.sh/init; not part of any test run.
# Usage: test/vm/bench.sh [KERNEL...]   (default: all; run from anywhere, as root)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
ks=("$@")
[ ${#ks[@]} -gt 0 ] || mapfile -t ks < <("$HERE/kernels.sh" --list)
"$HERE/kernels.sh" "${ks[@]}" >/dev/null

# Inside the guest: bash's `time` with TIMEFORMAT prints one number per run.
probe='TIMEFORMAT=%R
t() { { time "$@" >/dev/null 2>&1; } 2>&1; }
echo "node -e 1: $(t node -e 1) $(t node -e 1) $(t node -e 1)"
echo "npx vitest --version: $(t npx vitest --version) $(t npx vitest --version)"'

for k in "${ks[@]}"; do
	start=$(date +%s.%N)
	out=$(cd "$REPO" && "$HERE/run.sh" "$k" --timeout 600 -- bash -c "$probe" 2>&1) || true
	total=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
	boot=$(sed -n 's/^\[vm\] .* up after \(.*\)s$/\1/p' <<<"$out")
	echo "$k: boot ${boot}s; $(grep '^node -e 1:' <<<"$out")s; $(grep '^npx vitest' <<<"$out")s; run.sh total ${total}s"
done
