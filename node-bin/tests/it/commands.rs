//! The operator commands that need no running node, or find none: `node-key` prints the key a
//! consortium adds (the one the node uses), and `archive`/`backup` against a stopped node say so
//! with exit status 3.

use std::process::{Command, Output};

fn vchain_node(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vchain-node"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run vchain-node")
}

/// The value of `name=` in `vchain-node node-key`'s output.
fn assignment<'a>(stdout: &'a str, name: &str) -> &'a str {
    stdout
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("no {name}= in {stdout:?}"))
}

#[test]
fn node_key_prints_the_key_the_node_runs_with_creating_it_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let now = vchain_node::clock::ChainClock::default().now_ms();
    let config =
        vchain_devnet::prepare(dir.path(), "127.0.0.1:0".parse().expect("addr"), false, now)
            .expect("dev data dir");
    let config_path = vchain_devnet::config_path(dir.path());
    // The same config in a directory of its own (its data_dir is relative to it) without a
    // key: the command makes it, as a first start would.
    let fresh = dir.path().join("fresh");
    std::fs::create_dir(&fresh).expect("mkdir");
    let fresh_path = fresh.join("config.toml");
    std::fs::copy(&config_path, &fresh_path).expect("copy config");
    assert!(!fresh.join(vchain_node::network::NODE_KEY_FILE).exists());

    for path in [&config_path, &fresh_path] {
        let path = path.to_str().expect("utf-8");
        let first = vchain_node(&["node-key", "--config", path]);
        assert!(first.status.success(), "{first:?}");
        let again = vchain_node(&["node-key", "--config", path]);
        assert_eq!(first.stdout, again.stdout, "the same key every time");
        let stdout = String::from_utf8(first.stdout).expect("utf-8");
        let data_dir = if path.contains("fresh") {
            fresh.clone()
        } else {
            config.data_dir.clone()
        };
        let key = vchain_node::network::NodeKey::load_or_create(&data_dir).expect("key");
        assert_eq!(assignment(&stdout, "public_key"), key.public_key_hex());
        assert_eq!(assignment(&stdout, "peer_id"), key.peer_id().to_string());
    }
}

#[test]
fn archive_and_backup_of_a_stopped_node_fail_with_status_3_naming_the_socket() {
    let dir = tempfile::tempdir().expect("tempdir");
    let now = vchain_node::clock::ChainClock::default().now_ms();
    vchain_devnet::prepare(dir.path(), "127.0.0.1:0".parse().expect("addr"), false, now)
        .expect("dev data dir");
    let config = vchain_devnet::config_path(dir.path());
    let config = config.to_str().expect("utf-8");
    let out = dir.path().join("backup");
    for args in [
        vec!["archive", "--config", config, "--below", "10"],
        vec!["archive", "--config", config, "--keep-recent", "100"],
        vec![
            "backup",
            "--config",
            config,
            "--out",
            out.to_str().expect("utf-8"),
        ],
    ] {
        let output = vchain_node(&args);
        assert_eq!(output.status.code(), Some(3), "{args:?}: {output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("admin.sock"), "{args:?}: {stderr}");
    }
    let both = vchain_node(&[
        "archive",
        "--config",
        config,
        "--below",
        "5",
        "--keep-recent",
        "1",
    ]);
    assert_eq!(both.status.code(), Some(2), "one or the other: {both:?}");
}
