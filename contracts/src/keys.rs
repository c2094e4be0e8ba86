//! State and index keys: the one place that knows how vchain lays out its key space.
//!
//! State keys (in the state tree, covered by the state root, provable to auditors):
//!
//! | key | value |
//! |---|---|
//! | `p/chain_id` | chain id, UTF-8 |
//! | `p/params` | [`ChainParams`](vchain_proto::v1::ChainParams) |
//! | `p/development` | `[1]` on a development chain (genesis `development = true`); absent otherwise |
//! | `p/consensus` | [`ConsensusConfig`](vchain_proto::v1::ConsensusConfig): engine, current voting nodes, removed node ids |
//! | `p/rules_active` | [`ChainRules`](vchain_proto::v1::ChainRules): the active rules version, from the height it activated at; absent until an upgrade activates (version 1 since genesis) |
//! | `p/rules_pending` | [`ChainRules`](vchain_proto::v1::ChainRules): a scheduled rules upgrade and its activation height; absent when none is pending |
//! | `o/{org_id}` | [`Organisation`](vchain_proto::v1::Organisation) |
//! | `i/{uscc}` | [`Identity`](vchain_proto::v1::Identity) |
//! | `a/{account_id}` | [`Account`](vchain_proto::v1::Account) |
//! | `k/{public key hex}` | account id bound to the key (a key serves one account) |
//! | `c/{financier}/{core}` | [`CreditLine`](vchain_proto::v1::CreditLine) |
//! | `v/{voucher_id}` | [`Voucher`](vchain_proto::v1::Voucher) |
//! | `e/{voucher_id}/{height:8}{tx:4}{n:2}` | [`Event`](vchain_proto::v1::Event) in the voucher's history |
//! | `ec/{voucher_id}` | how many events `e/{voucher_id}/` holds, u64 big-endian: every write of an event under that prefix counts it up (vouchers and warehouse receipts alike), so a proof of the count and of that many distinct event keys proves the history complete |
//! | `l/{height:8}{tx:4}{n:2}` | [`Event`](vchain_proto::v1::Event) in the audit log (permission changes) |
//! | `d/{kind}/{number}` | voucher id issued against this trade document |
//! | `dh/{hash hex}` | voucher id issued against a document with this hash |
//! | `x/{day:4}/{voucher_id}` | empty: the voucher is destroyed at the start of `day` unless redeemed |
//! | `m/voucher_seq` | next voucher serial, u64 big-endian |
//! | `g/{proposal_id}` | [`Proposal`](vchain_proto::v1::Proposal): the proposed change, its votes and status |
//! | `ge/{proposal_id}/{height:8}{tx:4}{n:2}` | [`Event`](vchain_proto::v1::Event) in the proposal's history (submission, votes, decision, what the passed action did) |
//! | `gx/{deadline_ms:8}/{proposal_id}` | empty: the open proposal expires at the first block at or after `deadline_ms` |
//! | `m/proposal_seq` | next proposal number, u64 big-endian |
//! | `pl/{registration_number}` | [`Pledge`](vchain_proto::v1::Pledge): a pledge registration, active or ended |
//! | `pa/{asset_kind}/{asset_id}` | registration number of the asset's active pledge (one at most) |
//! | `px/{day:4}/{registration_number}` | empty: the active pledge lapses at the start of `day` |
//! | `m/pledge_seq` | next pledge registration number, u64 big-endian |
//! | `w/{receipt_id}` | [`WarehouseReceipt`](vchain_proto::v1::WarehouseReceipt); its history is under `e/{receipt_id}/` like a voucher's |
//! | `m/receipt_seq` | next warehouse receipt serial, u64 big-endian |
//! | `dv/{device_id}` | [`Device`](vchain_proto::v1::Device): an IoT device, its key, lot and last reading counter |
//! | `dk/{public key hex}` | id of the device registered with this key (a key serves one device, never reused) |
//! | `cr/{org_id}/{serial hex}` | [`CertificateRecord`](vchain_proto::v1::CertificateRecord): a certificate the chain accepted; status REVOKED entries are the revocation list |
//! | `cx/{not_after_ms:8}/{org_id}/{serial hex}` | empty: an active certificate, by expiry (for "expiring soon" reports) |
//!
//! `{n:k}` is a big-endian integer of k bytes, so keys sort in chain order. Ids cannot contain
//! `/` (see [`crate::validate`]), so no key is a prefix of another's family by accident.
//!
//! Index keys (the node's `index` column family, not in the state root, rebuilt from blocks):
//! `h/{holder}/{voucher_id}` and `s/{issuer}/{voucher_id}`; `la/{account_id}/{height:8}{tx:4}{n:2}`
//! and `lo/{org_id}/{height:8}{tx:4}{n:2}`, the audit log entries (`l/`) that name the account
//! or concern the organisation (see [`crate::audit`]), all with empty values; and
//! `tm/{tx hash:32}`: why a rejected transaction was rejected, in words, as the node that
//! executed it renders them (never hashed: blocks carry only the code).

/// Key of the chain id.
pub const CHAIN_ID: &[u8] = b"p/chain_id";
/// Key of the development-chain mark (present only on development chains).
pub const DEVELOPMENT: &[u8] = b"p/development";
/// Key of the chain parameters.
pub const PARAMS: &[u8] = b"p/params";
/// Key of the consensus configuration: the engine and the current voting membership, which the
/// node follows after each block.
pub const CONSENSUS: &[u8] = b"p/consensus";
/// Key of the active chain rules version (absent: version 1, since genesis).
pub const RULES: &[u8] = b"p/rules_active";
/// Key of the scheduled chain rules upgrade (absent: none pending).
pub const RULES_PENDING: &[u8] = b"p/rules_pending";
/// Key of the next voucher serial number.
pub const VOUCHER_SEQ: &[u8] = b"m/voucher_seq";
/// Prefix of the expiry queue.
pub const EXPIRY_PREFIX: &[u8] = b"x/";
/// Prefix of the audit log.
pub const AUDIT_PREFIX: &[u8] = b"l/";
/// Prefix of the organisations (current and removed).
pub const ORGANISATION_PREFIX: &[u8] = b"o/";
/// Prefix of the proposals.
pub const PROPOSAL_PREFIX: &[u8] = b"g/";
/// Prefix of the proposal deadline queue.
pub const PROPOSAL_DEADLINE_PREFIX: &[u8] = b"gx/";
/// Key of the next proposal number.
pub const PROPOSAL_SEQ: &[u8] = b"m/proposal_seq";
/// Key of the next warehouse receipt serial.
pub const RECEIPT_SEQ: &[u8] = b"m/receipt_seq";
/// Key of the next pledge registration number.
pub const PLEDGE_SEQ: &[u8] = b"m/pledge_seq";
/// Prefix of the pledge lapse queue.
pub const PLEDGE_LAPSE_PREFIX: &[u8] = b"px/";
/// Prefix of the certificate registry.
pub const CERTIFICATE_PREFIX: &[u8] = b"cr/";
/// Prefix of the active certificates by expiry.
pub const CERTIFICATE_EXPIRY_PREFIX: &[u8] = b"cx/";

/// Index key of a rejected transaction's message.
pub fn rejection_message(tx_hash: &[u8; 32]) -> Vec<u8> {
    join(&[b"tm/", tx_hash])
}

fn join(parts: &[&[u8]]) -> Vec<u8> {
    let mut key = Vec::with_capacity(parts.iter().map(|p| p.len()).sum());
    for part in parts {
        key.extend_from_slice(part);
    }
    key
}

/// Key of an organisation.
pub fn organisation(org_id: &str) -> Vec<u8> {
    join(&[ORGANISATION_PREFIX, org_id.as_bytes()])
}

/// Key of a proposal.
pub fn proposal(proposal_id: &str) -> Vec<u8> {
    join(&[PROPOSAL_PREFIX, proposal_id.as_bytes()])
}

/// Prefix of a proposal's history.
pub fn proposal_events_prefix(proposal_id: &str) -> Vec<u8> {
    join(&[b"ge/", proposal_id.as_bytes(), b"/"])
}

/// Key of one event in a proposal's history.
pub fn proposal_event(proposal_id: &str, position: EventPosition) -> Vec<u8> {
    join(&[&proposal_events_prefix(proposal_id), &position.bytes()])
}

/// Key of an open proposal's place in the deadline queue.
pub fn proposal_deadline(deadline_ms: u64, proposal_id: &str) -> Vec<u8> {
    join(&[
        PROPOSAL_DEADLINE_PREFIX,
        &deadline_ms.to_be_bytes(),
        b"/",
        proposal_id.as_bytes(),
    ])
}

/// Splits a deadline queue key into its deadline and proposal id; `None` if it is not one.
pub fn parse_proposal_deadline(key: &[u8]) -> Option<(u64, String)> {
    let rest = key.strip_prefix(PROPOSAL_DEADLINE_PREFIX)?;
    let deadline_ms = u64::from_be_bytes(rest.get(..8)?.try_into().ok()?);
    let id = rest.get(8..)?.strip_prefix(b"/")?;
    Some((deadline_ms, String::from_utf8(id.to_vec()).ok()?))
}

/// Key of an IoT device.
pub fn device(device_id: &str) -> Vec<u8> {
    join(&[b"dv/", device_id.as_bytes()])
}

/// Key of a device public key's binding to its device.
pub fn device_key_binding(public_key: &[u8]) -> Vec<u8> {
    join(&[b"dk/", hex::encode(public_key).as_bytes()])
}

/// Key of a warehouse receipt.
pub fn receipt(receipt_id: &str) -> Vec<u8> {
    join(&[b"w/", receipt_id.as_bytes()])
}

/// Key of a pledge registration.
pub fn pledge(registration_number: &str) -> Vec<u8> {
    join(&[b"pl/", registration_number.as_bytes()])
}

/// Key of an asset's active pledge.
pub fn asset_pledge(asset_kind: &str, asset_id: &str) -> Vec<u8> {
    join(&[b"pa/", asset_kind.as_bytes(), b"/", asset_id.as_bytes()])
}

/// Key of an active pledge's place in the lapse queue: it lapses at the start of `day`.
pub fn pledge_lapse(day: u32, registration_number: &str) -> Vec<u8> {
    join(&[
        PLEDGE_LAPSE_PREFIX,
        &day.to_be_bytes(),
        b"/",
        registration_number.as_bytes(),
    ])
}

/// Splits a lapse queue key into its day and registration number; `None` if it is not one.
pub fn parse_pledge_lapse(key: &[u8]) -> Option<(u32, String)> {
    let rest = key.strip_prefix(PLEDGE_LAPSE_PREFIX)?;
    let day = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?);
    let number = rest.get(4..)?.strip_prefix(b"/")?;
    Some((day, String::from_utf8(number.to_vec()).ok()?))
}

/// Prefix of the certificates organisation `org_id` registered.
pub fn certificates_prefix(org_id: &str) -> Vec<u8> {
    join(&[CERTIFICATE_PREFIX, org_id.as_bytes(), b"/"])
}

/// Key of a certificate record: organisation and serial (DER INTEGER content octets).
pub fn certificate(org_id: &str, serial: &[u8]) -> Vec<u8> {
    join(&[&certificates_prefix(org_id), hex::encode(serial).as_bytes()])
}

/// Key of an active certificate's place in the expiry queue.
pub fn certificate_expiry(not_after_ms: u64, org_id: &str, serial: &[u8]) -> Vec<u8> {
    join(&[
        CERTIFICATE_EXPIRY_PREFIX,
        &not_after_ms.to_be_bytes(),
        b"/",
        org_id.as_bytes(),
        b"/",
        hex::encode(serial).as_bytes(),
    ])
}

/// Splits an expiry queue key into its notAfter, organisation and serial hex; `None` if it is
/// not one.
pub fn parse_certificate_expiry(key: &[u8]) -> Option<(u64, String, String)> {
    let rest = key.strip_prefix(CERTIFICATE_EXPIRY_PREFIX)?;
    let not_after_ms = u64::from_be_bytes(rest.get(..8)?.try_into().ok()?);
    let rest = std::str::from_utf8(rest.get(8..)?.strip_prefix(b"/")?).ok()?;
    let (org_id, serial) = rest.split_once('/')?;
    Some((not_after_ms, org_id.to_owned(), serial.to_owned()))
}

/// Key of an identity.
pub fn identity(uscc: &str) -> Vec<u8> {
    join(&[b"i/", uscc.as_bytes()])
}

/// Key of an account.
pub fn account(account_id: &str) -> Vec<u8> {
    join(&[b"a/", account_id.as_bytes()])
}

/// Key of a public key's binding to its account.
pub fn key_binding(public_key: &[u8]) -> Vec<u8> {
    join(&[b"k/", hex::encode(public_key).as_bytes()])
}

/// Key of the credit line `financier` granted to `core`.
pub fn credit_line(financier: &str, core: &str) -> Vec<u8> {
    join(&[b"c/", financier.as_bytes(), b"/", core.as_bytes()])
}

/// Key of a voucher.
pub fn voucher(voucher_id: &str) -> Vec<u8> {
    join(&[b"v/", voucher_id.as_bytes()])
}

/// Prefix of a voucher's history.
pub fn voucher_events_prefix(voucher_id: &str) -> Vec<u8> {
    join(&[b"e/", voucher_id.as_bytes(), b"/"])
}

/// Key of the number of events in a voucher's (or warehouse receipt's) history: u64
/// big-endian, counted up by every event written under [`voucher_events_prefix`] and never
/// down (events are never deleted). Outside that prefix, so a scan of the history never meets
/// it.
pub fn voucher_event_count(voucher_id: &str) -> Vec<u8> {
    join(&[b"ec/", voucher_id.as_bytes()])
}

/// Reads a value stored under [`voucher_event_count`]; `None` unless it is exactly 8 bytes.
pub fn decode_event_count(value: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(value.try_into().ok()?))
}

/// Position of an event in the chain: block height, transaction index, event index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct EventPosition {
    /// Block height.
    pub height: u64,
    /// Index of the transaction in the block; `u32::MAX` for the chain's own actions.
    pub tx_index: u32,
    /// Index of the event among those of the transaction.
    pub event_index: u16,
}

impl EventPosition {
    /// Length of [`Self::bytes`].
    pub const LEN: usize = 14;

    /// The position as it ends an event key: big-endian height, transaction and event index,
    /// so that keys sort in chain order.
    pub fn bytes(&self) -> [u8; 14] {
        let mut out = [0u8; 14];
        out[..8].copy_from_slice(&self.height.to_be_bytes());
        out[8..12].copy_from_slice(&self.tx_index.to_be_bytes());
        out[12..].copy_from_slice(&self.event_index.to_be_bytes());
        out
    }
}

impl EventPosition {
    /// Reads back [`Self::bytes`]; `None` unless `bytes` is exactly [`Self::LEN`] long.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        if bytes.len() != Self::LEN {
            return None;
        }
        Some(Self {
            height: u64::from_be_bytes(bytes[..8].try_into().ok()?),
            tx_index: u32::from_be_bytes(bytes[8..12].try_into().ok()?),
            event_index: u16::from_be_bytes(bytes[12..].try_into().ok()?),
        })
    }
}

/// Key of one event in a voucher's history.
pub fn voucher_event(voucher_id: &str, position: EventPosition) -> Vec<u8> {
    join(&[&voucher_events_prefix(voucher_id), &position.bytes()])
}

/// Key of one audit log entry.
pub fn audit_event(position: EventPosition) -> Vec<u8> {
    join(&[AUDIT_PREFIX, &position.bytes()])
}

/// Index prefix of the audit log entries that name account `account_id`.
pub fn audit_account_index_prefix(account_id: &str) -> Vec<u8> {
    join(&[b"la/", account_id.as_bytes(), b"/"])
}

/// Index key of the audit log entry at `position` under account `account_id`.
pub fn audit_account_index(account_id: &str, position: EventPosition) -> Vec<u8> {
    join(&[&audit_account_index_prefix(account_id), &position.bytes()])
}

/// Index prefix of the audit log entries that concern organisation `org_id`.
pub fn audit_org_index_prefix(org_id: &str) -> Vec<u8> {
    join(&[b"lo/", org_id.as_bytes(), b"/"])
}

/// Index key of the audit log entry at `position` under organisation `org_id`.
pub fn audit_org_index(org_id: &str, position: EventPosition) -> Vec<u8> {
    join(&[&audit_org_index_prefix(org_id), &position.bytes()])
}

/// Key of a trade document by kind and number.
pub fn trade_document(kind: &str, number: &str) -> Vec<u8> {
    join(&[b"d/", kind.as_bytes(), b"/", number.as_bytes()])
}

/// Key of a trade document by content hash.
pub fn trade_document_hash(hash: &[u8]) -> Vec<u8> {
    join(&[b"dh/", hex::encode(hash).as_bytes()])
}

/// Key of a voucher's place in the expiry queue.
pub fn expiry(day: u32, voucher_id: &str) -> Vec<u8> {
    join(&[
        EXPIRY_PREFIX,
        &day.to_be_bytes(),
        b"/",
        voucher_id.as_bytes(),
    ])
}

/// Splits an expiry key into its day and voucher id; `None` if it is not one.
pub fn parse_expiry(key: &[u8]) -> Option<(u32, String)> {
    let rest = key.strip_prefix(EXPIRY_PREFIX)?;
    let day = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?);
    let id = rest.get(4..)?.strip_prefix(b"/")?;
    Some((day, String::from_utf8(id.to_vec()).ok()?))
}

/// Index prefix of the vouchers held by `holder`.
pub fn holder_index_prefix(holder: &str) -> Vec<u8> {
    join(&[b"h/", holder.as_bytes(), b"/"])
}

/// Index key of `voucher_id` held by `holder`.
pub fn holder_index(holder: &str, voucher_id: &str) -> Vec<u8> {
    join(&[&holder_index_prefix(holder), voucher_id.as_bytes()])
}

/// Index prefix of the vouchers issued by `issuer`.
pub fn issuer_index_prefix(issuer: &str) -> Vec<u8> {
    join(&[b"s/", issuer.as_bytes(), b"/"])
}

/// Index key of `voucher_id` issued by `issuer`.
pub fn issuer_index(issuer: &str, voucher_id: &str) -> Vec<u8> {
    join(&[&issuer_index_prefix(issuer), voucher_id.as_bytes()])
}

/// The voucher id at the end of an index key built by [`holder_index`] or [`issuer_index`].
pub fn voucher_id_from_index(prefix: &[u8], key: &[u8]) -> Option<String> {
    String::from_utf8(key.strip_prefix(prefix)?.to_vec()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_keys_sort_by_day_then_id_and_parse_back() {
        let a = expiry(20_000, "V000000000002");
        let b = expiry(20_001, "V000000000001");
        assert!(a < b, "an earlier day must sort first whatever the id");
        assert_eq!(parse_expiry(&a), Some((20_000, "V000000000002".to_owned())));
        assert_eq!(parse_expiry(b"x/ab"), None);
        assert_eq!(parse_expiry(b"v/V1"), None);
    }

    #[test]
    fn proposal_deadline_keys_sort_by_deadline_and_parse_back() {
        let a = proposal_deadline(1_000, "P000000000002");
        let b = proposal_deadline(1_001, "P000000000001");
        assert!(a < b);
        assert_eq!(
            parse_proposal_deadline(&a),
            Some((1_000, "P000000000002".to_owned()))
        );
        assert_eq!(parse_proposal_deadline(b"gx/1234"), None);
        // The proposal, history and queue families do not overlap.
        assert!(!proposal("P1").starts_with(PROPOSAL_DEADLINE_PREFIX));
        assert!(!proposal_events_prefix("P1").starts_with(PROPOSAL_PREFIX));
        assert!(!a.starts_with(PROPOSAL_PREFIX));
    }

    #[test]
    fn certificate_keys_sort_by_expiry_and_parse_back() {
        let a = certificate_expiry(1_000, "bank-b", &[0x01]);
        let b = certificate_expiry(1_001, "bank-a", &[0x02]);
        assert!(a < b);
        assert_eq!(
            parse_certificate_expiry(&a),
            Some((1_000, "bank-b".to_owned(), "01".to_owned()))
        );
        assert_eq!(parse_certificate_expiry(b"cx/123"), None);
        assert_eq!(
            certificate("bank-a", &[0xab, 0x01]),
            b"cr/bank-a/ab01".to_vec()
        );
        // The certificate families overlap neither each other nor the credit lines (`c/`).
        assert!(!a.starts_with(CERTIFICATE_PREFIX));
        assert!(!certificate("bank-a", &[1]).starts_with(b"c/"));
        assert!(!a.starts_with(b"c/"));
    }

    #[test]
    fn event_keys_sort_in_chain_order() {
        let at = |height, tx_index, event_index| {
            voucher_event(
                "V1",
                EventPosition {
                    height,
                    tx_index,
                    event_index,
                },
            )
        };
        assert!(at(1, 5, 9) < at(2, 0, 0));
        assert!(at(2, 0, 9) < at(2, 1, 0));
        assert!(at(2, 1, 0) < at(2, 1, 1));
        assert!(
            at(2, 7, 0) < at(2, u32::MAX, 0),
            "chain actions sort after the block's transactions"
        );
        assert!(at(9, 0, 0).starts_with(&voucher_events_prefix("V1")));
    }

    #[test]
    fn index_keys_round_trip() {
        let key = holder_index("acme-01", "V000000000007");
        assert_eq!(
            voucher_id_from_index(&holder_index_prefix("acme-01"), &key).as_deref(),
            Some("V000000000007")
        );
        // A holder whose id extends another's must not share its prefix.
        assert!(!holder_index("acme-011", "V1").starts_with(&holder_index_prefix("acme-01")));
    }
}
