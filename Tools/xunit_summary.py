"""Prints one "<label>: N passed, N failed, N skipped" line from an XCTest xUnit report (Tools/test.sh, test-release.sh)."""
import sys
import xml.etree.ElementTree as ET

report, label = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "Tests"
passed = failed = skipped = 0
for case in ET.parse(report).getroot().iter("testcase"):
    if case.find("failure") is not None or case.find("error") is not None:
        failed += 1
    elif case.find("skipped") is not None:
        skipped += 1
    else:
        passed += 1
print(f"{label}: {passed} passed, {failed} failed, {skipped} skipped")
