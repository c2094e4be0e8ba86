//! The testnet tool as a user drives it: up, status, kill, start, down, on real processes.

use crate::common;

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

/// `init --hosts` writes a testnet for nodes on other hosts: each node's directory carries its
/// config, genesis and key; listeners bind every interface; each node dials the others at the
/// addresses given, as the peers genesis lists. What it writes is what deploy/compose runs
/// (scripts/test-containers.sh starts it in containers).
#[test]
fn init_writes_self_contained_nodes_for_other_hosts() {
    use vchain_node::config::NodeConfig;
    let dir = tempfile::tempdir().expect("tempdir");
    let net = dir.path().join("consortium");
    let hosts = ["10.89.0.11", "10.89.0.12", "10.89.0.13", "10.89.0.14"];
    let (ok, text) = testnet(
        &net,
        &["init", "--hosts", &hosts.join(","), "--consensus", "pbft"],
    );
    assert!(ok, "init failed: {text}");
    assert!(text.contains("testnet of 4 pbft nodes written"), "{text}");
    let genesis = vchain_node::load_genesis(&net.join("genesis.toml")).expect("genesis");
    assert_eq!(genesis.consensus.engine, "pbft");
    assert_eq!(genesis.consensus.nodes.len(), 4);
    let top_genesis = std::fs::read(net.join("genesis.toml")).expect("genesis");
    for (i, node) in genesis.consensus.nodes.iter().enumerate() {
        let node_dir = net.join(&node.node_id);
        let config = NodeConfig::load(&node_dir.join("config.toml")).expect("config");
        assert_eq!(config.node_id, node.node_id);
        assert_eq!(config.data_dir, std::path::Path::new("/data"));
        assert_eq!(config.genesis, node_dir.join("genesis.toml"));
        assert_eq!(
            std::fs::read(&config.genesis).expect("node's genesis"),
            top_genesis
        );
        assert!(node_dir.join("node_key").is_file(), "{}", node.node_id);
        assert_eq!(config.grpc_listen.to_string(), "0.0.0.0:7050");
        assert_eq!(
            config.metrics.expect("metrics").listen.to_string(),
            "0.0.0.0:9100"
        );
        let network = config.network.expect("network");
        assert_eq!(network.listen, "/ip4/0.0.0.0/tcp/7100");
        let expected: Vec<String> = genesis
            .consensus
            .nodes
            .iter()
            .zip(hosts)
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, (peer, host))| {
                let id = vchain_node::network::peer_id_from_public_key_hex(&peer.public_key)
                    .expect("peer id");
                format!("/ip4/{host}/tcp/7100/p2p/{id}")
            })
            .collect();
        assert_eq!(network.peers, expected, "{}", node.node_id);
    }
    // It never writes over keys.
    let (ok, text) = testnet(&net, &["init", "--hosts", &hosts.join(",")]);
    assert!(!ok && text.contains("is not empty"), "{text}");
    // Names are written as /dns4 (resolved before the node starts); nonsense is refused.
    let named = dir.path().join("named");
    let (ok, text) = testnet(&named, &["init", "--hosts", "a.example,b.example"]);
    assert!(ok, "init failed: {text}");
    let config = NodeConfig::load(&named.join("node-1").join("config.toml")).expect("config");
    assert!(
        config.network.expect("network").peers[0].starts_with("/dns4/b.example/tcp/7100/p2p/"),
        "peers dialled by name"
    );
    let (ok, text) = testnet(&dir.path().join("bad"), &["init", "--hosts", "a_b"]);
    assert!(
        !ok && text.contains("neither an IPv4 address nor a DNS name"),
        "{text}"
    );
}
