#!/usr/bin/env bash
# The test command: installs liblmdb-dev when missing, then runs the whole suite (short fault/fuzz versions included).
set -euo pipefail
cd "$(dirname "$0")/.."
bash Tools/setup.sh
swift build --build-tests
swift test --skip-build --parallel --num-workers 2 2>&1 | tee /tmp/credledger-test.log
