//! Single-node execution throughput: signed transfer and split transactions per second through
//! the node's whole block pipeline (batch signature verification, execution, state tree update,
//! sealing and one synced RocksDB commit per block).
//!
//! `cargo test --workspace --locked --release --bench execution -- --bench` (env: BENCH_BLOCKS,
//! BENCH_BLOCK_TXS; BENCH_CEILING=0 skips measuring the machine's ceiling first;
//! BENCH_WRITE_BEHIND=0 commits each block before the next one starts, instead of writing it
//! behind the next one's execution).
//! Bounded: BENCH_BLOCKS blocks of BENCH_BLOCK_TXS transactions per scenario.

use std::time::{Duration, Instant};

use vchain_benches::ceiling::Ceiling;
use vchain_benches::BenchChain;
use vchain_contracts::genesis::Params;
use vchain_proto::v1::transaction_body::Operation;
use vchain_proto::v1::{SignedTransaction, SplitVoucher, TransferVoucher};

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

struct Report {
    name: &'static str,
    timings: Vec<Duration>,
    txs: usize,
    phases: [Duration; 3],
}

impl Report {
    fn print(&mut self, ceiling: Option<&Ceiling>) {
        self.timings.sort();
        let total: Duration = self.timings.iter().sum();
        let [execute, tree, commit] = self
            .phases
            .map(|d| d.as_secs_f64() * 1e3 / self.timings.len() as f64);
        println!(
            "{:<10} mean per block: execute (incl. signatures) {execute:.1} ms, state tree {tree:.1} ms, seal + commit {commit:.1} ms",
            self.name
        );
        let pct = |p: f64| self.timings[((self.timings.len() - 1) as f64 * p).round() as usize];
        println!(
            "{:<10} blocks={:<4} txs={:<7} tx/s={:>8.0}  block p50={:>7.1}ms p95={:>7.1}ms max={:>7.1}ms",
            self.name,
            self.timings.len(),
            self.txs,
            self.txs as f64 / total.as_secs_f64(),
            pct(0.5).as_secs_f64() * 1e3,
            pct(0.95).as_secs_f64() * 1e3,
            self.timings.last().map_or(0.0, |d| d.as_secs_f64() * 1e3),
        );
        if let Some(ceiling) = ceiling {
            let tx_per_s = self.txs as f64 / total.as_secs_f64();
            println!(
                "{:<10} {:.1}% of this machine's signature-verification ceiling ({:.0} tx/s on {} cores)",
                "",
                ceiling.share_of_verification(tx_per_s) * 100.0,
                ceiling.verify_batch_per_s * ceiling.cores as f64,
                ceiling.cores
            );
        }
    }
}

/// Waits for the scenario's last block to be durable and counts the wait in it and in its
/// commit phase, so a scenario's time ends when all of it is durable.
fn settle(chain: &BenchChain, report: &mut Report) {
    let waited = chain.settle();
    if let Some(last) = report.timings.last_mut() {
        *last += waited;
    }
    report.phases[2] += waited;
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    format!("{cpu}, {cores} cores")
}

fn main() {
    // `cargo test --benches` passes `--bench`-less args; run a tiny smoke version then.
    let smoke = !std::env::args().any(|a| a == "--bench");
    let blocks = if smoke {
        2
    } else {
        env_usize("BENCH_BLOCKS", 20)
    };
    let block_txs = if smoke {
        50
    } else {
        env_usize("BENCH_BLOCK_TXS", 1_000)
    };
    let suppliers = block_txs * 2;
    let write_behind = env_usize("BENCH_WRITE_BEHIND", 1) != 0;
    println!("vchain execution benchmark on {}", machine());
    println!("pipeline per block: batch ed25519 verify + execute + state tree + seal + synced RocksDB commit");
    println!(
        "{}",
        if write_behind {
            "each block's synced write runs behind the next block's execution and tree (RocksLedger::stage_block)"
        } else {
            "each block is durable before the next starts (RocksLedger::commit_block)"
        }
    );
    println!("{blocks} blocks x {block_txs} txs per scenario, {suppliers} suppliers\n");

    let dir = tempfile::tempdir().expect("tempdir");
    // Measured in the same run, so the figures below can be read as a share of it.
    // BENCH_CEILING=0 skips it (profiling the pipeline alone).
    let ceiling = (!smoke && env_usize("BENCH_CEILING", 1) != 0)
        .then(|| Ceiling::measure(dir.path()).expect("machine ceiling"));
    if let Some(ceiling) = &ceiling {
        println!("{ceiling}");
    }
    let params = Params {
        block_tx_max: block_txs as u32,
        min_split_amount: 1,
        ..Params::default()
    };
    let mut chain = BenchChain::new(dir.path(), suppliers as u32, params);
    let face = 1u64 << 40;
    let mut vouchers: Vec<(String, String)> = chain
        .issue_to_all(face, block_txs)
        .into_iter()
        .zip(chain.suppliers.clone())
        .collect();
    let mut amounts = vec![face; vouchers.len()];

    // Transfers: voucher i moves from its holder to the next supplier each block.
    let mut transfers = Report {
        name: "transfer",
        timings: Vec::new(),
        txs: 0,
        phases: [Duration::ZERO; 3],
    };
    let supplier_ids = chain.suppliers.clone();
    for round in 0..blocks {
        let start = (round * block_txs) % vouchers.len();
        let mut txs: Vec<SignedTransaction> = Vec::with_capacity(block_txs);
        for slot in 0..block_txs {
            let index = (start + slot) % vouchers.len();
            let (voucher, holder) = vouchers[index].clone();
            let to = supplier_ids[(supplier_ids.iter().position(|s| *s == holder).unwrap_or(0)
                + 1)
                % supplier_ids.len()]
            .clone();
            txs.push(chain.sign(
                &holder,
                Operation::TransferVoucher(TransferVoucher {
                    voucher_id: voucher.clone(),
                    to: to.clone(),
                    agreement_hash: vec![7; 32],
                    consideration: None,
                }),
            ));
            vouchers[index].1 = to;
        }
        let (timing, _) = chain.run_block(txs, write_behind);
        assert_eq!(timing.rejected, 0, "benchmark transfers must all succeed");
        transfers.timings.push(timing.total);
        transfers.phases[0] += timing.execute;
        transfers.phases[1] += timing.tree;
        transfers.phases[2] += timing.commit;
        transfers.txs += timing.txs;
    }
    settle(&chain, &mut transfers);
    transfers.print(ceiling.as_ref());

    // Splits: each live voucher splits in two; the first child replaces it.
    let mut splits = Report {
        name: "split",
        timings: Vec::new(),
        txs: 0,
        phases: [Duration::ZERO; 3],
    };
    for round in 0..blocks {
        let start = (round * block_txs) % vouchers.len();
        let mut txs = Vec::with_capacity(block_txs);
        let mut order = Vec::with_capacity(block_txs);
        for slot in 0..block_txs {
            let index = (start + slot) % vouchers.len();
            let (voucher, holder) = vouchers[index].clone();
            let half = amounts[index] / 2;
            txs.push(chain.sign(
                &holder,
                Operation::SplitVoucher(SplitVoucher {
                    voucher_id: voucher,
                    amounts: vec![half, amounts[index] - half],
                }),
            ));
            amounts[index] = half;
            order.push(index);
        }
        let (timing, block) = chain.run_block(txs, write_behind);
        assert_eq!(
            timing.rejected,
            0,
            "benchmark splits must all succeed: {:?}",
            block.results.iter().find(|r| r.code != 0)
        );
        for (index, result) in order.into_iter().zip(&block.results) {
            let child = result
                .events
                .iter()
                .find(|e| e.kind() == vchain_proto::v1::EventKind::VoucherCreatedBySplit)
                .expect("child");
            vouchers[index].0 = child.voucher_id.clone();
        }
        splits.timings.push(timing.total);
        splits.phases[0] += timing.execute;
        splits.phases[1] += timing.tree;
        splits.phases[2] += timing.commit;
        splits.txs += timing.txs;
    }
    settle(&chain, &mut splits);
    splits.print(ceiling.as_ref());

    // Signature verification alone, for scale.
    let txs: Vec<SignedTransaction> = (0..block_txs)
        .map(|i| {
            chain.sign(
                &supplier_ids[i % supplier_ids.len()],
                Operation::SplitVoucher(SplitVoucher::default()),
            )
        })
        .collect();
    let started = Instant::now();
    let valid = vchain_contracts::execute::verify_signatures(&txs);
    let elapsed = started.elapsed();
    assert!(valid.iter().all(|v| *v));
    println!(
        "{:<10} {} signatures in one batch: {:.1} ms ({:.0} sig/s)",
        "verify",
        txs.len(),
        elapsed.as_secs_f64() * 1e3,
        txs.len() as f64 / elapsed.as_secs_f64()
    );
}
