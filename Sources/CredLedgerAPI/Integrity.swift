/// `verify`, `replay` and `rebuild` reports.
extension API {
    /// A projection's live digest against its rebuild from the log.
    public struct ProjectionCheck: Codable, Sendable, Equatable {
        public var name: String
        public var ok: Bool
        public var lastSeq: UInt64
        /// Hex SHA-256 digests.
        public var live: String
        public var rebuilt: String

        enum CodingKeys: String, CodingKey {
            case name, ok, live, rebuilt
            case lastSeq = "last_seq"
        }

        public init(name: String, ok: Bool, lastSeq: UInt64, live: String, rebuilt: String) {
            (self.name, self.ok, self.lastSeq, self.live, self.rebuilt) = (name, ok, lastSeq, live, rebuilt)
        }
    }

    /// Projection checkpoints that disagree with the log head (a cut or forged tail).
    public struct CheckpointDisagreement: Codable, Sendable, Equatable {
        public var logHead: UInt64
        public var checkpoints: UInt64
        /// True when events are missing at the end of the log; false when the log has events the projections lack.
        public var tailMissing: Bool
        public var firstSeq: UInt64
        public var lastSeq: UInt64
        public var message: String

        enum CodingKeys: String, CodingKey {
            case checkpoints, message
            case logHead = "log_head"
            case tailMissing = "tail_missing"
            case firstSeq = "first_seq"
            case lastSeq = "last_seq"
        }

        public init(logHead: UInt64, checkpoints: UInt64, tailMissing: Bool, firstSeq: UInt64, lastSeq: UInt64, message: String) {
            (self.logHead, self.checkpoints, self.tailMissing) = (logHead, checkpoints, tailMissing)
            (self.firstSeq, self.lastSeq, self.message) = (firstSeq, lastSeq, message)
        }
    }

    /// `verify`: the chain, the checkpoints and (unless chain-only) the projections against a rebuild.
    public struct VerifyReport: Codable, Sendable, Equatable {
        public var ok: Bool
        /// Events whose link checked out.
        public var events: UInt64
        public var headHash: String
        public var seconds: Double
        /// Empty for `--chain-only` or a broken chain.
        public var projections: [ProjectionCheck]
        /// The first bad event and why (present exactly when the chain is broken).
        public var firstBadSeq: UInt64?
        public var reason: String?
        public var checkpoints: CheckpointDisagreement?

        enum CodingKeys: String, CodingKey {
            case ok, events, seconds, projections, reason, checkpoints
            case headHash = "head_hash"
            case firstBadSeq = "first_bad_seq"
        }

        public init(ok: Bool, events: UInt64, headHash: String, seconds: Double, projections: [ProjectionCheck],
                    firstBadSeq: UInt64? = nil, reason: String? = nil, checkpoints: CheckpointDisagreement? = nil) {
            (self.ok, self.events, self.headHash, self.seconds, self.projections) = (ok, events, headHash, seconds, projections)
            (self.firstBadSeq, self.reason, self.checkpoints) = (firstBadSeq, reason, checkpoints)
        }
    }

    /// `replay`: a range's chain check with timings, and every projection rebuilt and compared.
    public struct ReplayReport: Codable, Sendable, Equatable {
        public var ok: Bool
        public var from: UInt64
        public var headSeq: UInt64
        public var headHash: String
        public var eventsVerified: UInt64
        public var eventsProjected: UInt64
        public var threads: Int
        public var verifySeconds: Double
        /// Rounded to a whole number.
        public var verifyEventsPerSecond: Double
        public var rebuildSeconds: Double
        public var seconds: Double
        /// Rounded to a whole number.
        public var eventsPerSecond: Double
        public var projections: [ProjectionCheck]
        /// These three are present exactly when the chain is broken.
        public var firstBadSeq: UInt64?
        public var reason: String?
        public var lastGoodSeq: UInt64?
        public var checkpoints: CheckpointDisagreement?
        /// Why projections were not compared (chain-only run, or a broken chain).
        public var projectionsNote: String?

        enum CodingKeys: String, CodingKey {
            case ok, from, threads, seconds, projections, reason, checkpoints
            case headSeq = "head_seq"
            case headHash = "head_hash"
            case eventsVerified = "events_verified"
            case eventsProjected = "events_projected"
            case verifySeconds = "verify_seconds"
            case verifyEventsPerSecond = "verify_events_per_second"
            case rebuildSeconds = "rebuild_seconds"
            case eventsPerSecond = "events_per_second"
            case firstBadSeq = "first_bad_seq"
            case lastGoodSeq = "last_good_seq"
            case projectionsNote = "projections_note"
        }

        public init(ok: Bool, from: UInt64, headSeq: UInt64, headHash: String, eventsVerified: UInt64, eventsProjected: UInt64,
                    threads: Int, verifySeconds: Double, verifyEventsPerSecond: Double, rebuildSeconds: Double, seconds: Double,
                    eventsPerSecond: Double, projections: [ProjectionCheck], firstBadSeq: UInt64? = nil, reason: String? = nil,
                    lastGoodSeq: UInt64? = nil, checkpoints: CheckpointDisagreement? = nil, projectionsNote: String? = nil) {
            (self.ok, self.from, self.headSeq, self.headHash) = (ok, from, headSeq, headHash)
            (self.eventsVerified, self.eventsProjected, self.threads) = (eventsVerified, eventsProjected, threads)
            (self.verifySeconds, self.verifyEventsPerSecond, self.rebuildSeconds) = (verifySeconds, verifyEventsPerSecond, rebuildSeconds)
            (self.seconds, self.eventsPerSecond, self.projections) = (seconds, eventsPerSecond, projections)
            (self.firstBadSeq, self.reason, self.lastGoodSeq) = (firstBadSeq, reason, lastGoodSeq)
            (self.checkpoints, self.projectionsNote) = (checkpoints, projectionsNote)
        }
    }

    /// `rebuild`: events replayed, each projection's new digest (hex, by name), and the checkpoints accepted.
    public struct RebuildReport: Codable, Sendable, Equatable {
        public var events: UInt64
        public var digests: [String: String]
        /// Present when the log was accepted as it is (recorded as `log_accepted`).
        public var accepted: CheckpointDisagreement?

        public init(events: UInt64, digests: [String: String], accepted: CheckpointDisagreement? = nil) {
            (self.events, self.digests, self.accepted) = (events, digests, accepted)
        }
    }
}
