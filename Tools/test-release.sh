#!/usr/bin/env bash
# The whole test suite again in a release (-O) build with testability, in its own build directory (.build-release-tests).
# The shipped binaries (credledger, credledger-bench) are release builds; `Tools/test.sh` (CI) tests a debug build.
# Swift 6.3.1 -O once miscompiled a byte read that every debug test passed (docs/RELIABILITY.md §8): run this before
# recording benchmark figures and after changing byte-level code. About 6.5 min to build on 2 cores, 1.5 min to run.
set -uo pipefail
cd "$(dirname "$0")/.."
bash Tools/setup.sh || exit 1
bash Tools/test-deps.sh || exit 1
scratch=.build-release-tests
swift build -c release -Xswiftc -enable-testing --build-tests --scratch-path "$scratch" || exit 1
report="$scratch/xunit.xml"
rm -f "$report"
swift test -c release -Xswiftc -enable-testing --scratch-path "$scratch" --skip-build --parallel --num-workers 2 \
  --disable-swift-testing --xunit-output "$report"
status=$?
if [ -f "$report" ]; then
  python3 Tools/xunit_summary.py "$report" "Tests (release build)"
fi
exit $status
