#!/usr/bin/env bash
# Side by side: our order book against Manifest, our critbit against lib-sokoban, book
# space, and keeper scale; prints the tables and writes docs/benchmarks.md.
#
#   bench/compare.sh      # cold: ~15 min per Solana build (ours 3.x, Manifest's 1.18), then ~10 min
#
# Pieces (each also runs alone):
#   1. ours:     bench/run.sh (callgrind, both programs) and bench/run.sh --profile place|cancel|take10
#   2. Manifest: bench/manifest (its own workspace and Cargo.lock, Solana 1.18.26 from crates.io),
#                `manifest-bench run` under callgrind, `manifest-bench report`
#   3. critbit:  programs/critbit/benches/callgrind.sh (ours) and `sokoban-cycle` (lib-sokoban 0.3.3),
#                same workload, Ir per cycle = (Ir at K=1000 - Ir at K=0) / 1000
#   4. space:    `book space --tsv` (our struct sizes) and `manifest-bench space` (Manifest's constants)
#   5. keeper:   keeper/benches/scale.rs, release build (health scan, VaR, simulation TPS), and
#                keeper/benches/markets.rs (2,000 markets, 10,000 accounts: discovery, one crank loop)
#
# Environment: CARGO_TARGET_DIR for ours (default /tmp/bench-target), MANIFEST_TARGET_DIR
# (default /tmp/manifest-target), COMPARE_OUT (default /tmp/compare-out), BENCH_OPS (100),
# BENCH_SWEEPS (100), KEEPER_SCALE_ARGS ("100000 100 1000 60": accounts, markets, VaR
# markets, simulated minutes), KEEPER_MARKETS_ARGS ("2000 10000 2": markets, accounts, positions
# per account). See bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT="${COMPARE_OUT:-/tmp/compare-out}"
mkdir -p "$OUT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/tmp/bench-target}"
# As bench/run.sh builds (line tables for callgrind_annotate), so every step shares one build.
export CARGO_PROFILE_RELEASE_DEBUG=line-tables-only
MTARGET="${MANIFEST_TARGET_DIR:-/tmp/manifest-target}"
export BENCH_OPS="${BENCH_OPS:-100}" BENCH_SWEEPS="${BENCH_SWEEPS:-100}"
export RUST_LOG="${RUST_LOG:-error}"
command -v valgrind >/dev/null || { echo "valgrind is required (apt-get install valgrind)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "python3 is required" >&2; exit 1; }
step() { echo "== $*" >&2; }

# 1. Ours: the table, and the program-only hot spots of the missed operations.
step "ours: bench/run.sh"
BENCH_TSV="$OUT/ours.tsv" bench/run.sh > "$OUT/ours.md"
for phase in place cancel take10 settle10; do
    step "ours: bench/run.sh --profile $phase"
    BENCH_TOP=25 BENCH_OPS=50 BENCH_SWEEPS=20 bench/run.sh --profile "$phase" > "$OUT/profile.$phase.md"
done
"$CARGO_TARGET_DIR/release/book" space --tsv > "$OUT/space.tsv"

# 2. Manifest, natively in solana-program-test 1.18.26.
step "Manifest: build (its own workspace and lock)"
( cd bench/manifest && CARGO_TARGET_DIR="$MTARGET" CARGO_PROFILE_RELEASE_DEBUG=line-tables-only \
    cargo build --release --locked --bins >&2 )
MBIN="$MTARGET/release/manifest-bench"
step "Manifest: $BENCH_OPS place + $BENCH_OPS cancel, $BENCH_SWEEPS takes of 1, 5, 10 fills under callgrind"
valgrind --tool=callgrind --dump-instr=no --callgrind-out-file="$OUT/manifest.callgrind" \
    "$MBIN" run --ops "$BENCH_OPS" --sweeps "$BENCH_SWEEPS" --summary "$OUT/manifest.summary" \
    >"$OUT/manifest.stdout" 2>"$OUT/manifest.valgrind" || { tail -n 30 "$OUT/manifest.valgrind" >&2; exit 1; }
"$MBIN" report --callgrind "$OUT/manifest.callgrind" --summary "$OUT/manifest.summary" --tsv "$OUT/manifest.tsv" > "$OUT/manifest.md"
"$MBIN" space >> "$OUT/space.tsv"

# 3. Critbit cycle: ours (its own script) and lib-sokoban, same method.
step "critbit: programs/critbit/benches/callgrind.sh"
cargo bench --locked -p critbit --bench cycle --no-run >&2
programs/critbit/benches/callgrind.sh > "$OUT/critbit.ours.txt"
step "critbit: lib-sokoban 0.3.3"
K=1000
sir() { # pattern cycles
    valgrind --tool=callgrind --callgrind-out-file=/dev/null --toggle-collect="$1" \
        "$MTARGET/release/sokoban-cycle" "$2" 2>&1 | sed -n 's/.*Collected : //p'
}
{
    for f in sokoban btree; do
        hi=$(sir "*run_${f}_cycles*" "$K"); lo=$(sir "*run_${f}_cycles*" 0)
        printf '%s\t%d\t%d\t%d\n' "$f" "$hi" "$lo" $(((hi - lo) / K))
    done
    "$MTARGET/release/sokoban-cycle" 1
} > "$OUT/critbit.sokoban.tsv"

# 4. Keeper scale (release).
step "keeper scale: keeper/benches/scale.rs ${KEEPER_SCALE_ARGS:-100000 100 1000 60}"
# Release profile (not `cargo bench`'s), so it shares the build of step 1.
SCALE=$(cargo build --release --locked -p keeper --bench scale --message-format=json |
    sed -n 's/.*"executable":"\([^"]*scale-[^"]*\)".*/\1/p' | tail -n 1)
[ -x "$SCALE" ] || { echo "keeper scale binary not found" >&2; exit 1; }
# shellcheck disable=SC2086
# (the programs' own `msg!` lines go to stdout natively; keep only the result rows)
(cd keeper && "$SCALE" ${KEEPER_SCALE_ARGS:-100000 100 1000 60}) | grep -E '^(health_scan|var|simulation|simulation_tps)'$'\t' > "$OUT/keeper.tsv"

# 4b. Thousands of markets (release): discovery and one crank loop.
step "keeper markets: keeper/benches/markets.rs ${KEEPER_MARKETS_ARGS:-2000 10000 2}"
MARKETS=$(cargo build --release --locked -p keeper --bench markets --message-format=json |
    sed -n 's/.*"executable":"\([^"]*markets-[^"]*\)".*/\1/p' | tail -n 1)
[ -x "$MARKETS" ] || { echo "keeper markets binary not found" >&2; exit 1; }
# shellcheck disable=SC2086
(cd keeper && "$MARKETS" ${KEEPER_MARKETS_ARGS:-2000 10000 2}) |
    grep -E '^(markets_setup|discovery|loop_part|loop)'$'\t' > "$OUT/markets.tsv"

# 5. Tables and docs/benchmarks.md.
python3 bench/compare.py "$OUT" "$ROOT/docs/benchmarks.md"
