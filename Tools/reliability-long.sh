#!/usr/bin/env bash
# The long reliability runs of issue 6 (the short versions are in `swift test`, Tests/ReliabilityTests):
#   - crash:  KILLS kill -9 points (default 500) on `credledger-bench stress record` children, each followed by a reopen and a
#             full check (every acknowledged use and command present, verify ok);
#   - tamper: TAMPER trials per kind (default 1000 × 7 kinds): byte flips through LMDB and in the raw file, key flips,
#             deletions, swaps, truncations — verify must name the first bad event every time;
#   - fuzz:   FUZZ inputs (default 1,000,000) over the event decoder, header parser, secret format, base64url/PKCE,
#             the CLI parser, the whole CLI and the export reader (Tools/verify_export.py).
# The figures are written between the long-run markers of docs/RELIABILITY.md and printed.
#
# Usage: bash Tools/reliability-long.sh            (≈ 10–20 min on the 2-core machine)
#        KILLS=50 TAMPER=50 FUZZ=100000 SEED=7 bash Tools/reliability-long.sh      (a quicker pass)
# Exit status: 0 when every run is clean, 1 when any run found a failure (the figures are written either way).
set -uo pipefail
cd "$(dirname "$0")/.."
bash Tools/setup.sh
KILLS=${KILLS:-500}
TAMPER=${TAMPER:-1000}
FUZZ=${FUZZ:-1000000}
SEED=${SEED:-$(date +%Y%m%d)}
CONFIG=${CONFIG:-release}
# The drivers are the lab executable credledger-bench; the tamper driver runs `verify` with the product credledger
# beside it, so both are built.
echo "building credledger and credledger-bench ($CONFIG)…" >&2
swift build -c "$CONFIG" --product credledger >&2 || exit 2
swift build -c "$CONFIG" --product credledger-bench >&2 || exit 2
BIN=".build/$CONFIG/credledger-bench"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/credledger-long.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

run() {  # name, then the stress arguments; JSON to $WORK/name.json, progress to the terminal
  local name=$1; shift
  echo "== $name: credledger-bench stress $*" >&2
  local started=$(date +%s)
  "$BIN" --json stress "$@" > "$WORK/$name.json"
  local status=$?
  echo "== $name: exit $status after $(( $(date +%s) - started )) s" >&2
  return 0
}

run crash crash --kills "$KILLS" --seed "$SEED" --work "$WORK/crash"
run tamper tamper --trials "$TAMPER" --seed "$SEED" --work "$WORK/tamper"
run fuzz fuzz --inputs "$FUZZ" --seed "$SEED" --work "$WORK/fuzz" --export-verifier Tools/verify_export.py

REPO=$(dirname "$(readlink -f "$0")")
REV=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git -C "$REPO" status --porcelain 2>/dev/null)" ]; then REV="$REV + uncommitted changes"; fi
python3 - "$WORK" "$SEED" "$CONFIG" "$REV" <<'PY'
import datetime, json, os, re, sys
work, seed, config, commit = sys.argv[1:]

def load(name):
    try:
        with open(os.path.join(work, name + ".json")) as f:
            text = f.read().strip().splitlines()
        return json.loads(text[-1]) if text else None
    except (OSError, ValueError):
        return None

crash, tamper, fuzz = load("crash"), load("tamper"), load("fuzz")
failed = False
lines = ["Last long run: %s, seed %s, %s build of %s, `bash Tools/reliability-long.sh`." % (
    datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), seed, config, commit), ""]
lines += ["| run | figure | result |", "|---|---|---|"]
if crash:
    ok = not crash["failures"]
    failed |= not ok
    lines.append("| crash (kill -9) | %d kill points (%d while acknowledging, %d before ready), %d ledgers | %d acknowledged uses and %d acknowledged commands all present; %d events verified; %d failures; %.0f s |" % (
        crash["kill_points"], crash["kills_while_recording"], crash["kills_before_ready"], crash["ledgers"],
        crash["acknowledged_uses"], crash["acknowledged_commands"], crash["events_verified"], len(crash["failures"]), crash["seconds"]))
else:
    failed = True
    lines.append("| crash (kill -9) | did not report | — |")
if tamper:
    failed |= bool(tamper["failures"])
    for kind in ["lmdb-value-flip", "raw-value-flip", "raw-key-flip", "delete-middle", "delete-tail", "swap", "truncate"]:
        if kind in tamper["trials"]:
            lines.append("| tamper: %s | %d trials on a %d-event ledger | %d detected and named |" % (
                kind, tamper["trials"][kind], tamper["events"], tamper["detected"].get(kind, 0)))
else:
    failed = True
    lines.append("| tamper | did not report | — |")
if fuzz:
    failed |= bool(fuzz["failures"])
    for target, count in sorted(fuzz["inputs"].items()):
        slowest = fuzz["slowest_seconds"].get(target, 0) * 1000
        lines.append("| fuzz: %s | %d inputs | %d accepted, slowest %.1f ms |" % (target, count, fuzz["accepted"].get(target, 0), slowest))
    lines.append("| fuzz: total | %d inputs | %d failures%s |" % (fuzz["total"], len(fuzz["failures"]),
                 "; " + ", ".join("%s %s" % kv for kv in sorted(fuzz.get("notes", {}).items())) if fuzz.get("notes") else ""))
else:
    failed = True
    lines.append("| fuzz | did not report | — |")
problems = (crash or {}).get("failures", [])[:5] + (tamper or {}).get("failures", [])[:10] + (fuzz or {}).get("failures", [])[:10]
if problems:
    lines += ["", "Failures of that run (first of each kind; see the report in docs/RELIABILITY.md \"Known gaps\"):", ""]
    seen = set()
    for p in problems:
        key = p.split(":")[0] + p.split(":")[1][:20] if ":" in p else p
        if key in seen:
            continue
        seen.add(key)
        lines.append("- `" + p.replace("`", "'").replace("\n", " ")[:300] + "`")
block = "\n".join(lines)
print(block)
path = "docs/RELIABILITY.md"
try:
    text = open(path).read()
    begin, end = "<!-- long-run:begin -->", "<!-- long-run:end -->"
    if begin in text and end in text:
        text = re.sub(re.escape(begin) + ".*?" + re.escape(end), begin + "\n" + block.replace("\\", "\\\\") + "\n" + end, text, flags=re.S)
        open(path, "w").write(text)
        print("\nfigures written to %s" % path, file=sys.stderr)
except OSError as e:
    print("cannot update %s: %s" % (path, e), file=sys.stderr)
sys.exit(1 if failed else 0)
PY
