#!/usr/bin/env python3
"""Independent verifier of a credledger compliance export (docs/EXPORT.md). Python 3 standard library only.

usage: python3 Tools/verify_export.py EXPORT_DIR [--vkey KEY]
       python3 Tools/verify_export.py checkpoint FILE --vkey KEY
       python3 Tools/verify_export.py proof FILE [--vkey KEY]      (credledger prove inclusion|consistency --json)
       python3 Tools/verify_export.py access FILE [--vkey KEY]     (credledger audit access --prove --json)

Checks, streaming (constant memory):
  1. manifest.json: known format and version;
  2. every file the manifest lists: size, line count and SHA-256 match;
  3. every event line: hash == SHA-256(prev_hash || 0x45 || seq as 8-byte big-endian || record);
     the line is in canonical form, and every field agrees with the hashed record: type, time, company,
     actor and each payload field are decoded from the record (names of companies, users, projects and
     credentials are proven by their creation events in the export, otherwise checked for consistency);
     seqs strictly increase; where two lines have consecutive seqs, the second's prev_hash is the first's
     hash; a whole-log export ("contiguous") has no gaps and starts from the manifest's anchor;
  4. counts, first/last seq and head hash agree with the manifest;
  5. when the range starts at the first event, each credential's `used` / `denied` in the credentials
     snapshot equals its allowed / denied `credential_used` events in the events file.
  6. transparency.json, when present: the checkpoint's Ed25519 signature (pinned with --vkey KEY, else the file's
     own key, with a warning), the inclusion of the range's last event in it, the consistency proof from the
     previous checkpoint, and, for a whole-log export from seq 1, the root recomputed from every event hash.
The transparency commands (docs/PROOFS.md) check a signed checkpoint note (Go sumdb/note rules, C2SP
tlog-checkpoint), RFC 9162 inclusion and consistency proofs, and proven access answers (every event's chain hash
recomputed from its record, then its inclusion in the checkpoint's tree). Ed25519 verification is written below in
pure Python (RFC 8032 §5.1.7, cofactorless, strict decoding, small-order keys refused).
Exit 0 when everything holds; 1 naming the first bad file/line; 2 when the directory cannot be read.
"""
import base64
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
    20: "code_revoked", 21: "log_accepted",
}
EVENT_FIELDS = ["seq", "time", "type", "company", "actor", "payload", "prev_hash", "hash", "record"]
CSV_HEADER = ",".join(EVENT_FIELDS) + "\n"

# Codes stored in records (docs/EXPORT.md) and their names in exports.
CREDENTIAL_TYPES = {1: "static", 2: "oauth", 3: "pkce", 4: "pkce-public"}
SCOPES = {1: "read", 2: "read-write", 3: "global"}
PROJECT_ROLES = {1: "viewer", 2: "editor", 3: "project-admin"}
COMPANY_ROLES = {0: "removed", 1: "member", 2: "admin"}
OPERATIONS = {1: "read", 2: "write"}
GRANTS = {0: "none", 1: "client_credentials", 2: "authorization_code", 3: "refresh_token", 4: "authorize",
          5: "introspection", 6: "revocation"}
REVOKE_REASONS = {1: "client_request", 2: "refresh_token_reused", 3: "code_reused", 4: "user_removed"}
DENIALS = {
    1: "malformed_header", 2: "unsupported_scheme", 3: "bad_checksum", 10: "unknown_credential", 11: "revoked",
    12: "expired", 13: "wrong_credential_type", 14: "secret_superseded", 20: "api_module_disabled", 21: "unknown_company",
    22: "unknown_project", 23: "project_archived", 24: "other_company", 25: "cross_company", 26: "foreign_credential",
    30: "project_access_missing",
    31: "read_only_scope", 32: "read_only_role", 33: "user_not_member", 34: "reserved_identity", 40: "token_expired", 41: "token_revoked",
    42: "invalid_client", 43: "invalid_grant", 44: "pkce_verifier_mismatch", 45: "redirect_uri_mismatch",
    46: "code_reused", 47: "code_expired", 48: "refresh_token_reused", 49: "unsupported_challenge_method",
    50: "unauthorized_client", 51: "invalid_request", 52: "access_denied", 53: "unsupported_token_type", 54: "invalid_target",
}
EPOCH = datetime.datetime(1970, 1, 1)


class Failure(Exception):
    pass


class Ref:
    """A name the line resolved from a number of the record (a company, user, project or credential)."""
    def __init__(self, kind, number):
        self.kind = kind
        self.number = number


class Record:
    """Reads a record's payload fields in order; running past the end or leaving bytes over is a failure."""
    def __init__(self, payload):
        self.b = payload
        self.i = 0

    def take(self, n):
        if self.i + n > len(self.b):
            raise Failure("the record's payload is truncated")
        v = self.b[self.i:self.i + n]
        self.i += n
        return v

    def u(self, n):
        return int.from_bytes(self.take(n), "big")

    def i64(self):
        return int.from_bytes(self.take(8), "big", signed=True)

    def str(self):
        try:
            return self.take(self.u(2)).decode("utf-8")
        except UnicodeDecodeError:
            raise Failure("a string of the record is not UTF-8")

    def digest(self):
        return self.take(32).hex()

    def optional_digest(self):
        flag = self.u(1)
        if flag not in (0, 1):
            raise Failure("bad optional-hash flag in the record")
        return self.digest() if flag else None

    def code(self, table):
        value = self.u(1)
        if value not in table:
            raise Failure("unknown code %d in the record" % value)
        return table[value]

    def end(self):
        if self.i != len(self.b):
            raise Failure("the record's payload has %d bytes left over" % (len(self.b) - self.i))


def name_ref(kind, number):
    """How a reference to a number appears in a line: "" for 0, else the resolved name."""
    return "" if number == 0 else Ref(kind, number)


def resource(r):
    """The RFC 8707 resource of a schema-2 `consent_given` / `token_issued`: present and never empty there."""
    value = r.str()
    if not value:
        raise Failure("an empty resource in a schema-2 record")
    return value


def expected_payload(type_name, r, schema=1):
    """The payload fields the exporter writes for a record: [(key, value or Ref)], and what the record proves
    (kind, number, name) for the name registry."""
    out, proves = [], []
    if type_name == "company_registered":
        slug, name, domain = r.str(), r.str(), r.str()
        out = [("slug", slug), ("name", name), ("mail_domain", domain)]
        proves.append(("company", None, slug))   # the number is the header's company
    elif type_name == "member_role_set":
        user, email, role = r.u(4), r.str(), r.code(COMPANY_ROLES)
        out = [("email", email), ("role", role)]
        proves.append(("user", user, email))
    elif type_name == "project_created":
        project, slug, name = r.u(4), r.str(), r.str()
        out = [("project", slug), ("name", name)]
        proves.append(("project", project, slug))
    elif type_name == "project_archived":
        out = [("project", name_ref("project", r.u(4)))]
    elif type_name == "credential_created":
        number, ctype, scope = r.u(4), r.code(CREDENTIAL_TYPES), r.code(SCOPES)
        public_id, name, service_user, prefix, client_id = r.str(), r.str(), r.str(), r.str(), r.str()
        secret, expires = r.optional_digest(), r.i64()
        uris = [r.str() for _ in range(r.u(1))]
        out = [("credential", public_id), ("name", name), ("type", ctype), ("scope", scope)]
        if service_user:
            out.append(("service_user", service_user))
        out.append(("key_prefix" if ctype == "static" else "client_id", prefix))
        if secret is not None:
            out.append(("secret_sha256", secret))
        if expires != 0:
            out.append(("expires_at", rfc3339(expires)))
        if uris:
            out.append(("redirect_uris", " ".join(uris)))
        proves.append(("credential", number, public_id))
    elif type_name == "secret_rotated":
        out = [("credential", name_ref("credential", r.u(4))), ("secret_sha256", r.digest()), ("key_prefix", r.str()),
               ("old_secret_valid_until", rfc3339(r.i64()))]
    elif type_name == "credential_deleted":
        out = [("credential", name_ref("credential", r.u(4)))]
    elif type_name in ("project_access_granted", "project_access_changed"):
        out = [("credential", name_ref("credential", r.u(4))), ("project", name_ref("project", r.u(4))),
               ("role", r.code(PROJECT_ROLES))]
    elif type_name == "project_access_revoked":
        out = [("credential", name_ref("credential", r.u(4))), ("project", name_ref("project", r.u(4)))]
    elif type_name == "user_project_role_set":
        user, project = r.u(4), r.u(4)
        out = [("user", name_ref("user", user)), ("project", name_ref("project", project)),
               ("role", r.code({**PROJECT_ROLES, 0: "none"}))]
    elif type_name == "consent_given":
        credential, user, code = r.u(4), r.u(4), r.digest()
        r.digest()   # the S256 challenge is not exported
        out = [("credential", name_ref("credential", credential)), ("user", name_ref("user", user)), ("code_sha256", code),
               ("redirect_uri", r.str()), ("expires_at", rfc3339(r.i64()))]
        if schema >= 2:
            out.append(("resource", resource(r)))
    elif type_name == "token_issued":
        credential, user, grant, access, access_expires = r.u(4), r.u(4), r.code(GRANTS), r.digest(), r.i64()
        refresh = r.optional_digest()
        r.i64()
        r.optional_digest()   # refresh expiry and the code hash are not exported
        out = [("credential", name_ref("credential", credential)), ("grant", grant), ("access_sha256", access),
               ("access_expires_at", rfc3339(access_expires))]
        if user != 0:
            out.append(("user", name_ref("user", user)))
        if refresh is not None:
            out.append(("refresh_sha256", refresh))
        if schema >= 2:
            out.append(("resource", resource(r)))
    elif type_name == "token_refreshed":
        credential, family, spent, access = r.u(4), r.u(8), r.digest(), r.digest()
        r.i64()
        refresh = r.digest()
        r.i64()
        out = [("credential", name_ref("credential", credential)), ("family", family), ("spent_refresh_sha256", spent),
               ("access_sha256", access), ("refresh_sha256", refresh)]
    elif type_name == "token_revoked":
        credential, family, token, whole = r.u(4), r.u(8), r.digest(), r.u(1)
        if whole not in (0, 1):
            raise Failure("bad whole-family flag in the record")
        out = [("credential", name_ref("credential", credential)), ("family", family), ("token_sha256", token),
               ("whole_family", whole == 1), ("reason", r.code(REVOKE_REASONS))]
    elif type_name == "credential_used":
        credential, project, operation, denial = r.u(4), r.u(4), r.code(OPERATIONS), r.u(1)
        if denial != 0 and denial not in DENIALS:
            raise Failure("unknown denial code %d in the record" % denial)
        out = [("credential", name_ref("credential", credential)), ("project", name_ref("project", project)),
               ("operation", operation), ("outcome", DENIALS[denial] if denial else "allowed")]
        # Schema 2: a use at another company carries the target company (never 0) after the 10 bytes.
        if schema >= 2 and r.i < len(r.b):
            target = r.u(4)
            if target == 0:
                raise Failure("a stored target company of 0 in the record")
            out.append(("target_company", name_ref("company", target)))
    elif type_name == "oauth_request_denied":
        credential, user, grant = r.u(4), r.u(4), r.code(GRANTS)
        reason = r.u(1)
        if reason not in DENIALS:
            raise Failure("unknown denial code %d in the record" % reason)
        out = [("credential", name_ref("credential", credential)), ("grant", grant), ("reason", DENIALS[reason])]
        if user != 0:
            out.append(("user", name_ref("user", user)))
    elif type_name == "code_revoked":
        credential, user, code = r.u(4), r.u(4), r.digest()
        out = [("credential", name_ref("credential", credential)), ("user", name_ref("user", user)), ("code_sha256", code),
               ("reason", r.code(REVOKE_REASONS))]
    elif type_name == "log_accepted":
        out = [("log_head", r.u(8)), ("checkpoints", r.u(8))]
    r.end()
    return out, proves


class Names:
    """Number → name of companies, users, projects and credentials: proven by the creation events in the
    export (company_registered, member_role_set, project_created, credential_created), otherwise fixed by
    their first use so that every line must agree."""
    def __init__(self):
        self.known = {}

    def prove(self, kind, number, name):
        seen = self.known.get((kind, number))
        if seen is not None and seen[0] != name:
            raise Failure("%s %d is named %r here but %r on line %d" % (kind, number, name, seen[0], seen[1]))
        self.known[(kind, number)] = (name, seen[1] if seen else 0)

    def check(self, ref, name, number_of_line):
        if not isinstance(name, str) or not name:
            raise Failure("%s %d: expected its name, found %r" % (ref.kind, ref.number, name))
        seen = self.known.get((ref.kind, ref.number))
        if seen is None:
            self.known[(ref.kind, ref.number)] = (name, number_of_line)
        elif seen[0] != name:
            where = "its creation event" if seen[1] == 0 else "line %d" % seen[1]
            raise Failure("%s %d is named %r, but %r by %s" % (ref.kind, ref.number, name, seen[0], where))

    def same(self, expected, actual, what, number_of_line):
        if isinstance(expected, Ref):
            try:
                self.check(expected, actual, number_of_line)
            except Failure as e:
                raise Failure("%s: %s" % (what, e))
        elif expected != actual or type(expected) is not type(actual):
            raise Failure("%s is %r but the record says %r" % (what, actual, expected))


def json_text(value):
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def canonical_jsonl(row):
    """The exact line the exporter writes for these values."""
    return '{"seq":%d,"time":%s,"type":%s,"company":%s,"actor":%s,"payload":%s,"prev_hash":%s,"hash":%s,"record":%s}\n' % (
        row["seq"], json_text(row["time"]), json_text(row["type"]), json_text(row["company"]), json_text(row["actor"]),
        json_text(row["payload"]), json_text(row["prev_hash"]), json_text(row["hash"]), json_text(row["record"]))


def csv_field(text):
    if any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def canonical_csv(row):
    return ",".join([str(row["seq"]), row["time"], row["type"], csv_field(row["company"]), csv_field(row["actor"]),
                     '"' + json_text(row["payload"]).replace('"', '""') + '"', row["prev_hash"], row["hash"], row["record"]]) + "\n"


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
    """Yields (line number, dict of the nine event fields, the line's text) from events.jsonl or events.csv."""
    with open(path, "rb") as f:
        lines = text_lines(f)
        if fmt == "csv":
            header = next(lines, None)
            if header != CSV_HEADER:
                raise Failure("line 1: the CSV header is not %s" % CSV_HEADER.strip())
        for number, line in enumerate(lines, 1 if fmt == "jsonl" else 2):
            if not line.endswith("\n"):
                raise Failure("line %d: not terminated by a newline" % number)
            if fmt == "jsonl":
                try:
                    row = json.loads(line)
                except ValueError as e:
                    raise Failure("line %d: not JSON (%s)" % (number, e))
                if not isinstance(row, dict):
                    raise Failure("line %d: not a JSON object" % number)
            else:
                try:
                    fields = list(csv.reader([line[:-1]], strict=True))
                except csv.Error as e:
                    raise Failure("line %d: not CSV (%s)" % (number, e))
                if len(fields) != 1 or len(fields[0]) != len(EVENT_FIELDS):
                    raise Failure("line %d: not one row of %d columns" % (number, len(EVENT_FIELDS)))
                row = dict(zip(EVENT_FIELDS, fields[0]))
                try:
                    row["seq"] = int(row["seq"])
                    row["payload"] = json.loads(row["payload"])
                except ValueError as e:
                    raise Failure("line %d: bad seq or payload (%s)" % (number, e))
            yield number, row, line


def section(manifest, name):
    """A manifest member that must be a JSON object."""
    value = manifest.get(name)
    if not isinstance(value, dict):
        raise Failure("manifest.json: %s is missing or not an object" % name)
    return value


def check_fields(row, record, type_name, names, number):
    """company, actor and payload of a line against its record."""
    actor_kind, actor_id = record[3], int.from_bytes(record[4:8], "big")
    company = int.from_bytes(record[16:20], "big")
    payload = row["payload"]
    if not isinstance(payload, dict):
        raise Failure("payload is not an object")
    expected, proves = expected_payload(type_name, Record(record[HEADER_SIZE:]), schema=record[2])
    for kind, n, name in proves:
        names.prove(kind, company if n is None else n, name)
    if actor_kind == 0 and actor_id == 0:
        actor = "system"
    elif actor_kind == 1 and actor_id != 0:
        actor = Ref("user", actor_id)
    elif actor_kind == 2 and actor_id != 0:
        actor = Ref("credential", actor_id)
    else:
        raise Failure("bad actor in the record")
    names.same(name_ref("company", company), row["company"], "company", number)
    names.same(actor, row["actor"], "actor", number)
    if list(payload) != [key for key, _ in expected]:
        raise Failure("payload fields %s, the record gives %s" % (list(payload), [key for key, _ in expected]))
    for key, value in expected:
        names.same(value, payload[key], "payload %s" % key, number)


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
    names = Names()
    uses = {}   # credential id -> [allowed, denied] among the credential_used lines
    for number, row, line in event_rows(path, fmt):
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

        # Every other field, decoded from the record; then the exact bytes of the line.
        try:
            check_fields(row, record, type_name, names, number)
        except Failure as e:
            raise Failure("%s: %s" % (where, e))
        if not isinstance(row["payload"], dict):
            raise Failure("%s: payload is not an object" % where)
        if (canonical_jsonl(row) if fmt == "jsonl" else canonical_csv(row)) != line:
            raise Failure("%s: not in the canonical form the exporter writes (extra bytes, spacing or escapes)" % where)

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
        if type_name == "credential_used" and row["payload"].get("credential"):
            tally = uses.setdefault(row["payload"]["credential"], [0, 0])
            tally[0 if row["payload"].get("outcome") == "allowed" else 1] += 1

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
    return count, first_seq, previous_seq, head_hash, uses


def snapshot_rows(path, fmt):
    """The rows of a snapshot file as dicts (JSONL objects, or CSV with its header row)."""
    with open(path, "r", encoding="utf-8", newline="") as f:
        if fmt == "csv":
            try:
                yield from csv.DictReader(f, strict=True)
            except csv.Error as e:
                raise Failure("%s: not CSV (%s)" % (os.path.basename(path), e))
        else:
            for line in f:
                yield json.loads(line)


def check_use_counts(path, fmt, uses):
    """Every credential's used / denied counts equal its use events in the export (a range from the first event)."""
    name = os.path.basename(path)
    for number, row in enumerate(snapshot_rows(path, fmt), start=1):
        if not isinstance(row, dict) or "id" not in row or "used" not in row or "denied" not in row:
            raise Failure("%s: line %d has no id / used / denied" % (name, number))
        used, denied = int(row["used"]), int(row["denied"])
        seen = uses.pop(row["id"], [0, 0])
        if [used, denied] != seen:
            raise Failure("%s: credential %s counts used=%d denied=%d, but the events file has %d allowed and %d denied uses of it" % (
                name, row["id"], used, denied, seen[0], seen[1]))
    if uses:
        credential = sorted(uses)[0]
        raise Failure("%s: the events file has uses of credential %s, which the snapshot does not list" % (name, credential))


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
    credentials_file = None
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
        if name == "credentials." + fmt:
            credentials_file = name
    if events_file != "events." + fmt:
        raise Failure("manifest.json: the events file events.%s is not listed" % fmt)
    try:
        count, first, last, head, uses = check_events(os.path.join(directory, events_file), fmt, manifest)
    except Failure as e:
        message = str(e)
        raise Failure(message if message.startswith(events_file) or message.startswith("manifest.json") else "%s: %s" % (events_file, message))
    # The snapshot counts every use up to its seq; the events file holds them all when the range starts at seq 1.
    if credentials_file is not None and section(manifest, "range").get("from_seq") == 1:
        check_use_counts(os.path.join(directory, credentials_file), fmt, uses)
    return count, first, last, head


# ---------------------------------------------------------------------------------------------------------------
# Transparency log (docs/PROOFS.md): Ed25519 verification, RFC 9162 proofs, signed notes and checkpoints.

ED_P = 2 ** 255 - 19
ED_L = 2 ** 252 + 27742317777372353535851937790883648493
ED_D = -121665 * pow(121666, ED_P - 2, ED_P) % ED_P
ED_SQRT_M1 = pow(2, (ED_P - 1) // 4, ED_P)


def ed_recover_x(y, sign):
    """x of the point with this y and sign bit, or None (RFC 8032 §5.1.3, strict: y < p, no x = 0 with sign 1)."""
    if y >= ED_P:
        return None
    x2 = (y * y - 1) * pow(ED_D * y * y + 1, ED_P - 2, ED_P) % ED_P
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (ED_P + 3) // 8, ED_P)
    if (x * x - x2) % ED_P != 0:
        x = x * ED_SQRT_M1 % ED_P
    if (x * x - x2) % ED_P != 0:
        return None
    if x & 1 != sign:
        x = ED_P - x
    return x


def ed_decode(b):
    y = int.from_bytes(b, "little")
    sign, y = y >> 255, y & ((1 << 255) - 1)
    x = ed_recover_x(y, sign)
    return None if x is None else (x, y, 1, x * y % ED_P)


def ed_add(p, q):
    """Extended coordinates, a = -1 (RFC 8032 §5.1.4)."""
    a = (p[1] - p[0]) * (q[1] - q[0]) % ED_P
    b = (p[1] + p[0]) * (q[1] + q[0]) % ED_P
    c = 2 * p[3] * q[3] * ED_D % ED_P
    d = 2 * p[2] * q[2] % ED_P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % ED_P, g * h % ED_P, f * g % ED_P, e * h % ED_P)


def ed_mul(s, p):
    q = (0, 1, 1, 0)
    while s > 0:
        if s & 1:
            q = ed_add(q, p)
        p = ed_add(p, p)
        s >>= 1
    return q


def ed_encode(p):
    zinv = pow(p[2], ED_P - 2, ED_P)
    x, y = p[0] * zinv % ED_P, p[1] * zinv % ED_P
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


def ed_is_identity(p):
    return p[0] % ED_P == 0 and (p[1] - p[2]) % ED_P == 0


ED_B = (ed_recover_x(4 * pow(5, ED_P - 2, ED_P) % ED_P, 0), 4 * pow(5, ED_P - 2, ED_P) % ED_P, 1, 0)
ED_B = (ED_B[0], ED_B[1], 1, ED_B[0] * ED_B[1] % ED_P)


def ed25519_verify(public, message, signature):
    """RFC 8032 §5.1.7 as docs/PROOFS.md §1 pins it: lengths, S < L, strict A and R, [8]A not the identity, and the
    bytes of [S]B - [k]A equal to R."""
    if len(public) != 32 or len(signature) != 64:
        return False
    a = ed_decode(public)
    if a is None or ed_is_identity(ed_mul(8, a)):
        return False
    r_bytes, s = signature[:32], int.from_bytes(signature[32:], "little")
    if s >= ED_L or ed_decode(r_bytes) is None:
        return False
    k = int.from_bytes(hashlib.sha512(r_bytes + public + message).digest(), "little") % ED_L
    minus_ka = ed_mul(k, a)
    minus_ka = ((-minus_ka[0]) % ED_P, minus_ka[1], minus_ka[2], (-minus_ka[3]) % ED_P)
    return ed_encode(ed_add(ed_mul(s, ED_B), minus_ka)) == r_bytes


def leaf_hash(leaf_input):
    return hashlib.sha256(b"\x00" + leaf_input).digest()


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def merkle_root(leaf_hashes):
    """MTH from leaf hashes, streaming right edge (one peak per set bit of the size)."""
    peaks = []  # (level, hash)
    for h in leaf_hashes:
        level = 0
        while peaks and peaks[-1][0] == level:
            h = node_hash(peaks.pop()[1], h)
            level += 1
        peaks.append((level, h))
    if not peaks:
        return hashlib.sha256(b"").digest()
    acc = peaks[-1][1]
    for _, h in reversed(peaks[:-1]):
        acc = node_hash(h, acc)
    return acc


def inclusion_length(index, size):
    inner = (index ^ (size - 1)).bit_length()
    return inner + bin(index >> inner).count("1")


def root_from_inclusion(leaf, index, size, proof):
    """RFC 9162 §2.1.3.2, with the exact proof length required."""
    if not 0 <= index < size:
        raise Failure("leaf index %d is not below tree size %d" % (index, size))
    if len(proof) != inclusion_length(index, size):
        raise Failure("inclusion proof of %d hashes; index %d in size %d needs %d" % (len(proof), index, size, inclusion_length(index, size)))
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise Failure("inclusion proof longer than the path")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise Failure("inclusion proof shorter than the path")
    return r


def verify_consistency(old, new, proof, old_root, new_root):
    """RFC 9162 §2.1.4.2: 0 < old <= new; old == new only with an empty proof and equal roots; exact length."""
    if not 0 < old <= new:
        raise Failure("consistency needs 0 < old <= new (old %d, new %d)" % (old, new))
    if old == new:
        if proof or old_root != new_root:
            raise Failure("equal sizes need an empty proof and equal roots")
        return
    shift = (old & -old).bit_length() - 1
    expected = inclusion_length(old - 1, new) - shift + (0 if old == 1 << shift else 1)
    if len(proof) != expected:
        raise Failure("consistency proof of %d hashes; %d -> %d needs %d" % (len(proof), old, new, expected))
    path = ([old_root] if old == 1 << shift else []) + list(proof)
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise Failure("consistency proof longer than the path")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0 or fr != old_root or sr != new_root:
        raise Failure("the consistency proof does not lead to both roots")


def b64(text, what, length=None):
    """Strict standard base64: only the canonical spelling of some bytes."""
    if not isinstance(text, str):
        raise Failure("%s is not a string" % what)
    try:
        raw = base64.b64decode(text, validate=True)
    except (ValueError, TypeError):
        raise Failure("%s is not base64" % what)
    if base64.b64encode(raw).decode() != text or (length is not None and len(raw) != length):
        raise Failure("%s is not the canonical base64 of %s bytes" % (what, length if length is not None else "some"))
    return raw


def valid_key_name(name):
    return bool(name) and "+" not in name and not any(c.isspace() for c in name)


def parse_vkey(vkey):
    """Go note.NewVerifier for Ed25519: name+<8 hex>+base64(0x01 || key), the key ID checked."""
    parts = vkey.split("+", 2)
    if len(parts) != 3 or not valid_key_name(parts[0]) or len(parts[1]) != 8 or any(c not in "0123456789abcdefABCDEF" for c in parts[1]):
        raise Failure("malformed verifier key")
    raw = b64(parts[2], "verifier key")
    if len(raw) != 33 or raw[0] != 1:
        raise Failure("verifier key: not an Ed25519 key")
    key_id = hashlib.sha256(parts[0].encode() + b"\n" + raw).digest()[:4]
    if key_id.hex() != parts[1].lower():
        raise Failure("verifier key: the key ID does not match")
    if ed_decode(raw[1:]) is None or ed_is_identity(ed_mul(8, ed_decode(raw[1:]))):
        raise Failure("verifier key: not a valid Ed25519 public key")
    return parts[0], key_id, raw[1:]


def open_note(note, vkey):
    """Go note.Open with one known key: returns the signed text. A signature by the key that fails, a malformed note,
    or no signature by the key is a failure; other signers are ignored."""
    name, key_id, public = parse_vkey(vkey)
    data = note.encode("utf-8") if isinstance(note, str) else note
    try:
        text_all = data.decode("utf-8")
    except UnicodeDecodeError:
        raise Failure("note: not UTF-8")
    if any(ord(c) < 0x20 and c != "\n" or c == "\x7f" for c in text_all):
        raise Failure("note: control character")
    split = data.rfind(b"\n\n")
    if split < 0:
        raise Failure("note: no blank line before the signatures")
    text, sigs = data[:split + 1], data[split + 2:]
    if not sigs.endswith(b"\n"):
        raise Failure("note: the signatures do not end in a newline")
    verified, count = False, 0
    for line in sigs[:-1].split(b"\n"):
        line = line.decode("utf-8")
        if not line.startswith("\u2014 "):
            raise Failure("note: a line after the blank line is not a signature")
        signer, _, encoded = line[2:].partition(" ")
        raw = b64(encoded, "signature of " + signer)
        if not valid_key_name(signer) or len(raw) < 5:
            raise Failure("note: bad signature line")
        count += 1
        if count > 100:
            raise Failure("note: more than 100 signatures")
        if signer == name and raw[:4] == key_id:
            if not ed25519_verify(public, text, raw[4:]):
                raise Failure("note: the signature of %s does not verify" % name)
            verified = True
    if not verified:
        raise Failure("note: not signed by the pinned key %s" % vkey)
    return text.decode("utf-8")


def open_checkpoint(note, vkey):
    """A C2SP checkpoint note signed by vkey, whose origin is the key's name: (origin, size, root)."""
    text = open_note(note, vkey)
    lines = text.split("\n")
    if len(lines) != 4 or lines[3] != "":
        raise Failure("checkpoint: not exactly three lines")
    origin, size_text, root_text = lines[0], lines[1], lines[2]
    if origin != parse_vkey(vkey)[0]:
        raise Failure("checkpoint: origin %r is not the key's name" % origin)
    if not size_text.isascii() or not size_text.isdigit() or (len(size_text) > 1 and size_text[0] == "0") or int(size_text) >= 1 << 64:
        raise Failure("checkpoint: bad size %r" % size_text)
    return origin, int(size_text), b64(root_text, "checkpoint root", 32)


def pinned(vkey, document_key, what):
    if vkey is not None:
        return vkey
    if not isinstance(document_key, str):
        raise Failure("%s: no verifier key given (--vkey) or included" % what)
    sys.stderr.write("warning: %s verified with the key it carries (%s), not a pinned one: pass --vkey\n" % (what, document_key))
    return document_key


def u64(value, what):
    if type(value) is not int or not 0 <= value < 1 << 64:
        raise Failure("%s is not a u64" % what)
    return value


def check_proof_file(path, vkey):
    """A `credledger prove inclusion|consistency --json` document."""
    with open(path, "rb") as f:
        doc = json.loads(f.read().decode("utf-8"))
    if not isinstance(doc, dict):
        raise Failure("not a JSON object")
    cp = doc.get("checkpoint")
    if not isinstance(cp, dict):
        raise Failure("the proof carries no checkpoint: it proves nothing without a signed root")
    _, size, root = open_checkpoint(cp.get("note"), pinned(vkey, cp.get("verifier_key"), "checkpoint"))
    hashes = [b64(h, "proof hash", 32) for h in doc.get("hashes", [])]
    if "seq" in doc:
        seq, tree_size = u64(doc.get("seq"), "seq"), u64(doc.get("tree_size"), "tree_size")
        if tree_size != size or doc.get("leaf_index") != seq - 1:
            raise Failure("tree size or leaf index disagree with the checkpoint")
        computed = root_from_inclusion(leaf_hash(b64(doc.get("leaf_input"), "leaf_input", 32)), seq - 1, size, hashes)
        if computed != root:
            raise Failure("the inclusion proof leads to another root than the checkpoint's")
        return "event %d is in the signed log of %d events" % (seq, size)
    old, new = u64(doc.get("old_size"), "old_size"), u64(doc.get("new_size"), "new_size")
    if new != size or b64(doc.get("new_root"), "new_root", 32) != root:
        raise Failure("new size or root disagree with the checkpoint")
    verify_consistency(old, new, hashes, b64(doc.get("old_root"), "old_root", 32), root)
    return "the log of %d events extends the log of %d events (old root %s)" % (new, old, doc.get("old_root"))


def check_access_file(path, vkey):
    """A `credledger audit access --prove --json` document: every event's chain hash recomputed from its record and
    predecessor, the record decoded, its inclusion in the checkpoint's tree checked."""
    with open(path, "rb") as f:
        doc = json.loads(f.read().decode("utf-8"))
    cp = doc.get("checkpoint") if isinstance(doc, dict) else None
    if not isinstance(cp, dict):
        raise Failure("no checkpoint")
    _, size, root = open_checkpoint(cp.get("note"), pinned(vkey, cp.get("verifier_key"), "checkpoint"))
    access = doc.get("access")
    if not isinstance(access, dict) or not isinstance(access.get("as_of"), dict):
        raise Failure("no access answer")
    as_of = u64(access["as_of"].get("seq"), "as_of.seq")
    if u64(doc.get("tree_size"), "tree_size") != size or as_of > size:
        raise Failure("the answer's seq or tree size disagree with the checkpoint")
    previous, company, slug_proven = 0, None, False
    for e in doc.get("events", []):
        seq = u64(e.get("seq"), "seq")
        if seq <= previous or seq > as_of:
            raise Failure("event %d: out of order or after the answer's seq" % seq)
        previous = seq
        record, prev = unhex(e.get("record"), "record"), unhex(e.get("prev_hash"), "prev_hash", 32)
        chain = hashlib.sha256(prev + DOMAIN_BYTE + seq.to_bytes(8, "big") + record).digest()
        if chain.hex() != e.get("hash"):
            raise Failure("event %d: hash is not SHA-256(prev_hash || 0x45 || seq || record)" % seq)
        if len(record) < HEADER_SIZE or record[0] != RECORD_FORMAT_VERSION or EVENT_TYPES.get(record[1]) != e.get("type"):
            raise Failure("event %d: the record is not a %s event" % (seq, e.get("type")))
        if HEADER_SIZE + int.from_bytes(record[20:22], "big") != len(record):
            raise Failure("event %d: payload length" % seq)
        r = Record(record[HEADER_SIZE:])
        expected, _ = expected_payload(e["type"], r, schema=record[2])
        r.end()
        number = int.from_bytes(record[16:20], "big")
        if company is None:
            company = number
        if number != company or e.get("company") != number:
            raise Failure("event %d: of another company" % seq)
        if e["type"] == "company_registered" and dict(expected).get("slug") == access.get("company"):
            slug_proven = True
        if root_from_inclusion(leaf_hash(chain), seq - 1, size, [b64(h, "proof hash", 32) for h in e.get("proof", [])]) != root:
            raise Failure("event %d: its inclusion proof leads to another root" % seq)
    if doc.get("events") and not slug_proven:
        raise Failure("the events do not include the registration of company %r" % access.get("company"))
    return "%d events of %s up to seq %d are in the signed log of %d events" % (len(doc.get("events", [])), access.get("company"), as_of, size)


def check_transparency(directory, manifest, vkey):
    """transparency.json of an export: the checkpoint of the range end, the range end's inclusion, the consistency from
    the previous checkpoint, and for a whole-log export from seq 1 the root recomputed from the events file."""
    path = os.path.join(directory, "transparency.json")
    if not os.path.isfile(path):
        return None
    with open(path, "rb") as f:
        doc = json.loads(f.read().decode("utf-8"))
    if not isinstance(doc, dict) or doc.get("format") != "credledger-transparency":
        raise Failure("transparency.json: not a credledger transparency document")
    key = pinned(vkey, doc.get("verifier_key"), "transparency.json")
    _, size, root = open_checkpoint(doc.get("checkpoint"), key)
    span, chain = section(manifest, "range"), section(manifest, "chain")
    if size != span.get("to_seq") or doc.get("tree_size") != size:
        raise Failure("transparency.json: the checkpoint covers %d events, the export's range ends at %r" % (size, span.get("to_seq")))
    end = doc.get("range_end")
    if not isinstance(end, dict) or end.get("seq") != size or end.get("hash") != chain.get("range_end_hash"):
        raise Failure("transparency.json: range_end disagrees with the manifest's range_end_hash")
    proof = [b64(h, "proof hash", 32) for h in end.get("proof", [])]
    if root_from_inclusion(leaf_hash(unhex(end.get("hash"), "range_end hash", 32)), size - 1, size, proof) != root:
        raise Failure("transparency.json: the range end is not in the signed tree")
    what = "checkpoint of %d events signed by %s" % (size, key.split("+")[0])
    if "previous_checkpoint" in doc:
        _, old, old_root = open_checkpoint(doc["previous_checkpoint"], key)
        if old > 0:
            c = doc.get("consistency")
            if not isinstance(c, dict) or c.get("old_size") != old or c.get("new_size") != size:
                raise Failure("transparency.json: no consistency proof from the previous checkpoint")
            verify_consistency(old, size, [b64(h, "consistency hash", 32) for h in c.get("hashes", [])], old_root, root)
        what += ", consistent with the previous checkpoint of %d events" % old
    if chain.get("contiguous") is True and span.get("from_seq") == 1:
        fmt = manifest.get("event_format")
        hashes = (leaf_hash(unhex(row["hash"], "hash", 32)) for _, row, _ in event_rows(os.path.join(directory, "events." + fmt), fmt))
        if merkle_root(hashes) != root:
            raise Failure("transparency.json: the events of the export do not hash to the signed root")
        what += ", whose root the events recompute"
    return what


def main(argv):
    args = argv[1:]
    vkey = None
    if "--vkey" in args:
        i = args.index("--vkey")
        if i + 1 >= len(args):
            sys.stderr.write(__doc__)
            return 2
        vkey = args[i + 1]
        del args[i:i + 2]
    if len(args) == 2 and args[0] in ("checkpoint", "proof", "access"):
        try:
            if args[0] == "checkpoint":
                if vkey is None:
                    sys.stderr.write("error: checkpoint needs --vkey KEY\n")
                    return 2
                with open(args[1], "rb") as f:
                    origin, size, root = open_checkpoint(f.read(), vkey)
                print("OK: checkpoint of %s: %d events, root %s, signed by the pinned key" % (origin, size, base64.b64encode(root).decode()))
            elif args[0] == "proof":
                print("OK: " + check_proof_file(args[1], vkey))
            else:
                print("OK: " + check_access_file(args[1], vkey))
        except Failure as e:
            print("FAIL: %s" % e)
            return 1
        except OSError as e:
            sys.stderr.write("error: %s\n" % e)
            return 2
        except (ValueError, TypeError, AttributeError, KeyError, IndexError, OverflowError) as e:
            print("FAIL: malformed input (%s: %s)" % (type(e).__name__, e))
            return 1
        return 0
    if len(args) != 1 or args[0] in ("-h", "--help"):
        sys.stderr.write(__doc__)
        return 2
    directory = args[0]
    if not os.path.isdir(directory):
        sys.stderr.write("error: %s is not a directory\n" % directory)
        return 2
    try:
        count, first, last, head = verify(directory)
        with open(os.path.join(directory, "manifest.json"), "rb") as f:
            transparency = check_transparency(directory, json.loads(f.read().decode("utf-8")), vkey)
    except Failure as e:
        print("FAIL: %s" % e)
        return 1
    except OSError as e:
        sys.stderr.write("error: %s\n" % e)
        return 2
    except (ValueError, TypeError, AttributeError, KeyError, IndexError, OverflowError) as e:
        print("FAIL: malformed transparency.json (%s: %s)" % (type(e).__name__, e))
        return 1
    if count:
        print("OK: %d events (seq %d…%d), every hash and link checks out; head %s; all files match the manifest" % (count, first, last, head))
    else:
        print("OK: no events in the range; all files match the manifest")
    if transparency:
        print("OK: transparency.json: " + transparency)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
