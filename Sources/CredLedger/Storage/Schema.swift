import CredLedgerCore
import CredLedgerProjections
import LMDB

/// The named databases of a ledger environment and their handles (opened once at start-up).
/// A class: every store and reader holds it, and one reference is cheaper to pass around than the handles.
final class Schema: @unchecked Sendable {
    static let formatVersion: UInt32 = 1
    static let eventsName = "events"
    static let metaName = "meta"

    let events: Database
    let meta: Database
    let tables: [Database]   // indexed by Table.allCases order
    /// Registered projections (`Ledger.Options.projections`), as registered: prototypes every projector copies.
    let extensions: [any Projection]
    /// Every projection, built-in ones first: what checkpoints, rebuilds and `verify` cover.
    let projections: [any ProjectionDescription]
    /// Each projection's checkpoint key in `meta`, built once.
    let checkpointKeys: [(projection: any ProjectionDescription, key: [UInt8])]
    /// The tables of registered projections, by name.
    private let extensionTables: [String: Database]

    /// The databases a ledger with `extensions` registered needs (for `maxDatabases`).
    static func databaseCount(extensions: [any Projection]) -> Int {
        2 + Table.allCases.count + extensions.reduce(0) { $0 + $1.tableNames.count }
    }

    init(environment: Environment, extensions: [any Projection] = []) throws {
        let extensionNames = extensions.flatMap(\.tableNames)
        let reserved = Set([Schema.eventsName, Schema.metaName] + Table.allCases.map(\.rawValue))
        var seen = Set<String>()
        for name in extensionNames where reserved.contains(name) || !seen.insert(name).inserted {
            throw LedgerError("projection_table_taken", "a registered projection declares table \(name), which another uses", kind: .badInput)
        }
        var names = Set<String>()
        for p in extensions where !names.insert(p.name).inserted || ProjectionName(rawValue: p.name) != nil {
            throw LedgerError("projection_name_taken", "a registered projection is named \(p.name), as another is", kind: .badInput)
        }
        let all = [Schema.eventsName, Schema.metaName] + Table.allCases.map(\.rawValue) + extensionNames
        let handles = try environment.openDatabases(all, flags: environment.isReadOnly ? [] : [.create])
        events = handles[0]
        meta = handles[1]
        tables = Array(handles[2..<(2 + Table.allCases.count)])
        extensionTables = Dictionary(uniqueKeysWithValues: zip(extensionNames, handles[(2 + Table.allCases.count)...]))
        self.extensions = extensions
        projections = ProjectionName.allCases.map { $0 as any ProjectionDescription } + extensions.map { $0 as any ProjectionDescription }
        checkpointKeys = projections.map { ($0, Meta.projectionKey($0.name)) }
        precondition(Table.indexMatchesDeclarationOrder, "Table.index(of:) must follow the order of Table.allCases")
    }

    @inline(__always) func database(_ table: Table) -> Database { tables[Table.index(of: table)] }

    /// A table by name: a built-in one or a registered projection's.
    func database(named name: String) throws -> Database {
        // Registered tables first: one hash lookup (matching a built-in name compares the string with every case).
        if let database = extensionTables[name] { return database }
        guard let table = Table(rawValue: name) else { throw UnknownTableError(name) }
        return database(table)
    }

    /// Every projection table, built-in and registered.
    var allTables: [Database] { tables + extensionTables.values }

    /// A projector of every projection of this schema.
    func makeProjector() -> Projector { Projector(extensions: extensions) }
}

extension Table {
    /// The table's position in `Table.allCases` (the order of `Schema.tables`). A switch, not a dictionary: a
    /// `String`-backed enum hashes its raw value, and this runs on every read and write.
    @inline(__always)
    static func index(of table: Table) -> Int {
        switch table {
        case .companies: 0
        case .companySlugs: 1
        case .users: 2
        case .members: 3
        case .projects: 4
        case .projectSlugs: 5
        case .credentials: 6
        case .credentialIDs: 7
        case .clientIDs: 8
        case .secrets: 9
        case .tokens: 10
        case .tokenFamilies: 11
        case .codes: 12
        case .counters: 13
        case .access: 14
        case .accessByProject: 15
        case .userRoles: 16
        case .userRolesByProject: 17
        case .usage: 18
        case .usageDaily: 19
        case .usageRecent: 20
        case .index: 21
        case .indexRecent: 22
        case .credentialNames: 23
        case .userFamilies: 24
        case .credentialFamilies: 25
        case .userCodes: 26
        }
    }

    /// Whether `index(of:)` agrees with the declaration order (checked when a schema opens).
    static let indexMatchesDeclarationOrder: Bool = Table.allCases.enumerated().allSatisfy { index(of: $1) == $0 }
}

/// Rows of the `meta` database.
enum Meta {
    static let formatKey = Array("format".utf8)
    static func projectionKey(_ p: ProjectionName) -> [UInt8] { projectionKey(p.rawValue) }
    static func projectionKey(_ name: String) -> [UInt8] { Array("projection/\(name)".utf8) }

    /// Checkpoint of one projection: code version, last applied seq, and the digest computed at `digestSeq`.
    struct Checkpoint: Equatable {
        /// Bytes of a row: code version u32, last seq u64, digest seq u64, digest (32).
        static let size = 52
        /// Where `lastSeq` sits in the row.
        static let lastSeqOffset = 4

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
