//! The testnet tool as a user drives it: up, status, kill, start, down, on real processes.

mod common;

use common::*;
use std::time::{Duration, Instant};

#[test]
fn up_status_kill_start_down() {
    let dir = tempfile::tempdir().expect("tempdir");
    let net = dir.path().join("net");
    let (ok, text) = testnet(&net, &["up", "--nodes", "3"]);
    assert!(ok, "up failed: {text}");
    assert!(text.contains("testnet of 3 raft nodes up"), "{text}");
    let (_, status) = testnet(&net, &["status"]);
    let running = rows(&status);
    assert_eq!(running.len(), 3, "{status}");
    let leader = running[0].2.clone();
    assert!(
        running.iter().all(|r| r.2 == leader),
        "one leader: {status}"
    );
    // A node's log is a file: plain text an operator can grep, no terminal colour codes.
    let log = std::fs::read_to_string(net.join("node-1").join("node.log")).expect("node log");
    assert!(log.contains("node serving"), "{log}");
    assert!(!log.contains('\u{1b}'), "colour codes in a log file");

    // Kill a node that is not the leader: it shows as stopped, the others go on.
    let victim = (1..=3)
        .map(|n| format!("node-{n}"))
        .find(|n| *n != leader)
        .expect("a follower");
    let number = victim.trim_start_matches("node-");
    let (ok, text) = testnet(&net, &["kill", number]);
    assert!(ok, "kill failed: {text}");
    let (_, status) = testnet(&net, &["status"]);
    assert!(
        status
            .lines()
            .any(|l| l.starts_with(&victim) && l.contains("stopped")),
        "{status}"
    );

    // Start it again: it rejoins with the same state root as the others.
    let (ok, text) = testnet(&net, &["start", number]);
    assert!(ok, "start failed: {text}");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, status) = testnet(&net, &["status"]);
        let running = rows(&status);
        if running.len() == 3
            && running
                .iter()
                .all(|r| r.3 == running[0].3 && r.1 == running[0].1)
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "restarted node did not rejoin: {status}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let (ok, text) = testnet(&net, &["down"]);
    assert!(ok, "down failed: {text}");
    let (_, status) = testnet(&net, &["status"]);
    assert_eq!(
        status.lines().filter(|l| l.contains("stopped")).count(),
        3,
        "{status}"
    );
}
