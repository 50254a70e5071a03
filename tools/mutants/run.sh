#!/usr/bin/env bash
# Mutation testing of the perpetual program's risk code, in tiers, then docs/mutants.md.
#
#   tools/mutants/run.sh            # the whole measurement, from scratch
#   tools/mutants/run.sh --again    # after adding tests: the tiers again, over the survivors
#   tools/mutants/run.sh --report   # only regenerate docs/mutants.md from the passes so far
#
# Tier 1 tries every mutant in scope against perpetual's own unit tests (seconds each). Each
# further tier (a line of tools/mutants/tiers.txt) tries only what the passes before it
# missed (cargo-mutants `--iterate`) against a set of integration tests. Every pass runs in
# one scratch copy of the checkout's tracked files, so the checkout itself is never mutated
# and the scratch build stays warm from pass to pass.
set -euo pipefail
cd "$(dirname "$0")/../.."
work="$(pwd)/target/mutants"
tree="$work/tree"
out="$work/out"
mode="${1:-}"

mapfile -t tiers < <(grep -v '^#' tools/mutants/tiers.txt | grep .)

# One pass: cargo-mutants over the scope, skipping what earlier passes caught, its results
# kept as $out/pass<N>.
pass() {
    local n
    n=$(find "$out" -maxdepth 1 -name 'pass*' | wc -l)
    # Exit status 2 means "some mutants were missed": expected, the report lists them.
    cargo mutants "${common[@]}" "$@" || [[ $? -eq 2 ]]
    cp -r "$out/mutants.out" "$out/pass$((n + 1))"
}

if [[ "$mode" != "--report" ]]; then
    for tool in cargo-mutants cargo-nextest; do
        command -v "$tool" >/dev/null || {
            echo "$tool is not installed: cargo install $tool --locked" >&2
            exit 2
        }
    done
    if [[ "$mode" != "--again" ]]; then
        rm -rf "$out"
        mkdir -p "$out"
    fi
    # The commit whose tracked files are measured (uncommitted edits are not copied).
    git rev-parse --short HEAD > "$out/commit"
    # A fresh copy each time, so tests added since the last pass are in it.
    rm -rf "$tree"
    mkdir -p "$tree"
    git ls-files -z | tar --null -T - -cf - | tar -xf - -C "$tree"
    export CARGO_TARGET_DIR="$work/target"

    common=(--dir "$tree" --in-place --output "$out" -p perpetual --no-shuffle
        --profile mutants --cargo-arg=--locked)
    while read -r glob; do
        [[ -z "$glob" || "$glob" == \#* ]] || common+=(--file "$glob")
    done < tools/mutants/scope.txt
    [[ "$mode" == "--again" ]] && common+=(--iterate)

    pass --cargo-arg=--lib
    common+=(--iterate)
    for tier in "${tiers[@]}"; do
        args=()
        for t in $tier; do args+=(--cargo-arg="--test=$t"); done
        # cargo-mutants' baseline would build the mutated package's tests rather than these,
        # so it is skipped and the timeouts are set here: a test pass takes under a minute.
        pass --test-package integration-tests --test-tool nextest --baseline skip \
            --timeout 120 --build-timeout 1800 "${args[@]}"
    done
fi

mapfile -t passes < <(find "$out" -maxdepth 1 -name 'pass*' | sort -V)
python3 tools/mutants/report.py tools/mutants/survivors.toml "${passes[@]}" > docs/mutants.md
echo "wrote docs/mutants.md"
