import CredLedger
import Foundation

// `verify`, `replay`, `rebuild`.

extension API {
    /// `verify`: the chain, the checkpoints and (unless `chain_only`) the projections against a rebuild.
    public struct VerifyRequest: ReadRequest, Codable, Equatable {
        public typealias Response = VerifyReport

        public var chainOnly: Bool?

        enum CodingKeys: String, CodingKey { case chainOnly = "chain_only" }

        public init(chainOnly: Bool? = nil) { self.chainOnly = chainOnly }

        public func read(_ ledger: Ledger) throws -> VerifyReport {
            VerifyReport(try ledger.audit.verify(projections: !(chainOnly ?? false)))
        }
    }

    /// `replay`: events `from`… verified on `threads` threads (default: every core), projections rebuilt and compared
    /// unless `chain_only`.
    public struct ReplayRequest: ReadRequest, Codable, Equatable {
        public typealias Response = ReplayReport

        public var from: UInt64?
        public var threads: Int?
        public var chainOnly: Bool?

        enum CodingKeys: String, CodingKey {
            case from, threads
            case chainOnly = "chain_only"
        }

        public init(from: UInt64? = nil, threads: Int? = nil, chainOnly: Bool? = nil) {
            (self.from, self.threads, self.chainOnly) = (from, threads, chainOnly)
        }

        public func read(_ ledger: Ledger) throws -> ReplayReport { ReplayReport(try engineReport(ledger)) }

        /// The engine's report (with the full-precision rates and the last good hash a human report prints).
        public func engineReport(_ ledger: Ledger) throws -> CredLedger.ReplayReport {
            let threads = self.threads ?? ProcessInfo.processInfo.activeProcessorCount
            guard (1...64).contains(threads) else { throw API.invalid("threads must be 1…64") }
            guard (from ?? 1) >= 1 else { throw API.invalid("from must be at least 1") }
            return try ledger.audit.replay(from: from ?? 1, threads: threads, projections: !(chainOnly ?? false))
        }
    }

    /// `rebuild`: every projection rebuilt from the log, the log accepted as it is (an operator's action).
    public struct RebuildRequest: APIRequest, Codable, Equatable {
        public typealias Response = RebuildReport

        public init() {}

        public func respond(_ ledger: Ledger) throws -> RebuildReport {
            RebuildReport(try ledger.maintenance.rebuildProjections())
        }

        public func respond(_ ledger: Ledger) async throws -> RebuildReport {
            RebuildReport(try await ledger.maintenance.rebuildProjections())
        }
    }
}
