import CredLedgerCore
import CredLedgerProjections
import Foundation
import LMDB

/// What to export (docs/EXPORT.md describes the files).
public struct ExportRequest: Sendable {
    public enum Format: String, Sendable, CaseIterable {
        case jsonl, csv
    }

    /// Company slug; nil exports every company (the whole log, a contiguous chain).
    public var company: String?
    public var format: Format
    /// Output directory: created if missing, must be empty.
    public var directory: String
    /// Inclusive time bounds of the events exported; the snapshot is taken at the end of the range.
    public var since: Timestamp?
    public var until: Timestamp?

    public init(company: String?, format: Format, directory: String, since: Timestamp? = nil, until: Timestamp? = nil) {
        self.company = company
        self.format = format
        self.directory = directory
        self.since = since
        self.until = until
    }
}

/// Where an export is, for progress reports.
public struct ExportProgress: Sendable {
    /// Events written so far.
    public var events: UInt64
    /// Fraction of the seq range done (0…1).
    public var fraction: Double
}

/// One file of an export, as listed in the manifest.
public struct ExportedFile: Sendable, Equatable {
    public var name: String
    public var kind: String
    public var sha256: SHA256Digest
    public var bytes: UInt64
    public var lines: UInt64
}

/// What an export wrote.
public struct ExportSummary: Sendable {
    public var directory: String
    public var events: UInt64
    public var fromSeq: UInt64
    public var toSeq: UInt64
    /// The last exported event (seq and hash), nil when the range held none.
    public var head: ChainHead?
    public var files: [ExportedFile]
    public var seconds: Double
    public var rate: Double { seconds > 0 ? Double(events) / seconds : 0 }
}

extension Ledger.Audit {
    /// The export format version written in every manifest.
    public static let exportFormatVersion = 1

    /// Writes a compliance export: the events of the range (with chain hashes and the exact hashed record
    /// bytes), a snapshot of the credential table and memberships at the end of the range, and `manifest.json`.
    /// Streams in constant memory; each event's link is checked while it is written (a broken chain stops
    /// the export with an integrity error naming the event).
    ///
    /// The range ends at most at the head when the export starts, and is read in short read transactions (`ReadBudget`),
    /// so the writer keeps working — map growth included — while a long export runs; `progress` is called between
    /// them, never inside one. The snapshot is the as-of state at the range's end (`state(asOf:)`, one transaction).
    public func export(_ request: ExportRequest, progress: ((ExportProgress) -> Void)? = nil) throws -> ExportSummary {
        try export(request, budget: .standard, progress: progress)
    }

    /// The same export with the events file's bytes formatted, hashed and counted but not written (no `write(2)`, no
    /// `fsync`; the snapshot files and the manifest are written): what the export's CPU side does alone. For the
    /// bench's same-run limit; the directory then holds no `events` file, so it is not an export.
    package func export(_ request: ExportRequest, discardingEvents: Bool) throws -> ExportSummary {
        try export(request, budget: .standard, discardingEvents: discardingEvents)
    }

    /// `export` with the read budget chosen (tests use a small one to cut the range into many transactions).
    func export(_ request: ExportRequest, budget: ReadBudget, discardingEvents: Bool = false,
                progress: ((ExportProgress) -> Void)? = nil) throws -> ExportSummary {
        let started = DispatchTime.now()
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        if fm.fileExists(atPath: request.directory, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw LedgerError.invalid("out", "\(request.directory) is a file, not a directory") }
            guard (try fm.contentsOfDirectory(atPath: request.directory)).isEmpty else {
                throw LedgerError.invalid("out", "\(request.directory) is not empty: export into a new directory")
            }
        } else {
            do {
                try fm.createDirectory(atPath: request.directory, withIntermediateDirectories: true)
            } catch {
                throw LedgerError("export_failed", "cannot create \(request.directory): \(error.localizedDescription)", kind: .badInput)
            }
        }

        // Range and names (before any long read: a thread holds one transaction at a time).
        let ledgerHead = self.head
        var low: UInt64 = 1, high = ledgerHead.seq
        if let since = request.since { low = max(low, try firstSeq(after: since - 1)) }
        if let until = request.until { high = min(high, try firstSeq(after: until) - 1) }
        let companyNumber: UInt32? = try request.company.map { slug in
            try withState { state in try state.requireCompany(slug).number }
        }
        let fields = try EventFields(audit: self)
        let ext = request.format.rawValue
        var files: [ExportedFile] = []

        // Snapshot of the projections at the end of the range.
        let snapshotSeq = low <= high ? high : (low > 1 ? low - 1 : 0)
        let snapshot = try state(asOf: .seq(min(snapshotSeq, ledgerHead.seq)), company: request.company)
        let snapshotCounts = try writeSnapshot(snapshot, company: request.company, format: request.format, directory: request.directory,
                                               files: &files)

        // Events.
        let eventsName = "events.\(ext)"
        let eventsSink = discardingEvents ? ExportSink(discarding: eventsName) : try ExportSink(directory: request.directory, name: eventsName)
        var writer = EventRowWriter(sink: eventsSink, fields: fields, format: request.format)
        if request.format == .csv {
            writer.sink.ascii("seq,time,type,company,actor,payload,prev_hash,hash,record")
            try writer.sink.endLine()
        }
        var first: UInt64?
        var last: ChainHead?
        var anchor: SHA256Digest?
        var byType = [UInt64](repeating: 0, count: 256)
        var rangeEndHash: SHA256Digest?
        let schema = self.schema
        if low <= high {
            // Bounded read transactions over the pinned range low…high (high ≤ the head read above): those events never
            // change, so the lines are exactly those of one snapshot, and the writer can grow the map meanwhile.
            let environment = self.environment
            let span = Double(high - low + 1)
            var count: UInt64 = 0
            var done = low   // the next seq to look at
            let report: () -> Void = { progress?(ExportProgress(events: count, fraction: Double(done - low) / span)) }
            // The reader (this thread) copies records out of short transactions into chunks; two workers decode,
            // re-check the links and format them; the lines are written strictly in seq order (`EventChunkPipeline`).
            let pipeline = EventChunkPipeline(fields: fields, format: request.format)
            var chunk = RawEventChunk()
            var writeFailed = false   // a chunk failed (or its write did): nothing after it may be written
            func consume(_ formatted: FormattedEventChunk) throws {
                writeFailed = true
                try writer.sink.submitLines(formatted.bytes, count: formatted.lines)
                if first == nil, let f = formatted.first {
                    first = f.seq
                    anchor = f.previous
                }
                if let l = formatted.last { last = l }
                for i in 0..<256 { byType[i] += formatted.byType[i] }
                count += formatted.lines
                if let failure = formatted.failure { throw failure }
                writeFailed = false
            }
            func add(_ seq: UInt64, _ record: UnsafeRawBufferPointer, previous: SHA256Digest) throws {
                chunk.append(seq: seq, record: record, previous: previous)
                if chunk.isFull {
                    try pipeline.submit(chunk, consume: consume)
                    chunk = RawEventChunk()
                }
            }
            /// The stored hash at the end of a record (what the next event links to; checked by the worker).
            func storedHash(_ seq: UInt64, _ record: UnsafeRawBufferPointer) throws -> SHA256Digest {
                guard record.count > EventCodec.hashSize,
                      let hash = SHA256Digest(bytes: UnsafeRawBufferPointer(rebasing: record[(record.count - EventCodec.hashSize)...]))
                else { throw LedgerError("corrupt_log", "event \(seq) is too short to hold its hash", kind: .integrity) }
                return hash
            }
            do {
                if let companyNumber {
                    // The company's posting list gives its events; each line's prev_hash is the stored hash of seq − 1.
                    let list = PostingIndex.ListKey(.company, companyNumber)
                    var lastRead: (seq: UInt64, hash: SHA256Digest)?
                    try BoundedReads.run(environment, budget: budget, between: report) { txn, allowance in
                        var more = false
                        try PostingReader(schema: schema).visit(list, range: done...high, descending: false, txn: txn) { seq, _ in
                            var key = seq.bigEndian
                            try withUnsafeBytes(of: &key) { k in
                                guard let record = try txn.get(schema.events, k) else {
                                    throw LedgerError("corrupt_index", "the company index points at event \(seq), which does not exist", kind: .integrity)
                                }
                                // Consecutive company events link to the record before; otherwise read the stored hash.
                                let previous: SHA256Digest
                                if let lastRead, lastRead.seq == seq - 1 {
                                    previous = lastRead.hash
                                } else {
                                    previous = try Ledger.Audit.storedHash(seq - 1, schema: schema, txn: txn)
                                }
                                try add(seq, record, previous: previous)
                                lastRead = (seq, try storedHash(seq, record))
                            }
                            done = seq + 1
                            guard seq < high, allowance.spend() else {
                                more = seq < high
                                return false
                            }
                            return true
                        }
                        if !more { done = high + 1 }
                        return more
                    }
                } else {
                    var previous = try environment.read { txn in try Ledger.Audit.storedHash(low - 1, schema: schema, txn: txn) }
                    try EventLog.scanRaw(from: low, through: high, schema: schema, environment: environment, budget: budget,
                                         between: report) { seq, record in
                        guard seq == done else {
                            throw LedgerError("chain_broken", "event \(done) is missing (next stored is \(seq))", kind: .integrity)
                        }
                        try add(seq, record, previous: previous)
                        previous = try storedHash(seq, record)
                        done += 1
                        return true
                    }
                    guard done == high + 1 else {
                        throw LedgerError("chain_broken", "event \(done) is missing (the log ends before \(high))", kind: .integrity)
                    }
                }
                if !chunk.isEmpty { try pipeline.submit(chunk, consume: consume) }
                try pipeline.drain(consume: consume)
            } catch {
                guard !writeFailed else {
                    pipeline.cancel()
                    throw error
                }
                // The reader stopped, but an event before that one may have failed too: the earliest error wins, as it
                // would reading in one pass, and the lines before it are written.
                do {
                    if !chunk.isEmpty {
                        let rest = chunk
                        chunk = RawEventChunk()
                        try pipeline.submit(rest, consume: consume)
                    }
                    try pipeline.drain(consume: consume)
                } catch let earlier {
                    pipeline.cancel()
                    throw earlier
                }
                throw error
            }
            rangeEndHash = try environment.read { txn in try Ledger.Audit.storedHash(high, schema: schema, txn: txn) }
            progress?(ExportProgress(events: count, fraction: 1))
        }
        let eventsDigest = try writer.sink.finish()
        let eventCount = byType.reduce(0, +)
        files.insert(ExportedFile(name: writer.sink.name, kind: "events", sha256: eventsDigest, bytes: writer.sink.bytes,
                                  lines: writer.sink.lines), at: 0)

        // Manifest.
        func time(_ t: Timestamp?) -> Any { t.map(TimeFormat.rfc3339) ?? NSNull() }
        var typeCounts: [String: UInt64] = [:]
        for type in EventType.allCases where byType[Int(type.rawValue)] > 0 { typeCounts[type.name] = byType[Int(type.rawValue)] }
        let manifest: [String: Any] = [
            "format": "credledger-export",
            "format_version": Ledger.Audit.exportFormatVersion,
            "created_at": TimeFormat.rfc3339(clock.now()),
            "scope": request.company == nil ? "all" : "company",
            "company": request.company ?? NSNull(),
            "event_format": ext,
            "hash_rule": "hash = SHA-256(prev_hash || 0x45 || seq as 8-byte big-endian || record); record = the stored event bytes before its hash (docs/EXPORT.md)",
            "range": [
                "since": time(request.since), "until": time(request.until),
                "from_seq": low, "to_seq": high,
                "first_seq": first.map { $0 as Any } ?? NSNull(), "last_seq": last.map { $0.seq as Any } ?? NSNull(),
            ] as [String: Any],
            "chain": [
                "contiguous": request.company == nil,
                "anchor_prev_hash": anchor?.hex ?? NSNull(),
                "head_seq": last.map { $0.seq as Any } ?? NSNull(),
                "head_hash": last?.hash.hex ?? NSNull(),
                "range_end_hash": rangeEndHash?.hex ?? NSNull(),
            ] as [String: Any],
            "ledger_head": ["seq": ledgerHead.seq, "hash": ledgerHead.hash.hex, "time": time(ledgerHead.seq == 0 ? nil : ledgerHead.timestamp)] as [String: Any],
            "snapshot": ["seq": snapshot.seq, "time": time(snapshot.seq == 0 ? nil : snapshot.time)] as [String: Any],
            "counts": ["events": eventCount, "events_by_type": typeCounts, "credentials": snapshotCounts.credentials,
                       "memberships": snapshotCounts.memberships] as [String: Any],
            "files": files.map { ["name": $0.name, "kind": $0.kind, "sha256": $0.sha256.hex, "bytes": $0.bytes, "lines": $0.lines] },
        ]
        let data = try JSONSerialization.data(withJSONObject: manifest, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])
        let manifestPath = (request.directory as NSString).appendingPathComponent("manifest.json")
        do {
            try (data + Data("\n".utf8)).write(to: URL(fileURLWithPath: manifestPath), options: .atomic)
        } catch {
            throw LedgerError("export_failed", "cannot write \(manifestPath): \(error.localizedDescription)", kind: .badInput)
        }
        return ExportSummary(directory: request.directory, events: eventCount, fromSeq: low, toSeq: high, head: last, files: files,
                             seconds: Ledger.Audit.seconds(since: started))
    }

    /// The stored hash of event `seq` (genesis for 0).
    static func storedHash(_ seq: UInt64, schema: Schema, txn: borrowing Transaction) throws -> SHA256Digest {
        guard seq > 0 else { return HashChain.genesis }
        var key = seq.bigEndian
        return try withUnsafeBytes(of: &key) { k in
            guard let record = try txn.get(schema.events, k), record.count > EventCodec.hashSize,
                  let hash = SHA256Digest(bytes: UnsafeRawBufferPointer(rebasing: record[(record.count - EventCodec.hashSize)...]))
            else {
                throw LedgerError("chain_broken", "event \(seq) is missing or unreadable", kind: .integrity)
            }
            return hash
        }
    }

    /// Writes `credentials.*` and `memberships.*` from the snapshot.
    private func writeSnapshot(_ snapshot: AsOfState, company: String?, format: ExportRequest.Format, directory: String,
                               files: inout [ExportedFile]) throws -> (credentials: Int, memberships: Int) {
        let state = snapshot.reader
        var companies: [CompanyRecord] = []
        if let company {
            if let c = try state.company(slug: company) { companies = [c] }
        } else {
            try snapshot.store.scan(.companies, from: []) { _, value in
                companies.append(try CompanyRecord.decode(value))
                return true
            }
        }
        let credentialColumns = ["company", "id", "name", "type", "scope", "scope_label", "key_prefix_or_client_id", "service_user",
                                 "created_at", "created_by", "deleted", "deleted_at", "expires_at", "last_used", "used", "denied", "projects"]
        let credentials = try SnapshotTable(directory: directory, name: "credentials.\(format.rawValue)", columns: credentialColumns, format: format)
        let membershipColumns = ["company", "kind", "principal", "credential", "project", "role", "since"]
        let memberships = try SnapshotTable(directory: directory, name: "memberships.\(format.rawValue)", columns: membershipColumns, format: format)
        // Every company's credentials from one scan of the table (a scan per company was most of an export's snapshot).
        let byCompany = company == nil ? try state.credentialsByCompany() : nil
        for company in companies {
            for record in try byCompany.map({ $0[company.number] ?? [] }) ?? state.credentials(company: company.number) {
                let r = try state.row(for: record, at: snapshot.time)
                try credentials.row([
                    .string(company.slug), .string(r.id), .string(r.name), .string(r.type.name), .string(r.scope.name),
                    .string(r.scope.tableLabel), .string(r.displayPrefix), r.serviceUser.map(SnapshotValue.string) ?? .null,
                    .time(r.createdAt), .string(r.createdBy), .bool(r.deleted), r.deletedAt.map(SnapshotValue.time) ?? .null,
                    r.expiresAt.map(SnapshotValue.time) ?? .null, r.lastUsed.map(SnapshotValue.time) ?? .null,
                    .number(r.used), .number(r.denied),
                    .string(r.projects.map { "\($0.project)=\($0.role)" }.joined(separator: " ")),
                ])
            }
            let m = try state.memberships(company: company.number)
            for member in m.members {
                try memberships.row([.string(company.slug), .string("member"), .string(member.email), .null, .null,
                                     .string(member.role.name), .time(member.since)])
            }
            for access in m.serviceAccess {
                try memberships.row([.string(company.slug), .string("service_access"), .string(access.serviceUser),
                                     .string(access.credentialID), .string(access.project), .string(access.role.name), .time(access.since)])
            }
            for role in m.userRoles {
                try memberships.row([.string(company.slug), .string("user_role"), .string(role.email), .null, .string(role.project),
                                     .string(role.role.name), .time(role.since)])
            }
        }
        files.append(try credentials.finish(kind: "snapshot"))
        files.append(try memberships.finish(kind: "snapshot"))
        return (Int(credentials.rows), Int(memberships.rows))
    }
}

/// A value of a snapshot row.
enum SnapshotValue {
    case string(String)
    case number(UInt64)
    case bool(Bool)
    case time(Timestamp)
    case null
}

/// A snapshot file: JSONL objects with fixed keys, or CSV with a header row.
final class SnapshotTable {
    var sink: ExportSink
    let columns: [String]
    let format: ExportRequest.Format
    private(set) var rows: UInt64 = 0

    init(directory: String, name: String, columns: [String], format: ExportRequest.Format) throws {
        sink = try ExportSink(directory: directory, name: name)
        self.columns = columns
        self.format = format
        if format == .csv {
            for (i, c) in columns.enumerated() {
                if i > 0 { sink.byte(0x2C) }
                sink.raw(c)
            }
            try sink.endLine()
        }
    }

    func row(_ values: [SnapshotValue]) throws {
        precondition(values.count == columns.count, "snapshot row does not match its columns")
        if format == .jsonl { sink.byte(0x7B) }
        for (i, value) in values.enumerated() {
            if i > 0 { sink.byte(0x2C) }
            if format == .jsonl {
                sink.jsonString(columns[i])
                sink.byte(0x3A)
                switch value {
                case .string(let s): sink.jsonString(s)
                case .number(let n): sink.number(n)
                case .bool(let b): b ? sink.ascii("true") : sink.ascii("false")
                case .time(let t): sink.jsonString(TimeFormat.rfc3339(t))
                case .null: sink.ascii("null")
                }
            } else {
                switch value {
                case .string(let s): sink.csvField(s)
                case .number(let n): sink.number(n)
                case .bool(let b): b ? sink.ascii("true") : sink.ascii("false")
                case .time(let t): sink.raw(TimeFormat.rfc3339(t))
                case .null: break
                }
            }
        }
        if format == .jsonl { sink.byte(0x7D) }
        rows += 1
        try sink.endLine()
    }

    func finish(kind: String) throws -> ExportedFile {
        let digest = try sink.finish()
        return ExportedFile(name: sink.name, kind: kind, sha256: digest, bytes: sink.bytes, lines: sink.lines)
    }
}

/// Writes one event as a JSONL object or a CSV row (fixed key / column order, docs/EXPORT.md).
struct EventRowWriter {
    var sink: ExportSink
    let fields: EventFields
    let format: ExportRequest.Format
    /// Whether JSONL objects end with the `record` hex (exports); `log --json` leaves it out.
    let includeRecord: Bool
    private var time = FastTimeFormatter()

    init(sink: ExportSink, fields: EventFields, format: ExportRequest.Format, includeRecord: Bool = true) {
        self.sink = sink
        self.fields = fields
        self.format = format
        self.includeRecord = includeRecord
    }

    mutating func write(_ stored: StoredEvent, body: UnsafeRawBufferPointer, previous: SHA256Digest) throws {
        let e = stored.event
        if format == .jsonl {
            sink.ascii("{\"seq\":")
            sink.number(e.seq)
            sink.ascii(",\"time\":\"")
            time.write(e.timestamp, to: &sink)
            sink.ascii("\",\"type\":\"")
            sink.raw(e.type.name)
            sink.ascii("\",\"company\":")
            sink.jsonString(fields.company(e.company))
            sink.ascii(",\"actor\":")
            sink.jsonString(fields.actor(e.actor))
            sink.ascii(",\"payload\":")
            payload(e.payload)
            sink.ascii(",\"prev_hash\":\"")
            sink.hex(previous)
            sink.ascii("\",\"hash\":\"")
            sink.hex(stored.hash)
            if includeRecord {
                sink.ascii("\",\"record\":\"")
                sink.hex(body)
            }
            sink.ascii("\"}")
        } else {
            sink.number(e.seq)
            sink.byte(0x2C)
            time.write(e.timestamp, to: &sink)
            sink.byte(0x2C)
            sink.raw(e.type.name)
            sink.byte(0x2C)
            sink.csvField(fields.company(e.company))
            sink.byte(0x2C)
            sink.csvField(fields.actor(e.actor))
            sink.byte(0x2C)
            // The payload as JSON in one quoted field (quotes doubled). A use's is written doubled as it goes: quoting
            // it after, in place, was 8 % of a CSV export's CPU (perf). The JSON path stays the reference (checked below).
            if case .credentialUsed(let use) = e.payload {
                #if DEBUG
                let mark = sink.mark
                #endif
                csvUsePayload(use)
                #if DEBUG
                let fast = sink.bytes(from: mark)
                sink.truncate(to: mark)
                payload(e.payload)
                sink.csvQuoteTail(from: mark)
                assert(sink.bytes(from: mark) == fast, "a use's CSV payload differs from its JSON payload quoted")
                #endif
            } else {
                let mark = sink.mark
                payload(e.payload)
                sink.csvQuoteTail(from: mark)
            }
            sink.byte(0x2C)
            sink.hex(previous)
            sink.byte(0x2C)
            sink.hex(stored.hash)
            sink.byte(0x2C)
            sink.hex(body)
        }
        try sink.endLine()
    }

    /// A use's payload object (`payload`) as one quoted CSV field, its quotes doubled.
    private mutating func csvUsePayload(_ u: CredentialUse) {
        sink.ascii("\"{\"\"credential\"\":")
        sink.csvJSONString(u.credential == 0 ? "" : fields.credential(u.credential))
        sink.ascii(",\"\"project\"\":")
        sink.csvJSONString(fields.project(u.project))
        sink.ascii(",\"\"operation\"\":\"\"")
        sink.raw(u.operation.name)
        sink.ascii("\"\",\"\"outcome\"\":\"\"")
        sink.raw(u.denial?.code ?? "allowed")
        if u.targetCompany != 0 {
            sink.ascii("\"\",\"\"target_company\"\":")
            sink.csvJSONString(fields.company(u.targetCompany))
            sink.ascii("}\"")
        } else {
            sink.ascii("\"\"}\"")
        }
    }

    /// The payload object; uses (most of the log) take a direct path with the same keys as `EventFields.payload`.
    private mutating func payload(_ p: EventPayload) {
        if case .credentialUsed(let u) = p {
            sink.ascii("{\"credential\":")
            sink.jsonString(u.credential == 0 ? "" : fields.credential(u.credential))
            sink.ascii(",\"project\":")
            sink.jsonString(fields.project(u.project))
            sink.ascii(",\"operation\":\"")
            sink.raw(u.operation.name)
            sink.ascii("\",\"outcome\":\"")
            sink.raw(u.denial?.code ?? "allowed")
            if u.targetCompany != 0 {
                sink.ascii("\",\"target_company\":")
                sink.jsonString(fields.company(u.targetCompany))
                sink.ascii("}")
            } else {
                sink.ascii("\"}")
            }
            return
        }
        sink.byte(0x7B)
        for (i, (key, value)) in fields.payload(p).enumerated() {
            if i > 0 { sink.byte(0x2C) }
            sink.jsonString(key)
            sink.byte(0x3A)
            sink.jsonValue(value)
        }
        sink.byte(0x7D)
    }
}
