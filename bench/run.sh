#!/usr/bin/env bash
# Native instruction counts (callgrind Ir) of the order book's place, cancel and take.
#
#   bench/run.sh                 # build, measure, print the table, write bench/RESULTS.md
#   bench/run.sh --profile PHASE # per-phase hot spots: place | cancel | take1 | take5 | take10 | settle1 | settle10
#
# Environment: CARGO_TARGET_DIR (default /tmp/bench-target), BENCH_OPS (place/cancel
# operations, default 100), BENCH_SWEEPS (takes of each size, default 20), BENCH_OUT
# (callgrind files, default $CARGO_TARGET_DIR/bench-out), BENCH_TSV (also write the figures as
# tab-separated rows, for bench/compare.sh). See bench/README.md.
set -euo pipefail

cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/tmp/bench-target}"
# Line tables only, for callgrind_annotate's source view; code generation is unchanged.
export CARGO_PROFILE_RELEASE_DEBUG=line-tables-only
# The test validator logs every instruction at debug level; that is framework work, keep it quiet.
export RUST_LOG="${RUST_LOG:-error}"
OPS="${BENCH_OPS:-100}"
SWEEPS="${BENCH_SWEEPS:-20}"
OUT="${BENCH_OUT:-$CARGO_TARGET_DIR/bench-out}"
mkdir -p "$OUT"

command -v valgrind >/dev/null || { echo "valgrind is required (apt-get install valgrind)" >&2; exit 1; }

echo "building (release, target dir $CARGO_TARGET_DIR)..." >&2
cargo build --release --locked -p bench --bin book >&2
BIN="$CARGO_TARGET_DIR/release/book"

if [[ "${1:-}" == "--profile" ]]; then
    PHASE="${2:?usage: bench/run.sh --profile place|cancel|take1|take5|take10|settle1|settle10}"
    FILE="$OUT/callgrind.$PHASE.out"
    echo "profiling phase $PHASE under callgrind (about a minute)..." >&2
    # Program work only: collection turns on entering the orderbook entry wrapper, off in
    # the CPI stub, on again inside perpetual's entry, and off in the other syscall stubs
    # (each --toggle-collect flips collection on entry and back on exit).
    P="book::probe::$PHASE"
    valgrind --tool=callgrind --dump-instr=no \
        --toggle-collect="$P::orderbook" --toggle-collect="$P::orderbook_cpi" --toggle-collect="$P::perpetual" \
        --toggle-collect="$P::orderbook_syscall" --toggle-collect="$P::perpetual_syscall" \
        --callgrind-out-file="$FILE" \
        "$BIN" run --ops "$OPS" --sweeps "$SWEEPS" --summary "$OUT/summary.$PHASE.txt" \
        >"$OUT/stdout.$PHASE.log" 2>"$OUT/valgrind.$PHASE.log"
    "$BIN" profile --callgrind "$FILE" --summary "$OUT/summary.$PHASE.txt" --phase "$PHASE" --top "${BENCH_TOP:-60}"
    echo "(full profile: callgrind_annotate --inclusive=yes $FILE)" >&2
    exit 0
fi

echo "measuring under callgrind: $OPS place + $OPS cancel, $SWEEPS takes of 1, 5 and 10 fills (about a minute)..." >&2
valgrind --tool=callgrind --dump-instr=no --callgrind-out-file="$OUT/callgrind.out" \
    "$BIN" run --ops "$OPS" --sweeps "$SWEEPS" --summary "$OUT/summary.txt" \
    >"$OUT/stdout.log" 2>"$OUT/valgrind.log" || { tail -n 30 "$OUT/valgrind.log" >&2; exit 1; }

"$BIN" report --callgrind "$OUT/callgrind.out" --summary "$OUT/summary.txt" --results bench/RESULTS.md ${BENCH_TSV:+--tsv "$BENCH_TSV"}
