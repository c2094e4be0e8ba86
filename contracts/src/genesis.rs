//! Genesis: the chain id, parameters, consensus nodes, member organisations with their
//! administrators, and any identities that exist from the start. Read from a file by the node;
//! turned into the first state here, with the same checks the operations apply.

use prost::Message;
use serde::{Deserialize, Serialize};
use vchain_ledger::WriteSet;
use vchain_proto::v1::{
    Account, AccountStatus, ChainParams, ChainRules, ConsensusConfig, ConsensusNode, Identity,
    IdentityStatus, Organisation, Role,
};

use crate::certificates;
use crate::chain_params::{self, ParamsError};
use crate::keys;
use crate::rules;
use crate::validate;

/// Chain parameters as written in a genesis file. Every field has a production default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Params {
    /// Longest allowed tenor (issuance to maturity), days.
    pub max_tenor_days: u32,
    /// Smallest child of a split, minor units.
    pub min_split_amount: u64,
    /// Most children of one split.
    pub split_fanout_max: u32,
    /// Days after maturity before an unredeemed voucher is destroyed.
    pub redemption_grace_days: u32,
    /// The chain's time zone, minutes east of UTC.
    pub utc_offset_minutes: i32,
    /// Most transactions in a block.
    pub block_tx_max: u32,
    /// Largest block, bytes of transactions.
    pub block_bytes_max: u32,
    /// Largest transaction, bytes.
    pub tx_bytes_max: u32,
    /// Most expired vouchers destroyed in one block.
    pub destroy_per_block_max: u32,
    /// A proposal passes when approvals × 100 > this × member organisations (strictly more
    /// than): 50..=99, or 0 for [`PROPOSAL_APPROVAL_PERCENT_DEFAULT`]. Zero, not the default
    /// itself, is what a file without the field gets, so genesis files written before governance
    /// keep producing the same genesis block.
    ///
    /// [`PROPOSAL_APPROVAL_PERCENT_DEFAULT`]: chain_params::PROPOSAL_APPROVAL_PERCENT_DEFAULT
    pub proposal_approval_percent: u32,
    /// How long a proposal stays open, milliseconds: [`PROPOSAL_TTL_MS_MIN`]..=
    /// [`PROPOSAL_TTL_MS_MAX`], or 0 for [`PROPOSAL_TTL_MS_DEFAULT`].
    ///
    /// [`PROPOSAL_TTL_MS_MIN`]: chain_params::PROPOSAL_TTL_MS_MIN
    /// [`PROPOSAL_TTL_MS_MAX`]: chain_params::PROPOSAL_TTL_MS_MAX
    /// [`PROPOSAL_TTL_MS_DEFAULT`]: chain_params::PROPOSAL_TTL_MS_DEFAULT
    pub proposal_ttl_ms: u64,
    /// Deepest lineage (splits of splits): 1..=[`LINEAGE_DEPTH_LIMIT`], or 0 for the default
    /// of the chain's rules version ([`crate::rules::lineage_depth_max`]). Only a genesis that
    /// starts on rules version 2 or later may set it; left out, it is not written.
    ///
    /// [`LINEAGE_DEPTH_LIMIT`]: crate::limits::LINEAGE_DEPTH_LIMIT
    #[serde(skip_serializing_if = "is_zero")]
    pub lineage_depth_max: u32,
}

fn is_zero(value: &u32) -> bool {
    *value == 0
}

impl Default for Params {
    fn default() -> Self {
        Self {
            max_tenor_days: 365,
            min_split_amount: 100,
            split_fanout_max: 16,
            redemption_grace_days: 7,
            utc_offset_minutes: 480,
            block_tx_max: 2_000,
            block_bytes_max: 8 * 1024 * 1024,
            tx_bytes_max: 16 * 1024,
            destroy_per_block_max: 256,
            proposal_approval_percent: 0,
            proposal_ttl_ms: 0,
            lineage_depth_max: 0,
        }
    }
}

impl Params {
    /// The protobuf form stored in state.
    pub fn to_proto(&self) -> ChainParams {
        ChainParams {
            max_tenor_days: self.max_tenor_days,
            min_split_amount: self.min_split_amount,
            split_fanout_max: self.split_fanout_max,
            redemption_grace_days: self.redemption_grace_days,
            utc_offset_minutes: self.utc_offset_minutes,
            block_tx_max: self.block_tx_max,
            block_bytes_max: self.block_bytes_max,
            tx_bytes_max: self.tx_bytes_max,
            destroy_per_block_max: self.destroy_per_block_max,
            proposal_approval_percent: self.proposal_approval_percent,
            proposal_ttl_ms: self.proposal_ttl_ms,
            // Left at 0 it is not encoded (proto3), so genesis files from before it existed
            // keep their genesis state; `Genesis::state` refuses it on a v1 chain.
            lineage_depth_max: self.lineage_depth_max,
        }
    }

    fn validate(&self) -> Result<(), GenesisError> {
        Ok(chain_params::validate_chain_params(&self.to_proto())?)
    }
}

/// An account in genesis: its id, its ed25519 public key in hex and, for an organisation with a
/// root CA, its certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisAccount {
    /// Account id.
    pub account_id: String,
    /// Public key, 64 hex characters. May be empty when `certificate` is given.
    #[serde(default)]
    pub public_key: String,
    /// The account's X.509 certificate, PEM, issued by its organisation's root CA (O = the
    /// organisation, OU = the role, CN = the account id). Required when the organisation has
    /// a root CA; empty otherwise.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub certificate: String,
}

/// A consortium member organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisOrganisation {
    /// Short id, e.g. `bank-a`.
    pub org_id: String,
    /// Legal name.
    pub name: String,
    /// Unified social credit code; also the administrator identity's id.
    pub uscc: String,
    /// Administrator accounts.
    pub admins: Vec<GenesisAccount>,
    /// The organisation's root CA certificate, PEM (`vchain ca init`), verified at the genesis
    /// time. With one, every account of the organisation must be certified by it. Empty: bare
    /// keys (development chains).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub root_ca_certificate: String,
}

/// An identity registered from the start (dev chains, migrations).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisIdentity {
    /// Organisation it is registered under.
    pub org_id: String,
    /// Unified social credit code.
    pub uscc: String,
    /// Name.
    pub name: String,
    /// `financier`, `core-enterprise`, `supplier`, `regulator`, `warehouse-operator` or `administrator`.
    pub role: String,
    /// Legal representative.
    #[serde(default)]
    pub legal_representative: String,
    /// Its accounts.
    pub accounts: Vec<GenesisAccount>,
}

/// Consensus as configured in genesis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisConsensus {
    /// `solo` (one node), `raft` (crash fault tolerant) or `pbft` (Byzantine fault tolerant,
    /// with commit certificates).
    pub engine: String,
    /// Consensus nodes: `(node_id, org_id)`.
    pub nodes: Vec<GenesisNode>,
}

/// A consensus node in genesis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisNode {
    /// Node id.
    pub node_id: String,
    /// Organisation running it.
    pub org_id: String,
    /// The node's ed25519 network public key, 64 hex characters (its libp2p PeerId).
    /// Required by networked engines (`raft`, `pbft`); empty for `solo`. Under `pbft` it is
    /// also the node's consensus key: the key its commit signatures verify under.
    #[serde(default)]
    pub public_key: String,
    /// The node's certificate, PEM, from its organisation's root CA (OU node, CN the node id,
    /// the network key). Required when the organisation has a root CA and the engine is
    /// networked.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub certificate: String,
}

/// A genesis file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Genesis {
    /// Chain id every transaction must carry.
    pub chain_id: String,
    /// Chain time of the genesis block, milliseconds since the Unix epoch.
    pub genesis_time_ms: u64,
    /// Chain parameters.
    #[serde(default)]
    pub params: Params,
    /// Consensus engine and nodes.
    pub consensus: GenesisConsensus,
    /// Consortium members.
    pub organisations: Vec<GenesisOrganisation>,
    /// Identities that exist from the start.
    #[serde(default)]
    pub identities: Vec<GenesisIdentity>,
    /// A development chain (dev mode, demos, tests): only such a chain's nodes may serve the
    /// DevApi that moves their clock. Part of the genesis state (`p/development`), so a
    /// production chain's genesis hash says it is not one.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub development: bool,
    /// The chain rules version the chain starts on (`crate::rules`): 2..=[`RULES_VERSION_MAX`]
    /// stores the rules record in the genesis state, activated at height 0; 0 or 1 (what a file
    /// without the field gets) starts on version 1 with nothing stored, as every chain did
    /// before. The dev and testnet tools write [`RULES_VERSION_MAX`].
    ///
    /// [`RULES_VERSION_MAX`]: crate::rules::RULES_VERSION_MAX
    #[serde(default, skip_serializing_if = "is_zero")]
    pub rules_version: u32,
}

/// A genesis that cannot start a chain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GenesisError {
    /// A field breaks a rule; the message names it.
    #[error("invalid genesis: {0}")]
    Invalid(String),
}

impl From<ParamsError> for GenesisError {
    fn from(error: ParamsError) -> Self {
        GenesisError::Invalid(error.to_string())
    }
}

/// Parses a role name as written in genesis files and on the command line.
pub fn parse_role(name: &str) -> Option<Role> {
    Some(match name {
        "administrator" => Role::Administrator,
        "financier" => Role::Financier,
        "core-enterprise" => Role::CoreEnterprise,
        "supplier" => Role::Supplier,
        "regulator" => Role::Regulator,
        "warehouse-operator" => Role::WarehouseOperator,
        _ => return None,
    })
}

impl Genesis {
    /// The consensus configuration in its stored form.
    pub fn consensus_config(&self) -> ConsensusConfig {
        ConsensusConfig {
            engine: self.consensus.engine.clone(),
            nodes: self
                .consensus
                .nodes
                .iter()
                .map(|n| ConsensusNode {
                    node_id: n.node_id.clone(),
                    org_id: n.org_id.clone(),
                    public_key: hex::decode(&n.public_key).unwrap_or_default(),
                    // Read, not verified, here: `state` verifies it against the CA.
                    certificate_serial: certificates::certificate_der(n.certificate.as_bytes())
                        .ok()
                        .filter(|_| !n.certificate.is_empty())
                        .and_then(|der| vchain_pki::inspect(&der).ok())
                        .map(|c| c.serial)
                        .unwrap_or_default(),
                })
                .collect(),
            removed_node_ids: Vec::new(),
            change_heights: Vec::new(),
        }
    }

    /// Checks the genesis and builds the state it starts the chain with.
    pub fn state(&self) -> Result<WriteSet, GenesisError> {
        let invalid = |what: String| GenesisError::Invalid(what);
        validate::account_id(&self.chain_id)
            .map_err(|e| invalid(format!("chain_id: {}", e.message)))?;
        self.params.validate()?;
        match self.consensus.engine.as_str() {
            "solo" if self.consensus.nodes.len() != 1 => {
                return Err(invalid(format!(
                    "solo consensus runs exactly one node, genesis lists {}",
                    self.consensus.nodes.len()
                )));
            }
            "solo" => {}
            // PBFT's validators sign with the key listed here (the key their CA certified), so
            // it has the same rules as Raft's network keys, and a set that fits a certificate.
            engine @ ("raft" | "pbft") => {
                if self.consensus.nodes.is_empty() {
                    return Err(invalid(format!(
                        "{engine} consensus needs at least one node"
                    )));
                }
                if self.consensus.nodes.len() > crate::CONSENSUS_NODES_MAX {
                    return Err(invalid(format!(
                        "{engine} consensus runs at most {} nodes, genesis lists {}",
                        crate::CONSENSUS_NODES_MAX,
                        self.consensus.nodes.len()
                    )));
                }
                let mut seen = std::collections::BTreeSet::new();
                let mut seen_keys = std::collections::BTreeMap::new();
                for node in &self.consensus.nodes {
                    // The same id rule as nodes added later (`AddConsensusNode`): ids are in
                    // every vote and certificate, sized by it.
                    validate::account_id(&node.node_id).map_err(|e| {
                        invalid(format!("consensus node {:?}: {}", node.node_id, e.message))
                    })?;
                    if !seen.insert(node.node_id.as_str()) {
                        return Err(invalid(format!(
                            "consensus node {} is listed twice",
                            node.node_id
                        )));
                    }
                    let Some(key) = hex::decode(&node.public_key).ok().filter(|k| k.len() == 32)
                    else {
                        return Err(invalid(format!(
                            "consensus node {} needs its 32-byte network public key in hex",
                            node.node_id
                        )));
                    };
                    // As AddConsensusNode checks it: the signature rule refuses a small-order
                    // key, so a PBFT validator holding one could never sign a commit.
                    validate::public_key(&key).map_err(|e| {
                        invalid(format!("consensus node {}: {}", node.node_id, e.message))
                    })?;
                    // The network key is the node's identity on the wire: two nodes sharing one
                    // would be indistinguishable to peers and to the connection allow-list.
                    if let Some(first) = seen_keys.insert(key, node.node_id.as_str()) {
                        return Err(invalid(format!(
                            "consensus nodes {first} and {} have the same network public key",
                            node.node_id
                        )));
                    }
                }
            }
            other => {
                return Err(invalid(format!(
                    "consensus engine {other:?} is not available (this build has: solo, raft, pbft)"
                )));
            }
        }
        if self.organisations.is_empty() {
            return Err(invalid(
                "a consortium needs at least one member organisation".into(),
            ));
        }
        if self.organisations.len() > crate::ORGANISATIONS_MAX {
            return Err(invalid(format!(
                "a consortium has at most {} member organisations, genesis lists {}",
                crate::ORGANISATIONS_MAX,
                self.organisations.len()
            )));
        }
        let mut state = WriteSet::new();
        let mut put = |key: Vec<u8>, value: Vec<u8>| -> Result<(), GenesisError> {
            match state.insert(key.clone(), Some(value)) {
                None => Ok(()),
                Some(_) => Err(GenesisError::Invalid(format!(
                    "{} is defined twice",
                    String::from_utf8_lossy(&key)
                ))),
            }
        };
        put(keys::CHAIN_ID.to_vec(), self.chain_id.as_bytes().to_vec())?;
        if self.development {
            put(keys::DEVELOPMENT.to_vec(), vec![1])?;
        }
        let rules_version = self.rules_version.max(rules::RULES_VERSION_GENESIS);
        if rules_version > rules::RULES_VERSION_MAX {
            return Err(invalid(format!(
                "rules_version {rules_version}: this release implements chain rules up to v{}",
                rules::RULES_VERSION_MAX
            )));
        }
        if self.params.lineage_depth_max != 0
            && rules_version < rules::RULES_VERSION_LINEAGE_DEPTH_PARAM
        {
            return Err(invalid(format!(
                "params: lineage_depth_max is a chain rules v{} parameter; set rules_version to \
                 at least {} to name it",
                rules::RULES_VERSION_LINEAGE_DEPTH_PARAM,
                rules::RULES_VERSION_LINEAGE_DEPTH_PARAM
            )));
        }
        if rules_version > rules::RULES_VERSION_GENESIS {
            let record = ChainRules {
                version: rules_version,
                activation_height: 0,
                proposal_id: String::new(),
            };
            put(keys::RULES.to_vec(), record.encode_to_vec())?;
        }
        put(
            keys::PARAMS.to_vec(),
            self.params.to_proto().encode_to_vec(),
        )?;
        put(
            keys::CONSENSUS.to_vec(),
            self.consensus_config().encode_to_vec(),
        )?;
        let org_ids: Vec<&str> = self
            .organisations
            .iter()
            .map(|o| o.org_id.as_str())
            .collect();
        for node in &self.consensus.nodes {
            if !org_ids.contains(&node.org_id.as_str()) {
                return Err(invalid(format!(
                    "node {} belongs to unknown organisation {}",
                    node.node_id, node.org_id
                )));
            }
        }
        let mut identities = Vec::new();
        let mut root_cas: std::collections::BTreeMap<&str, Vec<u8>> = Default::default();
        for org in &self.organisations {
            validate::account_id(&org.org_id)
                .map_err(|e| invalid(format!("organisation id: {}", e.message)))?;
            let root_ca_certificate = if org.root_ca_certificate.is_empty() {
                Vec::new()
            } else {
                let der = certificates::check_root_ca(
                    &org.org_id,
                    org.root_ca_certificate.as_bytes(),
                    self.genesis_time_ms,
                )
                .map_err(|e| invalid(format!("organisation {}: {}", org.org_id, e.message)))?;
                root_cas.insert(org.org_id.as_str(), der.clone());
                der
            };
            let record = Organisation {
                org_id: org.org_id.clone(),
                name: org.name.clone(),
                uscc: org.uscc.clone(),
                root_ca_certificate,
                ..Organisation::default()
            };
            put(keys::organisation(&org.org_id), record.encode_to_vec())?;
            if org.admins.is_empty() {
                return Err(invalid(format!(
                    "organisation {} has no administrator",
                    org.org_id
                )));
            }
            identities.push((
                org.org_id.as_str(),
                org.uscc.as_str(),
                org.name.as_str(),
                Role::Administrator,
                "",
                org.admins.as_slice(),
            ));
        }
        if self.consensus.engine != "solo" {
            for node in &self.consensus.nodes {
                let certified = certificates::check_node_certificate(
                    root_cas.get(node.org_id.as_str()).map(Vec::as_slice),
                    &node.org_id,
                    &node.node_id,
                    node.certificate.as_bytes(),
                    &hex::decode(&node.public_key).unwrap_or_default(),
                    self.genesis_time_ms,
                )
                .map_err(|e| invalid(e.message))?;
                if let Some(certified) = certified {
                    let record = certified.record(&node.org_id, 0);
                    put(
                        keys::certificate(&node.org_id, &record.serial),
                        record.encode_to_vec(),
                    )?;
                    put(
                        keys::certificate_expiry(record.not_after_ms, &node.org_id, &record.serial),
                        Vec::new(),
                    )?;
                }
            }
        }
        for identity in &self.identities {
            if !org_ids.contains(&identity.org_id.as_str()) {
                return Err(invalid(format!(
                    "identity {} is under unknown organisation {}",
                    identity.uscc, identity.org_id
                )));
            }
            let role = parse_role(&identity.role).ok_or_else(|| {
                invalid(format!(
                    "identity {}: unknown role {:?}",
                    identity.uscc, identity.role
                ))
            })?;
            identities.push((
                identity.org_id.as_str(),
                identity.uscc.as_str(),
                identity.name.as_str(),
                role,
                identity.legal_representative.as_str(),
                identity.accounts.as_slice(),
            ));
        }
        for (org_id, uscc, name, role, legal_representative, accounts) in identities {
            validate::uscc(uscc).map_err(|e| invalid(e.message))?;
            if accounts.is_empty() {
                return Err(invalid(format!("identity {uscc} has no account")));
            }
            let record = Identity {
                uscc: uscc.to_owned(),
                name: name.to_owned(),
                role: role.into(),
                org_id: org_id.to_owned(),
                status: IdentityStatus::Active.into(),
                legal_representative: legal_representative.to_owned(),
                accounts: accounts.iter().map(|a| a.account_id.clone()).collect(),
                registered_height: 0,
            };
            put(keys::identity(uscc), record.encode_to_vec())?;
            for account in accounts {
                validate::account_id(&account.account_id).map_err(|e| invalid(e.message))?;
                let mut public_key = hex::decode(&account.public_key).map_err(|e| {
                    invalid(format!(
                        "account {}: public key is not hex: {e}",
                        account.account_id
                    ))
                })?;
                let certified = certificates::check_account_certificate(
                    root_cas.get(org_id).map(Vec::as_slice),
                    org_id,
                    &account.account_id,
                    role,
                    account.certificate.as_bytes(),
                    &public_key,
                    self.genesis_time_ms,
                )
                .map_err(|e| invalid(e.message))?;
                if let Some(certified) = &certified {
                    public_key = certified.certified.public_key.to_vec();
                }
                validate::public_key(&public_key).map_err(|e| {
                    invalid(format!("account {}: {}", account.account_id, e.message))
                })?;
                put(
                    keys::key_binding(&public_key),
                    account.account_id.as_bytes().to_vec(),
                )?;
                let mut record = Account {
                    account_id: account.account_id.clone(),
                    uscc: uscc.to_owned(),
                    public_key,
                    status: AccountStatus::Active.into(),
                    next_nonce: 0,
                    org_id: org_id.to_owned(),
                    role: role.into(),
                    ..Account::default()
                };
                if let Some(certified) = certified {
                    certified.bind(&mut record);
                    let cert = certified.record(org_id, 0);
                    put(
                        keys::certificate(org_id, &cert.serial),
                        cert.encode_to_vec(),
                    )?;
                    put(
                        keys::certificate_expiry(cert.not_after_ms, org_id, &cert.serial),
                        Vec::new(),
                    )?;
                }
                put(keys::account(&account.account_id), record.encode_to_vec())?;
            }
        }
        Ok(state)
    }
}
