#!/usr/bin/env python3
"""Assembles the outputs of bench/compare.sh into side-by-side tables and docs/benchmarks.md.

usage: bench/compare.py OUT_DIR DOCS_FILE   (called by bench/compare.sh; reads only OUT_DIR)
"""
import datetime
import os
import re
import subprocess
import sys

out_dir, docs = sys.argv[1], sys.argv[2]
path = lambda name: os.path.join(out_dir, name)


def sh(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()
    except Exception:
        return "unknown"


def fmt(v):
    return f"{round(v):,}"


def rows(name):
    with open(path(name)) as f:
        return [l.rstrip("\n").split("\t") for l in f if l.strip()]


PHASES = [
    ("place", "place, post-only, not crossing"),
    ("cancel", "cancel (by order key / with the order's index)"),
    ("take1", "take (IOC), 1 fill"),
    ("take5", "take (IOC), 5 fills"),
    ("take10", "take (IOC), 10 fills"),
]
ours = {r[1]: r for r in rows("ours.tsv") if r[0] == "ours"}
mani = {r[1]: r for r in rows("manifest.tsv") if r[0] == "manifest"}
space = {}
for r in rows("space.tsv"):
    if r[0] == "manifest_space":
        space["manifest"] = [int(x) for x in r[1:]]
    elif len(r) == 2:
        space[r[0]] = int(r[1])
crit_ours = {}
with open(path("critbit.ours.txt")) as f:
    for line in f:
        p = line.split()
        if len(p) == 4 and p[0] in ("critbit", "btree"):
            crit_ours[p[0]] = int(p[3])
crit_sok = {}
sok_space = None
for r in rows("critbit.sokoban.tsv"):
    if r[0] == "sokoban_space":
        sok_space = int(r[1])
    elif len(r) == 4:
        crit_sok[r[0]] = int(r[3])
keeper = {r[0]: r for r in rows("keeper.tsv")}

out = []
w = out.append

# ---- operations -------------------------------------------------------------------------
w("## Order book: program work per operation (callgrind Ir, native x86)\n")
w(f"Same workload on both sides: 1,000 resting orders per side, 10 per tick over 100 ticks per side "
  f"(200 ticks), {ours['place'][2]} place / cancel and {ours['take1'][2]} takes of each size for ours, "
  f"{mani['place'][2]} / {mani['take1'][2]} for Manifest. Ours counts `orderbook` and `perpetual` "
  f"(the taker's settlement CPI included, and the rare allowance grant of a place; the framework's CPI stub excluded); "
  f"Manifest counts `manifest::process_instruction`. Method: bench/README.md.\n")
w("| operation | ours, events excluded | Manifest, events excluded | ours / Manifest | goal | ours with events | Manifest with its log events |")
w("| --- | --- | --- | --- | --- | --- | --- |")
GOALS = {"place": 2000, "cancel": 1700, "take10": 7924}
for key, label in PHASES:
    o, m = ours[key], mani[key]
    oe, me = float(o[3]), float(m[3])
    g = GOALS.get(key)
    gs = f"≤ {fmt(g)}: {'met' if oe <= g else 'missed'}" if g else "—"
    w(f"| {label} | **{fmt(oe)}** | {fmt(me)} | {oe / me:.2f}× | {gs} | {fmt(float(o[4]))} | {fmt(float(m[4]))} |")
per_fill_o = (float(ours["take10"][3]) - float(ours["take1"][3])) / 9
per_fill_m = (float(mani["take10"][3]) - float(mani["take1"][3])) / 9
w(f"\nPer extra fill ((10-fill − 1-fill) / 9): ours {fmt(per_fill_o)} Ir, Manifest {fmt(per_fill_m)} Ir ({per_fill_o / per_fill_m:.2f}×).")
w("\"With events\" is not like for like: ours natively builds and borsh-serializes each `emit!` into a heap buffer "
  "(the log call is a no-op), Manifest's includes the native `sol_log_data` stub (base64 + `println!`, several "
  "thousand Ir per event) that SBF replaces with one syscall. Compare events excluded.\n")
w("Split of our figure (events excluded) between the programs:\n")
w("| operation | orderbook | perpetual (CPI) |")
w("| --- | --- | --- |")
for key, label in PHASES:
    w(f"| {label} | {fmt(float(ours[key][5]))} | {fmt(float(ours[key][6]))} |")
w("\nSettling makers' seats (`settle_seats`, permissionless; no counterpart in Manifest, whose seats are the "
  "makers' balances): one call after an unmeasured take that left pending fills in N seats, "
  f"{ours['settle1'][2]} calls of each.\n")
w("| operation | ours, events excluded | orderbook | perpetual (CPI) | ours with events |")
w("| --- | --- | --- | --- | --- |")
for key, label in [("settle1", "settle_seats, 1 seat"), ("settle10", "settle_seats, 10 seats")]:
    o = ours[key]
    w(f"| {label} | **{fmt(float(o[3]))}** | {fmt(float(o[5]))} | {fmt(float(o[6]))} | {fmt(float(o[4]))} |")
per_seat = (float(ours["settle10"][3]) - float(ours["settle1"][3])) / 9
w(f"\n`settle_seats` per seat ((10 seats − 1 seat) / 9): **{fmt(per_seat)} Ir**; the fixed part of one call "
  f"(accounts, the CPI's instruction data, loading the market): {fmt(float(ours['settle1'][3]) - per_seat)} Ir. "
  "A maker's fills cost the taker's transaction nothing beyond the book's own record; this is what settling them "
  "later costs, once per seat however many fills it holds.\n")
w("\nManifest's breakdown:\n")
with open(path("manifest.md")) as f:
    w(f.read().strip() + "\n")

# ---- critbit ----------------------------------------------------------------------------
w("## Critbit: remove / insert / min cycle on a 1,000-key side (Ir per cycle)\n")
w("Keys `price << 64 | seq`, 10 per price over 100 prices, 1,000 cycles of remove a random key, insert "
  "one, read the min; `std::collections::BTreeMap` on the same workload in both binaries as a calibrator.\n")
w("| structure | Ir per cycle | vs lib-sokoban |")
w("| --- | --- | --- |")
cs = crit_sok["sokoban"]
w(f"| our critbit (`programs/critbit`) | **{fmt(crit_ours['critbit'])}** | {crit_ours['critbit'] / cs:.2f}× |")
w(f"| lib-sokoban 0.3.3 `Critbit<_, 2048, 1024>` | {fmt(cs)} | 1.00× |")
w(f"| BTreeMap (our binary / sokoban's binary) | {fmt(crit_ours['btree'])} / {fmt(crit_sok['btree'])} | |")
w("")

# ---- space ------------------------------------------------------------------------------
LAMPORTS = 1e9
orders = 2 * space["side_capacity"]
book, market, oracle = space["book_bytes"], space["market_bytes"], space["oracle_bytes"]
total = book + market
rent_total = space["book_rent"] + space["market_rent"]
m_block, m_fixed, m_bytes, m_rent, m_vaults = space["manifest"]
w("## Space (from the real struct sizes; rent at `Rent::default()`)\n")
w(f"| | bytes | bytes per resting order (capacity {space['side_capacity']:,} per side) | rent-exempt lamports | SOL |")
w("| --- | --- | --- | --- | --- |")
w(f"| our book, one side (`Book::side_space`) | {fmt(space['side_bytes'])} | {space['side_bytes'] / space['side_capacity']:.2f} | | |")
w(f"| our book (`Book::space({space['side_capacity']}, {space['seat_capacity']})`, header {space['book_header']} B, {space['seat_capacity']} seats of {space['seat_bytes']} B) | {fmt(book)} | **{book / orders:.2f}** | {fmt(space['book_rent'])} | {space['book_rent'] / LAMPORTS:.4f} |")
w(f"| our market account (`Market::SPACE`) | {fmt(market)} | | {fmt(space['market_rent'])} | {space['market_rent'] / LAMPORTS:.4f} |")
w(f"| **ours per market: book + market (what listing and `create_book` create)** | {fmt(total)} | {total / orders:.2f} | {fmt(rent_total)} | **{rent_total / LAMPORTS:.4f}** |")
w(f"| (plus `PriceOracle::SPACE` if the market uses the exchange's own set-price oracle) | {fmt(oracle)} | | {fmt(space['oracle_rent'])} | {space['oracle_rent'] / LAMPORTS:.4f} |")
w(f"| Manifest market at the same capacity (`MARKET_FIXED_SIZE` {m_fixed} + {m_block} B per order) | {fmt(m_bytes)} | {m_block} | {fmt(m_rent)} | {m_rent / LAMPORTS:.4f} |")
w(f"| Manifest's listing also creates two token vaults | | | {fmt(m_vaults)} | {m_vaults / LAMPORTS:.4f} |")
w("| OpenBook v2 (figure from the project's issue, not measured here) | | ~177 | | ~1.91 |")
if "manifest_market_bytes" in {r[0] for r in rows("manifest.tsv")}:
    mb = [r for r in rows("manifest.tsv") if r[0] == "manifest_market_bytes"][0]
    w(f"\nManifest's market account in the benchmark run (grown on demand): {fmt(int(mb[1]))} bytes for {int(mb[2]):,} resting orders "
      f"= {int(mb[1]) / int(mb[2]):.1f} B per order (seats and one free block included).")
if sok_space:
    w(f"lib-sokoban's `Critbit<Order, 2048, 1024>` with 32-byte payloads: {fmt(sok_space)} bytes = {sok_space / 1024:.1f} B per order.")
w("")

# ---- keeper -----------------------------------------------------------------------------
w("## Keeper scale (release build, wall clock, best of 3 where short)\n")
w("| task | seconds | lower bound (s) | ratio | what | lower bound is |")
w("| --- | --- | --- | --- | --- | --- |")
BOUNDS = {
    "health_scan": ("health scan from account bytes (`decode_margin` + `health_from_priced`)", "bytes scanned / memory bandwidth of a sum pass over the same buffer"),
    "var": ("VaR margins (`margins_from_history`)", "f64 returns + two `select_nth_unstable` per market"),
    "simulation": ("`keeper simulate` on the embedded chain", "the same number of plain SOL transfers on a fresh embedded chain"),
}
for k, (what, bound) in BOUNDS.items():
    r = keeper[k]
    w(f"| {what} | {float(r[1]):.3f} | {float(r[2]):.4f} | {float(r[3]):.1f}× | {r[4]} | {bound} |")
tps = keeper["simulation_tps"]
w(f"\nSimulation: {float(tps[1]):,.1f} transactions per second (the framework floor would allow {float(tps[2]):,.1f}).\n")

# ---- thousands of markets ---------------------------------------------------------------
mk = rows("markets.tsv")
setup = [r for r in mk if r[0] == "markets_setup"][0]
disc = [r for r in mk if r[0] == "discovery"][0]
lp = [r for r in mk if r[0] == "loop"][0]
parts = [r for r in mk if r[0] == "loop_part"]
n_markets, n_accounts, n_positions = int(setup[1]), int(setup[2]), int(setup[3])
w(f"## Thousands of markets (release build, embedded chain, wall clock)\n")
w(f"`keeper/benches/markets.rs`: {n_markets:,} markets listed permissionlessly (each with a Pyth-format feed and a book of "
  f"256 orders per side and 64 seats), {n_accounts:,} margin accounts with {n_positions} positions each spread over them "
  f"(every position opened through the book: a post-only order and an immediate-or-cancel taker, the makers' seats then settled), "
  f"all through the programs' own instructions: {float(setup[4]):.1f} s and {int(setup[5]):,} transactions to build. "
  f"The exchange account's size is the same before the first listing and after the last (the benchmark asserts it; "
  f"`tests/tests/listing.rs` tests that no global account grows with the number of markets).\n")
w("| step | seconds | lower bound (s) | ratio | what | lower bound is |")
w("| --- | --- | --- | --- | --- | --- |")
w(f"| discovery (`discovery::markets` + `discovery::margin_accounts`) | {float(disc[1]):.3f} | {float(disc[2]):.3f} | "
  f"{float(disc[1]) / float(disc[2]):.1f}× | {int(disc[3]):,} markets and {int(disc[4]):,} accounts found | "
  f"reading each of them once by key on the same chain (the embedded chain has no account index: its getProgramAccounts reads every account it knows) |")
floor = float(lp[6])
w(f"| one crank loop (funding, rates, marks, margins, risk scan, seats and pruning) | {float(lp[1]):.3f} | {float(lp[2]):.3f} | "
  f"{float(lp[1]) / float(lp[2]):.1f}× | {int(lp[5]):,} cranks in {int(lp[3]):,} transactions | "
  f"the fewest transactions the 1,232-byte and 64-account limits allow ({int(lp[4]):,}) at the chain's floor per transaction "
  f"({floor * 1e6:.0f} µs, a plain transfer on the same chain), plus reading every market and account once (the discovery bound) |")
w("")
w(f"Transactions per loop: {int(lp[3]):,} for {int(lp[5]):,} cranks (one crank per transaction would send {int(lp[5]):,}); "
  f"lower bound {int(lp[4]):,}, ratio {int(lp[3]) / max(int(lp[4]), 1):.2f}×. The keeper packs up to "
  f"`loops.cranks_per_transaction` (10 by default) cranks of a kind per transaction; the bound has no such cap.\n")
w("| step of the loop | seconds | cranks landed | skipped (found done) | transactions | fewest possible |")
w("| --- | --- | --- | --- | --- | --- |")
for r in parts:
    w(f"| {r[1]} | {float(r[2]):.3f} | {int(r[3]):,} | {int(r[4]):,} | {int(r[5]):,} | {int(r[6]):,} |")
w("")
w("Funding rates are skipped when the premium leaves the rate unchanged (every market here: no mark history yet). "
  "The risk scan finds every account healthy; its time is discovery and {:,} health checks. "
  "Seats and pruning read every book once (one getProgramAccounts) to find pending fills and stale orders, which is most of their time when there is "
  "nothing to do.\n".format(n_accounts))

# ---- goals ------------------------------------------------------------------------------
def top_lines(phase, n=8):
    try:
        with open(path(f"profile.{phase}.md")) as f:
            lines = [l for l in f if l.startswith("| ") and not l.startswith("| inclusive") and not l.startswith("| ---")]
    except FileNotFoundError:
        return []
    return lines[:n]


def hot(phase):
    ls = top_lines(phase, 14)
    if not ls:
        return ""
    return "\n\n  Hot spots (`bench/run.sh --profile " + phase + "`, per operation, program code only; these totals still " \
        "include the `msg!` instruction-name lines that the main table removes):\n\n" + \
        "  | inclusive Ir | self Ir | function |\n  | ---: | ---: | --- |\n" + "".join("  " + l for l in ls)


def prof(phase, name):
    """Inclusive Ir per operation of function `name` in the phase's program-only profile."""
    for l in top_lines(phase, 1000):
        cells = [c.strip() for c in l.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[2].strip("`") == name:
            return float(cells[0].replace(",", ""))
    return None


def quote(phase, parts):
    got = [(label, prof(phase, fn)) for label, fn in parts]
    got = [f"{label} {fmt(v)}" for label, v in got if v is not None]
    return (" Measured inside it: " + ", ".join(got) + " Ir per operation.") if got else ""


w("## Goals (bench/README.md)\n")
place, cancel, t10 = float(ours["place"][3]), float(ours["cancel"][3]), float(ours["take10"][3])
mp, mc, mt = float(mani["place"][3]), float(mani["cancel"][3]), float(mani["take10"][3])
goals = [
    ("place ≤ 2,000 Ir (0.8× Manifest's 2,544 in bench/README.md)", place, place <= 2000,
     f"{place / mp:.2f}× Manifest measured here ({fmt(mp)}). A place within the seat's allowance makes no CPI "
     "(perpetual's share, ~" + fmt(float(ours["place"][6])) + " Ir per place, is the rare allowance grant when a "
     "side's lots run out). What is left is the book's own work, and most of it is one rule Manifest does not "
     "have: every resting order must lie within the price band around the index, so each place reads the "
     "oracle account, re-checks its guard rails and the index jump, and converts the price to quote per lot "
     "(`OrderAccounts::venue`); the rest is the account checks, loading the book (`BookMut::parts`, "
     "`Critbit::load`), the seat lookup and the critbit insert. Reaching 2,000 needs the band reference cached "
     "in the book per slot (one oracle read per slot, not per order) or a band check by integer ticks, and a "
     "book load that skips re-validating the trees." + quote("place", [
         ("loading the venue with the band reference (`OrderAccounts::venue`)", "orderbook::order_accounts::OrderAccounts::venue"),
         ("`Market::band_reference`", "perpetual::state::market_prices::<impl perpetual::state::market::Market>::band_reference"),
         ("`BookMut::parts`", "orderbook::state::book::BookMut::parts"),
         ("`Critbit::load`", "critbit::tree::Critbit<V>::load"),
         ("the allowance grant, amortised (`controller::seat::grant`)", "orderbook::controller::seat::grant")]) + hot("place")),
    ("cancel ≤ 1,700 Ir", cancel, cancel <= 1700,
     f"{cancel / mc:.2f}× Manifest ({fmt(mc)}). A cancel makes no CPI: it loads and checks the accounts, loads "
     "the book, removes the order and returns its lots to the seat. What is left over the goal is the book "
     "load (`BookMut::parts` and `Critbit::load` validate the header and both trees' headers on every "
     "instruction) and the accounts a cancel still names for the rare grant path (oracle, approval, trader "
     "PDA), which Anchor deserializes." + quote("cancel", [
         ("`cancel_orders`", "orderbook::controller::cancel::cancel_orders"),
         ("`BookMut::parts`", "orderbook::state::book::BookMut::parts"),
         ("`Critbit::load`", "critbit::tree::Critbit<V>::load"),
         ("the instruction-name `println!`", "std::io::stdio::_print")]) + hot("cancel")),
    ("10-fill take ≤ 7,924 Ir (Manifest's count)", t10, t10 <= 7924,
     f"{t10 / mt:.2f}× Manifest ({fmt(mt)}); per extra fill {fmt(per_fill_o)} vs {fmt(per_fill_m)}. The makers "
     "cost nothing in perpetual any more (their fills stay in their seats), so the gap is now (1) the taker's "
     "settlement, one CPI of ~" + fmt(float(ours["take10"][6])) + " Ir whatever the number of fills: it "
     "re-prices the market from the oracle (`update_index`, `Market::prices`: index, mark and band), settles "
     "the taker's funding and checks its health across its markets (`account_health`) — work Manifest, a spot "
     "book with no margin, does not do; and (2) the book's matching (~" + fmt(float(ours["take10"][5])) + " Ir): "
     "per fill it checks the band, the maker's seat (growth gate, fee, funding weight for exact settlement) "
     "and removes the order from the critbit. Reaching the goal needs the taker's health checked with prices "
     "computed once per slot (cached in the market by the mark crank) and a lighter per-fill seat record." + quote("take10", [
         ("the taker's settlement CPI (`PerpAccounts::take`, perpetual included)", "orderbook::perp_cpi::PerpAccounts::take"),
         ("`book_take::handler`", "perpetual::instructions::book_take::handler"),
         ("`Market::prices`", "perpetual::state::market_prices::<impl perpetual::state::market::Market>::prices"),
         ("`account_health`", "perpetual::controller::health::account_health"),
         ("matching (`match_order`)", "orderbook::matching::match_order"),
         ("per-fill seat work (`take_from_order`)", "orderbook::matching::take_from_order"),
         ("`Critbit::remove`", "critbit::tree::Critbit<V>::remove")]) + hot("take10")),
    ("each extra fill ≤ 615 Ir (Manifest's)", per_fill_o, per_fill_o <= 615,
     f"Manifest measured here: {fmt(per_fill_m)}. Each fill updates the maker's seat (lots, quote, fee and the "
     "funding weight that makes its later settlement exact), checks the growth gate and the band, emits no CPI, "
     "and removes the order from the critbit." + hot("take10")[:0]),
    ("critbit ≤ 700 Ir per cycle (0.6× lib-sokoban's 1,185 in bench/README.md)", crit_ours["critbit"], crit_ours["critbit"] <= 700,
     f"{crit_ours['critbit'] / cs:.2f}× lib-sokoban measured here ({fmt(cs)})."),
    ("book ≤ 80 B per resting order, capacity ≥ 1,024 per side", book / orders, book / orders <= 80 and space["side_capacity"] >= 1024,
     f"{book / orders:.2f} B per order with the seat table ({space['book_bytes_no_seats'] / orders:.2f} without)."),
]
w("| goal | measured | status |")
w("| --- | --- | --- |")
for name, v, ok, _ in goals:
    w(f"| {name} | {fmt(v) if v > 100 else f'{v:.2f}'} | {'met' if ok else '**missed**'} |")
w("")
missed = [g for g in goals if not g[2]]
if missed:
    w("Missed goals, with the reason:\n")
    for name, v, _, why in missed:
        w(f"- **{name}**: measured {fmt(v) if v > 100 else f'{v:.2f}'}. {why}\n")
w("History: before the seat design (docs/seats.md) every place and cancel moved the maker's reservation "
  "in perpetual by CPI and every fill wrote the maker's margin account (place 12,172 Ir, cancel 4,708, 10-fill "
  "take 37,074 at commit 4704625). Since then place and cancel make no CPI, and a take makes one CPI for the "
  "taker alone; the makers' side is settled later by `settle_seats` (table above).\n")

body = "\n".join(out)
print(body)

cpu = "unknown"
try:
    with open("/proc/cpuinfo") as f:
        m = re.search(r"model name\s*:\s*(.*)", f.read())
        cpu = m.group(1).strip() if m else cpu
except OSError:
    pass
# bench/RESULTS.md is written by step 1 itself.
dirty = sh("git", "status", "--porcelain", "--", "programs", "bench", "keeper", "tests", ":!bench/RESULTS.md")
head = [
    "# Benchmarks: side by side\n",
    "Generated by `bench/compare.sh` (see `bench/README.md`); do not edit by hand.\n",
    f"- date: {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
    f"- machine: {cpu}, {os.cpu_count()} cores, {sh('uname', '-sm')}, {sh('valgrind', '--version')}",
    f"- compiler: `{sh('rustc', '--version')}`, release builds (`overflow-checks = true`, line tables only)",
    f"- commit: `{sh('git', 'rev-parse', '--short=12', 'HEAD')}`" + (" with uncommitted changes in the working tree" if dirty not in ("", "unknown") else ""),
    "- peers: `manifest-dex` 2.0.1 in `solana-program-test` 1.18.26 (bench/manifest, own lock), `lib-sokoban` 0.3.3\n",
]
os.makedirs(os.path.dirname(docs), exist_ok=True)
with open(docs, "w") as f:
    f.write("\n".join(head) + "\n" + body + "\n")
print(f"wrote {docs}", file=sys.stderr)
