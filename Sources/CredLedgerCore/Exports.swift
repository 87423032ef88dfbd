// The core's public types use digests and hashes from the crypto layer.
@_exported import CredLedgerCrypto
