//! Listing a holder's or an issuer's vouchers a page at a time, from the secondary index
//! (`h/<holder>/<id>`, `i/<issuer>/<id>`): what `ListVouchers` answers, public so that the
//! benchmarks time exactly the node's reading (docs/benchmarks.md).
//!
//! A page costs its own vouchers: one index scan of at most `page_size + 1` entries per chunk
//! and one voucher read per entry; `live_only` skips ended vouchers chunk by chunk, so a page of
//! live vouchers among many ended ones costs the entries it passes, never the whole index.

use vchain_contracts::{keys, read_message, ExecError};
use vchain_ledger::LedgerSnapshot;
use vchain_proto::v1::{ListVouchersResponse, Voucher, VoucherStatus};

/// Vouchers in a page when the request names no size.
pub const PAGE_SIZE_DEFAULT: usize = 100;
/// Most vouchers in a page.
pub const PAGE_SIZE_MAX: usize = 1_000;

const _: () = assert!(1 <= PAGE_SIZE_DEFAULT && PAGE_SIZE_DEFAULT <= PAGE_SIZE_MAX);

/// A page that could not be read: the index or the state is unreadable or inconsistent.
#[derive(Debug, thiserror::Error)]
pub enum ListingError {
    /// The ledger failed to read.
    #[error("reading the voucher index: {0}")]
    Ledger(#[from] vchain_ledger::LedgerError),
    /// A voucher record is unreadable.
    #[error(transparent)]
    State(#[from] ExecError),
    /// The index names a voucher the state does not hold.
    #[error("index entry names missing voucher {0}")]
    MissingVoucher(String),
}

/// The page of vouchers under the index `prefix` (from [`keys::holder_index_prefix`] or
/// [`keys::issuer_index_prefix`]) after the voucher `page_token` names (empty: from the
/// first), at most `page_size` (1..=[`PAGE_SIZE_MAX`]) of them, only live ones (active or
/// redemption requested) if `live_only`; `next_page_token` is set when more may follow.
pub fn vouchers_page(
    snapshot: &LedgerSnapshot<'_>,
    prefix: &[u8],
    page_token: &str,
    page_size: usize,
    live_only: bool,
) -> Result<ListVouchersResponse, ListingError> {
    assert!(
        (1..=PAGE_SIZE_MAX).contains(&page_size),
        "a page holds 1..={PAGE_SIZE_MAX} vouchers, not {page_size}"
    );
    let mut vouchers: Vec<Voucher> = Vec::with_capacity(page_size);
    let mut after = (!page_token.is_empty()).then(|| [prefix, page_token.as_bytes()].concat());
    loop {
        let entries = snapshot.index_scan(prefix, after.as_deref(), page_size + 1)?;
        let exhausted = entries.len() <= page_size;
        for (key, _) in &entries {
            after = Some(key.clone());
            let Some(id) = keys::voucher_id_from_index(prefix, key) else {
                continue;
            };
            let voucher: Voucher = read_message(snapshot, &keys::voucher(&id), "Voucher")?
                .ok_or_else(|| ListingError::MissingVoucher(id.clone()))?;
            let live = matches!(
                voucher.status(),
                VoucherStatus::Active | VoucherStatus::RedemptionRequested
            );
            if live_only && !live {
                continue;
            }
            if vouchers.len() == page_size {
                let next_page_token = vouchers.last().map(|v| v.id.clone()).unwrap_or_default();
                return Ok(ListVouchersResponse {
                    vouchers,
                    next_page_token,
                });
            }
            vouchers.push(voucher);
        }
        if exhausted {
            return Ok(ListVouchersResponse {
                vouchers,
                next_page_token: String::new(),
            });
        }
    }
}
