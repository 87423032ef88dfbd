#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension Environment {
    /// How an ``Environment`` is opened and how its memory map grows.
    public struct Configuration: Sendable {
        /// Initial map size in bytes (`mdb_env_set_mapsize`), rounded up to the OS page size.
        /// Start large: the data file is sparse. An existing environment keeps its recorded
        /// size when that is larger.
        public var mapSize: Int = 1 << 30

        /// Maximum number of named databases (`mdb_env_set_maxdbs`, set before `mdb_env_open`).
        public var maxDatabases: UInt32 = 64

        /// Maximum number of simultaneous read transactions of all processes
        /// (`mdb_env_set_maxreaders`).
        public var maxReaders: UInt32 = 254

        /// `mdb_env_open` flags. `MDB_NOTLS` is always added.
        public var flags: EnvironmentFlags = []

        /// Permissions of the data and lock files (and, with the execute bits added for every
        /// readable class, of a directory the environment creates).
        public var fileMode: mode_t = 0o600

        /// On `MDB_MAP_FULL` the map grows to `mapSize × growthFactor` (at least one page more),
        /// capped at ``maxMapSize``. Must be greater than 1.
        public var growthFactor: Double = 2

        /// The map never grows beyond this many bytes; past it writes throw
        /// ``LMDBError/mapFull``. Must be at least ``mapSize``.
        public var maxMapSize: Int = 1 << 40

        /// The longest (milliseconds) an idle read transaction keeps its snapshot when this environment commits
        /// nothing meanwhile: the pages other processes' commits free after it stay unusable to them until then (see
        /// `Environment.IdleReader`). 0 keeps no snapshot at all (every read renews).
        public var heldSnapshotMillis: Int = 100

        public init() {}

        /// Throws ``LMDBError/invalidArgument`` describing the first invalid field.
        func validate() throws {
            func invalid(_ detail: String) -> LMDBError {
                LMDBError(code: EINVAL, function: "Environment.init", detail: "invalid configuration: \(detail)")
            }
            guard mapSize > 0 else { throw invalid("mapSize must be positive (got \(mapSize))") }
            guard maxMapSize >= mapSize else {
                throw invalid("maxMapSize (\(maxMapSize)) must be at least mapSize (\(mapSize))")
            }
            guard growthFactor > 1, growthFactor.isFinite else {
                throw invalid("growthFactor must be a finite number greater than 1 (got \(growthFactor))")
            }
            guard maxDatabases > 0 else { throw invalid("maxDatabases must be positive") }
            guard maxReaders > 0 else { throw invalid("maxReaders must be positive") }
            guard (0...3_600_000).contains(heldSnapshotMillis) else {
                throw invalid("heldSnapshotMillis must be within 0…3,600,000 (got \(heldSnapshotMillis))")
            }
        }

        /// Mode of a directory created for the environment: `fileMode` plus search permission
        /// for every class that may read (`0o600` → `0o700`, `0o644` → `0o755`).
        var directoryMode: mode_t {
            fileMode | ((fileMode & 0o444) >> 2)
        }
    }
}
