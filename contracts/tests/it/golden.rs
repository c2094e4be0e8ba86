//! Golden vectors: a fixed genesis and three blocks whose roots and hashes are written here, so
//! that any change to what consensus hashes (an encoding, a field, an event, the order of the
//! chain's own step) fails loudly instead of forking a consortium whose members upgrade at
//! different times. `docs/golden-vectors.md` publishes the same values for third-party
//! verifiers; this test checks the document too.
//!
//! The chain is the contract tests' harness chain (`common`): keys from fixed seeds, genesis at
//! 2024-01-01T12:00:00+08:00, default parameters. Block 1 grants a credit line, issues a voucher
//! and carries a transfer refused by the rules (a sender who does not hold the voucher); block 2
//! splits the voucher; block 3, nine days after maturity, carries no transaction and the chain
//! destroys both pieces (system events).
//!
//! When a change to what is hashed is intended, regenerate with
//! `VCHAIN_WRITE_GOLDEN=1 cargo test --release --workspace --test it -- golden::` and update the constants below
//! from the written document, and say so in the change: every member must upgrade together.

use crate::common;

use common::{ops, TestChain, CORE, FINANCIER, SUP1, SUP2};
use prost::Message;
use vchain_contracts::block::{block_hash, check_body, seal, BlockDraft};
use vchain_contracts::tx::{tx_hash, Hash};
use vchain_proto::v1::{Block, ErrorCode};

/// The expected values: genesis state root, then for each block its roots, header and hash.
const GENESIS_STATE_ROOT: &str = "5116f91a4a67875e38f86da46877c3c9a6869a2c6fe6530e1d7ac8993ab99d4c";
const EXPECTED: [Expected; 3] = [
    Expected {
        tx_root: "248a27ba1cd3270724a62a6812973973ad50bad461089819fee702633a0d09f5",
        result_root: "1718596cdfc8db86a45d3172e62c3a1cb834235f93c7b205c0796e6e47e1d0ec",
        system_event_root: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        state_root: "3f884c7ee3e6284d9345bd9855c49b23c81bf863bd51578c2637eba868e4f91a",
        block_hash: "a8f126d7fecf609a81f7ce4fc9565c7ef62a0228d79e34da7e8c2f395efe889e",
    },
    Expected {
        tx_root: "92b9d505e8d1a0ffd1c77e70c7cb3ba58b2913d6b6c484c14f564e2752fe719f",
        result_root: "8022254ff801881b5d125c6f4fa155b04ea50de005a59ad94a06134e0237360f",
        system_event_root: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        state_root: "ce7d1240657fa5e05dffc612370021057205a6dded47732f59ed5d684fca1333",
        block_hash: "35e6ce633ae55cac19cd5c773df06b7fc671441161eee1932389687c2d64f7c5",
    },
    Expected {
        tx_root: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        result_root: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        system_event_root: "f8738bd57fbb4f26f3f5da284e94e991c6982c25492f926ab1ef7c594acdee95",
        state_root: "8beacb89bbf1e8d9dfb56c5656c08c5938c60d2321ea850208f55d1b1d39ae51",
        block_hash: "907ef4d5b174843426a0bc4d0319b93618797372af562997c5c65a03d89bf7b8",
    },
];

struct Expected {
    tx_root: &'static str,
    result_root: &'static str,
    system_event_root: &'static str,
    state_root: &'static str,
    block_hash: &'static str,
}

const DOCUMENT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/golden-vectors.md");

/// Executes the three blocks and seals them as a proposer named `node-a` would.
fn golden_blocks() -> (String, Vec<(Block, Hash)>) {
    let mut chain = TestChain::new();
    let genesis_root = hex::encode(chain.ledger.root());
    let mut prev_hash = [0u8; 32];
    let mut blocks = Vec::new();

    let grant = chain.tx(
        FINANCIER,
        ops::grant(&common::core_uscc(), "CNY", 1_000_000),
    );
    let issue_op = chain.issue_op(SUP1, 500_000, 2);
    let issue = chain.tx(CORE, issue_op);
    // Voucher ids are chain-assigned serials: the first is V000000000001.
    let refused = chain.tx(SUP2, ops::transfer("V000000000001", SUP2));
    let block_1 = vec![grant, issue, refused];
    let split =
        |chain: &TestChain| chain.tx(SUP1, ops::split("V000000000001", &[200_000, 300_000]));

    for height in 1..=3u64 {
        let transactions = match height {
            1 => block_1.clone(),
            2 => vec![split(&chain)],
            _ => {
                // Maturity was two days after block 1; the grace period is seven days.
                chain.advance_days(9);
                Vec::new()
            }
        };
        let timestamp_ms = chain.time_ms;
        let outcome = chain.block(transactions.clone());
        let draft = BlockDraft {
            chain_id: common::CHAIN_ID.into(),
            height,
            prev_hash,
            timestamp_ms,
            proposer: "node-a".into(),
        };
        let (block, hash) = seal(draft, transactions, &outcome, chain.ledger.root());
        check_body(&block).expect("a sealed block is consistent");
        prev_hash = hash;
        blocks.push((block, hash));
    }
    (genesis_root, blocks)
}

/// The published document, rendered from the computed blocks.
fn render(genesis_root: &str, blocks: &[(Block, Hash)]) -> String {
    let mut doc = String::from(
        "# Golden vectors\n\n\
         What a vchain node hashes, pinned: a fixed genesis and three blocks, with every root and\n\
         hash. A third-party verifier recomputes them from the block bytes below with SHA-256 and\n\
         protobuf alone (`proto/vchain/v1/types.proto`); `contracts/tests/it/golden.rs` computes them\n\
         with the node's own code and fails if either drifts.\n\n\
         - Block hash: SHA-256 of the encoded `BlockHeader`.\n\
         - `tx_root`, `result_root`, `system_event_root`: RFC 6962 Merkle tree hashes (leaf =\n\
         SHA-256(0x00 || data), node = SHA-256(0x01 || left || right), empty = SHA-256 of nothing)\n\
         over, in block order, the SHA-256 of each transaction body as signed, of each encoded\n\
         `TxResult` (its `message` empty: words are never hashed), of each encoded system `Event`.\n\
         - `state_root`: the binary sparse Merkle tree of the ledger crate (see `StateProof`).\n\n\
         The chain: the contract tests' harness genesis (`contracts/tests/it/common/mod.rs`: chain id\n\
         `vchain-test`, keys from fixed seeds, genesis time 1704081600000, default parameters).\n\
         Block 1 grants a credit line, issues voucher V000000000001 and carries a transfer by a\n\
         supplier that does not hold it (rejected: NOT_HOLDER); block 2 splits the voucher;\n\
         block 3, nine days after maturity, has no transaction and the chain destroys both pieces.\n\n",
    );
    doc.push_str(&format!("Genesis state root: `{genesis_root}`\n"));
    for (block, hash) in blocks {
        let header = block.header.as_ref().expect("header");
        doc.push_str(&format!("\n## Block {}\n\n", header.height));
        doc.push_str("| field | value |\n|---|---|\n");
        for (field, value) in [
            ("chain_id", header.chain_id.clone()),
            ("height", header.height.to_string()),
            ("prev_hash", hex::encode(&header.prev_hash)),
            ("timestamp_ms", header.timestamp_ms.to_string()),
            ("proposer", header.proposer.clone()),
            ("tx_count", header.tx_count.to_string()),
            ("tx_root", hex::encode(&header.tx_root)),
            ("result_root", hex::encode(&header.result_root)),
            ("system_event_root", hex::encode(&header.system_event_root)),
            ("state_root", hex::encode(&header.state_root)),
            ("block hash", hex::encode(hash)),
        ] {
            doc.push_str(&format!("| {field} | `{value}` |\n"));
        }
        for (index, (tx, result)) in block.transactions.iter().zip(&block.results).enumerate() {
            let code = ErrorCode::try_from(result.code).map_or("?", |c| c.as_str_name());
            doc.push_str(&format!(
                "\nTransaction {index}: hash `{}`, result {code}\n\n```\n{}\n```\n",
                hex::encode(tx_hash(&tx.body)),
                hex::encode(tx.encode_to_vec())
            ));
        }
        doc.push_str(&format!(
            "\nEncoded header:\n\n```\n{}\n```\n\nEncoded block ({} bytes):\n\n```\n{}\n```\n",
            hex::encode(header.encode_to_vec()),
            block.encoded_len(),
            hex::encode(block.encode_to_vec())
        ));
    }
    doc
}

#[test]
fn what_consensus_hashes_is_pinned() {
    let (genesis_root, blocks) = golden_blocks();
    let document = render(&genesis_root, &blocks);
    if std::env::var_os("VCHAIN_WRITE_GOLDEN").is_some() {
        std::fs::write(DOCUMENT, &document).expect("write docs/golden-vectors.md");
    }
    let mut computed = vec![format!("genesis state root {genesis_root}")];
    let mut expected = vec![format!("genesis state root {GENESIS_STATE_ROOT}")];
    for ((block, hash), want) in blocks.iter().zip(&EXPECTED) {
        let header = block.header.as_ref().expect("header");
        let height = header.height;
        computed.extend([
            format!("{height} tx_root {}", hex::encode(&header.tx_root)),
            format!("{height} result_root {}", hex::encode(&header.result_root)),
            format!(
                "{height} system_event_root {}",
                hex::encode(&header.system_event_root)
            ),
            format!("{height} state_root {}", hex::encode(&header.state_root)),
            format!("{height} block_hash {}", hex::encode(hash)),
        ]);
        expected.extend([
            format!("{height} tx_root {}", want.tx_root),
            format!("{height} result_root {}", want.result_root),
            format!("{height} system_event_root {}", want.system_event_root),
            format!("{height} state_root {}", want.state_root),
            format!("{height} block_hash {}", want.block_hash),
        ]);
        assert_eq!(block_hash(header), *hash);
    }
    assert_eq!(
        computed, expected,
        "what consensus hashes changed: every member must upgrade at once (see the module docs)"
    );
    let published = std::fs::read_to_string(DOCUMENT).expect("docs/golden-vectors.md exists");
    assert_eq!(
        published, document,
        "docs/golden-vectors.md is not what the code computes"
    );
}

#[test]
fn the_golden_chain_covers_a_rejection_and_system_events() {
    let (_, blocks) = golden_blocks();
    let codes: Vec<ErrorCode> = blocks[0].0.results.iter().map(|r| r.code()).collect();
    assert_eq!(codes, [ErrorCode::Ok, ErrorCode::Ok, ErrorCode::NotHolder]);
    assert!(blocks[0].0.results.iter().all(|r| r.message.is_empty()));
    assert_eq!(blocks[1].0.results[0].code(), ErrorCode::Ok);
    assert_eq!(blocks[2].0.transactions.len(), 0);
    assert_eq!(blocks[2].0.system_events.len(), 2, "both pieces destroyed");
}
