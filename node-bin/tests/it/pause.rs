//! A node paused (SIGSTOP: a frozen VM, a long GC-like stall, an operator's `kill -STOP`) and
//! thawed must keep serving every client on a shared HTTP/2 connection. While it is frozen,
//! clients give up on their calls and cancel them (RST_STREAM); on thawing the node reads the
//! whole backlog at once. HTTP/2 servers count such "accepted then reset" streams to stop a
//! rapid-reset attack, and h2's default (20) closed the connection with "too many resets",
//! failing every other call on it (issue 11). The node allows as many as it allows concurrent
//! streams, so a thaw costs only the calls that were cancelled.

use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tonic::transport::Channel;
use vchain_proto::v1::vchain_api_client::VchainApiClient;
use vchain_proto::v1::*;

/// Calls the clients give up on while the node is frozen: far more than h2's default of 20.
const CANCELLED_CALLS: usize = 200;

fn free_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
}

/// Kills the node however the test ends (a frozen node would outlive it otherwise).
struct NodeProcess(Child);

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-CONT", &self.0.id().to_string()])
            .status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn signal(child: &Child, signal: &str) {
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success(), "kill {signal}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thawed_node_keeps_the_connection_other_clients_share() {
    let dir = tempfile::tempdir().expect("tempdir");
    let addr = free_port();
    let node = NodeProcess(
        Command::new(env!("CARGO_BIN_EXE_vchain-node"))
            .args(["dev", "--data-dir"])
            .arg(dir.path())
            .args(["--grpc-listen", &addr.to_string()])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn vchain-node"),
    );
    // One HTTP/2 connection, shared by every call below (as a wallet service's clients share
    // theirs).
    let deadline = Instant::now() + Duration::from_secs(60);
    let channel = loop {
        if let Ok(channel) = Channel::from_shared(format!("http://{addr}"))
            .expect("uri")
            .connect()
            .await
        {
            if VchainApiClient::new(channel.clone())
                .get_status(GetStatusRequest {})
                .await
                .is_ok()
            {
                break channel;
            }
        }
        assert!(Instant::now() < deadline, "node on {addr} did not come up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let api = VchainApiClient::new(channel);

    signal(&node.0, "-STOP");
    // Patient clients send calls and wait; impatient ones give up on theirs (RST_STREAM), all
    // on the one connection, while the node is frozen.
    let patient = |api: &VchainApiClient<Channel>| {
        let mut api = api.clone();
        tokio::spawn(async move {
            tokio::time::timeout(Duration::from_secs(30), api.get_status(GetStatusRequest {})).await
        })
    };
    let mut waiting = vec![patient(&api), patient(&api)];
    let mut cancelled = Vec::new();
    for _ in 0..CANCELLED_CALLS {
        let mut api = api.clone();
        cancelled.push(tokio::spawn(async move {
            tokio::time::timeout(
                Duration::from_millis(300),
                api.get_status(GetStatusRequest {}),
            )
            .await
        }));
    }
    for call in cancelled {
        assert!(call.await.expect("task").is_err(), "a frozen node answered");
    }
    waiting.extend([patient(&api), patient(&api)]);
    tokio::time::sleep(Duration::from_millis(200)).await;
    signal(&node.0, "-CONT");

    // Every patient call is answered: the thaw did not close the connection under them.
    for (i, call) in waiting.into_iter().enumerate() {
        let answer = call
            .await
            .expect("task")
            .unwrap_or_else(|_| panic!("patient call {i} got no answer within 30 s"));
        assert!(
            answer.is_ok(),
            "patient call {i} failed with the thaw: {:?}",
            answer.err()
        );
    }
    let mut api = api;
    api.get_status(GetStatusRequest {})
        .await
        .expect("calls keep working after the thaw");
}
