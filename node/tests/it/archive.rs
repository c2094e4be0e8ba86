//! Archiving old blocks (issue 15, "Retention"): an operator moves a running node's old blocks
//! out of its ledger into segment files, and the node keeps serving them (blocks, traces, trace
//! bundles that an auditor verifies), across a restart, through a backup and restore; a
//! missing archive is a clear NODE_UNAVAILABLE that stops nothing, and a bad request is refused
//! with ARCHIVE_REFUSED and changes nothing.

use crate::common;

use std::path::Path;

use tokio_stream::StreamExt;
use vchain_node::admin::ArchiveRange;
use vchain_node::backup::{restore, Manifest, RestoreOptions};
use vchain_proto::v1::*;

use common::TestNode;

async fn block_at(node: &mut TestNode, height: u64) -> Result<Block, tonic::Status> {
    let request = node.audited(
        GetBlockRequest {
            selector: Some(get_block_request::Selector::Height(height)),
        },
        "GetBlock",
    );
    node.api
        .get_block(request)
        .await
        .map(|response| response.into_inner().block.expect("a block"))
}

async fn trace(node: &mut TestNode, voucher: &str) -> TraceVoucherResponse {
    let request = node.audited(
        TraceVoucherRequest {
            voucher_id: voucher.into(),
            ..Default::default()
        },
        "TraceVoucher",
    );
    node.api
        .trace_voucher(request)
        .await
        .expect("trace")
        .into_inner()
}

/// The voucher's trace bundle from the node, verified as an auditor does (against genesis
/// alone); the lineage's vouchers.
async fn verified_bundle(node: &mut TestNode, voucher: &str) -> vchain_bundle::VerifiedLineage {
    let request = node.audited(
        ExportTraceBundleRequest {
            voucher_id: voucher.into(),
        },
        "ExportTraceBundle",
    );
    let mut stream = node
        .api
        .export_trace_bundle(request)
        .await
        .expect("bundle")
        .into_inner();
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        bytes.extend(chunk.expect("chunk").data);
    }
    let bundle = vchain_bundle::decode(&bytes).expect("decodes");
    vchain_bundle::verify(&bundle, &node.genesis).expect("an auditor verifies it")
}

async fn archive(node: &TestNode, range: ArchiveRange) -> Result<ArchiveBlocksResponse, String> {
    let socket = node
        .node
        .as_ref()
        .and_then(|n| n.admin_socket.clone())
        .expect("admin socket");
    vchain_node::admin::request_archive(&socket, range)
        .await
        .map_err(|error| error.to_string())
}

fn segment_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("archive dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archived_blocks_are_served_and_verified_across_restart_backup_and_a_missing_archive() {
    let mut node = TestNode::start().await;
    let root = node.grant_and_issue(10_000, 1_000, 90, "INV-ARCHIVE").await;
    let events = node.ok("gearbox", common::split(&root, &[400, 600])).await;
    let children = common::created_vouchers(&events);
    node.ok(
        "gearbox",
        common::transfer(&children[0], "bank-b-factoring", Some(390)),
    )
    .await;
    let head = node.status().await.height;
    assert!(head >= 4, "several blocks to archive (head {head})");
    let mut blocks = Vec::new();
    for height in 0..=head {
        blocks.push(block_at(&mut node, height).await.expect("block"));
    }
    let trace_before = trace(&mut node, &children[0]).await;
    let lineage_before = verified_bundle(&mut node, &children[0]).await;

    // Refusals change nothing.
    let why = archive(&node, ArchiveRange::Below(head + 1))
        .await
        .expect_err("the head stays");
    assert!(
        why.contains("ARCHIVE_REFUSED") && why.contains("head"),
        "{why}"
    );
    let why = archive(&node, ArchiveRange::Below(1))
        .await
        .expect_err("nothing below 1");
    assert!(why.contains("ARCHIVE_REFUSED"), "{why}");
    let archive_dir = node.config.archive_dir();
    assert!(!archive_dir.exists(), "a refused archive made no directory");

    // Archive all but the newest block.
    let archived = archive(&node, ArchiveRange::Below(head))
        .await
        .expect("archived");
    assert_eq!((archived.from_height, archived.below_height), (1, head));
    assert_eq!(archived.archive_dir, archive_dir.display().to_string());
    assert!(archived.block_bytes > 0);
    let names: Vec<String> = archived
        .segments
        .iter()
        .map(|s| s.file_name.clone())
        .collect();
    assert_eq!(segment_names(&archive_dir), names);
    let ledger = &node.node.as_ref().expect("running").chain.ledger;
    assert_eq!(ledger.archived_below().expect("read"), Some(head));

    // Served as before: every block, the trace, a bundle that verifies.
    for (height, block) in blocks.iter().enumerate() {
        assert_eq!(
            &block_at(&mut node, height as u64).await.expect("served"),
            block
        );
    }
    assert_eq!(trace(&mut node, &children[0]).await, trace_before);
    let lineage = verified_bundle(&mut node, &children[0]).await;
    assert_eq!(lineage.vouchers, lineage_before.vouchers);
    let why = archive(&node, ArchiveRange::Below(head))
        .await
        .expect_err("again: nothing left");
    assert!(why.contains("ARCHIVE_REFUSED"), "{why}");

    // The chain goes on; a restart serves the archive.
    let events = node
        .ok("gearbox", common::split(&children[1], &[100, 500]))
        .await;
    let grandchildren = common::created_vouchers(&events);
    let mut node = node.restart().await;
    for (height, block) in blocks.iter().enumerate() {
        assert_eq!(
            &block_at(&mut node, height as u64).await.expect("served"),
            block
        );
    }
    // keep_recent archives all but the newest few.
    let events = node
        .ok("gearbox", common::split(&grandchildren[1], &[200, 300]))
        .await;
    let pieces = common::created_vouchers(&events);
    let now = node.status().await.height;
    let more = archive(&node, ArchiveRange::KeepRecent(1))
        .await
        .expect("archived more");
    assert_eq!((more.from_height, more.below_height), (head, now - 1));

    // A backup carries the archive; a restore elsewhere serves the archived blocks.
    let scratch = tempfile::tempdir().expect("tempdir");
    let backup = scratch.path().join("backup");
    let socket = node
        .node
        .as_ref()
        .and_then(|n| n.admin_socket.clone())
        .expect("socket");
    vchain_node::admin::request_backup(&socket, &backup)
        .await
        .expect("backup taken");
    let manifest = Manifest::read(&backup).expect("manifest");
    let carried: Vec<String> = manifest.archive.iter().map(|f| f.name.clone()).collect();
    assert_eq!(carried, segment_names(&archive_dir));
    // A damaged segment in the backup is refused before anything is written.
    let damaged = scratch.path().join("damaged");
    common::copy_dir(&backup, &damaged);
    let segment = damaged.join("archive").join(&carried[0]);
    let mut bytes = std::fs::read(&segment).expect("read");
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&segment, bytes).expect("write");
    let mut target = node.config.clone();
    target.data_dir = scratch.path().join("restored");
    target.grpc_listen = "127.0.0.1:0".parse().expect("address");
    target.dev_api = false;
    // A solo chain restored under its own id produces again from the backup's head.
    let solo = RestoreOptions { as_follower: true };
    let error = restore(&target, &damaged, solo).expect_err("damaged");
    assert_eq!(error.code(), "BACKUP_FILE_MISMATCH", "{error}");
    assert!(!target.archive_dir().exists() && !target.ledger_dir().exists());
    restore(&target, &backup, solo).expect("restores");
    assert_eq!(segment_names(&target.archive_dir()), carried);
    let restored = vchain_node::start(target).await.expect("starts restored");
    for (height, block) in blocks.iter().enumerate() {
        let served = restored
            .chain
            .ledger
            .block(height as u64)
            .expect("read")
            .expect("held");
        assert_eq!(&served, block, "block {height} from the restored archive");
    }
    restored.shutdown().await.expect("clean stop");

    // The archive directory gone: NODE_UNAVAILABLE for archived blocks, the node serves the
    // rest; back in place, served again.
    let aside = scratch.path().join("archive-aside");
    std::fs::rename(&archive_dir, &aside).expect("move the archive away");
    let status = block_at(&mut node, 2)
        .await
        .expect_err("archived block unavailable");
    assert_eq!(
        common::error_code(&status),
        "NODE_UNAVAILABLE",
        "{status:?}"
    );
    assert!(
        status.message().contains("blocks-"),
        "names the segment: {status:?}"
    );
    // A replay of events through archived blocks says the same, not NODE_FAULT.
    let request = node.audited(
        SubscribeEventsRequest {
            from_height: 1,
            ..SubscribeEventsRequest::default()
        },
        "SubscribeEvents",
    );
    let mut replay = node
        .api
        .subscribe_events(request)
        .await
        .expect("subscribed")
        .into_inner();
    let status = replay
        .next()
        .await
        .expect("an answer")
        .expect_err("the replay reaches an unavailable archived block");
    assert_eq!(
        common::error_code(&status),
        "NODE_UNAVAILABLE",
        "{status:?}"
    );
    let head_now = node.status().await.height;
    block_at(&mut node, head_now)
        .await
        .expect("the head is served");
    node.ok("gearbox", common::split(&pieces[1], &[100, 200]))
        .await;
    std::fs::rename(&aside, &archive_dir).expect("put it back");
    assert_eq!(
        block_at(&mut node, 2).await.expect("served again"),
        blocks[2]
    );
    node.stop().await;
}
