//! Read latency on the node, in-process over RocksDB: a trace of a voucher a thousand splits
//! deep (a page, and the whole lineage a page at a time) and the pages of a holder of 10,000
//! vouchers, each timed as the node computes a `TraceVoucher` or `ListVouchers` answer
//! (`vchain_contracts::trace::trace_page`, `vchain_node::listing::vouchers_page`), from a
//! snapshot, without gRPC.
//!
//! `cargo test --workspace --locked --release --bench reads -- --bench` (env: BENCH_DEPTH,
//! default 1,000 splits; BENCH_HOLDINGS, default 10,000 vouchers; BENCH_READS, default 200
//! repetitions of each read). Bounded by those counts.

use std::time::{Duration, Instant};

use vchain_benches::BenchChain;
use vchain_contracts::genesis::Params;
use vchain_contracts::keys;
use vchain_contracts::trace::{trace, trace_page, TRACE_PAGE_DEFAULT, TRACE_PAGE_MAX};
use vchain_node::listing::{vouchers_page, PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX};

/// The node program's allocator (`vchain-node` uses jemalloc), so the pipeline measured here
/// allocates as the node does.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs `read` `times` times and prints its median, p99 and worst in milliseconds.
fn time(name: &str, times: usize, mut read: impl FnMut() -> usize) {
    let mut timings: Vec<Duration> = Vec::with_capacity(times);
    let mut items = 0;
    for _ in 0..times {
        let started = Instant::now();
        items = read();
        timings.push(started.elapsed());
    }
    timings.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let at = |p: f64| timings[((timings.len() - 1) as f64 * p).round() as usize];
    println!(
        "{name:<52} items={items:<6} p50={:>7.3}ms p99={:>7.3}ms max={:>7.3}ms",
        ms(at(0.5)),
        ms(at(0.99)),
        ms(timings[timings.len() - 1]),
    );
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let depth = env_usize("BENCH_DEPTH", 1_000);
    let holdings = env_usize("BENCH_HOLDINGS", 10_000);
    let reads = env_usize("BENCH_READS", 200).max(1);
    let dir = tempfile::tempdir().expect("tempdir");
    // The bench genesis starts on the newest rules: lineages up to 1,024 deep.
    let mut chain = BenchChain::new(dir.path(), 2, Params::default());
    let payer = chain.suppliers[0].clone();
    let collector = chain.suppliers[1].clone();

    // A supplier pays `depth` sub-suppliers one at a time from one voucher.
    let setup = Instant::now();
    let root = chain.issue_to(std::slice::from_ref(&payer), 100 * (depth as u64 + 2), 1)[0].clone();
    let mut deepest = root.clone();
    for _ in 0..depth {
        deepest = chain.split_off(&payer, &deepest, 100).1;
    }
    assert_eq!(chain.voucher(&deepest).depth as usize, depth);
    // A supplier holding `holdings` vouchers.
    let held = chain.issue_to(&vec![collector.clone(); holdings], 1_000, 1_000);
    assert_eq!(held.len(), holdings);
    println!(
        "setup: a lineage {depth} splits deep and a holder of {holdings} vouchers in {:.1} s",
        setup.elapsed().as_secs_f64()
    );

    let snapshot = chain.ledger.snapshot();
    time(
        &format!("trace, first page ({TRACE_PAGE_DEFAULT}) of {depth} deep"),
        reads,
        || {
            let page = trace_page(&snapshot, &deepest, "", TRACE_PAGE_DEFAULT)
                .expect("trace")
                .expect("voucher");
            page.vouchers.len()
        },
    );
    // Where a page in the middle of the lineage starts: after the voucher that ends the
    // first half (found once, outside the timing).
    let mut middle = String::new();
    while middle.is_empty() || chain.voucher(&middle).depth as usize * 2 < depth {
        let page = trace_page(&snapshot, &deepest, &middle, TRACE_PAGE_MAX)
            .expect("trace")
            .expect("voucher");
        let Some(last) = page.vouchers.last().and_then(|t| t.voucher.as_ref()) else {
            break;
        };
        middle = last.id.clone();
        if page.next_page_token.is_empty() {
            break;
        }
    }
    time(
        &format!("trace, a page ({TRACE_PAGE_DEFAULT}) from the middle"),
        reads,
        || {
            trace_page(&snapshot, &deepest, &middle, TRACE_PAGE_DEFAULT)
                .expect("trace")
                .expect("voucher")
                .vouchers
                .len()
        },
    );
    time(
        &format!("trace, whole lineage in pages of {TRACE_PAGE_MAX}"),
        reads,
        || {
            let mut token = String::new();
            let mut vouchers = 0;
            loop {
                let page = trace_page(&snapshot, &deepest, &token, TRACE_PAGE_MAX)
                    .expect("trace")
                    .expect("voucher");
                vouchers += page.vouchers.len();
                if page.next_page_token.is_empty() {
                    break vouchers;
                }
                token = page.next_page_token;
            }
        },
    );
    time("trace, whole lineage at once (bundles)", reads, || {
        trace(&snapshot, &deepest)
            .expect("trace")
            .expect("voucher")
            .vouchers
            .len()
    });

    let prefix = keys::holder_index_prefix(&collector);
    for page_size in [PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX] {
        // Every page of the holding, each timed.
        let mut timings = Vec::new();
        for _ in 0..reads.div_ceil(holdings.div_ceil(page_size)).max(1) {
            let mut token = String::new();
            loop {
                let started = Instant::now();
                let page =
                    vouchers_page(&snapshot, &prefix, &token, page_size, true).expect("listing");
                timings.push(started.elapsed());
                if page.next_page_token.is_empty() {
                    break;
                }
                token = page.next_page_token;
            }
        }
        timings.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let at = |p: f64| timings[((timings.len() - 1) as f64 * p).round() as usize];
        println!(
            "{:<52} pages={:<5} p50={:>7.3}ms p99={:>7.3}ms max={:>7.3}ms",
            format!("holder of {holdings}, live, pages of {page_size}"),
            timings.len(),
            ms(at(0.5)),
            ms(at(0.99)),
            ms(timings[timings.len() - 1]),
        );
    }
}
