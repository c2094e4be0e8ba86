//! Loopback ports for dev clusters' listeners, picked so that clusters set up at once on one
//! machine (parallel tests, each starting its own nodes) do not pick the same port.
//!
//! Owns: the range ports come from and the claims that keep pickers apart. Must not depend on:
//! anything a node runs (ports are chosen once, when a cluster's configs are written).
//!
//! # Why claims
//! A port found free is only free until someone binds it, and a node binds its ports seconds
//! after its config is written (its process starts first). Two clusters set up in that window
//! could pick one port, and the second node to bind it refuses to start ("not free"). So a
//! picked port is also claimed, by creating a file named after it in [`claims_dir`]; a picker
//! skips a port claimed less than [`PORT_CLAIM_SECS`] ago. Claims older than that are stale
//! (the node has bound the port by then, or never will) and are taken over.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Ports a dev cluster's listeners are picked from: below Linux's ephemeral range (32768 and
/// up), which the kernel hands to outgoing connections and to port-0 binds, so a port found
/// free here is not taken by another test's connection before the node binds it.
pub const DEV_PORTS: std::ops::Range<u16> = 20_000..32_768;
/// How long a picked port stays claimed against other pickers: far longer than a node takes
/// from its config being written to binding its ports.
pub const PORT_CLAIM_SECS: u64 = 120;
/// Random ports tried before the kernel's pick is taken.
const PICK_ATTEMPTS_MAX: u64 = 32;

/// Where this machine's pickers record their claims (shared by every process of this user).
pub fn claims_dir() -> PathBuf {
    std::env::temp_dir().join("vchain-dev-ports")
}

/// A loopback port that was free a moment ago and that no other picker on this machine
/// claimed in the last [`PORT_CLAIM_SECS`], picked at random from [`DEV_PORTS`], or the
/// kernel's pick if none of a few tries is free.
pub fn free_loopback_port() -> std::io::Result<u16> {
    pick_in(&claims_dir(), SystemTime::now())
}

fn pick_in(claims: &Path, now: SystemTime) -> std::io::Result<u16> {
    use std::hash::{BuildHasher, Hasher};
    // Without a claims directory the bind probe alone decides, as before claims existed.
    let claims = std::fs::create_dir_all(claims).is_ok().then_some(claims);
    let span = u64::from(DEV_PORTS.end - DEV_PORTS.start);
    for attempt in 0..PICK_ATTEMPTS_MAX {
        // Not consensus code: the process's random hash seed is randomness enough.
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u64(attempt);
        let port = DEV_PORTS.start + u16::try_from(hasher.finish() % span).unwrap_or(0);
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_err() {
            continue;
        }
        if claims.is_none_or(|dir| claim(dir, port, now)) {
            return Ok(port);
        }
    }
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr().map(|a| a.port()))
}

/// Claims `port` in `dir` at `now`: true when it was unclaimed, or its claim is stale (older
/// than [`PORT_CLAIM_SECS`], or dated in the future by a clock set back) and is taken over.
fn claim(dir: &Path, port: u16, now: SystemTime) -> bool {
    let path = dir.join(port.to_string());
    let create = || {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .and_then(|file| file.set_modified(now))
    };
    match create() {
        Ok(()) => return true,
        Err(error) if error.kind() != std::io::ErrorKind::AlreadyExists => return true,
        Err(_) => {}
    }
    let fresh = std::fs::metadata(&path)
        .and_then(|meta| meta.modified())
        .is_ok_and(|claimed| {
            now.duration_since(claimed)
                .is_ok_and(|age| age < Duration::from_secs(PORT_CLAIM_SECS))
        });
    if fresh {
        return false;
    }
    // Stale: taken over by whichever picker removes it and creates it anew first.
    let _ = std::fs::remove_file(&path);
    create().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A claims directory of one test's own, removed when dropped.
    struct Claims(PathBuf);

    impl Claims {
        fn new(test: &str) -> Self {
            let dir = std::env::temp_dir()
                .join(format!("vchain-port-claims-{test}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).expect("claims dir");
            Self(dir)
        }

        fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for Claims {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn a_claimed_port_is_not_claimed_again_until_its_claim_is_stale() {
        let dir = Claims::new("stale");
        let now = SystemTime::now();
        assert!(claim(dir.path(), 20_001, now), "unclaimed");
        assert!(!claim(dir.path(), 20_001, now), "claimed a moment ago");
        let almost = now + Duration::from_secs(PORT_CLAIM_SECS - 1);
        assert!(
            !claim(dir.path(), 20_001, almost),
            "claimed within the claim's life"
        );
        assert!(
            claim(dir.path(), 20_002, now),
            "another port is free to claim"
        );
        let later = now + Duration::from_secs(PORT_CLAIM_SECS + 1);
        assert!(
            claim(dir.path(), 20_001, later),
            "a stale claim is taken over"
        );
        assert!(!claim(dir.path(), 20_001, later), "and is then fresh again");
        let earlier = now - Duration::from_secs(3_600);
        assert!(
            claim(dir.path(), 20_002, earlier),
            "a claim dated after the picker's clock is stale"
        );
    }

    #[test]
    fn pickers_sharing_claims_never_pick_one_port() {
        let dir = Claims::new("apart");
        let now = SystemTime::now();
        let mut picked = std::collections::BTreeSet::new();
        for _ in 0..200 {
            let port = pick_in(dir.path(), now).expect("a port");
            assert!(picked.insert(port), "port {port} picked twice");
        }
        assert!(
            picked.iter().any(|port| DEV_PORTS.contains(port)),
            "ports come from the dev range"
        );
    }
}
