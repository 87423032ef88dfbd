#!/usr/bin/env python3
"""Independent verifier of a credledger compliance export (docs/EXPORT.md). Python 3 standard library only.

usage: python3 Tools/verify_export.py EXPORT_DIR

Checks, streaming (constant memory):
  1. manifest.json: known format and version;
  2. every file the manifest lists: size and SHA-256 match;
  3. every event line: hash == SHA-256(prev_hash || 0x45 || seq as 8-byte big-endian || record);
     the record's header agrees with the line (format version, length, type, time);
     seqs strictly increase; where two lines have consecutive seqs, the second's prev_hash is the first's
     hash; a whole-log export ("contiguous") has no gaps and starts from the manifest's anchor;
  4. counts, first/last seq and head hash agree with the manifest.
Exit 0 when everything holds; 1 naming the first bad file/line; 2 when the directory cannot be read.
"""
import csv
import datetime
import hashlib
import json
import os
import sys

FORMAT_VERSION = 1
RECORD_FORMAT_VERSION = 1
HEADER_SIZE = 22
DOMAIN_BYTE = b"\x45"

# Event type codes (the record's byte 1) and their names in exports; both are stable forever.
EVENT_TYPES = {
    1: "company_registered", 2: "api_module_enabled", 3: "api_module_disabled", 4: "member_role_set",
    5: "project_created", 6: "project_archived", 7: "credential_created", 8: "secret_rotated",
    9: "credential_deleted", 10: "project_access_granted", 11: "project_access_changed",
    12: "project_access_revoked", 13: "user_project_role_set", 14: "consent_given", 15: "token_issued",
    16: "token_refreshed", 17: "token_revoked", 18: "credential_used", 19: "oauth_request_denied",
}
EVENT_FIELDS = ["seq", "time", "type", "company", "actor", "payload", "prev_hash", "hash", "record"]
EPOCH = datetime.datetime(1970, 1, 1)


class Failure(Exception):
    pass


def rfc3339(micros):
    """The export's time format: RFC 3339 UTC with exactly six fraction digits."""
    seconds, fraction = divmod(micros, 1_000_000)
    moment = EPOCH + datetime.timedelta(seconds=seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + ".%06dZ" % fraction


def unhex(text, what, length=None):
    if not isinstance(text, str) or len(text) % 2 or (length is not None and len(text) != 2 * length):
        raise Failure("%s is not %s hex" % (what, "%d-byte" % length if length else "even-length"))
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise Failure("%s is not hex" % what)


def file_digest(path):
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while True:
            chunk = f.read(1 << 20)
            if not chunk:
                break
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def text_lines(f):
    """Decodes a binary file line by line; invalid UTF-8 is a failure naming the line."""
    for number, raw in enumerate(f, 1):
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise Failure("line %d: not UTF-8 (%s)" % (number, e.reason))


def event_rows(path, fmt):
    """Yields (line number, dict of the nine event fields) from events.jsonl or events.csv."""
    with open(path, "rb") as f:
        if fmt == "jsonl":
            for number, line in enumerate(text_lines(f), 1):
                if not line.endswith("\n"):
                    raise Failure("line %d: not terminated by a newline" % number)
                try:
                    row = json.loads(line)
                except ValueError as e:
                    raise Failure("line %d: not JSON (%s)" % (number, e))
                if not isinstance(row, dict):
                    raise Failure("line %d: not a JSON object" % number)
                yield number, row
        else:
            reader = csv.reader(text_lines(f))
            try:
                header = next(reader, None)
                if header != EVENT_FIELDS:
                    raise Failure("line 1: the CSV header is not %s" % ",".join(EVENT_FIELDS))
                for row in reader:
                    number = reader.line_num
                    if len(row) != len(EVENT_FIELDS):
                        raise Failure("line %d: %d columns, expected %d" % (number, len(row), len(EVENT_FIELDS)))
                    values = dict(zip(EVENT_FIELDS, row))
                    try:
                        values["seq"] = int(values["seq"])
                        values["payload"] = json.loads(values["payload"])
                    except ValueError as e:
                        raise Failure("line %d: bad seq or payload (%s)" % (number, e))
                    yield number, values
            except csv.Error as e:
                raise Failure("line %d: not CSV (%s)" % (reader.line_num, e))


def section(manifest, name):
    """A manifest member that must be a JSON object."""
    value = manifest.get(name)
    if not isinstance(value, dict):
        raise Failure("manifest.json: %s is missing or not an object" % name)
    return value


def check_events(path, fmt, manifest):
    chain = section(manifest, "chain")
    counts = section(manifest, "counts")
    span = section(manifest, "range")
    contiguous = chain.get("contiguous") is True
    previous_seq = None
    previous_hash = None
    count = 0
    by_type = {}
    first_seq = None
    first_prev = None
    for number, row in event_rows(path, fmt):
        where = "line %d" % number
        for field in EVENT_FIELDS:
            if field not in row:
                raise Failure("%s: missing field %s" % (where, field))
        seq = row["seq"]
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1 or seq >= 1 << 64:
            raise Failure("%s: bad seq %r" % (where, seq))
        where = "line %d (seq %d)" % (number, seq)
        prev_hash = unhex(row["prev_hash"], "prev_hash", 32)
        stored_hash = unhex(row["hash"], "hash", 32)
        record = unhex(row["record"], "record")

        # The link: the exact bytes the ledger hashed.
        computed = hashlib.sha256(prev_hash + DOMAIN_BYTE + seq.to_bytes(8, "big") + record).digest()
        if computed != stored_hash:
            raise Failure("%s: hash does not match SHA-256(prev_hash || 0x45 || seq || record)" % where)

        # The record's header must say what the line says.
        if len(record) < HEADER_SIZE:
            raise Failure("%s: record shorter than its %d-byte header" % (where, HEADER_SIZE))
        if record[0] != RECORD_FORMAT_VERSION:
            raise Failure("%s: unknown record format version %d" % (where, record[0]))
        payload_length = int.from_bytes(record[20:22], "big")
        if len(record) != HEADER_SIZE + payload_length:
            raise Failure("%s: record length %d does not match its payload length %d" % (where, len(record), payload_length))
        type_name = EVENT_TYPES.get(record[1])
        if type_name is None or type_name != row["type"]:
            raise Failure("%s: type %r does not match the record's type code %d" % (where, row["type"], record[1]))
        micros = int.from_bytes(record[8:16], "big", signed=True)
        if rfc3339(micros) != row["time"]:
            raise Failure("%s: time %r does not match the record's %s" % (where, row["time"], rfc3339(micros)))

        # Order and chain links between lines.
        if previous_seq is not None:
            if seq <= previous_seq:
                raise Failure("%s: seq does not increase (previous line has %d)" % (where, previous_seq))
            if contiguous and seq != previous_seq + 1:
                raise Failure("%s: gap after seq %d in a contiguous export" % (where, previous_seq))
            if seq == previous_seq + 1 and prev_hash != previous_hash:
                raise Failure("%s: prev_hash is not the hash of the line before (seq %d)" % (where, previous_seq))
        else:
            first_seq = seq
            first_prev = prev_hash
            if seq == 1 and prev_hash != bytes(32):
                raise Failure("%s: event 1 must link to 32 zero bytes" % where)
        previous_seq = seq
        previous_hash = stored_hash
        count += 1
        by_type[type_name] = by_type.get(type_name, 0) + 1

    # The whole against the manifest.
    if counts.get("events") != count:
        raise Failure("%s: %d events, the manifest says %r" % (os.path.basename(path), count, counts.get("events")))
    if counts.get("events_by_type", {}) != by_type:
        raise Failure("%s: event counts by type differ from the manifest" % os.path.basename(path))
    if span.get("first_seq") != first_seq or span.get("last_seq") != previous_seq:
        raise Failure("%s: first/last seq %r/%r, the manifest says %r/%r" % (
            os.path.basename(path), first_seq, previous_seq, span.get("first_seq"), span.get("last_seq")))
    head_hash = previous_hash.hex() if previous_hash is not None else None
    if chain.get("head_seq") != previous_seq or chain.get("head_hash") != head_hash:
        raise Failure("%s: the last line (seq %r, hash %s) is not the manifest's head" % (os.path.basename(path), previous_seq, head_hash))
    anchor = first_prev.hex() if first_prev is not None else None
    if chain.get("anchor_prev_hash") != anchor:
        raise Failure("%s: the first line's prev_hash is not the manifest's anchor" % os.path.basename(path))
    if contiguous and count and span.get("from_seq") != first_seq:
        raise Failure("%s: a contiguous export must start at the range's first seq %r" % (os.path.basename(path), span.get("from_seq")))
    if contiguous and count and span.get("to_seq") != previous_seq:
        raise Failure("%s: a contiguous export must end at the range's last seq %r" % (os.path.basename(path), span.get("to_seq")))
    return count, first_seq, previous_seq, head_hash


def verify(directory):
    """Checks an export directory; returns (events, first seq, last seq, head hash) or raises Failure."""
    try:
        return verify_checked(directory)
    except (Failure, OSError):
        raise
    except (ValueError, TypeError, AttributeError, KeyError, IndexError, OverflowError, RecursionError) as e:
        # Malformed input the checks above did not anticipate is still a failure, never a traceback.
        raise Failure("malformed export (%s: %s)" % (type(e).__name__, e))


def verify_checked(directory):
    manifest_path = os.path.join(directory, "manifest.json")
    try:
        with open(manifest_path, "rb") as f:
            manifest = json.loads(f.read().decode("utf-8"))
    except (OSError, ValueError) as e:
        raise Failure("manifest.json: cannot read (%s)" % e)
    if not isinstance(manifest, dict):
        raise Failure("manifest.json: not a JSON object")
    if manifest.get("format") != "credledger-export" or manifest.get("format_version") != FORMAT_VERSION:
        raise Failure("manifest.json: not a credledger export of format version %d" % FORMAT_VERSION)
    fmt = manifest.get("event_format")
    if fmt not in ("jsonl", "csv"):
        raise Failure("manifest.json: unknown event_format %r" % (fmt,))

    files = manifest.get("files")
    if not isinstance(files, list) or not files:
        raise Failure("manifest.json: no files listed")
    events_file = None
    seen = set()
    for entry in files:
        if not isinstance(entry, dict):
            raise Failure("manifest.json: a files entry is not an object")
        name = entry.get("name")
        if not isinstance(name, str) or not name or os.path.basename(name) != name or name in ("manifest.json", ".", ".."):
            raise Failure("manifest.json: bad file name %r" % (name,))
        if name in seen:
            raise Failure("manifest.json: %s is listed twice" % name)
        seen.add(name)
        path = os.path.join(directory, name)
        if not os.path.isfile(path):
            raise Failure("%s: listed in the manifest but missing" % name)
        digest, size = file_digest(path)
        if size != entry.get("bytes"):
            raise Failure("%s: %d bytes, the manifest says %r" % (name, size, entry.get("bytes")))
        if digest != entry.get("sha256"):
            raise Failure("%s: SHA-256 %s does not match the manifest's %r" % (name, digest, entry.get("sha256")))
        with open(path, "rb") as f:
            lines = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
        if lines != entry.get("lines"):
            raise Failure("%s: %d lines, the manifest says %r" % (name, lines, entry.get("lines")))
        if entry.get("kind") == "events":
            events_file = name
    if events_file != "events." + fmt:
        raise Failure("manifest.json: the events file events.%s is not listed" % fmt)
    try:
        return check_events(os.path.join(directory, events_file), fmt, manifest)
    except Failure as e:
        message = str(e)
        raise Failure(message if message.startswith(events_file) or message.startswith("manifest.json") else "%s: %s" % (events_file, message))


def main(argv):
    if len(argv) != 2 or argv[1] in ("-h", "--help"):
        sys.stderr.write(__doc__)
        return 2
    directory = argv[1]
    if not os.path.isdir(directory):
        sys.stderr.write("error: %s is not a directory\n" % directory)
        return 2
    try:
        count, first, last, head = verify(directory)
    except Failure as e:
        print("FAIL: %s" % e)
        return 1
    except OSError as e:
        sys.stderr.write("error: %s\n" % e)
        return 2
    if count:
        print("OK: %d events (seq %d…%d), every hash and link checks out; head %s; all files match the manifest" % (count, first, last, head))
    else:
        print("OK: no events in the range; all files match the manifest")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
