/// The versioned binary encoding of events (docs/FORMAT.md). Encode and decode live here only.
///
/// Record (the LMDB value, key = seq as UInt64 big-endian):
///
///     0   u8   format version (1)
///     1   u8   event type
///     2   u8   schema version of the type
///     3   u8   actor kind (0 system, 1 user, 2 credential)
///     4   u32  actor id
///     8   i64  timestamp, µs since the Unix epoch
///     16  u32  company number (0 = none)
///     20  u16  payload length L
///     22  L    payload
///     22+L 32  hash_n = SHA-256(hash_{n-1} || 0x45 || seq u64 || bytes 0 ..< 22+L)
public enum EventCodec {
    public static let formatVersion: UInt8 = 1
    public static let headerSize = 22
    public static let hashSize = 32
    /// Largest payload accepted on decode (guards against corrupt lengths).
    public static let maxPayload = 16 * 1024

    /// Appends the record bytes without the hash (the part the chain covers, after seq).
    public static func encodeBody(_ event: Event, into w: inout ByteWriter) {
        w.write(formatVersion)
        w.write(event.type.rawValue)
        w.write(event.payload.schema)
        w.write(event.actor.kind)
        w.write(event.actor.id)
        w.write(event.timestamp)
        w.write(event.company)
        let lengthAt = w.count
        w.write(UInt16(0))
        let start = w.count
        encodePayload(event.payload, into: &w)
        w.patch(UInt16(w.count - start), at: lengthAt)
    }

    /// Appends the payload fields of one event type.
    public static func encodePayload(_ payload: EventPayload, into w: inout ByteWriter) {
        switch payload {
        case .companyRegistered(let slug, let name, let domain):
            w.write(string: slug); w.write(string: name); w.write(string: domain)
        case .apiModuleEnabled, .apiModuleDisabled:
            break
        case .memberRoleSet(let user, let email, let role):
            w.write(user); w.write(string: email); w.write(role.rawValue)
        case .projectCreated(let project, let slug, let name):
            w.write(project); w.write(string: slug); w.write(string: name)
        case .projectArchived(let project):
            w.write(project)
        case .credentialCreated(let c):
            w.write(c.credential); w.write(c.type.rawValue); w.write(c.scope.rawValue)
            w.write(string: c.publicID); w.write(string: c.name); w.write(string: c.serviceUser)
            w.write(string: c.displayPrefix); w.write(string: c.clientID)
            writeOptional(c.secretHash, into: &w)
            w.write(c.expiresAt)
            w.write(UInt8(c.redirectURIs.count))
            for uri in c.redirectURIs { w.write(string: uri) }
        case .secretRotated(let credential, let hash, let prefix, let graceUntil):
            w.write(credential); writeDigest(hash, into: &w); w.write(string: prefix); w.write(graceUntil)
        case .credentialDeleted(let credential):
            w.write(credential)
        case .projectAccessGranted(let credential, let project, let role), .projectAccessChanged(let credential, let project, let role):
            w.write(credential); w.write(project); w.write(role.rawValue)
        case .projectAccessRevoked(let credential, let project):
            w.write(credential); w.write(project)
        case .userProjectRoleSet(let user, let project, let role):
            w.write(user); w.write(project); w.write(role?.rawValue ?? 0)
        case .consentGiven(let c):
            w.write(c.credential); w.write(c.user); writeDigest(c.codeHash, into: &w); writeDigest(c.challenge, into: &w)
            w.write(string: c.redirectURI); w.write(c.expiresAt)
            if let resource = c.resource { w.write(string: resource) }  // schema 2 only
        case .tokenIssued(let t):
            w.write(t.credential); w.write(t.user); w.write(t.grant.rawValue)
            writeDigest(t.accessHash, into: &w); w.write(t.accessExpiresAt)
            writeOptional(t.refreshHash, into: &w); w.write(t.refreshExpiresAt)
            writeOptional(t.codeHash, into: &w)
            if let resource = t.resource { w.write(string: resource) }  // schema 2 only
        case .tokenRefreshed(let t):
            w.write(t.credential); w.write(t.family); writeDigest(t.spentRefreshHash, into: &w)
            writeDigest(t.accessHash, into: &w); w.write(t.accessExpiresAt)
            writeDigest(t.refreshHash, into: &w); w.write(t.refreshExpiresAt)
        case .tokenRevoked(let t):
            w.write(t.credential); w.write(t.family); writeDigest(t.tokenHash, into: &w)
            w.write(UInt8(t.wholeFamily ? 1 : 0)); w.write(t.reason.rawValue)
        case .credentialUsed(let u):
            w.write(u.credential); w.write(u.project); w.write(u.operation.rawValue); w.write(u.denial?.rawValue ?? 0)
            // Only the rare use at another company carries it: the common 10-byte record stays as it was.
            if u.targetCompany != 0 { w.write(u.targetCompany) }
        case .oauthRequestDenied(let credential, let user, let grant, let reason):
            w.write(credential); w.write(user); w.write(grant.rawValue); w.write(reason.rawValue)
        case .codeRevoked(let c):
            w.write(c.credential); w.write(c.user); writeDigest(c.codeHash, into: &w); w.write(c.reason.rawValue)
        case .logAccepted(let a):
            w.write(a.logHead); w.write(a.checkpoints)
        }
    }

    private static func writeDigest(_ d: SHA256Digest, into w: inout ByteWriter) {
        d.withUnsafeBytes { w.write(bytes: $0) }
    }

    private static func writeOptional(_ d: SHA256Digest?, into w: inout ByteWriter) {
        if let d {
            w.write(UInt8(1)); writeDigest(d, into: &w)
        } else {
            w.write(UInt8(0))
        }
    }

    /// The fixed header of a record, read without decoding the payload.
    public struct Header: Sendable {
        public var type: EventType
        public var schema: UInt8
        public var actor: Actor
        public var timestamp: Timestamp
        public var company: UInt32
        public var payloadLength: Int
        /// Length of the hashed body (header + payload), i.e. the offset of the stored hash.
        public var bodyLength: Int { EventCodec.headerSize + payloadLength }
    }

    /// Reads and checks the header and overall length of a stored record.
    public static func decodeHeader(seq: UInt64, record: UnsafeRawBufferPointer) throws(EventCodecError) -> Header {
        var r = ByteReader(record)
        guard let version = r.read(UInt8.self), let typeCode = r.read(UInt8.self), let schema = r.read(UInt8.self),
              let actorKind = r.read(UInt8.self), let actorID = r.read(UInt32.self), let time = r.read(Int64.self),
              let company = r.read(UInt32.self), let length = r.read(UInt16.self)
        else { throw EventCodecError(.truncated, seq: seq, offset: r.offset) }
        guard version == formatVersion else { throw EventCodecError(.unknownFormatVersion, seq: seq, offset: 0) }
        guard let type = EventType(rawValue: typeCode) else { throw EventCodecError(.unknownType, seq: seq, offset: 1) }
        guard schema >= 1, schema <= type.currentSchema else { throw EventCodecError(.unknownSchemaVersion, seq: seq, offset: 2) }
        guard let actor = Actor(kind: actorKind, id: actorID) else { throw EventCodecError(.badActor, seq: seq, offset: 3) }
        guard record.count == headerSize + Int(length) + hashSize else {
            throw EventCodecError(.lengthMismatch, seq: seq, offset: 20)
        }
        guard Int(length) <= maxPayload else { throw EventCodecError(.fieldTooLong, seq: seq, offset: 20) }
        return Header(type: type, schema: schema, actor: actor, timestamp: time, company: company, payloadLength: Int(length))
    }

    /// Decodes a stored record (body + hash) into an event; any inconsistency throws, nothing traps.
    public static func decode(seq: UInt64, record: UnsafeRawBufferPointer) throws(EventCodecError) -> StoredEvent {
        let header = try decodeHeader(seq: seq, record: record)
        let payloadBytes = UnsafeRawBufferPointer(rebasing: record[headerSize..<header.bodyLength])
        let payload = try decodePayload(header.type, schema: header.schema, seq: seq, bytes: payloadBytes)
        let hashBytes = UnsafeRawBufferPointer(rebasing: record[header.bodyLength...])
        guard let hash = SHA256Digest(bytes: hashBytes) else { throw EventCodecError(.truncated, seq: seq, offset: header.bodyLength) }
        let event = Event(seq: seq, timestamp: header.timestamp, company: header.company, actor: header.actor, payload: payload)
        return StoredEvent(event: event, hash: hash)
    }

    /// Decodes a stored `credential_used` record into its header and use without building an `Event` (most of a
    /// log is uses: the replay's fast path); nil for a record of another type. The same checks as `decode`, which
    /// decodes a use's payload through the same function.
    public static func decodeUse(seq: UInt64, record: UnsafeRawBufferPointer) throws(EventCodecError) -> (header: Header, use: CredentialUse)? {
        let header = try decodeHeader(seq: seq, record: record)
        guard header.type == .credentialUsed else { return nil }
        let use = try decodeUsePayload(schema: header.schema, seq: seq,
                                       bytes: UnsafeRawBufferPointer(rebasing: record[headerSize..<header.bodyLength]))
        return (header, use)
    }

    /// A `credential_used` payload, to its end.
    static func decodeUsePayload(schema: UInt8, seq: UInt64, bytes: UnsafeRawBufferPointer) throws(EventCodecError) -> CredentialUse {
        var r = ByteReader(bytes)
        func fail(_ reason: EventCodecError.Reason) -> EventCodecError {
            EventCodecError(reason, seq: seq, offset: headerSize + r.offset)
        }
        guard let credential = r.read(UInt32.self), let project = r.read(UInt32.self) else { throw fail(.truncated) }
        guard let rawOperation = r.read(UInt8.self) else { throw fail(.truncated) }
        guard let operation = Operation(rawValue: rawOperation) else { throw fail(.badEnum) }
        guard let raw = r.read(UInt8.self) else { throw fail(.truncated) }
        guard raw == 0 || DenialReason(rawValue: raw) != nil else { throw fail(.badEnum) }
        // Schema 1 has no target (upcast: 0). Schema 2 has one only when 4 more bytes follow (fewer are
        // trailing bytes); a stored 0 would be a second encoding of "none", so it is refused.
        var target: UInt32 = 0
        if schema >= 2, r.remaining >= 4 {
            guard let value = r.read(UInt32.self) else { throw fail(.truncated) }
            target = value
            guard target != 0 else { throw fail(.badEnum) }
        }
        guard r.isAtEnd else { throw fail(.trailingBytes) }
        return CredentialUse(credential: credential, project: project, operation: operation, denial: DenialReason(rawValue: raw),
                             targetCompany: target)
    }

    /// Decodes one payload; upcasting of older schema versions happens here.
    public static func decodePayload(_ type: EventType, schema: UInt8, seq: UInt64, bytes: UnsafeRawBufferPointer) throws(EventCodecError) -> EventPayload {
        var r = ByteReader(bytes)
        func fail(_ reason: EventCodecError.Reason) -> EventCodecError {
            EventCodecError(reason, seq: seq, offset: headerSize + r.offset)
        }
        func u8() throws(EventCodecError) -> UInt8 { guard let v = r.read(UInt8.self) else { throw fail(.truncated) }; return v }
        func u32() throws(EventCodecError) -> UInt32 { guard let v = r.read(UInt32.self) else { throw fail(.truncated) }; return v }
        func u64() throws(EventCodecError) -> UInt64 { guard let v = r.read(UInt64.self) else { throw fail(.truncated) }; return v }
        func i64() throws(EventCodecError) -> Int64 { guard let v = r.read(Int64.self) else { throw fail(.truncated) }; return v }
        func str() throws(EventCodecError) -> String {
            var peek = r
            guard let length = peek.read(UInt16.self), peek.remaining >= Int(length) else { throw fail(.truncated) }
            guard let s = r.readString() else { throw fail(.badString) }
            return s
        }
        func digest() throws(EventCodecError) -> SHA256Digest {
            guard let raw = r.readBytes(32), let d = SHA256Digest(bytes: raw) else { throw fail(.truncated) }
            return d
        }
        func optionalDigest() throws(EventCodecError) -> SHA256Digest? {
            switch try u8() {
            case 0: return nil
            case 1: return try digest()
            default: throw fail(.badEnum)
            }
        }
        // Schema 2 of consent_given / token_issued exists only with a resource: an empty one would be a second
        // encoding of "none" (schema 1), so it is refused.
        func resource() throws(EventCodecError) -> String {
            let value = try str()
            guard !value.isEmpty else { throw fail(.badString) }
            return value
        }
        func enumValue<E: RawRepresentable>(_: E.Type) throws(EventCodecError) -> E where E.RawValue == UInt8 {
            guard let v = E(rawValue: try u8()) else { throw fail(.badEnum) }
            return v
        }

        let payload: EventPayload
        switch type {
        case .companyRegistered:
            payload = .companyRegistered(slug: try str(), name: try str(), mailDomain: try str())
        case .apiModuleEnabled:
            payload = .apiModuleEnabled
        case .apiModuleDisabled:
            payload = .apiModuleDisabled
        case .memberRoleSet:
            payload = .memberRoleSet(user: try u32(), email: try str(), role: try enumValue(CompanyRole.self))
        case .projectCreated:
            payload = .projectCreated(project: try u32(), slug: try str(), name: try str())
        case .projectArchived:
            payload = .projectArchived(project: try u32())
        case .credentialCreated:
            let credential = try u32()
            let ctype = try enumValue(CredentialType.self)
            let scope = try enumValue(Scope.self)
            let publicID = try str(), name = try str(), serviceUser = try str(), prefix = try str(), clientID = try str()
            let hash = try optionalDigest()
            let expires = try i64()
            let count = try u8()
            var uris: [String] = []
            for _ in 0..<count { uris.append(try str()) }
            payload = .credentialCreated(CredentialCreated(
                credential: credential, type: ctype, scope: scope, publicID: publicID, name: name, serviceUser: serviceUser,
                displayPrefix: prefix, clientID: clientID, secretHash: hash, expiresAt: expires, redirectURIs: uris))
        case .secretRotated:
            payload = .secretRotated(credential: try u32(), secretHash: try digest(), displayPrefix: try str(), graceUntil: try i64())
        case .credentialDeleted:
            payload = .credentialDeleted(credential: try u32())
        case .projectAccessGranted:
            payload = .projectAccessGranted(credential: try u32(), project: try u32(), role: try enumValue(ProjectRole.self))
        case .projectAccessChanged:
            payload = .projectAccessChanged(credential: try u32(), project: try u32(), role: try enumValue(ProjectRole.self))
        case .projectAccessRevoked:
            payload = .projectAccessRevoked(credential: try u32(), project: try u32())
        case .userProjectRoleSet:
            let user = try u32(), project = try u32(), raw = try u8()
            guard raw == 0 || ProjectRole(rawValue: raw) != nil else { throw fail(.badEnum) }
            payload = .userProjectRoleSet(user: user, project: project, role: ProjectRole(rawValue: raw))
        case .consentGiven:
            var consent = ConsentGiven(
                credential: try u32(), user: try u32(), codeHash: try digest(), challenge: try digest(),
                redirectURI: try str(), expiresAt: try i64())
            if schema >= 2 { consent.resource = try resource() }
            payload = .consentGiven(consent)
        case .tokenIssued:
            var issued = TokenIssued(
                credential: try u32(), user: try u32(), grant: try enumValue(GrantKind.self), accessHash: try digest(),
                accessExpiresAt: try i64(), refreshHash: try optionalDigest(), refreshExpiresAt: try i64(),
                codeHash: try optionalDigest())
            if schema >= 2 { issued.resource = try resource() }
            payload = .tokenIssued(issued)
        case .tokenRefreshed:
            payload = .tokenRefreshed(TokenRefreshed(
                credential: try u32(), family: try u64(), spentRefreshHash: try digest(), accessHash: try digest(),
                accessExpiresAt: try i64(), refreshHash: try digest(), refreshExpiresAt: try i64()))
        case .tokenRevoked:
            let credential = try u32(), family = try u64(), hash = try digest(), whole = try u8()
            guard whole <= 1 else { throw fail(.badEnum) }
            payload = .tokenRevoked(TokenRevoked(
                credential: credential, family: family, tokenHash: hash, wholeFamily: whole == 1,
                reason: try enumValue(TokenRevoked.Reason.self)))
        case .credentialUsed:
            // Checked in one place with the replay's fast path (`decodeUse`), trailing bytes included.
            return .credentialUsed(try decodeUsePayload(schema: schema, seq: seq, bytes: bytes))
        case .oauthRequestDenied:
            payload = .oauthRequestDenied(
                credential: try u32(), user: try u32(), grant: try enumValue(GrantKind.self), reason: try enumValue(DenialReason.self))
        case .codeRevoked:
            payload = .codeRevoked(CodeRevoked(
                credential: try u32(), user: try u32(), codeHash: try digest(), reason: try enumValue(TokenRevoked.Reason.self)))
        case .logAccepted:
            payload = .logAccepted(LogAccepted(logHead: try u64(), checkpoints: try u64()))
        }
        guard r.isAtEnd else { throw fail(.trailingBytes) }
        return payload
    }
}
