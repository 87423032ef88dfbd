#!/usr/bin/env bash
# The test command: installs liblmdb-dev and the HTTP tests' programs (curl, nginx, wrk, chromium, chromium-driver)
# when missing, builds, then runs every suite (short fault, crash and fuzz versions included) on both cores, and
# closes with one "N passed, N failed" line.
set -uo pipefail
cd "$(dirname "$0")/.."
bash Tools/setup.sh || exit 1
bash Tools/test-deps.sh || exit 1
swift build --build-tests || exit 1
report=.build/xunit.xml
rm -f "$report"
swift test --skip-build --parallel --num-workers 2 --disable-swift-testing --xunit-output "$report"
status=$?
if [ -f "$report" ]; then
  python3 Tools/xunit_summary.py "$report"
fi
exit $status
