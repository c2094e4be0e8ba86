//! Reading a whole trace a page at a time: a node answers `TraceVoucher` in pages (at most
//! `vchain_contracts::trace::TRACE_PAGE_MAX` vouchers each), and a reader that wants the whole
//! lineage follows `next_page_token` until it is empty.

use std::future::Future;

use vchain_contracts::trace::{TRACE_PAGE_MAX, TRACE_VOUCHERS_MAX};
use vchain_proto::v1::TraceVoucherResponse;

/// Most pages one whole trace reads: a lineage is cut at [`TRACE_VOUCHERS_MAX`] vouchers, as
/// the node's own whole trace is.
pub const TRACE_PAGES_MAX: usize = TRACE_VOUCHERS_MAX.div_ceil(TRACE_PAGE_MAX);

/// What [`whole_trace`] asks for each page: the largest a node serves.
pub const TRACE_PAGE_SIZE: u32 = TRACE_PAGE_MAX as u32;

const _: () = assert!(TRACE_PAGE_MAX <= u32::MAX as usize);

/// The whole lineage, read with `page(token)` from the first page (token empty) on, following
/// each page's `next_page_token`; at most [`TRACE_PAGES_MAX`] pages. The answer is the first
/// page with every later page's vouchers appended, at the last page's height, and
/// `next_page_token` empty unless the lineage was cut.
pub async fn whole_trace<F, Fut, E>(mut page: F) -> Result<TraceVoucherResponse, E>
where
    F: FnMut(String) -> Fut,
    Fut: Future<Output = Result<TraceVoucherResponse, E>>,
{
    let mut whole = page(String::new()).await?;
    for _ in 1..TRACE_PAGES_MAX {
        if whole.next_page_token.is_empty() {
            break;
        }
        let next = page(std::mem::take(&mut whole.next_page_token)).await?;
        whole.vouchers.extend(next.vouchers);
        whole.height = next.height;
        whole.next_page_token = next.next_page_token;
    }
    Ok(whole)
}

#[cfg(test)]
mod tests {
    use super::*;
    use vchain_proto::v1::{TracedVoucher, Voucher};

    fn page(ids: &[&str], next: &str, height: u64) -> TraceVoucherResponse {
        TraceVoucherResponse {
            voucher_id: "V3".into(),
            root_id: "V1".into(),
            vouchers: ids
                .iter()
                .map(|id| TracedVoucher {
                    voucher: Some(Voucher {
                        id: (*id).into(),
                        ..Voucher::default()
                    }),
                    ..TracedVoucher::default()
                })
                .collect(),
            height,
            next_page_token: next.into(),
        }
    }

    fn ids(trace: &TraceVoucherResponse) -> Vec<String> {
        trace
            .vouchers
            .iter()
            .map(|t| t.voucher.as_ref().expect("voucher").id.clone())
            .collect()
    }

    #[tokio::test]
    async fn pages_are_followed_in_order_until_the_last() {
        let mut asked = Vec::new();
        let whole = whole_trace(|token| {
            asked.push(token.clone());
            let answer = match token.as_str() {
                "" => page(&["V1", "V2"], "V2", 7),
                "V2" => page(&["V3", "V4"], "V4", 8),
                "V4" => page(&["V5"], "", 9),
                other => panic!("asked for {other}"),
            };
            async move { Ok::<_, String>(answer) }
        })
        .await
        .expect("traced");
        assert_eq!(asked, ["", "V2", "V4"]);
        assert_eq!(ids(&whole), ["V1", "V2", "V3", "V4", "V5"]);
        assert_eq!((whole.height, whole.next_page_token.as_str()), (9, ""));
    }

    #[tokio::test]
    async fn an_error_on_any_page_is_the_answer_and_pages_are_bounded() {
        let failed = whole_trace(|token| async move {
            match token.as_str() {
                "" => Ok(page(&["V1"], "V1", 1)),
                _ => Err("node gone".to_owned()),
            }
        })
        .await;
        assert_eq!(failed.expect_err("second page fails"), "node gone");
        // A node that never says "last page" is read at most TRACE_PAGES_MAX times.
        let mut calls = 0;
        let endless = whole_trace(|_| {
            calls += 1;
            async move { Ok::<_, String>(page(&["V1"], "V1", 1)) }
        })
        .await
        .expect("bounded");
        assert_eq!(calls, TRACE_PAGES_MAX);
        assert_eq!(endless.vouchers.len(), TRACE_PAGES_MAX);
        assert_eq!(endless.next_page_token, "V1", "cut, and says so");
    }
}
