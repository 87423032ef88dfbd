import CredLedgerCore
import CredLedgerProjections
import LMDB

/// The named databases of a ledger environment and their handles (opened once at start-up).
struct Schema {
    static let formatVersion: UInt32 = 1
    static let eventsName = "events"
    static let metaName = "meta"

    let events: Database
    let meta: Database
    let tables: [Database]   // indexed by Table.allCases order

    init(environment: Environment) throws {
        let names = [Schema.eventsName, Schema.metaName] + Table.allCases.map(\.rawValue)
        let handles = try environment.openDatabases(names, flags: environment.isReadOnly ? [] : [.create])
        events = handles[0]
        meta = handles[1]
        tables = Array(handles[2...])
    }

    @inline(__always) func database(_ table: Table) -> Database { tables[Table.index(of: table)] }
}

extension Table {
    private static let order: [Table: Int] = Dictionary(uniqueKeysWithValues: Table.allCases.enumerated().map { ($1, $0) })
    static func index(of table: Table) -> Int { order[table]! }
}

/// Rows of the `meta` database.
enum Meta {
    static let formatKey = Array("format".utf8)
    static func projectionKey(_ p: ProjectionName) -> [UInt8] { Array("projection/\(p.rawValue)".utf8) }

    /// Checkpoint of one projection: code version, last applied seq, and the digest computed at `digestSeq`.
    struct Checkpoint: Equatable {
        var codeVersion: UInt32
        var lastSeq: UInt64
        var digestSeq: UInt64
        var digest: SHA256Digest

        var bytes: [UInt8] {
            var w = ByteWriter(capacity: 52)
            w.write(codeVersion); w.write(lastSeq); w.write(digestSeq)
            digest.withUnsafeBytes { w.write(bytes: $0) }
            return w.bytes
        }

        init(codeVersion: UInt32, lastSeq: UInt64, digestSeq: UInt64, digest: SHA256Digest) {
            self.codeVersion = codeVersion
            self.lastSeq = lastSeq
            self.digestSeq = digestSeq
            self.digest = digest
        }

        init?(_ bytes: [UInt8]) {
            let parsed: Checkpoint? = bytes.withUnsafeBytes { raw in
                var r = ByteReader(raw)
                guard let v = r.read(UInt32.self), let l = r.read(UInt64.self), let d = r.read(UInt64.self),
                      let h = r.readBytes(32), let digest = SHA256Digest(bytes: h), r.isAtEnd else { return nil }
                return Checkpoint(codeVersion: v, lastSeq: l, digestSeq: d, digest: digest)
            }
            guard let parsed else { return nil }
            self = parsed
        }
    }
}
