//! Tests of the persistent ledger: commits survive a reopen, refused commits write nothing,
//! reopening detects a head/tree mismatch, snapshots are isolated, proofs verify.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};
use tempfile::TempDir;
use vchain_proto::v1::BlockHeader;

use super::tree_pages::Page;
use super::*;
use crate::{root_of, verify_proof, MemoryLedger};

fn sha(bytes: &[u8]) -> Hash {
    Sha256::digest(bytes).into()
}

fn writes(entries: &[(&str, Option<&str>)]) -> WriteSet {
    entries
        .iter()
        .map(|(key, value)| {
            (
                key.as_bytes().to_vec(),
                value.map(|value| value.as_bytes().to_vec()),
            )
        })
        .collect()
}

/// An encoded block and its hash (SHA-256 of the encoded header).
fn block(height: u64, state_root: &Hash, tx_count: u32) -> (Vec<u8>, Hash) {
    let header = BlockHeader {
        chain_id: "test-chain".into(),
        height,
        timestamp_ms: 1_700_000_000_000u64.wrapping_add(height),
        state_root: state_root.to_vec(),
        tx_count,
        ..BlockHeader::default()
    };
    let hash = sha(&header.encode_to_vec());
    (
        Block {
            header: Some(header),
            ..Block::default()
        }
        .encode_to_vec(),
        hash,
    )
}

fn tx_hashes(height: u64, count: u32) -> Vec<Hash> {
    (0..count)
        .map(|index| sha(format!("tx {height}/{index}").as_bytes()))
        .collect()
}

/// Rewrites the ledger's tree as format 2 stored it, one node per entry in the `tree` family
/// with no pages, for a ledger whose whole state is `state`: the nodes a tree built from
/// nothing has (the shape is canonical, so they are those of any tree with this state).
fn store_tree_as_format_2(ledger: &RocksLedger, state: &WriteSet) {
    let nodes = tree::update(&MemoryLedger::new(), state).expect("tree of the state");
    ledger.wipe(CF_TREE_PAGES).expect("no pages");
    let mut batch = WriteBatch::default();
    for (path, node) in &nodes.node_writes {
        batch.put_cf(
            ledger.cf(CF_TREE).expect("cf"),
            path.encode(),
            node.expect("a tree from nothing deletes nothing").encode(),
        );
    }
    ledger.db.write(batch).expect("legacy nodes");
    ledger.writer.lock().expect("writer").clear();
}

/// Commits `state` at `height` and applies it to `memory`; asserts the committed root is the
/// in-memory tree's.
fn commit_as_in_memory(
    ledger: &RocksLedger,
    memory: &mut MemoryLedger,
    height: u64,
    state: &WriteSet,
) {
    let expected = memory.apply(state).expect("apply");
    commit(ledger, height, state, &WriteSet::new()).expect("commit");
    assert_eq!(
        ledger.head().expect("head").expect("head").state_root,
        expected,
        "height {height}"
    );
}

/// Prepares and commits a block at `height` with the given writes; returns its hash.
fn commit(
    ledger: &RocksLedger,
    height: u64,
    state: &WriteSet,
    index: &WriteSet,
) -> Result<Hash, LedgerError> {
    let tree = ledger.prepare_state(state)?;
    let txs = tx_hashes(height, 2);
    let (bytes, block_hash) = block(height, &tree.root, 2);
    ledger.commit_block(&BlockCommit {
        height,
        block_hash,
        state_root: tree.root,
        timestamp_ms: 1_700_000_000_000u64.wrapping_add(height),
        block_bytes: &bytes,
        tx_hashes: &txs,
        state_writes: state,
        tree: &tree,
        index_writes: index,
        certificate: None,
    })?;
    Ok(block_hash)
}

/// Prepares and stages block `height` with `state` on whatever the producer's caches hold;
/// returns the head it makes once durable.
fn stage(ledger: &RocksLedger, height: u64, state: &WriteSet) -> Result<ChainHead, LedgerError> {
    let tree = ledger.prepare_state(state)?;
    let txs = tx_hashes(height, 2);
    let (bytes, block_hash) = block(height, &tree.root, 2);
    let timestamp_ms = 1_700_000_000_000u64.wrapping_add(height);
    ledger.stage_block(&BlockCommit {
        height,
        block_hash,
        state_root: tree.root,
        timestamp_ms,
        block_bytes: &bytes,
        tx_hashes: &txs,
        state_writes: state,
        tree: &tree,
        index_writes: &WriteSet::new(),
        certificate: None,
    })?;
    Ok(ChainHead {
        height,
        block_hash,
        state_root: tree.root,
        timestamp_ms,
    })
}

fn all_state(reader: &dyn StateReader) -> BTreeMap<Vec<u8>, Vec<u8>> {
    reader
        .scan_prefix(b"", None, usize::MAX)
        .expect("scan")
        .into_iter()
        .collect()
}

#[test]
fn ledger_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<RocksLedger>();
    assert_send_sync::<LedgerSnapshot<'_>>();
}

#[test]
fn commit_and_reopen_keep_head_state_blocks_txs_and_index() {
    let dir = TempDir::new().expect("tempdir");
    let genesis_state = writes(&[
        ("account/a", Some("1")),
        ("account/b", Some("2")),
        ("voucher/1", Some("v1")),
    ]);
    let block1_state = writes(&[
        ("account/a", Some("10")),
        ("account/b", None),
        ("voucher/2", Some("v2")),
        ("absent", None),
    ]);
    let genesis_hash;
    let block1_hash;
    {
        let ledger = RocksLedger::open(dir.path()).expect("open");
        assert_eq!(ledger.head().expect("head"), None);
        genesis_hash = commit(
            &ledger,
            0,
            &genesis_state,
            &writes(&[("by-holder/a/1", Some(""))]),
        )
        .expect("genesis");
        block1_hash = commit(
            &ledger,
            1,
            &block1_state,
            &writes(&[("by-holder/a/2", Some("")), ("by-holder/a/1", None)]),
        )
        .expect("block 1");
    }

    let ledger = RocksLedger::open(dir.path()).expect("reopen");
    let head = ledger
        .head()
        .expect("head")
        .expect("a head after two commits");
    let expected_state = writes(&[
        ("account/a", Some("10")),
        ("voucher/1", Some("v1")),
        ("voucher/2", Some("v2")),
    ]);
    let expected_state: BTreeMap<Vec<u8>, Vec<u8>> = expected_state
        .into_iter()
        .map(|(key, value)| (key, value.expect("puts only")))
        .collect();
    assert_eq!(head.height, 1);
    assert_eq!(head.block_hash, block1_hash);
    assert_eq!(head.timestamp_ms, 1_700_000_000_001);
    assert_eq!(head.state_root, root_of(expected_state.iter()));
    assert_eq!(all_state(&ledger), expected_state);
    assert_eq!(ledger.get(b"account/b").expect("get"), None);

    // Same root as the in-memory ledger after the same blocks.
    let mut memory = MemoryLedger::new();
    memory.apply(&genesis_state).expect("apply");
    assert_eq!(memory.apply(&block1_state).expect("apply"), head.state_root);

    let block = ledger.block(1).expect("block").expect("block 1 stored");
    let header = block.header.expect("header");
    assert_eq!(header.height, 1);
    assert_eq!(header.state_root, head.state_root.to_vec());
    assert_eq!(
        ledger.block_bytes(0).expect("bytes"),
        Some(block_for(&ledger, 0))
    );
    assert_eq!(ledger.block(2).expect("block"), None);
    assert_eq!(ledger.height_of(&genesis_hash).expect("height"), Some(0));
    assert_eq!(ledger.height_of(&block1_hash).expect("height"), Some(1));
    assert_eq!(ledger.height_of(&[7; 32]).expect("height"), None);
    assert_eq!(
        ledger.tx_location(&tx_hashes(1, 2)[1]).expect("tx"),
        Some(TxLocation {
            height: 1,
            index: 1
        })
    );
    assert_eq!(
        ledger.tx_location(&tx_hashes(0, 2)[0]).expect("tx"),
        Some(TxLocation {
            height: 0,
            index: 0
        })
    );
    assert_eq!(ledger.tx_location(&[7; 32]).expect("tx"), None);
    let index = ledger.index_scan(b"by-holder/a/", None, 10).expect("index");
    assert_eq!(index, vec![(b"by-holder/a/2".to_vec(), Vec::new())]);
}

fn block_for(ledger: &RocksLedger, height: u64) -> Vec<u8> {
    ledger.block_bytes(height).expect("bytes").expect("stored")
}

#[test]
fn scans_honour_prefix_start_after_and_limit() {
    let dir = TempDir::new().expect("tempdir");
    let ledger = RocksLedger::open(dir.path()).expect("open");
    let state = writes(&[
        ("a", Some("")),
        ("b/1", Some("")),
        ("b/2", Some("")),
        ("b/3", Some("")),
        ("b0", Some("")),
        ("c", Some("")),
    ]);
    commit(&ledger, 0, &state, &state).expect("genesis");
    let keys = |entries: Vec<(Vec<u8>, Vec<u8>)>| {
        entries.into_iter().map(|(key, _)| key).collect::<Vec<_>>()
    };
    let memory = {
        let mut memory = MemoryLedger::new();
        memory.apply(&state).expect("apply");
        memory
    };
    type Case<'a> = (&'a [u8], Option<&'a [u8]>, usize);
    let cases: [Case<'_>; 6] = [
        (b"b/", None, 10),
        (b"b/", Some(b"b/1"), 10),
        (b"b/", Some(b"b/15"), 1),
        (b"b/", Some(b"a"), 10),
        (b"b/", Some(b"b/3"), 10),
        (b"", None, 2),
    ];
    for (prefix, start_after, limit) in cases {
        let expected = keys(
            memory
                .scan_prefix(prefix, start_after, limit)
                .expect("scan"),
        );
        assert_eq!(
            keys(
                ledger
                    .scan_prefix(prefix, start_after, limit)
                    .expect("scan")
            ),
            expected
        );
        assert_eq!(
            keys(ledger.index_scan(prefix, start_after, limit).expect("scan")),
            expected
        );
        assert_eq!(
            keys(
                ledger
                    .snapshot()
                    .scan_prefix(prefix, start_after, limit)
                    .expect("scan")
            ),
            expected
        );
    }
    assert_eq!(
        keys(ledger.scan_prefix(b"b/", Some(b"b/1"), 10).expect("scan")),
        [b"b/2".to_vec(), b"b/3".to_vec()]
    );
    assert!(ledger.scan_prefix(b"b/", None, 0).expect("scan").is_empty());
}

/// Everything a refused commit must leave untouched: head, state, index, block 1, tree root.
type Fingerprint = (
    Option<ChainHead>,
    BTreeMap<Vec<u8>, Vec<u8>>,
    Vec<Entry>,
    Option<Vec<u8>>,
    Hash,
);

fn fingerprint(ledger: &RocksLedger) -> Fingerprint {
    (
        ledger.head().expect("head"),
        all_state(ledger),
        ledger.index_scan(b"", None, usize::MAX).expect("index"),
        ledger.block_bytes(1).expect("block"),
        ledger.view().tree_root().expect("root"),
    )
}

#[test]
fn refused_commits_change_nothing() {
    let dir = TempDir::new().expect("tempdir");
    let ledger = RocksLedger::open(dir.path()).expect("open");
    let state = writes(&[("k", Some("v"))]);

    // Before genesis only height 0 is accepted.
    let error = commit(&ledger, 1, &state, &WriteSet::new()).expect_err("height 1 before genesis");
    assert!(
        matches!(
            error,
            LedgerError::HeightMismatch {
                expected: 0,
                got: 1
            }
        ),
        "{error}"
    );
    assert_eq!(ledger.head().expect("head"), None);
    assert_eq!(ledger.get(b"k").expect("get"), None);

    commit(&ledger, 0, &state, &writes(&[("i", Some(""))])).expect("genesis");
    let before = fingerprint(&ledger);
    let next = writes(&[("k", Some("w")), ("n", Some("x"))]);
    let index = writes(&[("j", Some(""))]);

    for height in [0, 2, u64::MAX] {
        let error = commit(&ledger, height, &next, &index).expect_err("wrong height");
        assert!(
            matches!(error, LedgerError::HeightMismatch { expected: 1, got } if got == height),
            "{error}"
        );
        assert_eq!(fingerprint(&ledger), before);
    }

    // A state root that is not the tree update's.
    let tree = ledger.prepare_state(&next).expect("prepare");
    let wrong_root = [0xAB; 32];
    let (bytes, block_hash) = block(1, &wrong_root, 0);
    let error = ledger
        .commit_block(&BlockCommit {
            height: 1,
            block_hash,
            state_root: wrong_root,
            timestamp_ms: 1,
            block_bytes: &bytes,
            tx_hashes: &[],
            state_writes: &next,
            tree: &tree,
            index_writes: &index,
            certificate: None,
        })
        .expect_err("wrong root");
    assert!(
        matches!(error, LedgerError::RootMismatch { expected, got } if expected == wrong_root && got == tree.root),
        "{error}"
    );
    assert!(
        error.to_string().contains("abababab"),
        "the message names the roots: {error}"
    );
    assert_eq!(fingerprint(&ledger), before);

    // A block hash already committed.
    let genesis_hash = ledger.head().expect("head").expect("genesis").block_hash;
    let (bytes, _) = block(1, &tree.root, 0);
    let error = ledger
        .commit_block(&BlockCommit {
            height: 1,
            block_hash: genesis_hash,
            state_root: tree.root,
            timestamp_ms: 1,
            block_bytes: &bytes,
            tx_hashes: &[],
            state_writes: &next,
            tree: &tree,
            index_writes: &index,
            certificate: None,
        })
        .expect_err("duplicate block hash");
    assert!(
        matches!(error, LedgerError::DuplicateBlock { height: 0, .. }),
        "{error}"
    );
    assert_eq!(fingerprint(&ledger), before);

    // A tree update prepared before another commit.
    commit(&ledger, 1, &next, &index).expect("block 1");
    let after = fingerprint(&ledger);
    let stale = ledger
        .prepare_state(&writes(&[("z", Some("1"))]))
        .expect("prepare");
    assert_eq!(stale.prev_root, after.0.expect("head").state_root);
    commit(&ledger, 2, &writes(&[("y", Some("1"))]), &WriteSet::new()).expect("block 2");
    let after = fingerprint(&ledger);
    let (bytes, block_hash) = block(3, &stale.root, 0);
    let z = writes(&[("z", Some("1"))]);
    let error = ledger
        .commit_block(&BlockCommit {
            height: 3,
            block_hash,
            state_root: stale.root,
            timestamp_ms: 3,
            block_bytes: &bytes,
            tx_hashes: &[],
            state_writes: &z,
            tree: &stale,
            index_writes: &WriteSet::new(),
            certificate: None,
        })
        .expect_err("stale tree update");
    assert!(
        matches!(error, LedgerError::StaleTreeUpdate { .. }),
        "{error}"
    );
    assert_eq!(fingerprint(&ledger), after);
}

#[test]
fn reopen_refuses_a_head_that_disagrees_with_the_tree() {
    let dir = TempDir::new().expect("tempdir");
    let head = {
        let ledger = RocksLedger::open(dir.path()).expect("open");
        commit(
            &ledger,
            0,
            &writes(&[("a", Some("1")), ("b", Some("2"))]),
            &WriteSet::new(),
        )
        .expect("genesis");
        // Damage the tree behind the ledger's back: the root node now hashes to something else.
        let forged = Node::Leaf {
            key_hash: [1; 32],
            value_hash: [2; 32],
        };
        let mut page = Page::default();
        page.set(0, Some(forged));
        ledger
            .db
            .put_cf(
                ledger.cf(CF_TREE_PAGES).expect("cf"),
                NodePath::ROOT.encode(),
                page.encode(),
            )
            .expect("put");
        ledger.head().expect("head").expect("genesis")
    };
    let error = RocksLedger::open(dir.path()).expect_err("the head and the tree disagree");
    let message = error.to_string();
    assert!(matches!(error, LedgerError::Corruption { .. }), "{message}");
    let forged_root = Node::Leaf {
        key_hash: [1; 32],
        value_hash: [2; 32],
    }
    .hash();
    assert!(
        message.contains(&Hex(&head.state_root).to_string()),
        "names the head's root: {message}"
    );
    assert!(
        message.contains(&Hex(&forged_root).to_string()),
        "names the tree's root: {message}"
    );
}

#[test]
fn reopen_refuses_a_tree_without_a_head() {
    let dir = TempDir::new().expect("tempdir");
    {
        let ledger = RocksLedger::open(dir.path()).expect("open");
        commit(&ledger, 0, &writes(&[("a", Some("1"))]), &WriteSet::new()).expect("genesis");
        ledger
            .db
            .delete_cf(ledger.cf(CF_META).expect("cf"), HEAD_KEY)
            .expect("delete");
    }
    let error = RocksLedger::open(dir.path()).expect_err("tree without head");
    assert!(matches!(error, LedgerError::Corruption { .. }), "{error}");
}

#[test]
fn snapshot_does_not_see_later_commits() {
    let dir = TempDir::new().expect("tempdir");
    let ledger = RocksLedger::open(dir.path()).expect("open");
    commit(
        &ledger,
        0,
        &writes(&[("voucher/1", Some("alice")), ("voucher/2", Some("bob"))]),
        &writes(&[("trace/1/0", Some(""))]),
    )
    .expect("genesis");
    let snapshot = ledger.snapshot();
    let head_before = snapshot.head().expect("head");

    commit(
        &ledger,
        1,
        &writes(&[
            ("voucher/1", Some("carol")),
            ("voucher/2", None),
            ("voucher/3", Some("dan")),
        ]),
        &writes(&[("trace/1/1", Some(""))]),
    )
    .expect("block 1");

    assert_eq!(snapshot.head().expect("head"), head_before);
    assert_eq!(
        snapshot.get(b"voucher/1").expect("get"),
        Some(b"alice".to_vec())
    );
    assert_eq!(
        snapshot.get(b"voucher/2").expect("get"),
        Some(b"bob".to_vec())
    );
    assert_eq!(snapshot.get(b"voucher/3").expect("get"), None);
    assert_eq!(
        snapshot
            .scan_prefix(b"voucher/", None, 10)
            .expect("scan")
            .len(),
        2
    );
    assert_eq!(
        snapshot
            .index_scan(b"trace/1/", None, 10)
            .expect("scan")
            .len(),
        1
    );
    let (value, proof) = snapshot.prove(b"voucher/1").expect("prove");
    let old_root = head_before.expect("genesis").state_root;
    verify_proof(&old_root, b"voucher/1", value.as_deref(), &proof)
        .expect("snapshot proof against the old root");

    assert_eq!(
        ledger.get(b"voucher/1").expect("get"),
        Some(b"carol".to_vec())
    );
    assert_eq!(
        ledger
            .index_scan(b"trace/1/", None, 10)
            .expect("scan")
            .len(),
        2
    );
    assert_eq!(ledger.head().expect("head").expect("head").height, 1);
    assert_eq!(
        ledger
            .snapshot()
            .head()
            .expect("head")
            .expect("head")
            .height,
        1
    );
}

#[test]
fn proofs_from_the_ledger_verify_against_the_head() {
    let dir = TempDir::new().expect("tempdir");
    let ledger = RocksLedger::open(dir.path()).expect("open");
    let (value, proof) = ledger.prove(b"anything").expect("prove before genesis");
    assert_eq!(value, None);
    verify_proof(&EMPTY_ROOT, b"anything", None, &proof).expect("absence in the empty tree");

    let state: WriteSet = (0..200)
        .map(|i| {
            (
                format!("k{i}").into_bytes(),
                Some(format!("v{i}").into_bytes()),
            )
        })
        .collect();
    commit(&ledger, 0, &state, &WriteSet::new()).expect("genesis");
    let deletes: WriteSet = (0..200)
        .filter(|i| i % 3 == 0)
        .map(|i| (format!("k{i}").into_bytes(), None))
        .collect();
    commit(&ledger, 1, &deletes, &WriteSet::new()).expect("block 1");
    let root = ledger.head().expect("head").expect("head").state_root;
    for i in 0..300 {
        let key = format!("k{i}").into_bytes();
        let (value, proof) = ledger.prove(&key).expect("prove");
        let expected = (i < 200 && i % 3 != 0).then(|| format!("v{i}").into_bytes());
        assert_eq!(value, expected);
        verify_proof(&root, &key, value.as_deref(), &proof).expect("verifies");
        assert!(verify_proof(&[3; 32], &key, value.as_deref(), &proof).is_err());
    }
}

#[test]
fn prove_detects_state_that_diverged_from_the_tree() {
    let dir = TempDir::new().expect("tempdir");
    let ledger = RocksLedger::open(dir.path()).expect("open");
    commit(
        &ledger,
        0,
        &writes(&[("a", Some("1")), ("b", Some("2"))]),
        &WriteSet::new(),
    )
    .expect("genesis");
    ledger
        .db
        .put_cf(ledger.cf(CF_STATE).expect("cf"), b"a", b"forged")
        .expect("put");
    let error = ledger.prove(b"a").expect_err("state and tree disagree");
    assert!(matches!(error, LedgerError::Corruption { .. }), "{error}");
}

#[test]
fn the_writers_cached_upper_levels_always_match_the_stored_tree() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ledger = RocksLedger::open(dir.path()).expect("open");
    // Enough keys that the tree is deeper than the cached levels' boundary in places, with
    // overwrites and deletes so cached nodes move, split and collapse across commits.
    let mut live: Vec<String> = Vec::new();
    for height in 0..12u64 {
        let mut state = WriteSet::new();
        for i in 0..400u64 {
            let key = format!("k/{height}/{i}");
            state.insert(
                key.clone().into_bytes(),
                Some(format!("v{height}.{i}").into_bytes()),
            );
            live.push(key);
        }
        // Delete every third live key of an older block and overwrite every fifth.
        for (n, key) in live
            .iter()
            .enumerate()
            .filter(|(n, _)| n % 3 == (height as usize) % 3)
            .take(150)
        {
            let value = (n % 5 == 0).then(|| format!("over{height}").into_bytes());
            state.insert(key.clone().into_bytes(), value);
        }
        let cached = ledger.prepare_state(&state).expect("cached update");
        let uncached = tree::update(&ledger, &state).expect("uncached update");
        assert_eq!(
            cached, uncached,
            "height {height}: the cache changed the update"
        );
        commit(&ledger, height, &state, &WriteSet::new()).expect("commit");
        live.retain(|key| !matches!(state.get(key.as_bytes()), Some(None)));
    }
    let reference = crate::root_of(all_state(&ledger));
    assert_eq!(
        ledger.head().expect("head").expect("head").state_root,
        reference
    );
}

/// A ledger with several committed blocks of state and index entries, including deletes.
fn populated(dir: &Path, blocks: u64) -> RocksLedger {
    let ledger = RocksLedger::open(dir).expect("open");
    for height in 0..blocks {
        let mut state = WriteSet::new();
        let mut index = WriteSet::new();
        for i in 0..300u64 {
            state.insert(
                format!("s/{height:03}/{i:04}").into_bytes(),
                Some(format!("value {height}.{i}").into_bytes()),
            );
            index.insert(
                format!("h/{i:04}/{height:03}").into_bytes(),
                Some(Vec::new()),
            );
        }
        if height > 0 {
            for i in (0..300u64).step_by(7) {
                state.insert(format!("s/{:03}/{i:04}", height - 1).into_bytes(), None);
            }
        }
        commit(&ledger, height, &state, &index).expect("commit");
    }
    ledger
}

/// Every chunk of `part`, with chunks of at most `bytes_max`.
fn chunks(source: &RocksLedger, part: SnapshotPart, bytes_max: usize) -> Vec<SnapshotChunk> {
    let mut out = Vec::new();
    let mut after: Option<Vec<u8>> = None;
    loop {
        let chunk = source
            .snapshot_chunk(part, after.as_deref(), bytes_max)
            .expect("chunk");
        after = chunk.entries.last().map(|(k, _)| k.clone()).or(after);
        let more = chunk.more;
        out.push(chunk);
        if !more {
            return out;
        }
        assert!(out.len() < 10_000, "chunking does not terminate");
    }
}

fn install_from(target: &RocksLedger, source: &RocksLedger) -> Result<ChainHead, LedgerError> {
    let head = source.head().expect("head").expect("head");
    let block = source
        .block_bytes(head.height)
        .expect("block")
        .expect("block");
    let mut install = target.begin_snapshot_install(head)?;
    for part in [SnapshotPart::State, SnapshotPart::Index] {
        for chunk in chunks(source, part, 4 * 1024) {
            install.add_chunk(&chunk)?;
        }
    }
    install.finish(&block, &tx_hashes(head.height, 2))
}

#[test]
fn a_checkpoint_served_in_chunks_installs_the_same_state() {
    let dirs = [
        TempDir::new().expect("dir"),
        TempDir::new().expect("dir"),
        TempDir::new().expect("dir"),
    ];
    let source = populated(dirs[0].path(), 6);
    let checkpoint_dir = dirs[1].path().join("checkpoint");
    let head = source.checkpoint(&checkpoint_dir).expect("checkpoint");
    // The source moves on; the checkpoint stays at `head`.
    commit(
        &source,
        6,
        &writes(&[("s/late", Some("after the checkpoint"))]),
        &WriteSet::new(),
    )
    .expect("commit");
    let served = RocksLedger::open(&checkpoint_dir).expect("open checkpoint");
    assert_eq!(served.head().expect("head"), Some(head));
    let state_chunks = chunks(&served, SnapshotPart::State, 4 * 1024);
    assert!(
        state_chunks.len() >= 8,
        "small chunks split the state: {}",
        state_chunks.len()
    );
    assert!(state_chunks.iter().all(|c| c
        .entries
        .iter()
        .map(|(k, v)| k.len() + v.len())
        .sum::<usize>()
        <= 4 * 1024));

    let target = RocksLedger::open(dirs[2].path()).expect("open");
    assert_eq!(install_from(&target, &served).expect("install"), head);
    assert_eq!(target.head().expect("head"), Some(head));
    // The head block's transactions are found by hash, as on the node that committed it.
    for (index, hash) in tx_hashes(head.height, 2).iter().enumerate() {
        assert_eq!(
            target.tx_location(hash).expect("read"),
            served.tx_location(hash).expect("read"),
        );
        let location = target.tx_location(hash).expect("read").expect("found");
        assert_eq!(
            (location.height, location.index),
            (head.height, index as u32)
        );
    }
    assert_eq!(all_state(&target), all_state(&served));
    assert_eq!(
        target.index_scan(b"", None, usize::MAX).expect("index"),
        served.index_scan(b"", None, usize::MAX).expect("index")
    );
    let (value, proof) = target.prove(b"s/005/0001").expect("prove");
    verify_proof(&head.state_root, b"s/005/0001", value.as_deref(), &proof)
        .expect("proof verifies");

    // Both go on from the snapshot to identical roots, and the installed ledger reopens.
    let next = writes(&[("s/next", Some("block 6")), ("s/000/0001", None)]);
    let a = served.prepare_state(&next).expect("prepare");
    let b = target.prepare_state(&next).expect("prepare");
    assert_eq!(a, b);
    commit(&target, head.height + 1, &next, &WriteSet::new()).expect("commit after install");
    drop(target);
    let reopened = RocksLedger::open(dirs[2].path()).expect("reopen");
    assert_eq!(
        reopened.head().expect("head").map(|h| h.state_root),
        Some(a.root)
    );
}

#[test]
fn a_lagging_ledger_is_replaced_by_the_snapshot() {
    let dirs = [TempDir::new().expect("dir"), TempDir::new().expect("dir")];
    let source = populated(dirs[0].path(), 5);
    let lagging = populated(dirs[1].path(), 2);
    install_from(&lagging, &source).expect("install");
    assert_eq!(lagging.head().expect("head"), source.head().expect("head"));
    assert_eq!(
        all_state(&lagging),
        all_state(&source),
        "nothing of the old state survives"
    );
}

#[test]
fn an_installed_ledger_records_its_history_gap_and_fills_it_from_the_top() {
    let dirs = [TempDir::new().expect("dir"), TempDir::new().expect("dir")];
    let source = populated(dirs[0].path(), 5);
    let target = RocksLedger::open(dirs[1].path()).expect("open");
    // Genesis only, as a node that starts, then falls behind by four blocks.
    commit(
        &target,
        0,
        &writes(&[("s/genesis", Some("g"))]),
        &WriteSet::new(),
    )
    .expect("genesis");
    let head = install_from(&target, &source).expect("install");
    assert_eq!(target.history_gap().expect("gap"), Some(head.height));
    assert_eq!(target.block_bytes(2).expect("read"), None);

    // Out of order: stored, but the gap only moves down contiguously.
    let bytes = |h: u64| source.block_bytes(h).expect("read").expect("block");
    let hash = |h: u64| {
        let header = source
            .block(h)
            .expect("read")
            .expect("block")
            .header
            .expect("header");
        sha(&header.encode_to_vec())
    };
    target
        .store_past_block(2, &hash(2), &bytes(2), &tx_hashes(2, 1))
        .expect("store");
    assert_eq!(target.history_gap().expect("gap"), Some(head.height));
    target
        .store_past_block(3, &hash(3), &bytes(3), &tx_hashes(3, 1))
        .expect("store");
    assert_eq!(target.history_gap().expect("gap"), Some(3));
    target.extend_history(2).expect("held block 2 checked");
    target
        .store_past_block(1, &hash(1), &bytes(1), &tx_hashes(1, 1))
        .expect("store");
    assert_eq!(target.history_gap().expect("gap"), Some(1));
    target.extend_history(0).expect("genesis checked");
    assert_eq!(target.history_gap().expect("gap"), None, "nothing missing");
    assert_eq!(target.block_bytes(1).expect("read"), Some(bytes(1)));
    assert_eq!(
        target
            .tx_location(&tx_hashes(1, 1)[0])
            .expect("read")
            .map(|l| l.height),
        Some(1)
    );

    // Never at or above the head, never a block stored at another height.
    assert!(target
        .store_past_block(head.height, &hash(1), &bytes(1), &[])
        .is_err());
    assert!(target
        .store_past_block(2, &hash(1), &bytes(1), &[])
        .is_err());
}

#[test]
fn a_tampered_or_disordered_snapshot_is_refused_and_the_ledger_starts_over() {
    let dirs = [TempDir::new().expect("dir"), TempDir::new().expect("dir")];
    let source = populated(dirs[0].path(), 3);
    let head = source.head().expect("head").expect("head");
    let block = source
        .block_bytes(head.height)
        .expect("block")
        .expect("block");
    let target = populated(dirs[1].path(), 1);

    // One value changed: the rebuilt tree cannot reproduce the announced root.
    let mut install = target.begin_snapshot_install(head).expect("begin");
    for (n, mut chunk) in chunks(&source, SnapshotPart::State, 4 * 1024)
        .into_iter()
        .enumerate()
    {
        if n == 3 {
            chunk.entries[0].1 = b"forged".to_vec();
        }
        install.add_chunk(&chunk).expect("stored");
    }
    match install.finish(&block, &[]) {
        Err(LedgerError::RootMismatch { expected, .. }) => assert_eq!(expected, head.state_root),
        other => panic!("a forged snapshot must fail the root check, got {other:?}"),
    }
    drop(target);
    let reopened = RocksLedger::open(dirs[1].path()).expect("reopen");
    assert_eq!(
        reopened.head().expect("head"),
        None,
        "an unfinished install leaves an empty ledger"
    );
    assert!(all_state(&reopened).is_empty());
    // ...from which genesis commits again.
    commit(
        &reopened,
        0,
        &writes(&[("g", Some("genesis"))]),
        &WriteSet::new(),
    )
    .expect("genesis after reset");

    // Keys that do not ascend are refused.
    let mut install = reopened.begin_snapshot_install(head).expect("begin");
    let mut chunk = chunks(&source, SnapshotPart::State, 4 * 1024).remove(0);
    chunk.entries.swap(0, 1);
    assert!(matches!(
        install.add_chunk(&chunk),
        Err(LedgerError::Corruption { .. })
    ));
}

#[test]
fn the_consensus_log_survives_a_reopen_truncates_and_compacts() {
    let dir = TempDir::new().expect("dir");
    let entry = |i: u64, term: &str| (i, format!("entry {i} term {term}").into_bytes());
    {
        let ledger = RocksLedger::open(dir.path()).expect("open");
        assert_eq!(
            ledger.consensus_load().expect("load"),
            ConsensusLog::default()
        );
        let entries: Vec<_> = (1..=5).map(|i| entry(i, "1")).collect();
        ledger
            .consensus_persist(&ConsensusWrite {
                entries: &entries,
                hard_state: Some(b"term 1 vote a"),
                ..Default::default()
            })
            .expect("persist");
        // A new leader replaces the suffix from index 4.
        let replaced = [entry(4, "2"), entry(5, "2"), entry(6, "2")];
        ledger
            .consensus_persist(&ConsensusWrite {
                truncate_from: Some(4),
                entries: &replaced,
                hard_state: Some(b"term 2 vote b"),
                snapshot: None,
                applied: None,
                clear_log: false,
            })
            .expect("persist");
    }
    let ledger = RocksLedger::open(dir.path()).expect("reopen");
    let log = ledger.consensus_load().expect("load");
    assert_eq!(log.hard_state.as_deref(), Some(&b"term 2 vote b"[..]));
    assert_eq!(
        log.entries,
        vec![
            entry(1, "1"),
            entry(2, "1"),
            entry(3, "1"),
            entry(4, "2"),
            entry(5, "2"),
            entry(6, "2")
        ]
    );

    // Truncating past the new entries drops the rest of the old suffix too.
    ledger
        .consensus_persist(&ConsensusWrite {
            truncate_from: Some(3),
            entries: &[entry(3, "3")],
            ..Default::default()
        })
        .expect("persist");
    assert_eq!(
        ledger.consensus_load().expect("load").entries.last(),
        Some(&entry(3, "3"))
    );

    ledger
        .consensus_persist(&ConsensusWrite {
            snapshot: Some(b"snapshot at 2"),
            ..Default::default()
        })
        .expect("persist");
    ledger
        .consensus_persist(&ConsensusWrite {
            applied: Some(3),
            ..Default::default()
        })
        .expect("persist");
    ledger.consensus_compact(2).expect("compact");
    let log = ledger.consensus_load().expect("load");
    assert_eq!(log.entries, vec![entry(3, "3")]);
    assert_eq!(log.snapshot.as_deref(), Some(&b"snapshot at 2"[..]));
    assert_eq!(log.applied, 3);

    // Entries with a gap, or not starting where the truncation does, are refused.
    let gap = [entry(4, "3"), entry(6, "3")];
    assert!(ledger
        .consensus_persist(&ConsensusWrite {
            entries: &gap,
            ..Default::default()
        })
        .is_err());
    let misplaced = [entry(5, "3")];
    assert!(ledger
        .consensus_persist(&ConsensusWrite {
            truncate_from: Some(4),
            entries: &misplaced,
            ..Default::default()
        })
        .is_err());
    assert_eq!(
        ledger.consensus_load().expect("load").entries,
        vec![entry(3, "3")],
        "refused writes change nothing"
    );

    // Installing a snapshot clears the whole log and appends after it, in one write.
    let after_snapshot = [entry(12, "4")];
    ledger
        .consensus_persist(&ConsensusWrite {
            clear_log: true,
            entries: &after_snapshot,
            snapshot: Some(b"snapshot at 11"),
            applied: Some(11),
            ..Default::default()
        })
        .expect("install");
    let log = ledger.consensus_load().expect("load");
    assert_eq!(log.entries, vec![entry(12, "4")]);
    assert_eq!(log.snapshot.as_deref(), Some(&b"snapshot at 11"[..]));
    assert_eq!(log.applied, 11);

    // An interrupted snapshot install empties the ledger but never the consensus log: a lost
    // vote could let the node vote twice in one term.
    let head = ChainHead {
        height: 9,
        block_hash: [9; 32],
        state_root: [7; 32],
        timestamp_ms: 1,
    };
    drop(ledger.begin_snapshot_install(head).expect("begin"));
    drop(ledger);
    let reopened = RocksLedger::open(dir.path()).expect("reopen");
    assert!(reopened.emptied_interrupted_install());
    assert_eq!(reopened.head().expect("head"), None);
    assert_eq!(
        reopened
            .consensus_load()
            .expect("load")
            .hard_state
            .as_deref(),
        Some(&b"term 2 vote b"[..])
    );
    drop(reopened);
    let again = RocksLedger::open(dir.path()).expect("reopen again");
    assert!(
        !again.emptied_interrupted_install(),
        "the marker is gone once the ledger was emptied"
    );
}

/// Issue 11: a write-ahead log damaged before its end must not be replayed up to the damage and
/// silently shortened (the blocks after it were acknowledged): the open fails, saying what was
/// found and what the operator can do. A record torn at the very end (a crash mid-write, never
/// acknowledged) is still tolerated.
#[test]
fn a_damaged_write_ahead_log_refuses_to_open_instead_of_shortening_history() {
    let dir = TempDir::new().expect("dir");
    {
        let ledger = RocksLedger::open(dir.path()).expect("open");
        for height in 0..6 {
            commit(
                &ledger,
                height,
                &writes(&[(&format!("s/{height}"), Some("value"))]),
                &WriteSet::new(),
            )
            .expect("commit");
        }
        // Closed without a flush: the six blocks live in the write-ahead log only.
    }
    let wal = std::fs::read_dir(dir.path())
        .expect("list")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "log"))
        .max_by_key(|path| std::fs::metadata(path).map(|m| m.len()).unwrap_or(0))
        .expect("a write-ahead log");
    let mut bytes = std::fs::read(&wal).expect("read the log");
    assert!(
        bytes.len() > 1_000,
        "the blocks are in the log: {}",
        bytes.len()
    );
    // Damage a third of the way in: records before and after it are intact.
    let at = bytes.len() / 3;
    for byte in &mut bytes[at..at + 16] {
        *byte ^= 0xa5;
    }
    std::fs::write(&wal, &bytes).expect("damage the log");
    match RocksLedger::open(dir.path()) {
        Err(error @ LedgerError::Damaged { .. }) => {
            let text = error.to_string();
            assert!(text.contains("damaged"), "{text}");
            assert!(text.contains("backup"), "{text}");
        }
        Err(other) => panic!("refused, but not as damage: {other}"),
        Ok(ledger) => panic!(
            "opened a damaged ledger at height {:?}",
            ledger.head().expect("head").map(|h| h.height)
        ),
    }
}

/// Writes like a node under load: each round a Raft log entry of `entry_bytes` (synced) and a
/// block with a few state writes.
fn load_like_a_node(ledger: &RocksLedger, rounds: u64, entry_bytes: usize) {
    let head = ledger.head().expect("head").map_or(0, |h| h.height + 1);
    for round in 0..rounds {
        let height = head + round;
        let entry = vec![(height + 1, vec![(round % 251) as u8; entry_bytes])];
        ledger
            .consensus_persist(&ConsensusWrite {
                entries: &entry,
                hard_state: Some(&height.to_be_bytes()),
                ..Default::default()
            })
            .expect("persist log entry");
        let state: WriteSet = (0..4)
            .map(|key| {
                (
                    format!("voucher/{height}/{key}").into_bytes(),
                    Some(vec![key as u8; 16 << 10]),
                )
            })
            .collect();
        commit(ledger, height, &state, &WriteSet::new()).expect("commit");
    }
}

#[test]
fn the_write_ahead_log_and_memtables_stay_within_the_budget_under_sustained_writes() {
    let dir = TempDir::new().expect("tempdir");
    let budget = StorageBudget::MIN;
    let wal_bound = 2 * budget.wal_bytes_max;
    {
        let ledger = RocksLedger::open_with(dir.path(), &budget).expect("open");
        // About 50 MiB written, six times the WAL bound. The head record and the hard state
        // take a few bytes per round: without a WAL bound their families never flush and keep
        // every WAL file alive (RocksDB's default bound is gigabytes for nine families).
        let mut wal_max_seen = 0;
        for _ in 0..8 {
            load_like_a_node(&ledger, 20, 256 << 10);
            let usage = ledger.usage().expect("usage");
            wal_max_seen = wal_max_seen.max(usage.wal_bytes);
            assert!(
                usage.memtable_bytes
                    <= budget.write_buffer_bytes as u64 + (budget.write_buffer_bytes as u64 / 2),
                "memtables hold {} bytes, over the {} budget",
                usage.memtable_bytes,
                budget.write_buffer_bytes
            );
        }
        assert!(
            wal_max_seen <= wal_bound,
            "the write-ahead log reached {wal_max_seen} bytes, over twice its {} bound",
            budget.wal_bytes_max
        );
        let usage = ledger.usage().expect("usage");
        assert!(usage.table_bytes > 0, "flushed data lives in tables");
        // Reads go through the shared cache, which counts them, within its budget.
        for height in 0..160u64 {
            ledger
                .get(format!("voucher/{height}/0").as_bytes())
                .expect("read");
        }
        let cached = ledger.usage().expect("usage").block_cache_bytes;
        assert!(
            cached > 0 && cached <= budget.block_cache_bytes as u64,
            "block cache holds {cached} bytes"
        );
    }
    // Reopening replays at most the bounded log and finds everything.
    let ledger = RocksLedger::open_with(dir.path(), &budget).expect("reopen");
    assert_eq!(ledger.head().expect("head").map(|h| h.height), Some(159));
    assert!(ledger.usage().expect("usage").wal_bytes <= wal_bound);
    assert_eq!(
        ledger.get(b"voucher/159/3").expect("read").map(|v| v.len()),
        Some(16 << 10)
    );
}

/// An encoded certificate naming block `block_hash` at `height`, with one (unchecked: the ledger
/// does not verify signatures) signature.
fn certificate(height: u64, block_hash: &[u8]) -> Vec<u8> {
    vchain_proto::v1::CommitCertificate {
        height,
        view: 2,
        block_hash: block_hash.to_vec(),
        signatures: vec![vchain_proto::v1::CommitSignature {
            node_id: "node-a".into(),
            signature: vec![7; 64],
        }],
    }
    .encode_to_vec()
}

/// Commits block `height` (as [`commit`] builds it) with the certificate `certify` makes from
/// its hash.
fn commit_certified(
    ledger: &RocksLedger,
    height: u64,
    state: &WriteSet,
    certify: impl FnOnce(&Hash) -> Vec<u8>,
) -> Result<Hash, LedgerError> {
    let tree = ledger.prepare_state(state)?;
    let txs = tx_hashes(height, 2);
    let (bytes, block_hash) = block(height, &tree.root, 2);
    let certificate = certify(&block_hash);
    ledger.commit_block(&BlockCommit {
        height,
        block_hash,
        state_root: tree.root,
        timestamp_ms: 1_700_000_000_000u64.wrapping_add(height),
        block_bytes: &bytes,
        tx_hashes: &txs,
        state_writes: state,
        tree: &tree,
        index_writes: &WriteSet::new(),
        certificate: Some(&certificate),
    })?;
    Ok(block_hash)
}

#[test]
fn a_certificate_committed_with_its_block_is_read_back_after_a_reopen() {
    let dir = TempDir::new().expect("tempdir");
    let (genesis, expected) = {
        let ledger = RocksLedger::open(dir.path()).expect("open");
        let genesis = commit_certified(&ledger, 0, &writes(&[("a", Some("1"))]), |hash| {
            certificate(0, hash)
        })
        .expect("genesis with a certificate");
        commit(&ledger, 1, &writes(&[("b", Some("2"))]), &WriteSet::new()).expect("block 1");
        assert_eq!(
            ledger.certificate(1).expect("read"),
            None,
            "a block committed without one has none"
        );
        assert_eq!(
            ledger.certificate(2).expect("read"),
            None,
            "nor a future one"
        );
        (genesis, ledger.certificate(0).expect("read"))
    };
    assert_eq!(expected, Some(certificate(0, &genesis)));
    let reopened = RocksLedger::open(dir.path()).expect("reopen");
    assert_eq!(reopened.certificate(0).expect("read"), expected);
    assert_eq!(reopened.certificate(1).expect("read"), None);
}

#[test]
fn a_block_whose_certificate_names_another_block_is_not_committed() {
    let dir = TempDir::new().expect("tempdir");
    let ledger = RocksLedger::open(dir.path()).expect("open");
    commit(&ledger, 0, &writes(&[("a", Some("1"))]), &WriteSet::new()).expect("genesis");
    let before = fingerprint(&ledger);
    let state = writes(&[("b", Some("2"))]);

    let error = commit_certified(&ledger, 1, &state, |hash| certificate(2, hash))
        .expect_err("another height");
    assert!(
        matches!(
            error,
            LedgerError::CertificateMismatch {
                height: 1,
                certificate_height: 2,
                ..
            }
        ),
        "{error}"
    );
    let error = commit_certified(&ledger, 1, &state, |_| certificate(1, &[0xCD; 32]))
        .expect_err("another block");
    assert!(
        matches!(&error, LedgerError::CertificateMismatch { certificate_hash, .. } if certificate_hash == &[0xCD; 32]),
        "{error}"
    );
    assert!(error.to_string().contains("cdcdcdcd"), "names it: {error}");
    let error =
        commit_certified(&ledger, 1, &state, |_| vec![0xFF, 0xFF]).expect_err("not a certificate");
    assert!(matches!(error, LedgerError::Decode { .. }), "{error}");
    let error = commit_certified(&ledger, 1, &state, |_| vec![0; CERTIFICATE_BYTES_MAX + 1])
        .expect_err("too large");
    assert!(
        matches!(error, LedgerError::CertificateTooLarge { bytes, .. } if bytes == CERTIFICATE_BYTES_MAX + 1),
        "{error}"
    );

    assert_eq!(
        fingerprint(&ledger),
        before,
        "nothing of the block was written"
    );
    assert_eq!(ledger.certificate(1).expect("read"), None);
    commit_certified(&ledger, 1, &state, |hash| certificate(1, hash)).expect("the right one");
}

#[test]
fn a_certificate_is_attached_to_a_committed_block_and_only_to_the_one_it_names() {
    let dir = TempDir::new().expect("tempdir");
    let ledger = populated(dir.path(), 3);
    let hash = |h: u64| {
        let header = ledger
            .block(h)
            .expect("read")
            .expect("block")
            .header
            .expect("header");
        sha(&header.encode_to_vec())
    };
    let before = fingerprint(&ledger);

    // Refused: no block there, another height, another block (also one stored elsewhere).
    for (height, offered) in [
        (3, certificate(3, &[1; 32])),
        (1, certificate(2, &hash(1))),
        (1, certificate(1, &hash(2))),
        (1, certificate(1, &[1; 31])),
        (1, vec![0xFF]),
    ] {
        let error = ledger
            .store_certificate(height, &offered)
            .expect_err("refused");
        assert!(
            matches!(
                error,
                LedgerError::BlockNotStored { height: 3 }
                    | LedgerError::CertificateMismatch { height: 1, .. }
                    | LedgerError::Decode { .. }
            ),
            "{error}"
        );
        assert_eq!(ledger.certificate(height).expect("read"), None);
    }

    ledger
        .store_certificate(1, &certificate(1, &hash(1)))
        .expect("attached");
    assert_eq!(
        ledger.certificate(1).expect("read"),
        Some(certificate(1, &hash(1)))
    );
    assert_eq!(
        fingerprint(&ledger),
        before,
        "blocks, state and head unchanged"
    );
    // A later certificate of the same block (more signatures, say) replaces it.
    let mut fuller =
        vchain_proto::v1::CommitCertificate::decode(certificate(1, &hash(1)).as_slice())
            .expect("decode");
    fuller.signatures.push(vchain_proto::v1::CommitSignature {
        node_id: "node-b".into(),
        signature: vec![8; 64],
    });
    ledger
        .store_certificate(1, &fuller.encode_to_vec())
        .expect("replaced");
    assert_eq!(
        ledger.certificate(1).expect("read"),
        Some(fuller.encode_to_vec())
    );
    // The head block takes one too.
    ledger
        .store_certificate(2, &certificate(2, &hash(2)))
        .expect("head certified");
    assert!(ledger.certificate(2).expect("read").is_some());
}

#[test]
fn certificates_follow_the_blocks_through_a_snapshot_install_and_history_backfill() {
    let dirs = [TempDir::new().expect("dir"), TempDir::new().expect("dir")];
    let source = populated(dirs[0].path(), 4);
    let hash = |h: u64| {
        let header = source
            .block(h)
            .expect("read")
            .expect("block")
            .header
            .expect("header");
        sha(&header.encode_to_vec())
    };
    let target = RocksLedger::open(dirs[1].path()).expect("open");
    commit_certified(&target, 0, &writes(&[("s/genesis", Some("g"))]), |h| {
        certificate(0, h)
    })
    .expect("genesis");
    let genesis_certificate = target.certificate(0).expect("read");
    assert!(genesis_certificate.is_some());

    // The install keeps the blocks the ledger held, and their certificates.
    let head = install_from(&target, &source).expect("install");
    assert_eq!(target.certificate(0).expect("read"), genesis_certificate);
    assert_eq!(target.certificate(head.height).expect("read"), None);
    target
        .store_certificate(head.height, &certificate(head.height, &hash(head.height)))
        .expect("the installed head block takes its certificate");

    // A block in the history gap takes none until it is stored.
    let gap_block = head.height - 1;
    assert!(matches!(
        target.store_certificate(gap_block, &certificate(gap_block, &hash(gap_block))),
        Err(LedgerError::BlockNotStored { .. })
    ));
    target
        .store_past_block(
            gap_block,
            &hash(gap_block),
            &source.block_bytes(gap_block).expect("read").expect("block"),
            &tx_hashes(gap_block, 2),
        )
        .expect("backfilled");
    target
        .store_certificate(gap_block, &certificate(gap_block, &hash(gap_block)))
        .expect("a backfilled block takes its certificate");
    assert_eq!(target.history_gap().expect("gap"), Some(gap_block));

    // An interrupted install empties everything, certificates included.
    let install = target
        .begin_snapshot_install(source.head().expect("head").expect("head"))
        .expect("begin");
    drop(install);
    drop(target);
    let reopened = RocksLedger::open(dirs[1].path()).expect("reopen");
    assert_eq!(reopened.head().expect("head"), None);
    for height in 0..=head.height {
        assert_eq!(
            reopened.certificate(height).expect("read"),
            None,
            "{height}"
        );
    }
}

#[test]
fn a_new_ledger_records_its_format_an_older_one_migrates_and_a_newer_one_is_refused() {
    let dir = TempDir::new().expect("tempdir");
    {
        let ledger = RocksLedger::open(dir.path()).expect("open");
        assert_eq!(
            ledger.format().expect("format"),
            LEDGER_FORMAT,
            "stamped when new"
        );
        let state = writes(&[("a", Some("1"))]);
        commit(&ledger, 0, &state, &WriteSet::new()).expect("genesis");
        // As a release before the format record left it: the tree one node per entry.
        store_tree_as_format_2(&ledger, &state);
        ledger.force_format(None).expect("unstamp");
        assert_eq!(ledger.format().expect("format"), 0);
    }
    {
        let ledger = RocksLedger::open(dir.path()).expect("an older format opens");
        assert_eq!(ledger.format().expect("format"), LEDGER_FORMAT, "migrated");
        assert_eq!(ledger.head().expect("head").expect("genesis").height, 0);
        ledger
            .force_format(Some(LEDGER_FORMAT + 1))
            .expect("as a newer release");
    }
    let error = RocksLedger::open(dir.path()).expect_err("a newer format is refused");
    assert!(
        matches!(
            error,
            LedgerError::UnsupportedFormat { found, supported, .. }
                if found == LEDGER_FORMAT + 1 && supported == LEDGER_FORMAT
        ),
        "{error}"
    );
    assert!(
        error.to_string().contains("newer vchain release"),
        "{error}"
    );
    let logs = TempDir::new().expect("tempdir");
    let error = RocksLedger::open_read_only(dir.path(), logs.path()).expect_err("read-only too");
    assert!(
        matches!(error, LedgerError::UnsupportedFormat { .. }),
        "{error}"
    );
}

#[test]
fn a_read_only_open_recomputes_the_root_and_forgetting_consensus_state_keeps_what_is_asked() {
    let dir = TempDir::new().expect("tempdir");
    let root = {
        let ledger = RocksLedger::open(dir.path()).expect("open");
        commit(
            &ledger,
            0,
            &writes(&[("a", Some("1")), ("b", Some("2"))]),
            &WriteSet::new(),
        )
        .expect("genesis");
        ledger
            .consensus_persist(&ConsensusWrite {
                entries: &[(1, b"entry".to_vec())],
                hard_state: Some(b"vote"),
                applied: Some(1),
                ..ConsensusWrite::default()
            })
            .expect("persist");
        ledger
            .put_consensus_record("incarnation", b"me")
            .expect("record");
        ledger
            .put_consensus_record("evidence/1/x", b"proof")
            .expect("record");
        ledger.head().expect("head").expect("genesis").state_root
    };
    let logs = TempDir::new().expect("tempdir");
    let listing = |path: &std::path::Path| {
        let mut names: Vec<_> = std::fs::read_dir(path)
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        names.sort();
        names
    };
    let before = listing(dir.path());
    {
        let ledger = RocksLedger::open_read_only(dir.path(), logs.path()).expect("read-only");
        assert_eq!(ledger.recompute_state_root().expect("root"), root);
        assert_eq!(
            root,
            root_of([("a", "1"), ("b", "2")]),
            "the same root as from scratch"
        );
        assert!(ledger.put_consensus_record("x", b"y").is_err(), "read-only");
    }
    assert_eq!(
        listing(dir.path()),
        before,
        "a read-only open writes no file"
    );
    let ledger = RocksLedger::open(dir.path()).expect("open");
    ledger
        .forget_consensus_state(&["evidence/"])
        .expect("forget");
    let log = ledger.consensus_load().expect("load");
    assert_eq!(log, ConsensusLog::default(), "the engine's state is gone");
    assert_eq!(ledger.consensus_record("incarnation").expect("read"), None);
    assert_eq!(
        ledger.consensus_record("evidence/1/x").expect("read"),
        Some(b"proof".to_vec())
    );
    assert_eq!(ledger.head().expect("head").expect("head").state_root, root);
}

/// A ledger with blocks 0..=`head`, every odd height certified; the blocks' bytes by height.
fn archivable(path: &std::path::Path, head: u64) -> (RocksLedger, Vec<Vec<u8>>) {
    let ledger = RocksLedger::open(path).expect("open");
    let mut blocks = Vec::new();
    for height in 0..=head {
        let block_hash = commit(
            &ledger,
            height,
            &writes(&[(&format!("s/{height}"), Some("v"))]),
            &WriteSet::new(),
        )
        .expect("commit");
        if height % 2 == 1 {
            ledger
                .store_certificate(height, &certificate(height, &block_hash))
                .expect("certify");
        }
        blocks.push(ledger.block_bytes(height).expect("read").expect("block"));
    }
    (ledger, blocks)
}

/// The records of a segment file, parsed as docs/operations.md describes the format:
/// (height, block bytes, certificate bytes).
fn segment_records(path: &std::path::Path) -> Vec<(u64, Vec<u8>, Vec<u8>)> {
    let bytes = std::fs::read(path).expect("read segment");
    assert_eq!(&bytes[..8], SEGMENT_MAGIC, "magic");
    let mut records = Vec::new();
    let mut at = 8;
    let u32_at = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().expect("4")) as usize;
    while at < bytes.len() {
        let height = u64_at(&bytes, at);
        let block_len = u32_at(at + 8);
        let block = bytes[at + 12..at + 12 + block_len].to_vec();
        at += 12 + block_len;
        let certificate_len = u32_at(at);
        let certificate = bytes[at + 4..at + 4 + certificate_len].to_vec();
        at += 4 + certificate_len;
        records.push((height, block, certificate));
    }
    records
}

#[test]
fn archived_blocks_leave_rocksdb_for_segments_and_are_read_back_checked_across_reopens() {
    let dir = TempDir::new().expect("tempdir");
    let archive = TempDir::new().expect("tempdir");
    let (ledger, blocks) = archivable(dir.path(), 20);
    let before = ledger.head().expect("head").expect("head");
    ledger
        .attach_archive(archive.path().to_path_buf())
        .expect("attach");
    assert_eq!(ledger.archived_below().expect("read"), None);

    let first = ledger.archive_blocks(10).expect("archive below 10");
    assert_eq!((first.from, first.below), (1, 10));
    assert_eq!(first.segments.len(), 1);
    let segment = &first.segments[0];
    assert_eq!((segment.first, segment.last), (1, 9));
    assert_eq!(
        first.block_bytes,
        blocks[1..10].iter().map(|b| b.len() as u64).sum::<u64>()
    );
    let path = archive.path().join(segment.file_name());
    let file = std::fs::read(&path).expect("segment written");
    assert_eq!(file.len() as u64, segment.bytes);
    assert_eq!(
        sha(&file),
        segment.sha256,
        "the recorded digest is the file's"
    );
    let records = segment_records(&path);
    assert_eq!(records.len(), 9);
    for (height, block, cert) in &records {
        assert_eq!(
            block, &blocks[*height as usize],
            "block {height} as committed"
        );
        let stored = ledger
            .certificate(*height)
            .expect("read")
            .unwrap_or_default();
        assert_eq!(cert, &stored, "certificate {height} copied (empty if none)");
        assert_eq!(cert.is_empty(), height % 2 == 0);
    }

    // Gone from the blocks family, served from the segment, through every read path.
    for height in 1..10u64 {
        let raw = ledger
            .view()
            .get(CF_BLOCKS, &height.to_be_bytes())
            .expect("raw");
        assert_eq!(raw, None, "block {height} left RocksDB");
    }
    let snapshot = ledger.snapshot();
    for (height, bytes) in blocks.iter().enumerate() {
        let height = height as u64;
        assert_eq!(
            ledger.block_bytes(height).expect("read").as_ref(),
            Some(bytes)
        );
        assert_eq!(
            snapshot.view().block_bytes(height).expect("read").as_ref(),
            Some(bytes)
        );
        let tx = tx_hashes(height, 2)[1];
        assert_eq!(
            ledger.tx_location(&tx).expect("read"),
            Some(TxLocation { height, index: 1 }),
            "transaction locations stay"
        );
    }
    drop(snapshot);
    assert_eq!(
        ledger.head().expect("head"),
        Some(before),
        "the head is untouched"
    );

    // The next archive extends the range with a new segment.
    let second = ledger.archive_blocks(15).expect("archive below 15");
    assert_eq!((second.from, second.below), (10, 15));
    assert_eq!(
        ledger.archive_segments().expect("segments"),
        vec![first.segments[0].clone(), second.segments[0].clone()]
    );
    drop(ledger);

    // A reopened ledger reads them once the directory is attached, and names what it lacks
    // before.
    let ledger = RocksLedger::open(dir.path()).expect("reopen");
    assert_eq!(ledger.archived_below().expect("read"), Some(15));
    let error = ledger.block_bytes(3).expect_err("no directory attached");
    assert!(
        matches!(&error, LedgerError::ArchiveUnavailable { height: 3, file, .. }
            if file == &segment.file_name()),
        "{error}"
    );
    ledger
        .attach_archive(archive.path().to_path_buf())
        .expect("attach");
    for (height, bytes) in blocks.iter().enumerate() {
        assert_eq!(
            ledger.block_bytes(height as u64).expect("read").as_ref(),
            Some(bytes)
        );
    }
    assert!(
        ledger.attach_archive(archive.path().to_path_buf()).is_err(),
        "attached once"
    );
    // Commits go on above the archive.
    commit(
        &ledger,
        21,
        &writes(&[("s/21", Some("v"))]),
        &WriteSet::new(),
    )
    .expect("commit");
}

#[test]
fn an_archive_is_refused_with_nothing_changed_when_it_would_take_the_head_or_nothing() {
    let dir = TempDir::new().expect("tempdir");
    let archive = TempDir::new().expect("tempdir");
    let (ledger, _) = archivable(dir.path(), 5);
    let refused = |ledger: &RocksLedger, below: u64, says: &str| {
        let error = ledger.archive_blocks(below).expect_err("refused");
        assert!(
            matches!(&error, LedgerError::ArchiveRefused { why } if why.contains(says)),
            "below {below}: {error}"
        );
    };
    refused(&ledger, 3, "no archive directory");
    ledger
        .attach_archive(archive.path().join("segments"))
        .expect("attach");
    refused(&ledger, 6, "the head is never archived");
    refused(&ledger, 1, "nothing below 1");
    refused(&ledger, 0, "nothing below 0");
    assert_eq!(ledger.archived_below().expect("read"), None);
    assert!(
        !archive.path().join("segments").exists(),
        "no directory made for a refused archive"
    );
    ledger.archive_blocks(5).expect("everything below the head");
    refused(&ledger, 5, "nothing below 5");
    assert_eq!(ledger.archived_below().expect("read"), Some(5));
}

#[test]
fn a_damaged_or_missing_segment_is_named_and_never_read_as_a_block() {
    let dir = TempDir::new().expect("tempdir");
    let archive = TempDir::new().expect("tempdir");
    let (ledger, blocks) = archivable(dir.path(), 6);
    ledger
        .attach_archive(archive.path().to_path_buf())
        .expect("attach");
    let outcome = ledger.archive_blocks(6).expect("archive");
    let path = archive.path().join(outcome.segments[0].file_name());
    let mut bytes = std::fs::read(&path).expect("read");
    // The last byte of block 1's bytes (its record starts right after the magic).
    let block1_end = 8 + 12 + blocks[1].len() - 1;
    bytes[block1_end] ^= 0x01;
    std::fs::write(&path, &bytes).expect("damage");
    let error = ledger.block_bytes(1).expect_err("damaged");
    assert!(
        matches!(&error, LedgerError::ArchiveUnavailable { height: 1, why, .. }
            if why.contains("damaged or replaced")),
        "{error}"
    );
    assert_eq!(
        ledger
            .block_bytes(2)
            .expect("an undamaged block still reads")
            .as_ref(),
        Some(&blocks[2])
    );
    std::fs::remove_file(&path).expect("remove");
    let error = ledger.block_bytes(2).expect_err("missing");
    assert!(
        matches!(&error, LedgerError::ArchiveUnavailable { height: 2, .. }),
        "{error}"
    );
    assert!(
        error.to_string().contains(&outcome.segments[0].file_name()),
        "{error}"
    );
    assert_eq!(
        ledger.block_bytes(6).expect("the head reads").as_ref(),
        Some(&blocks[6])
    );
}

#[test]
fn a_format_2_tree_moves_into_pages_with_the_same_root_and_proofs() {
    let dir = TempDir::new().expect("tempdir");
    // Enough keys that the tree reaches below the cached pages (depth 16 and on).
    let state: WriteSet = (0..6_000u32)
        .map(|i| {
            (
                format!("key-{i}").into_bytes(),
                Some(format!("value-{i}").into_bytes()),
            )
        })
        .collect();
    let root = {
        let mut ledger = RocksLedger::open(dir.path()).expect("open");
        commit(&ledger, 0, &state, &WriteSet::new()).expect("genesis");
        store_tree_as_format_2(&ledger, &state);
        ledger.force_format(Some(2)).expect("as format 2");
        // A format 2 ledger has no pages family at all.
        std::sync::Arc::get_mut(&mut ledger.db)
            .expect("no staged write holds the database")
            .drop_cf(CF_TREE_PAGES)
            .expect("drop the pages family");
        ledger.head().expect("head").expect("genesis").state_root
    };
    // A backup's read-only open of the old ledger checks it without migrating it.
    let logs = TempDir::new().expect("tempdir");
    let read_only = RocksLedger::open_read_only(dir.path(), logs.path())
        .expect("a format 2 ledger opens read-only");
    assert_eq!(read_only.format().expect("format"), 2);
    assert_eq!(
        read_only.head().expect("head").expect("head").state_root,
        root
    );
    drop(read_only);
    let mut memory = MemoryLedger::new();
    let update = tree::update(&memory, &state).expect("update");
    memory.apply(&state).expect("apply");
    assert_eq!(update.root, root);
    assert!(
        update
            .node_writes
            .iter()
            .any(|(path, _)| path.depth() >= PAGES_CACHED_DEPTH),
        "the test's tree reaches the deeper pages"
    );

    let ledger = RocksLedger::open(dir.path()).expect("a format 2 ledger opens and migrates");
    assert_eq!(ledger.format().expect("format"), LEDGER_FORMAT);
    assert_eq!(ledger.head().expect("head").expect("head").state_root, root);
    let legacy = ledger.cf(CF_TREE).expect("cf");
    assert!(
        ledger
            .db
            .iterator_cf(legacy, IteratorMode::Start)
            .next()
            .is_none(),
        "the node family is emptied"
    );
    for i in [0u32, 17, 2_999, 5_999] {
        let key = format!("key-{i}");
        let (value, proof) = ledger.prove(key.as_bytes()).expect("prove");
        assert_eq!(value, Some(format!("value-{i}").into_bytes()));
        verify_proof(&root, key.as_bytes(), value.as_deref(), &proof).expect("verifies");
    }
    // The next block updates the pages exactly as the binary tree changes.
    let next = writes(&[
        ("key-5", None),
        ("key-new", Some("n")),
        ("key-17", Some("changed")),
    ]);
    let expected = tree::update(&memory, &next).expect("update").root;
    commit(&ledger, 1, &next, &WriteSet::new()).expect("block 1");
    assert_eq!(
        ledger.head().expect("head").expect("head").state_root,
        expected
    );
    drop(ledger);
    let reopened = RocksLedger::open(dir.path()).expect("reopens");
    assert_eq!(
        reopened.head().expect("head").expect("head").state_root,
        expected
    );
}

#[test]
fn pages_deeper_than_the_cache_bound_are_forgotten_and_read_again() {
    // Many blocks of scattered keys: the deeper-page cache fills past its bound and is emptied;
    // every root must still equal the in-memory tree's.
    let dir = TempDir::new().expect("tempdir");
    let ledger = RocksLedger::open(dir.path()).expect("open");
    let mut memory = MemoryLedger::new();
    for height in 0..8u64 {
        let state: WriteSet = (0..4_000u64)
            .map(|i| {
                let n = height * 4_000 + i;
                (
                    sha(&n.to_be_bytes()).to_vec(),
                    Some(n.to_be_bytes().to_vec()),
                )
            })
            .collect();
        commit_as_in_memory(&ledger, &mut memory, height, &state);
        let cached = ledger.writer.lock().expect("writer").deep_len();
        assert!(
            cached <= DEEP_PAGES_CACHED_MAX,
            "{cached} deep pages cached"
        );
    }
}

#[test]
fn paged_storage_gives_the_binary_trees_roots_through_puts_and_deletes() {
    // Blocks of puts and deletes over a shared key space: leaves pushed down into new pages,
    // pulled up out of emptied ones, pages deleted. Every root must be the in-memory tree's,
    // before and after a reopen (which reads only stored pages).
    let dir = TempDir::new().expect("tempdir");
    let mut memory = MemoryLedger::new();
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for round in 0..2u64 {
        let ledger = RocksLedger::open(dir.path()).expect("open");
        for height in round * 12..round * 12 + 12 {
            let mut state = WriteSet::new();
            for _ in 0..1_500 {
                let key = format!("k{}", next() % 20_000).into_bytes();
                let value = (next() % 3 != 0).then(|| next().to_be_bytes().to_vec());
                state.insert(key, value);
            }
            commit_as_in_memory(&ledger, &mut memory, height, &state);
        }
        for i in (0..20_000u64).step_by(997) {
            let key = format!("k{i}");
            let (value, proof) = ledger.prove(key.as_bytes()).expect("prove");
            assert_eq!(
                value.as_deref(),
                memory.get(key.as_bytes()).expect("get").as_deref()
            );
            verify_proof(&memory.root(), key.as_bytes(), value.as_deref(), &proof)
                .expect("verifies");
        }
    }
}

/// Every key of `keys` read through the producer's value cache and straight from the store.
fn assert_cached_reads_match_the_store(ledger: &RocksLedger, keys: &[Vec<u8>], when: &str) {
    let cached = ledger.cached_state();
    for key in keys {
        assert_eq!(
            cached.get(key).expect("cached read"),
            ledger.get(key).expect("store read"),
            "{when}: key {}",
            String::from_utf8_lossy(key)
        );
    }
}

#[test]
fn the_producers_cached_values_always_equal_the_committed_state() {
    let dirs = [TempDir::new().expect("dir"), TempDir::new().expect("dir")];
    let ledger = RocksLedger::open(dirs[0].path()).expect("open");
    let keys: Vec<Vec<u8>> = (0..60u64)
        .map(|i| format!("acct/{i:03}").into_bytes())
        .collect();
    // Cached before they exist: known absent, then written, overwritten and deleted by later
    // commits, read through the cache between every two commits.
    assert_cached_reads_match_the_store(&ledger, &keys, "empty ledger");
    for height in 0..8u64 {
        let mut state = WriteSet::new();
        for (i, key) in keys.iter().enumerate() {
            let i = i as u64;
            if (i + height).is_multiple_of(3) {
                state.insert(key.clone(), Some(format!("v{height}.{i}").into_bytes()));
            } else if (i + height).is_multiple_of(5) {
                state.insert(key.clone(), None);
            }
        }
        // A key no read has cached: the commit does not add it, the first read fetches it.
        let fresh = format!("new/{height}").into_bytes();
        state.insert(fresh.clone(), Some(b"fresh".to_vec()));
        commit(&ledger, height, &state, &WriteSet::new()).expect("commit");
        assert!(
            !ledger.lock_state_cache().holds(&fresh),
            "a key written but never read is not copied into the cache"
        );
        assert_cached_reads_match_the_store(&ledger, &keys, &format!("after height {height}"));
        assert_cached_reads_match_the_store(
            &ledger,
            std::slice::from_ref(&fresh),
            &format!("the fresh key at height {height}"),
        );
        assert!(
            ledger.lock_state_cache().holds(&fresh),
            "read once, then cached"
        );
    }
    assert!(
        ledger.lock_state_cache().len() >= keys.len(),
        "the reads and commits went through the cache"
    );
    // A refused commit changes nothing, the cache included.
    let stale = writes(&[("acct/000", Some("never committed"))]);
    assert!(commit(&ledger, 3, &stale, &WriteSet::new()).is_err());
    assert_cached_reads_match_the_store(&ledger, &keys, "after a refused commit");
    // A snapshot install replaces the state: nothing cached before it survives.
    let source = populated(dirs[1].path(), 9);
    install_from(&ledger, &source).expect("install");
    let installed: Vec<Vec<u8>> = keys
        .iter()
        .cloned()
        .chain(all_state(&source).into_keys().take(200))
        .collect();
    assert_cached_reads_match_the_store(&ledger, &installed, "after a snapshot install");
    assert_eq!(
        ledger.cached_state().get(&keys[0]).expect("read"),
        None,
        "the old state is gone"
    );
}

/// Sixty-four keys (`key 0` ...), each with `value` and its number: enough to fill the root page.
fn sixty_four_keys(value: &str) -> WriteSet {
    (0..64)
        .map(|i| {
            (
                format!("key {i}").into_bytes(),
                Some(format!("{value} {i}").into_bytes()),
            )
        })
        .collect()
}

/// The pages a commit writes go to the writer's cache with every node known to match its
/// parent's record, so the next block's update does not hash them again.
#[test]
fn pages_a_commit_writes_are_known_to_match() {
    let dir = TempDir::new().expect("tempdir");
    let ledger = RocksLedger::open(dir.path()).expect("open");
    commit(&ledger, 0, &sixty_four_keys("value"), &WriteSet::new()).expect("genesis");
    let cache = ledger.lock_writer().expect("writer");
    let root_page = cache
        .get(&NodePath::ROOT)
        .and_then(Option::as_ref)
        .expect("the root page is cached");
    let occupied: Vec<usize> = (0..tree_pages::PAGE_SLOTS)
        .filter(|slot| root_page.node(*slot).is_some())
        .collect();
    assert_eq!(
        occupied.len(),
        tree_pages::PAGE_SLOTS,
        "64 keys fill the root page"
    );
    assert!(occupied.iter().all(|slot| root_page.matched(*slot)));
}

/// A node under an inner node that a compact page leaves out is still checked: damaged on disk,
/// the page's top node computed from it no longer hashes to the parent page's record.
#[test]
fn a_damaged_node_of_a_compact_page_is_refused() {
    let dir = TempDir::new().expect("tempdir");
    {
        let ledger = RocksLedger::open(dir.path()).expect("open");
        commit(&ledger, 0, &sixty_four_keys("value"), &WriteSet::new()).expect("genesis");
        let cf = ledger.cf(CF_TREE_PAGES).expect("cf");
        let (key, mut bytes) = ledger
            .db
            .iterator_cf(cf, IteratorMode::Start)
            .map(|entry| entry.expect("read"))
            .find(|(key, bytes)| {
                NodePath::decode(key).expect("page key").depth() == 4 && bytes[0] & 0x80 != 0
            })
            .expect("a compact page at depth 4");
        // The last stored node's last byte: a node below the left-out top node.
        let last = bytes.len() - 1;
        bytes[last] ^= 0x01;
        ledger.db.put_cf(cf, &key, &bytes).expect("put");
    }
    let ledger = RocksLedger::open(dir.path()).expect("reopen: the root page is intact");
    let error = ledger
        .prepare_state(&sixty_four_keys("new"))
        .expect_err("the damaged page is read on the way to a written key");
    assert!(error.to_string().contains("its parent records"), "{error}");
}

/// A ledger of format 3 (every page in full) opens under format 4 without a rewrite, reads and
/// proves as before, and the pages a commit changes are then stored compact.
#[test]
fn a_format_3_ledger_reads_its_full_pages_and_commits_compact_ones() {
    let dir = TempDir::new().expect("tempdir");
    let state = sixty_four_keys("value");
    let root = {
        let ledger = RocksLedger::open(dir.path()).expect("open");
        commit(&ledger, 0, &state, &WriteSet::new()).expect("genesis");
        let cf = ledger.cf(CF_TREE_PAGES).expect("cf");
        let pages: Vec<_> = ledger
            .db
            .iterator_cf(cf, IteratorMode::Start)
            .map(|entry| entry.expect("read"))
            .collect();
        let mut compact = 0;
        for (key, bytes) in pages {
            compact += usize::from(bytes[0] & 0x80 != 0);
            let full = Page::decode(&bytes).expect("page").encode();
            ledger.db.put_cf(cf, &key, full).expect("put");
        }
        assert!(compact > 0, "a commit stores compact pages");
        ledger.force_format(Some(3)).expect("as format 3");
        ledger.head().expect("head").expect("genesis").state_root
    };
    let ledger = RocksLedger::open(dir.path()).expect("a format 3 ledger opens");
    assert_eq!(ledger.format().expect("format"), LEDGER_FORMAT);
    assert_eq!(ledger.head().expect("head").expect("head").state_root, root);
    let cf = ledger.cf(CF_TREE_PAGES).expect("cf");
    let root_page = || {
        ledger
            .db
            .get_cf(cf, NodePath::ROOT.encode())
            .expect("read")
            .expect("the root page")
    };
    assert_eq!(root_page()[0] & 0x80, 0, "not rewritten by the migration");
    let (value, proof) = ledger.prove(b"key 7").expect("prove");
    assert_eq!(value.as_deref(), Some(b"value 7".as_slice()));
    verify_proof(&root, b"key 7", value.as_deref(), &proof).expect("a proof from full pages");
    commit(&ledger, 1, &sixty_four_keys("next"), &WriteSet::new()).expect("a commit");
    let next_root = ledger.head().expect("head").expect("head").state_root;
    assert_ne!(next_root, root);
    assert_ne!(
        root_page()[0] & 0x80,
        0,
        "the changed root page is stored compact"
    );
    drop(ledger);
    let reopened = RocksLedger::open(dir.path()).expect("reopen");
    assert_eq!(
        reopened.head().expect("head").expect("head").state_root,
        next_root
    );
    let (value, proof) = reopened.prove(b"key 7").expect("prove");
    assert_eq!(value.as_deref(), Some(b"next 7".as_slice()));
    verify_proof(&next_root, b"key 7", value.as_deref(), &proof)
        .expect("a proof from compact pages");
}

/// A node read from the store is checked against its parent's record before it is known: one
/// damaged behind the ledger's back is refused on its first read after a reopen, and nothing
/// is marked known for it; the nodes that do match are known from then on.
#[test]
fn a_stored_node_is_checked_on_its_first_read() {
    let dir = TempDir::new().expect("tempdir");
    let damaged_root = {
        let ledger = RocksLedger::open(dir.path()).expect("open");
        commit(&ledger, 0, &sixty_four_keys("value"), &WriteSet::new()).expect("genesis");
        // Damage one page below the root: its top node now hashes to something its parent
        // does not record.
        let cf = ledger.cf(CF_TREE_PAGES).expect("cf");
        let (key, bytes) = ledger
            .db
            .iterator_cf(cf, IteratorMode::Start)
            .map(|entry| entry.expect("read"))
            .find(|(key, _)| NodePath::decode(key).expect("page key").depth() == 4)
            .expect("a page at depth 4");
        let mut page = Page::decode(&bytes).expect("page");
        let damaged = match page.node(0).expect("a page's top node") {
            Node::Leaf { key_hash, .. } => Node::Leaf {
                key_hash,
                value_hash: [7; 32],
            },
            Node::Inner { right, .. } => Node::Inner {
                left: [7; 32],
                right,
            },
        };
        page.set(0, Some(damaged));
        ledger.db.put_cf(cf, &key, page.encode()).expect("put");
        NodePath::decode(&key).expect("page key")
    };
    let ledger = RocksLedger::open(dir.path()).expect("reopen: the root page is intact");
    let error = ledger
        .prepare_state(&sixty_four_keys("new"))
        .expect_err("the damaged node is read on the way to a written key");
    let message = error.to_string();
    assert!(matches!(error, LedgerError::Corruption { .. }), "{message}");
    assert!(message.contains("its parent records"), "{message}");
    // Refused again: a refused node is never marked known.
    assert!(ledger.prepare_state(&sixty_four_keys("new")).is_err());
    let cache = ledger.lock_writer().expect("writer");
    let damaged_page = cache
        .get(&damaged_root)
        .and_then(Option::as_ref)
        .expect("the damaged page was read");
    assert!(!damaged_page.matched(0));
    let root_page = cache
        .get(&NodePath::ROOT)
        .and_then(Option::as_ref)
        .expect("the root page was read");
    // The descent passed the damaged page's ancestors in the root page: they matched.
    for depth in 1..4 {
        let (page, slot) = tree_pages::page_of(&damaged_root.ancestor(depth));
        assert_eq!(page, NodePath::ROOT);
        assert!(
            root_page.matched(slot),
            "the ancestor at depth {depth} is known"
        );
    }
}

#[test]
fn a_staged_block_is_the_producers_at_once_and_every_readers_once_durable() {
    let dir = TempDir::new().expect("tempdir");
    let ledger = RocksLedger::open(dir.path()).expect("open");
    let genesis = writes(&[
        ("k0", Some("zero")),
        ("k1", Some("one")),
        ("k3", Some("three")),
    ]);
    commit(&ledger, 0, &genesis, &WriteSet::new()).expect("genesis");
    let head0 = ledger.head().expect("head").expect("genesis");
    // Held by the value cache before the block: updated in place when it is staged.
    assert_eq!(
        ledger.cached_state().get(b"k3").expect("read"),
        Some(b"three".to_vec())
    );

    let block1 = writes(&[
        ("k0", None),
        ("k1", Some("one, changed")),
        ("k2", Some("two")),
        ("k3", Some("three, changed")),
    ]);
    let gate = ledger.gate_next_write();
    let head1 = stage(&ledger, 1, &block1).expect("stage block 1");

    // Every reader of the store still sees block 0 while block 1 is being written...
    assert_eq!(ledger.head().expect("head"), Some(head0));
    assert_eq!(ledger.get(b"k1").expect("read"), Some(b"one".to_vec()));
    assert_eq!(ledger.get(b"k2").expect("read"), None);
    // ...and the producer sees block 1: its head, its values (held or not by the cache, put or
    // deleted) and its tree.
    assert_eq!(ledger.staged_head(), Some(head1));
    let producer = ledger.cached_state();
    assert_eq!(producer.get(b"k0").expect("read"), None);
    assert_eq!(
        producer.get(b"k1").expect("read"),
        Some(b"one, changed".to_vec())
    );
    assert_eq!(producer.get(b"k2").expect("read"), Some(b"two".to_vec()));
    assert_eq!(
        producer.get(b"k3").expect("read"),
        Some(b"three, changed".to_vec())
    );
    // Scans too (the chain's own step reads its queues so), from the start, after a key and
    // cut to a limit, over a staged delete and a staged insert.
    let keys_of =
        |entries: Vec<Entry>| -> Vec<Vec<u8>> { entries.into_iter().map(|(key, _)| key).collect() };
    assert_eq!(
        producer.scan_prefix(b"k", None, 10).expect("scan"),
        vec![
            (b"k1".to_vec(), b"one, changed".to_vec()),
            (b"k2".to_vec(), b"two".to_vec()),
            (b"k3".to_vec(), b"three, changed".to_vec()),
        ]
    );
    assert_eq!(
        keys_of(producer.scan_prefix(b"k", Some(b"k1"), 10).expect("scan")),
        [b"k2".to_vec(), b"k3".to_vec()]
    );
    assert_eq!(
        keys_of(producer.scan_prefix(b"k", None, 1).expect("scan")),
        [b"k1".to_vec()]
    );
    assert_eq!(
        keys_of(ledger.scan_prefix(b"k", None, 10).expect("scan")),
        [b"k0".to_vec(), b"k1".to_vec(), b"k3".to_vec()],
        "the store's readers still see block 0"
    );
    let block2 = writes(&[("k2", None), ("k4", Some("four"))]);
    let prepared = ledger
        .prepare_state(&block2)
        .expect("prepare on the staged block");
    assert_eq!(prepared.prev_root, head1.state_root);

    gate.send(true).expect("release the write");
    assert_eq!(ledger.wait_committed().expect("durable"), Some(head1));
    assert_eq!(ledger.wait_committed().expect("nothing staged"), None);
    assert_eq!(ledger.staged_head(), None);
    assert_eq!(ledger.head().expect("head"), Some(head1));
    assert_eq!(ledger.get(b"k2").expect("read"), Some(b"two".to_vec()));

    // Block 2, prepared while block 1 was in flight, commits on it and gives the root the
    // writes give in memory.
    let head2 = stage(&ledger, 2, &block2).expect("stage block 2");
    ledger.wait_committed().expect("durable");
    let mut memory = MemoryLedger::new();
    for writes in [&genesis, &block1, &block2] {
        memory.apply(writes).expect("apply");
    }
    assert_eq!(head2.state_root, memory.root());
    assert_eq!(ledger.head().expect("head"), Some(head2));
    assert_eq!(all_state(&ledger), all_state(&memory));
    drop(ledger);
    let reopened = RocksLedger::open(dir.path()).expect("reopen");
    assert_eq!(reopened.head().expect("head"), Some(head2));
}

#[test]
fn staging_the_next_block_waits_until_the_one_before_is_durable() {
    let dir = TempDir::new().expect("tempdir");
    let ledger = RocksLedger::open(dir.path()).expect("open");
    commit(&ledger, 0, &writes(&[("a", Some("0"))]), &WriteSet::new()).expect("genesis");
    let gate = ledger.gate_next_write();
    let head1 = stage(&ledger, 1, &writes(&[("a", Some("1"))])).expect("stage 1");
    let release = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(50));
        gate.send(true).expect("release the write");
    });
    // Prepared on block 1 in flight; staging it waits for block 1's write, then checks it
    // against the durable head, which is block 1's.
    let head2 = stage(&ledger, 2, &writes(&[("a", Some("2"))])).expect("stage 2");
    release.join().expect("releaser");
    assert_eq!(ledger.head().expect("head"), Some(head1));
    assert_eq!(ledger.wait_committed().expect("durable"), Some(head2));
    assert_eq!(ledger.head().expect("head"), Some(head2));
}

#[test]
fn a_failed_staged_write_is_refused_until_reopen_and_loses_nothing_durable() {
    let dir = TempDir::new().expect("tempdir");
    let ledger = RocksLedger::open(dir.path()).expect("open");
    let genesis = writes(&[("a", Some("0"))]);
    commit(&ledger, 0, &genesis, &WriteSet::new()).expect("genesis");
    let head0 = ledger.head().expect("head");
    let block1 = writes(&[("a", Some("1")), ("b", Some("new"))]);
    let gate = ledger.gate_next_write();
    stage(&ledger, 1, &block1).expect("stage 1");
    gate.send(false).expect("fail the write");
    for _ in 0..2 {
        match ledger.wait_committed() {
            Err(LedgerError::StagedWriteFailed { height: 1, .. }) => {}
            other => panic!("a failed write must be refused, every time: {other:?}"),
        }
    }
    match stage(&ledger, 1, &block1) {
        Err(LedgerError::StagedWriteFailed { height: 1, .. }) => {}
        other => panic!("no commit after a failed write: {other:?}"),
    }
    // The store and the producer's caches are at block 0, not the block that failed.
    assert_eq!(ledger.head().expect("head"), head0);
    assert_eq!(ledger.cached_state().get(b"b").expect("read"), None);
    assert_eq!(
        ledger.cached_state().get(b"a").expect("read"),
        Some(b"0".to_vec())
    );
    drop(ledger);
    let reopened = RocksLedger::open(dir.path()).expect("reopen");
    assert_eq!(reopened.head().expect("head"), head0);
    commit(&reopened, 1, &block1, &WriteSet::new()).expect("block 1 again, after a reopen");
    assert_eq!(reopened.get(b"b").expect("read"), Some(b"new".to_vec()));
}

#[test]
fn a_staged_block_whose_pages_cannot_be_built_is_refused_and_loses_nothing_durable() {
    let dir = TempDir::new().expect("tempdir");
    let ledger = RocksLedger::open(dir.path()).expect("open");
    let genesis = writes(&[("a", Some("0")), ("c", Some("0"))]);
    commit(&ledger, 0, &genesis, &WriteSet::new()).expect("genesis");
    let head0 = ledger.head().expect("head");
    let block1 = writes(&[("a", Some("1")), ("b", Some("new"))]);
    let tree = ledger.prepare_state(&block1).expect("prepare");
    // The root page damaged on disk and forgotten by the writer: the writing thread, which
    // builds the block's pages from the committed ones, reads it and cannot.
    ledger
        .db
        .put_cf(
            ledger.cf(CF_TREE_PAGES).expect("cf"),
            NodePath::ROOT.encode(),
            b"not a page",
        )
        .expect("damage the root page");
    ledger.writer.lock().expect("writer").clear();
    let txs = tx_hashes(1, 2);
    let (bytes, block_hash) = block(1, &tree.root, 2);
    ledger
        .stage_block(&BlockCommit {
            height: 1,
            block_hash,
            state_root: tree.root,
            timestamp_ms: 1_700_000_000_001,
            block_bytes: &bytes,
            tx_hashes: &txs,
            state_writes: &block1,
            tree: &tree,
            index_writes: &WriteSet::new(),
            certificate: None,
        })
        .expect("handed over: the pages are built behind");
    for _ in 0..2 {
        match ledger.wait_committed() {
            Err(LedgerError::StagedWriteFailed { height: 1, why }) => {
                assert!(why.contains("tree pages"), "{why}");
            }
            other => panic!("pages not built must be refused, every time: {other:?}"),
        }
    }
    // Nothing of block 1 reached the store or stayed in the producer's values.
    assert_eq!(ledger.head().expect("head"), head0);
    assert_eq!(ledger.get(b"b").expect("read"), None);
    assert_eq!(ledger.cached_state().get(b"b").expect("read"), None);
}

#[test]
fn what_orders_itself_against_commits_waits_for_the_staged_write_and_so_does_closing() {
    let dir = TempDir::new().expect("tempdir");
    let ledger = RocksLedger::open(dir.path()).expect("open");
    commit(&ledger, 0, &writes(&[("a", Some("0"))]), &WriteSet::new()).expect("genesis");
    let release_after = |gate: std::sync::mpsc::Sender<bool>| {
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(30));
            gate.send(true).expect("release the write");
        })
    };

    // A checkpoint copies the ledger at a durable head that includes the staged block.
    let gate = ledger.gate_next_write();
    let head1 = stage(&ledger, 1, &writes(&[("a", Some("1"))])).expect("stage 1");
    let release = release_after(gate);
    let copy = TempDir::new().expect("tempdir");
    let checkpoint = copy.path().join("checkpoint");
    assert_eq!(ledger.checkpoint(&checkpoint).expect("checkpoint"), head1);
    release.join().expect("releaser");
    assert_eq!(
        RocksLedger::open(&checkpoint)
            .expect("open the copy")
            .head()
            .expect("head"),
        Some(head1)
    );

    // Closing the ledger writes the staged block first; the next open finds it.
    let gate = ledger.gate_next_write();
    let head2 = stage(&ledger, 2, &writes(&[("a", Some("2"))])).expect("stage 2");
    let release = release_after(gate);
    drop(ledger);
    release.join().expect("releaser");
    let reopened = RocksLedger::open(dir.path()).expect("reopen: the database was closed");
    assert_eq!(reopened.head().expect("head"), Some(head2));
}

proptest::proptest! {
    #![proptest_config(proptest::test_runner::Config {
        cases: 24,
        failure_persistence: None,
        ..proptest::test_runner::Config::default()
    })]

    /// Written behind or committed block by block, the ledgers end equal, and between blocks
    /// the producer of the one writing behind reads (point reads and scans, cut and resumed) the
    /// state each block leaves, whether its write is still in flight or durable.
    #[test]
    fn the_producer_reads_each_block_written_behind_as_if_it_were_committed(
        blocks in proptest::collection::vec(
            proptest::collection::btree_map(0u16..300, proptest::option::of(0u8..=255), 0..40),
            1..10,
        ),
    ) {
        let key = |n: u16| format!("k/{n:03}").into_bytes();
        let block_writes: Vec<WriteSet> = blocks
            .iter()
            .map(|writes| {
                writes
                    .iter()
                    .map(|(n, value)| (key(*n), value.map(|v| vec![v; usize::from(v % 7) + 1])))
                    .collect()
            })
            .collect();
        let genesis: WriteSet = (0..300u16).step_by(3).map(|n| (key(n), Some(vec![1]))).collect();
        let (dir_a, dir_b) = (TempDir::new().expect("tempdir"), TempDir::new().expect("tempdir"));
        let committed = RocksLedger::open(dir_a.path()).expect("open");
        let behind = RocksLedger::open(dir_b.path()).expect("open");
        commit(&committed, 0, &genesis, &WriteSet::new()).expect("genesis");
        commit(&behind, 0, &genesis, &WriteSet::new()).expect("genesis");
        let mut model = MemoryLedger::new();
        model.apply(&genesis).expect("apply");
        let probes: Vec<Vec<u8>> = (0..300u16).step_by(7).map(key).collect();
        for (index, writes) in block_writes.iter().enumerate() {
            let height = index as u64 + 1;
            commit(&committed, height, writes, &WriteSet::new()).expect("commit");
            // Every other block is read while its write is held in flight.
            let gate = (height % 2 == 1).then(|| behind.gate_next_write());
            let head = stage(&behind, height, writes).expect("stage");
            model.apply(writes).expect("apply");
            proptest::prop_assert_eq!(head, committed.head().expect("head").expect("head"));
            let producer = behind.cached_state();
            for probe in probes.iter().chain(writes.keys()) {
                proptest::prop_assert_eq!(
                    producer.get(probe).expect("read"),
                    model.get(probe).expect("read")
                );
            }
            for (prefix, after, limit) in [
                (&b"k/"[..], None, 1_000),
                (&b"k/"[..], None, 5),
                (&b"k/"[..], Some(&b"k/150"[..]), 10),
                (&b"k/1"[..], Some(&b"k/105"[..]), 1_000),
            ] {
                proptest::prop_assert_eq!(
                    producer.scan_prefix(prefix, after, limit).expect("scan"),
                    model.scan_prefix(prefix, after, limit).expect("scan")
                );
            }
            if let Some(gate) = gate {
                gate.send(true).expect("release the write");
            }
        }
        behind.wait_committed().expect("durable");
        proptest::prop_assert_eq!(behind.head().expect("head"), committed.head().expect("head"));
        proptest::prop_assert_eq!(all_state(&behind), all_state(&committed));
    }
}
