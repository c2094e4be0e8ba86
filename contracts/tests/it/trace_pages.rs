//! A trace read a page at a time (`trace::trace_page`, and `trace::page_of` for a lineage read
//! whole): the pages in order are exactly the whole trace for every page size, a token names
//! the last voucher of the previous page and must belong to the lineage, and a page costs its
//! own vouchers (checked by counting state reads).

use std::cell::Cell;

use crate::common;

use common::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use vchain_contracts::trace::{
    page_of, trace, trace_page, TracePageError, TRACE_PAGE_DEFAULT, TRACE_PAGE_MAX,
};
use vchain_ledger::{LedgerError, StateReader};
use vchain_proto::v1::TraceVoucherResponse;

fn ids(trace: &TraceVoucherResponse) -> Vec<String> {
    trace
        .vouchers
        .iter()
        .map(|t| t.voucher.as_ref().expect("voucher").id.clone())
        .collect()
}

/// Every page of the trace of `voucher_id` with `page_size`, in order.
fn all_pages(
    state: &dyn StateReader,
    voucher_id: &str,
    page_size: usize,
) -> Vec<TraceVoucherResponse> {
    let mut pages = Vec::new();
    let mut token = String::new();
    loop {
        let page = trace_page(state, voucher_id, &token, page_size)
            .expect("page")
            .expect("voucher exists");
        assert!(page.vouchers.len() <= page_size);
        token = page.next_page_token.clone();
        pages.push(page);
        if token.is_empty() {
            return pages;
        }
        assert!(pages.len() <= 10_000, "pages never end");
    }
}

/// A lineage with branches: the root split in three, its middle piece in two, that piece's
/// second in four, and the root's last piece in two. Returns (root, a voucher deep inside).
fn branching_lineage(chain: &mut TestChain) -> (String, String) {
    chain.grant_line(10_000_000);
    let root = chain.issue(SUP1, 100_000, 30);
    let first = chain.split(SUP1, &root, &[10_000, 60_000, 30_000]);
    let middle = chain.split(SUP1, &first[1], &[20_000, 40_000]);
    let deep = chain.split(SUP1, &middle[1], &[10_000, 10_000, 10_000, 10_000]);
    chain.split(SUP1, &first[2], &[15_000, 15_000]);
    (root, deep[2].clone())
}

#[test]
fn pages_in_order_are_the_whole_trace_for_every_page_size() {
    let mut chain = TestChain::new();
    let (root, deep) = branching_lineage(&mut chain);
    let whole = trace(&chain.ledger, &deep).expect("trace").expect("exists");
    assert_eq!(whole.vouchers.len(), 1 + 3 + 2 + 4 + 2);
    for traced_from in [&root, &deep] {
        for page_size in 1..=whole.vouchers.len() + 1 {
            let pages = all_pages(&chain.ledger, traced_from, page_size);
            let joined: Vec<String> = pages.iter().flat_map(ids).collect();
            assert_eq!(joined, ids(&whole), "page size {page_size}");
            assert_eq!(pages.len(), whole.vouchers.len().div_ceil(page_size));
            for page in &pages {
                assert_eq!(page.root_id, root);
                assert_eq!(&page.voucher_id, traced_from);
            }
            // The histories are the whole trace's too.
            let events: Vec<usize> = pages
                .iter()
                .flat_map(|p| p.vouchers.iter().map(|t| t.events.len()))
                .collect();
            let whole_events: Vec<usize> = whole.vouchers.iter().map(|t| t.events.len()).collect();
            assert_eq!(events, whole_events);
            // And so are the pages cut from the whole lineage read at once.
            let mut token = String::new();
            let mut cut = Vec::new();
            loop {
                let page = page_of(whole.clone(), &token, page_size).expect("page");
                cut.extend(ids(&page));
                token = page.next_page_token;
                if token.is_empty() {
                    break;
                }
            }
            assert_eq!(cut, ids(&whole), "page_of, page size {page_size}");
        }
    }
    // An unsplit voucher is a page of one.
    let single = chain.issue(SUP2, 1_000, 30);
    let page = trace_page(&chain.ledger, &single, "", TRACE_PAGE_DEFAULT)
        .expect("page")
        .expect("exists");
    assert_eq!(ids(&page), [single]);
    assert_eq!(page.next_page_token, "");
    assert!(trace_page(&chain.ledger, "V999999", "", 1)
        .expect("reads")
        .is_none());
}

#[test]
fn a_page_token_must_name_a_voucher_of_the_same_lineage() {
    let mut chain = TestChain::new();
    let (_, deep) = branching_lineage(&mut chain);
    let other = chain.issue(SUP2, 1_000, 30);
    for token in [other.as_str(), "V999999", "not a voucher"] {
        let refused = trace_page(&chain.ledger, &deep, token, 4).expect_err("foreign token");
        assert!(
            matches!(&refused, TracePageError::BadPageToken { token: t, voucher_id } if t == token && *voucher_id == deep),
            "{refused}"
        );
        assert_eq!(
            refused.to_string(),
            format!("page token {token:?} is not a voucher of the lineage of {deep}")
        );
        let whole = trace(&chain.ledger, &deep).expect("trace").expect("exists");
        assert!(matches!(
            page_of(whole, token, 4),
            Err(TracePageError::BadPageToken { .. })
        ));
    }
    // The last voucher as a token: an empty last page.
    let whole = trace(&chain.ledger, &deep).expect("trace").expect("exists");
    let last = ids(&whole).pop().expect("vouchers");
    let page = trace_page(&chain.ledger, &deep, &last, 4)
        .expect("page")
        .expect("exists");
    assert!(page.vouchers.is_empty() && page.next_page_token.is_empty());
}

/// Counts the voucher records read through it.
struct CountingReader<'a> {
    inner: &'a dyn StateReader,
    reads: Cell<usize>,
}

impl StateReader for CountingReader<'_> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, LedgerError> {
        self.reads.set(self.reads.get() + 1);
        self.inner.get(key)
    }

    fn scan_prefix(
        &self,
        prefix: &[u8],
        start_after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>, LedgerError> {
        self.reads.set(self.reads.get() + 1);
        self.inner.scan_prefix(prefix, start_after, limit)
    }
}

#[test]
fn a_page_of_a_deep_lineage_costs_the_page_not_the_lineage() {
    let mut chain = chain_on_newest_rules();
    chain.grant_line(10_000_000);
    let root = chain.issue(SUP1, 100 * 300, 30);
    let mut deepest = root;
    for _ in 0..200 {
        let amount = chain.voucher(&deepest).amount;
        deepest = chain.split(SUP1, &deepest, &[100, amount - 100])[1].clone();
    }
    let counting = CountingReader {
        inner: &chain.ledger,
        reads: Cell::new(0),
    };
    let whole = trace(&counting, &deepest).expect("trace").expect("exists");
    assert_eq!(whole.vouchers.len(), 401);
    let whole_reads = counting.reads.replace(0);
    let page = trace_page(&counting, &deepest, "", 10)
        .expect("page")
        .expect("exists");
    assert_eq!(page.vouchers.len(), 10);
    let page_reads = counting.reads.replace(0);
    // Per voucher: its history, its record, and on the way back up from a leaf its parent
    // again; plus the traced voucher, the root and the voucher after the page.
    assert!(
        page_reads <= 3 * 10 + 3,
        "{page_reads} reads for a page of 10"
    );
    assert!(
        whole_reads > 10 * page_reads,
        "{whole_reads} vs {page_reads}"
    );
    // A page from the middle costs the same.
    let middle = ids(&whole)[200].clone();
    let page = trace_page(&counting, &deepest, &middle, 10)
        .expect("page")
        .expect("exists");
    assert_eq!(ids(&page), ids(&whole)[201..211]);
    assert!(
        counting.reads.get() <= 3 * 10 + 4,
        "{} reads",
        counting.reads.get()
    );
}

fn chain_on_newest_rules() -> TestChain {
    let mut genesis = common::genesis(vchain_contracts::genesis::Params::default());
    genesis.rules_version = vchain_contracts::RULES_VERSION_MAX;
    TestChain::from_genesis(genesis)
}

#[test]
fn random_lineages_page_into_their_whole_trace() {
    // Lineages grown by random splits (which voucher, how many pieces), traced from a random
    // voucher in random page sizes: the pages always join into the whole trace.
    let mut runner = TestRunner::new(Config {
        cases: 24,
        ..Config::default()
    });
    let plan = (
        proptest::collection::vec((any::<prop::sample::Index>(), 2usize..=4), 1..12),
        any::<prop::sample::Index>(),
        1usize..=TRACE_PAGE_MAX.min(9),
    );
    runner
        .run(&plan, |(splits, traced, page_size)| {
            let mut chain = TestChain::new();
            chain.grant_line(100_000_000);
            let root = chain.issue(SUP1, 1_000_000, 30);
            let mut live = vec![root.clone()];
            let mut all = vec![root];
            for (which, pieces) in splits {
                let parent = live.remove(which.index(live.len()));
                let amount = chain.voucher(&parent).amount;
                if amount < 100 * pieces as u64 {
                    live.push(parent);
                    continue;
                }
                let mut amounts = vec![amount / pieces as u64; pieces];
                amounts[0] += amount % pieces as u64;
                let children = chain.split(SUP1, &parent, &amounts);
                live.extend(children.iter().cloned());
                all.extend(children);
            }
            let traced = &all[traced.index(all.len())];
            let whole = trace(&chain.ledger, traced)
                .expect("trace")
                .expect("exists");
            prop_assert_eq!(whole.vouchers.len(), all.len());
            let joined: Vec<String> = all_pages(&chain.ledger, traced, page_size)
                .iter()
                .flat_map(ids)
                .collect();
            prop_assert_eq!(joined, ids(&whole));
            Ok(())
        })
        .expect("pages join into the whole trace");
}
