#!/usr/bin/env bash
# Instructions (callgrind Ir) per cycle of benches/cycle.rs for critbit and
# std BTreeMap: each measured function is run once with K=1000 cycles and
# once with K=0, and the difference is divided by 1000.
#
#   programs/critbit/benches/callgrind.sh            (from anywhere)
#
# CARGO_TARGET_DIR is honoured (default: the workspace's target/).
set -euo pipefail
cd "$(dirname "$0")/../../.."
K=1000
bin=$(cargo bench -p critbit --bench cycle --no-run --message-format=json 2>/dev/null |
    sed -n 's/.*"executable":"\([^"]*cycle-[^"]*\)".*/\1/p' | tail -n 1)
[ -x "$bin" ] || { echo "bench binary not found" >&2; exit 1; }
ir() { # function-pattern cycles
    valgrind --tool=callgrind --callgrind-out-file=/dev/null \
        --toggle-collect="$1" "$bin" "$2" 2>&1 | sed -n 's/.*Collected : //p'
}
printf '%-14s %10s %10s %10s\n' structure "Ir(K=$K)" "Ir(K=0)" "Ir/cycle"
for f in critbit btree; do
    hi=$(ir "*run_${f}_cycles*" "$K")
    lo=$(ir "*run_${f}_cycles*" 0)
    printf '%-14s %10d %10d %10d\n' "$f" "$hi" "$lo" $(((hi - lo) / K))
done
