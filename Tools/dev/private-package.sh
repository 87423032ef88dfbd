#!/usr/bin/env bash
# Developer helper: a private package in /tmp that symlinks the shared sources and ONE test folder,
# so several people can build and test in parallel without the others' test files.
# Usage: Tools/dev/private-package.sh NAME TESTTARGET   → /tmp/NAME-pkg ; then: cd /tmp/NAME-pkg && swift test
set -euo pipefail
name=$1; test=$2; root=$(cd "$(dirname "$0")/../.." && pwd); dir=/tmp/$name-pkg
mkdir -p "$dir/Sources" "$dir/Tests" "$dir/Tools"
for d in CLMDB CSHA256 LMDB CredLedgerCrypto CredLedgerCore CredLedger CredLedgerAPI; do ln -sfn "$root/Sources/$d" "$dir/Sources/$d"; done
ln -sfn "$root/Projections" "$dir/Projections"
ln -sfn "$root/Tools/CredLedgerTools" "$dir/Tools/CredLedgerTools"; ln -sfn "$root/Tools/credledger" "$dir/Tools/credledger"
ln -sfn "$root/Tools/CredLedgerLab" "$dir/Tools/CredLedgerLab"; ln -sfn "$root/Tools/credledger-bench" "$dir/Tools/credledger-bench"
ln -sfn "$root/Tests/$test" "$dir/Tests/$test"; ln -sfn "$root/Tests/TestSupport" "$dir/Tests/TestSupport"
python3 - "$root/Package.swift" "$dir/Package.swift" "$test" <<'PY'
import re, sys
src, dst, keep = sys.argv[1:]
p = open(src).read()
lines = [l for l in p.splitlines() if '.testTarget(' not in l or f'"{keep}"' in l]
open(dst, 'w').write("\n".join(lines) + "\n")
PY
echo "$dir"
