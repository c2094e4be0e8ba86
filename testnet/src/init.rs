//! `vchain-testnet init`: a testnet's files for nodes that run elsewhere — containers, other
//! machines — instead of as local processes. The keys, certificates, genesis and demo parties
//! are those of `up` (`vchain_devnet::prepare_cluster`); only the configs differ: every
//! listener binds all interfaces on fixed ports, peers are dialled at the addresses given, and
//! each node's directory holds everything its host needs (`config.toml`, `genesis.toml`,
//! `node_key`), so it can be mounted as it is (deploy/compose, deploy/kubernetes).

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use vchain_node::config::{MetricsSection, NodeConfig};
use vchain_node::network::NodeKey;

/// Where a node's peers reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Host {
    /// An IPv4 address: the node dials it as it is.
    Ip(Ipv4Addr),
    /// A DNS name. The node's transport dials IP addresses only, so the name must be resolved
    /// in the config before the node starts (the image's `vchain-resolve-peers`).
    Name(String),
}

impl Host {
    /// An IPv4 address, or a DNS name of letters, digits, `-` and `.`.
    pub(crate) fn parse(text: &str) -> anyhow::Result<Self> {
        if let Ok(ip) = text.parse::<Ipv4Addr>() {
            return Ok(Host::Ip(ip));
        }
        let label_ok = |label: &str| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        };
        if text.len() <= 253 && text.split('.').all(label_ok) {
            return Ok(Host::Name(text.to_owned()));
        }
        bail!("{text:?} is neither an IPv4 address nor a DNS name")
    }

    fn multiaddr(&self, port: u16) -> String {
        match self {
            Host::Ip(ip) => format!("/ip4/{ip}/tcp/{port}"),
            Host::Name(name) => format!("/dns4/{name}/tcp/{port}"),
        }
    }
}

/// The ports every node listens on (the same on every host: each has its own address).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ports {
    pub(crate) grpc: u16,
    pub(crate) p2p: u16,
    pub(crate) metrics: u16,
}

/// Writes a testnet of `hosts.len()` nodes under `dir` (which must be empty or absent: it will
/// hold keys, and init never overwrites any) and returns each node's id and peer id.
pub(crate) fn init(
    dir: &Path,
    consensus: &str,
    hosts: &[Host],
    ports: Ports,
    data_dir: &Path,
    now_ms: u64,
) -> anyhow::Result<Vec<(String, String)>> {
    if dir.exists()
        && std::fs::read_dir(dir)
            .with_context(|| format!("reading {}", dir.display()))?
            .next()
            .is_some()
    {
        bail!(
            "{} is not empty: init writes keys and never replaces any; give a new directory",
            dir.display()
        );
    }
    if !data_dir.is_absolute() {
        bail!(
            "--data-dir {} must be absolute: it is the path on the nodes' hosts",
            data_dir.display()
        );
    }
    let distinct: std::collections::BTreeSet<u16> = [ports.grpc, ports.p2p, ports.metrics].into();
    if distinct.len() != 3 || distinct.contains(&0) {
        bail!("the gRPC, peer-to-peer and metrics ports must be three different non-zero ports");
    }
    let configs = vchain_devnet::prepare_cluster(dir, hosts.len(), now_ms, consensus)?;
    let mut peers = Vec::new();
    for (config, host) in configs.iter().zip(hosts) {
        // prepare_cluster made the key in the node's directory; this reads it back.
        let key = NodeKey::load_or_create(&node_dir(dir, &config.node_id))?;
        peers.push((
            config.node_id.clone(),
            format!("{}/p2p/{}", host.multiaddr(ports.p2p), key.peer_id()),
        ));
    }
    let any = |port| SocketAddr::from((Ipv4Addr::UNSPECIFIED, port));
    for config in configs {
        let node_id = config.node_id.clone();
        let network = config
            .network
            .clone()
            .with_context(|| format!("{node_id}'s config has no [network]"))?;
        let config = NodeConfig {
            data_dir: data_dir.to_owned(),
            // Beside the config: the node's directory is self-contained.
            genesis: PathBuf::from("genesis.toml"),
            grpc_listen: any(ports.grpc),
            metrics: Some(MetricsSection {
                listen: any(ports.metrics),
            }),
            network: Some(vchain_node::config::NetworkSection {
                listen: format!("/ip4/0.0.0.0/tcp/{}", ports.p2p),
                peers: peers
                    .iter()
                    .filter(|(other, _)| *other != node_id)
                    .map(|(_, address)| address.clone())
                    .collect(),
                ..network
            }),
            ..config
        };
        let node_dir = node_dir(dir, &node_id);
        std::fs::copy(dir.join("genesis.toml"), node_dir.join("genesis.toml"))
            .with_context(|| format!("copying genesis.toml into {}", node_dir.display()))?;
        let path = node_dir.join("config.toml");
        std::fs::write(&path, toml::to_string_pretty(&config)?)
            .with_context(|| format!("writing {}", path.display()))?;
        NodeConfig::load(&path).with_context(|| format!("{node_id}'s config"))?;
    }
    Ok(peers)
}

fn node_dir(dir: &Path, node_id: &str) -> PathBuf {
    dir.join(node_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_parse_as_addresses_or_names() {
        assert_eq!(
            Host::parse("10.0.0.7").expect("ip"),
            Host::Ip(Ipv4Addr::new(10, 0, 0, 7))
        );
        assert_eq!(
            Host::parse("vchain-1.vchain.svc").expect("name"),
            Host::Name("vchain-1.vchain.svc".into())
        );
        for bad in ["", "a..b", "-x", "x_y", "a/b", "1.2.3.4/tcp"] {
            assert!(Host::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(
            Host::parse("node2").expect("name").multiaddr(7100),
            "/dns4/node2/tcp/7100"
        );
    }
}
