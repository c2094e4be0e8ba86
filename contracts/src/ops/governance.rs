//! Governance (议案机制): consortium changes are proposed by a member organisation's
//! administrator and voted on by the members, one vote per organisation.
//!
//! Rules, in the order they are checked:
//! - Only an administrator of a current member organisation proposes or votes (an administrator
//!   of a removed organisation cannot act at all, see `execute::require_member_organisation`).
//! - A proposal's action is checked in full at submission, so a proposal that could never apply
//!   is refused at once, and again when it passes, because the state may have changed since: if
//!   it no longer applies then, the proposal is REJECTED with the reason and nothing of the action
//!   is written. Each action is a read-only check followed by writes that cannot be refused.
//! - The proposer's organisation approves by submitting. Votes count only from organisations
//!   that are members when the tally is taken (after each vote).
//! - A proposal passes when `approvals × 100 > approval_percent × members` and its action executes
//!   in the same transaction; it is rejected as soon as the members that have not voted could no
//!   longer make it pass; it expires when a block's time reaches its deadline undecided (the
//!   chain's own step at the start of a block, [`expire_proposals`], at most
//!   [`PROPOSAL_EXPIRY_PER_BLOCK_MAX`] per block through a queue keyed by deadline).
//! - Every submission, vote and decision is an event in the proposal's history (`ge/`), and the
//!   proposal record keeps its votes; changes to members, their CAs, consensus nodes and
//!   parameters also go to the audit log, as every permission change does.
//! - A rules upgrade (`ScheduleRulesUpgrade`, ADR 0016) names the version after the active one,
//!   an activation height at least [`RULES_ACTIVATION_NOTICE_MIN`] and at most
//!   [`RULES_ACTIVATION_NOTICE_MAX`] blocks after the block that checks it, and needs no other
//!   upgrade pending. It is not bounded by what this release implements
//!   ([`crate::rules::RULES_VERSION_MAX`]): an older release must record the schedule a newer
//!   one will execute. Passing stores it (`p/rules_pending`); `crate::rules` activates it.

use sha2::{Digest, Sha256};
use vchain_ledger::StateReader;
use vchain_proto::v1::{
    submit_proposal::Action, AddOrganisation, AdminAccount, ChainParams, ChainRules, ErrorCode,
    Event, EventKind, Identity, IdentityStatus, Organisation, Proposal, ProposalStatus,
    RemoveOrganisation, Role, RotateOrganisationCa, ScheduleRulesUpgrade, SetChainParams,
    SubmitProposal, VoteOnProposal,
};

use crate::certificates::{self, CheckedCertificate};
use crate::chain_params::{
    validate_chain_params, PROPOSAL_APPROVAL_PERCENT_DEFAULT, PROPOSAL_TTL_MS_DEFAULT,
};
use crate::context::BlockContext;
use crate::error::{reject, ExecError, Failure, Rejection};
use crate::keys::{self, EventPosition};
use crate::limits::PROPOSAL_EXPIRY_PER_BLOCK_MAX;
use crate::ops::certificate;
use crate::ops::consensus;
use crate::ops::identity::ACCOUNTS_PER_IDENTITY_MAX;
use crate::ops::TxContext;
use crate::rules::{
    self, RULES_ACTIVATION_NOTICE_MAX, RULES_ACTIVATION_NOTICE_MIN, RULES_VERSION_LIMIT,
};
use crate::state::{decode, read_message, Overlay};
use crate::validate::{self, TEXT_LEN_MAX};

/// Most organisation records a chain holds, current and removed (a removed organisation's
/// record stays, so its id is never reused). Bounds the member scan every tally makes.
pub const ORGANISATIONS_MAX: usize = 128;
/// Largest root CA certificate a proposal may carry. A typical root certificate is 1-2 KiB in
/// PEM; 8 KiB leaves room for long chains of names while fitting the default 16 KiB transaction.
pub const ROOT_CA_CERTIFICATE_BYTES_MAX: usize = 8 * 1024;
/// Most proposals [`proposals`] returns at once.
pub const PROPOSALS_PAGE_MAX: usize = 1_000;
/// Most events [`proposal_events`] reads for one proposal: a submission, one vote per
/// organisation, a decision and what the action did.
pub const EVENTS_PER_PROPOSAL_MAX: usize = 2 * ORGANISATIONS_MAX + 16;

/// The approval threshold in force: `params.proposal_approval_percent`, or the default when the
/// parameters leave it at 0.
pub fn approval_percent(params: &ChainParams) -> u32 {
    match params.proposal_approval_percent {
        0 => PROPOSAL_APPROVAL_PERCENT_DEFAULT,
        percent => percent,
    }
}

/// How long a proposal stays open: `params.proposal_ttl_ms`, or the default when it is 0.
pub fn proposal_ttl_ms(params: &ChainParams) -> u64 {
    match params.proposal_ttl_ms {
        0 => PROPOSAL_TTL_MS_DEFAULT,
        ttl_ms => ttl_ms,
    }
}

/// Whether `approvals` out of `members` pass at `percent`: strictly more than `percent` per cent.
pub fn passes(approvals: u64, members: u64, percent: u32) -> bool {
    approvals.saturating_mul(100) > u64::from(percent).saturating_mul(members)
}

/// Reads proposal `proposal_id` from committed state; `None` if there is none.
pub fn proposal(state: &dyn StateReader, proposal_id: &str) -> Result<Option<Proposal>, ExecError> {
    read_message(state, &keys::proposal(proposal_id), "Proposal")
}

/// Proposals in id order (that is, submission order), after `start_after` if given, at most
/// `limit` (capped at [`PROPOSALS_PAGE_MAX`]).
pub fn proposals(
    state: &dyn StateReader,
    start_after: Option<&str>,
    limit: usize,
) -> Result<Vec<Proposal>, ExecError> {
    let start_key = start_after.map(keys::proposal);
    state
        .scan_prefix(
            keys::PROPOSAL_PREFIX,
            start_key.as_deref(),
            limit.min(PROPOSALS_PAGE_MAX),
        )?
        .into_iter()
        .map(|(key, value)| decode(&key, &value, "Proposal"))
        .collect()
}

/// The history of proposal `proposal_id`, oldest first: submission, votes, the decision and what
/// a passed action did.
pub fn proposal_events(
    state: &dyn StateReader,
    proposal_id: &str,
) -> Result<Vec<Event>, ExecError> {
    state
        .scan_prefix(
            &keys::proposal_events_prefix(proposal_id),
            None,
            EVENTS_PER_PROPOSAL_MAX,
        )?
        .into_iter()
        .map(|(key, value)| decode(&key, &value, "Event"))
        .collect()
}

/// A short name of an action, for messages and event details.
fn action_name(action: &Action) -> &'static str {
    match action {
        Action::AddOrganisation(_) => "adding an organisation",
        Action::RemoveOrganisation(_) => "removing an organisation",
        Action::AddConsensusNode(_) => "adding a consensus node",
        Action::RemoveConsensusNode(_) => "removing a consensus node",
        Action::RotateOrganisationCa(_) => "rotating an organisation's CA",
        Action::SetChainParams(_) => "changing the chain parameters",
        Action::ScheduleRulesUpgrade(_) => "scheduling a chain rules upgrade",
    }
}

/// Every organisation record as this transaction sees it, current and removed, in id order.
fn organisations(overlay: &Overlay<'_>) -> Result<Vec<Organisation>, ExecError> {
    let entries = overlay.scan_prefix(keys::ORGANISATION_PREFIX, ORGANISATIONS_MAX + 1)?;
    let organisations = entries
        .into_iter()
        .map(|(key, value)| decode::<Organisation>(&key, &value, "Organisation"))
        .collect::<Result<Vec<_>, _>>()?;
    // Genesis and AddOrganisation both stop at the bound, so a longer list is corruption and a
    // tally over a cut list would be wrong.
    if organisations.len() > ORGANISATIONS_MAX {
        return Err(ExecError::CorruptState {
            key: "o/".into(),
            what: "at most ORGANISATIONS_MAX organisations",
            why: format!("more than {ORGANISATIONS_MAX} records"),
        });
    }
    Ok(organisations)
}

/// Ids of the current member organisations, in id order.
fn member_ids(overlay: &Overlay<'_>) -> Result<Vec<String>, ExecError> {
    Ok(organisations(overlay)?
        .into_iter()
        .filter(|o| !o.removed)
        .map(|o| o.org_id)
        .collect())
}

/// The current member organisation `org_id`, or ORGANISATION_NOT_FOUND.
fn load_member(tx: &TxContext<'_, '_>, org_id: &str) -> Result<Organisation, Failure> {
    let organisation: Option<Organisation> = tx
        .overlay
        .get_message(&keys::organisation(org_id), "Organisation")?;
    match organisation {
        Some(organisation) if !organisation.removed => Ok(organisation),
        Some(_) => reject(
            ErrorCode::OrganisationNotFound,
            format!("organisation {org_id:?} was removed from the consortium"),
        ),
        None => reject(
            ErrorCode::OrganisationNotFound,
            format!("organisation {org_id:?} is not a consortium member"),
        ),
    }
}

/// Rejects unless the signer is an administrator of a current member organisation.
fn require_member_administrator(tx: &TxContext<'_, '_>, action: &str) -> Result<(), Failure> {
    tx.require_role(&[Role::Administrator], action)?;
    load_member(tx, &tx.signer.org_id)?;
    Ok(())
}

fn check_certificate(certificate: &[u8], required: bool) -> Result<(), Failure> {
    if required && certificate.is_empty() {
        return reject(
            ErrorCode::InvalidArgument,
            "root CA certificate is required (DER or PEM bytes)",
        );
    }
    if certificate.len() > ROOT_CA_CERTIFICATE_BYTES_MAX {
        return reject(
            ErrorCode::InvalidArgument,
            format!(
                "root CA certificate is {} bytes, more than the {ROOT_CA_CERTIFICATE_BYTES_MAX} allowed",
                certificate.len()
            ),
        );
    }
    Ok(())
}

/// What a checked action will write: everything computed, nothing refused any more.
enum Plan {
    /// The organisation, its root CA (DER) and its administrators' keys and certificates.
    AddOrganisation(
        AddOrganisation,
        Vec<u8>,
        Vec<(Vec<u8>, Option<CheckedCertificate>)>,
    ),
    RemoveOrganisation(Organisation),
    AddConsensusNode(
        vchain_proto::v1::ConsensusConfig,
        vchain_proto::v1::ConsensusNode,
        Option<CheckedCertificate>,
    ),
    RemoveConsensusNode(
        vchain_proto::v1::ConsensusConfig,
        vchain_proto::v1::ConsensusNode,
    ),
    RotateOrganisationCa(Organisation, Vec<u8>),
    /// The parameters now and as proposed.
    SetChainParams(ChainParams),
    /// The version and activation height to record.
    ScheduleRulesUpgrade(ScheduleRulesUpgrade),
}

/// Checks that `action`, proposed by an administrator of `proposer_org`, applies to the state as
/// this transaction sees it. Writes nothing.
fn check_action(
    tx: &TxContext<'_, '_>,
    action: &Action,
    proposer_org: &str,
) -> Result<Plan, Failure> {
    match action {
        Action::AddOrganisation(op) => check_add_organisation(tx, op),
        Action::RemoveOrganisation(op) => check_remove_organisation(tx, op),
        Action::AddConsensusNode(op) => {
            let (config, node, certified) = consensus::check_add_node(tx, op, proposer_org)?;
            Ok(Plan::AddConsensusNode(config, node, certified))
        }
        Action::RemoveConsensusNode(op) => {
            let (config, node) = consensus::check_remove_node(tx, op, proposer_org)?;
            Ok(Plan::RemoveConsensusNode(config, node))
        }
        Action::RotateOrganisationCa(op) => check_rotate_ca(tx, op),
        Action::SetChainParams(op) => check_set_params(tx, op),
        Action::ScheduleRulesUpgrade(op) => check_schedule_rules(tx, op),
    }
}

fn check_add_organisation(tx: &TxContext<'_, '_>, op: &AddOrganisation) -> Result<Plan, Failure> {
    validate::account_id(&op.org_id)?;
    validate::text("organisation name", &op.name, true, TEXT_LEN_MAX)?;
    validate::uscc(&op.uscc)?;
    check_certificate(&op.root_ca_certificate, false)?;
    let at_ms = tx.context.timestamp_ms;
    let ca_der = if op.root_ca_certificate.is_empty() {
        None
    } else {
        Some(certificates::check_root_ca(
            &op.org_id,
            &op.root_ca_certificate,
            at_ms,
        )?)
    };
    if op.admins.is_empty() || op.admins.len() > ACCOUNTS_PER_IDENTITY_MAX {
        return reject(
            ErrorCode::InvalidArgument,
            format!(
                "an organisation needs 1 to {ACCOUNTS_PER_IDENTITY_MAX} administrator accounts, not {}",
                op.admins.len()
            ),
        );
    }
    let existing: Option<Organisation> = tx
        .overlay
        .get_message(&keys::organisation(&op.org_id), "Organisation")?;
    if let Some(existing) = existing {
        return reject(
            ErrorCode::OrganisationExists,
            if existing.removed {
                format!(
                    "organisation id {} was used by a removed organisation and cannot be reused",
                    op.org_id
                )
            } else {
                format!("organisation {} is already a member", op.org_id)
            },
        );
    }
    if tx.overlay.get(&keys::identity(&op.uscc))?.is_some() {
        return reject(
            ErrorCode::IdentityExists,
            format!("identity {} is already registered", op.uscc),
        );
    }
    let mut admins: Vec<(Vec<u8>, Option<CheckedCertificate>)> = Vec::new();
    for (index, admin) in op.admins.iter().enumerate() {
        validate::account_id(&admin.account_id)?;
        let certified = certificates::check_account_certificate(
            ca_der.as_deref(),
            &op.org_id,
            &admin.account_id,
            Role::Administrator,
            &admin.certificate,
            &admin.public_key,
            at_ms,
        )?;
        let public_key = certified.as_ref().map_or(admin.public_key.clone(), |c| {
            c.certified.public_key.to_vec()
        });
        validate::public_key(&public_key)?;
        let earlier = &op.admins[..index];
        if earlier.iter().any(|a| a.account_id == admin.account_id) {
            return reject(
                ErrorCode::AccountExists,
                format!("administrator account {} is listed twice", admin.account_id),
            );
        }
        if admins.iter().any(|(key, _)| *key == public_key) {
            return reject(
                ErrorCode::InvalidPublicKey,
                format!(
                    "public key {} is listed for two administrator accounts",
                    hex::encode(&public_key)
                ),
            );
        }
        if let Some(certified) = &certified {
            let serial = &certified.certified.serial;
            if admins
                .iter()
                .filter_map(|(_, c)| c.as_ref())
                .any(|c| c.certified.serial == *serial)
            {
                return reject(
                    ErrorCode::CertificateExists,
                    format!(
                        "certificate serial {} is listed for two administrator accounts",
                        hex::encode(serial)
                    ),
                );
            }
        }
        if tx.overlay.get(&keys::account(&admin.account_id))?.is_some() {
            return reject(
                ErrorCode::AccountExists,
                format!("account {} already exists", admin.account_id),
            );
        }
        if let Some(owner) = tx.overlay.get(&keys::key_binding(&public_key))? {
            return reject(
                ErrorCode::InvalidPublicKey,
                format!(
                    "public key {} is already bound to account {}",
                    hex::encode(&public_key),
                    String::from_utf8_lossy(&owner)
                ),
            );
        }
        admins.push((public_key, certified));
    }
    if organisations(tx.overlay)?.len() >= ORGANISATIONS_MAX {
        return reject(
            ErrorCode::OrganisationsFull,
            format!(
                "the chain already has {ORGANISATIONS_MAX} organisations (current and removed), the most allowed"
            ),
        );
    }
    Ok(Plan::AddOrganisation(
        op.clone(),
        ca_der.unwrap_or_default(),
        admins,
    ))
}

fn check_remove_organisation(
    tx: &TxContext<'_, '_>,
    op: &RemoveOrganisation,
) -> Result<Plan, Failure> {
    let organisation = load_member(tx, &op.org_id)?;
    if member_ids(tx.overlay)?.len() <= 1 {
        return reject(
            ErrorCode::OrganisationLast,
            format!(
                "organisation {} is the last member; a consortium needs one",
                op.org_id
            ),
        );
    }
    // Its nodes would keep voting on blocks for an organisation that is no longer a member;
    // removing them first keeps each membership change one reviewed step.
    let nodes = consensus::nodes_of(&consensus::current_config(tx)?, &op.org_id);
    if !nodes.is_empty() {
        return reject(
            ErrorCode::OrganisationRunsNodes,
            format!(
                "organisation {} still runs consensus nodes {}; remove them first",
                op.org_id,
                nodes.join(", ")
            ),
        );
    }
    Ok(Plan::RemoveOrganisation(organisation))
}

fn check_rotate_ca(tx: &TxContext<'_, '_>, op: &RotateOrganisationCa) -> Result<Plan, Failure> {
    let organisation = load_member(tx, &op.org_id)?;
    check_certificate(&op.root_ca_certificate, true)?;
    let der =
        certificates::check_root_ca(&op.org_id, &op.root_ca_certificate, tx.context.timestamp_ms)?;
    if organisation.root_ca_certificate == der {
        return reject(
            ErrorCode::InvalidProposal,
            format!(
                "organisation {} already has this root CA certificate",
                op.org_id
            ),
        );
    }
    Ok(Plan::RotateOrganisationCa(organisation, der))
}

fn check_set_params(tx: &TxContext<'_, '_>, op: &SetChainParams) -> Result<Plan, Failure> {
    let Some(params) = &op.params else {
        return reject(
            ErrorCode::InvalidProposal,
            "changing the chain parameters needs the complete new parameters",
        );
    };
    if let Err(invalid) = validate_chain_params(params) {
        return reject(ErrorCode::InvalidProposal, invalid.to_string());
    }
    // Dates already on chain (maturities, the destruction queue) were computed in this zone.
    if params.utc_offset_minutes != tx.params.utc_offset_minutes {
        return reject(
            ErrorCode::InvalidProposal,
            format!(
                "params: utc_offset_minutes cannot change after genesis (it is {}, the proposal says {})",
                tx.params.utc_offset_minutes, params.utc_offset_minutes
            ),
        );
    }
    // The stored record, not `tx.params`: a proposal passed earlier in this block may have
    // changed it already.
    let current: ChainParams = tx
        .overlay
        .get_message(keys::PARAMS, "ChainParams")?
        .ok_or(ExecError::MissingGenesis("chain parameters"))?;
    if &current == params {
        return reject(
            ErrorCode::InvalidProposal,
            "the proposed parameters equal the current ones",
        );
    }
    // A parameter a later rules version introduced cannot change before that version is
    // active: the release executing it today would ignore it, so the chain would say one thing
    // and do another.
    let needed = rules::RULES_VERSION_LINEAGE_DEPTH_PARAM;
    if params.lineage_depth_max != current.lineage_depth_max && tx.rules_version < needed {
        return reject(
            ErrorCode::RulesVersionRequired,
            format!(
                "params: lineage_depth_max is a chain rules v{needed} parameter and the chain runs \
                 v{}; schedule the upgrade first (ScheduleRulesUpgrade), then change it",
                tx.rules_version
            ),
        );
    }
    Ok(Plan::SetChainParams(*params))
}

/// Checks a rules upgrade against the chain as this transaction sees it: no upgrade pending, the
/// version after the active one, and an activation height within the notice bounds of this
/// block (the one submitting it, or later the one passing it).
fn check_schedule_rules(
    tx: &TxContext<'_, '_>,
    op: &ScheduleRulesUpgrade,
) -> Result<Plan, Failure> {
    let pending: Option<ChainRules> = tx.overlay.get_message(keys::RULES_PENDING, "ChainRules")?;
    if let Some(pending) = pending {
        return reject(
            ErrorCode::RulesUpgradePending,
            format!(
                "chain rules v{} are already scheduled to activate at height {} (proposal {}); \
                 one upgrade at a time",
                pending.version, pending.activation_height, pending.proposal_id
            ),
        );
    }
    let active = tx
        .overlay
        .get_message::<ChainRules>(keys::RULES, "ChainRules")?
        .map_or(rules::RULES_VERSION_GENESIS, |r| r.version);
    // The block's own version: a block activating an upgrade has written it already.
    debug_assert_eq!(active, tx.rules_version);
    let next = active.saturating_add(1);
    if op.version != next || op.version > RULES_VERSION_LIMIT {
        return reject(
            ErrorCode::RulesVersionInvalid,
            format!(
                "the chain runs rules v{active}; an upgrade names v{next}, not v{}",
                op.version
            ),
        );
    }
    let height = tx.context.height;
    let earliest = height.saturating_add(RULES_ACTIVATION_NOTICE_MIN);
    let latest = height.saturating_add(RULES_ACTIVATION_NOTICE_MAX);
    if op.activation_height < earliest || op.activation_height > latest {
        return reject(
            ErrorCode::RulesActivationHeightInvalid,
            format!(
                "activation height {} at block {height}: it must be at least \
                 {RULES_ACTIVATION_NOTICE_MIN} and at most {RULES_ACTIVATION_NOTICE_MAX} blocks \
                 ahead, {earliest}..={latest}",
                op.activation_height
            ),
        );
    }
    Ok(Plan::ScheduleRulesUpgrade(*op))
}

/// Writes what a checked action of proposal `proposal_id` does and returns its events (the
/// caller records them). Only storage can fail here, never a rule.
fn apply(tx: &mut TxContext<'_, '_>, plan: Plan, proposal_id: &str) -> Result<Vec<Event>, Failure> {
    Ok(match plan {
        Plan::AddOrganisation(op, ca, admins) => vec![apply_add_organisation(tx, op, ca, admins)],
        Plan::RemoveOrganisation(mut organisation) => {
            organisation.removed = true;
            organisation.removed_height = tx.context.height;
            tx.overlay
                .put_message(keys::organisation(&organisation.org_id), &organisation);
            let mut event = tx.event(EventKind::OrganisationRemoved);
            event.org_id = organisation.org_id.clone();
            vec![event]
        }
        Plan::AddConsensusNode(config, node, certified) => {
            vec![consensus::apply_add_node(tx, config, node, certified)]
        }
        Plan::RemoveConsensusNode(config, node) => {
            vec![consensus::apply_remove_node(tx, config, node)?]
        }
        Plan::RotateOrganisationCa(mut organisation, certificate) => {
            let digest = Sha256::digest(&certificate).to_vec();
            organisation.root_ca_certificate = certificate;
            tx.overlay
                .put_message(keys::organisation(&organisation.org_id), &organisation);
            let mut event = tx.event(EventKind::OrganisationCaRotated);
            event.org_id = organisation.org_id;
            event.digest = digest;
            vec![event]
        }
        Plan::SetChainParams(params) => {
            tx.overlay.put_message(keys::PARAMS.to_vec(), &params);
            let mut event = tx.event(EventKind::ChainParamsChanged);
            // The new parameters in full; the previous ones are in the previous such event
            // (or genesis), so a reader diffs them without words from the chain.
            event.params = Some(params);
            vec![event]
        }
        Plan::ScheduleRulesUpgrade(op) => {
            let record = ChainRules {
                version: op.version,
                activation_height: op.activation_height,
                proposal_id: proposal_id.to_owned(),
            };
            tx.overlay
                .put_message(keys::RULES_PENDING.to_vec(), &record);
            // Read back: the chain's step activates exactly what was checked.
            let stored: Option<ChainRules> =
                tx.overlay.get_message(keys::RULES_PENDING, "ChainRules")?;
            assert_eq!(
                stored.as_ref(),
                Some(&record),
                "the scheduled upgrade reads back"
            );
            let mut event = tx.event(EventKind::RulesUpgradeScheduled);
            event.rules_version = op.version;
            event.activation_height = op.activation_height;
            vec![event]
        }
    })
}

fn apply_add_organisation(
    tx: &mut TxContext<'_, '_>,
    op: AddOrganisation,
    root_ca_certificate: Vec<u8>,
    keys_and_certificates: Vec<(Vec<u8>, Option<CheckedCertificate>)>,
) -> Event {
    let AddOrganisation {
        org_id,
        name,
        uscc,
        admins,
        root_ca_certificate: _,
    } = op;
    debug_assert_eq!(admins.len(), keys_and_certificates.len());
    let organisation = Organisation {
        org_id: org_id.clone(),
        name: name.clone(),
        uscc: uscc.clone(),
        root_ca_certificate,
        removed: false,
        added_height: tx.context.height,
        removed_height: 0,
    };
    tx.overlay
        .put_message(keys::organisation(&org_id), &organisation);
    // The administrator identity and its accounts, exactly as genesis creates a founding
    // member's, so the new organisation can act (register identities, vote) at once.
    let identity = Identity {
        uscc: uscc.clone(),
        name: name.clone(),
        role: Role::Administrator.into(),
        org_id: org_id.clone(),
        status: IdentityStatus::Active.into(),
        legal_representative: String::new(),
        accounts: admins.iter().map(|a| a.account_id.clone()).collect(),
        registered_height: tx.context.height,
    };
    tx.overlay.put_message(keys::identity(&uscc), &identity);
    for (AdminAccount { account_id, .. }, (public_key, certified)) in
        admins.iter().zip(keys_and_certificates)
    {
        tx.overlay.put(
            keys::key_binding(&public_key),
            account_id.as_bytes().to_vec(),
        );
        let mut account = vchain_proto::v1::Account {
            account_id: account_id.clone(),
            uscc: uscc.clone(),
            public_key,
            status: vchain_proto::v1::AccountStatus::Active.into(),
            next_nonce: 0,
            org_id: org_id.clone(),
            role: Role::Administrator.into(),
            ..Default::default()
        };
        if let Some(certified) = certified {
            certified.bind(&mut account);
            certificate::put_record(tx.overlay, &certified.record(&org_id, tx.context.height));
        }
        tx.overlay.put_message(keys::account(account_id), &account);
    }
    let mut event = tx.event(EventKind::OrganisationAdded);
    event.org_id = org_id.clone();
    event.counterparty = uscc;
    event.accounts = identity.accounts.clone();
    event
}

/// `SubmitProposal`: checks the action, opens the proposal with the proposer's organisation's
/// approval and decides it at once if that is already enough (a one-member consortium).
pub(crate) fn submit(tx: &mut TxContext<'_, '_>, op: SubmitProposal) -> Result<(), Failure> {
    let what = op
        .action
        .as_ref()
        .map_or("a proposal", |action| action_name(action));
    require_member_administrator(tx, &format!("submitting a proposal ({what})"))?;
    validate::text("proposal title", &op.title, true, TEXT_LEN_MAX)?;
    validate::text("proposal reason", &op.reason, false, TEXT_LEN_MAX)?;
    let Some(action) = &op.action else {
        return reject(ErrorCode::InvalidProposal, "the proposal has no action");
    };
    let proposer_org = tx.signer.org_id.clone();
    check_action(tx, action, &proposer_org)?;

    let id = tx.next_serial(keys::PROPOSAL_SEQ, 'P', "proposal numbers")?;
    let ttl_ms = proposal_ttl_ms(tx.params);
    let deadline_ms = tx.context.timestamp_ms.checked_add(ttl_ms).ok_or_else(|| {
        Rejection::new(ErrorCode::ArithmeticOverflow, "proposal deadline overflows")
    })?;
    let mut proposal = Proposal {
        id: id.clone(),
        proposer: tx.signer.account_id.clone(),
        proposer_org: proposer_org.clone(),
        submission: Some(op.clone()),
        submitted_height: tx.context.height,
        submitted_ms: tx.context.timestamp_ms,
        deadline_ms,
        status: ProposalStatus::Open.into(),
        votes: Vec::new(),
        decided_height: 0,
        submitted_tx_hash: tx.tx_hash.to_vec(),
        ..Proposal::default()
    };
    tx.overlay
        .put(keys::proposal_deadline(deadline_ms, &id), Vec::new());

    let mut event = tx.event(EventKind::ProposalSubmitted);
    event.proposal_id = id.clone();
    event.org_id = proposer_org.clone();
    event.detail = op.title.clone();
    tx.proposal_event(event, false)?;
    cast(tx, &mut proposal, true)?;
    decide(tx, proposal)
}

/// `VoteOnProposal`: records the organisation's vote and decides the proposal if the vote makes
/// the outcome certain.
pub(crate) fn vote(tx: &mut TxContext<'_, '_>, op: VoteOnProposal) -> Result<(), Failure> {
    require_member_administrator(tx, "voting on a proposal")?;
    let proposal: Option<Proposal> = tx
        .overlay
        .get_message(&keys::proposal(&op.proposal_id), "Proposal")?;
    let Some(mut proposal) = proposal else {
        return reject(
            ErrorCode::ProposalNotFound,
            format!("proposal {:?} does not exist", op.proposal_id),
        );
    };
    match proposal.status() {
        ProposalStatus::Open => {}
        ProposalStatus::Expired => {
            return reject(
                ErrorCode::ProposalExpired,
                format!(
                    "proposal {} expired at {} ms",
                    proposal.id, proposal.deadline_ms
                ),
            )
        }
        status => {
            return reject(
                ErrorCode::ProposalNotOpen,
                format!(
                    "proposal {} is already decided: {}",
                    proposal.id,
                    status.as_str_name()
                ),
            )
        }
    }
    if tx.context.timestamp_ms >= proposal.deadline_ms {
        // Only when more proposals fell due than one block expires; the chain's step marks it
        // expired in a following block.
        return reject(
            ErrorCode::ProposalExpired,
            format!(
                "proposal {} expired at {} ms; the block time is {} ms",
                proposal.id, proposal.deadline_ms, tx.context.timestamp_ms
            ),
        );
    }
    if let Some(earlier) = proposal.votes.iter().find(|v| v.org_id == tx.signer.org_id) {
        return reject(
            ErrorCode::ProposalAlreadyVoted,
            format!(
                "organisation {} already voted on proposal {} (account {}, at height {})",
                earlier.org_id, proposal.id, earlier.account, earlier.height
            ),
        );
    }
    cast(tx, &mut proposal, op.approve)?;
    decide(tx, proposal)
}

/// Adds the signer's organisation's vote and records it.
fn cast(tx: &mut TxContext<'_, '_>, proposal: &mut Proposal, approve: bool) -> Result<(), Failure> {
    let org_id = tx.signer.org_id.clone();
    debug_assert!(
        proposal.votes.iter().all(|v| v.org_id != org_id),
        "one vote per organisation"
    );
    proposal.votes.push(vchain_proto::v1::Vote {
        org_id: org_id.clone(),
        account: tx.signer.account_id.clone(),
        approve,
        height: tx.context.height,
        time_ms: tx.context.timestamp_ms,
        tx_hash: tx.tx_hash.to_vec(),
    });
    let mut event = tx.event(EventKind::ProposalVoted);
    event.proposal_id = proposal.id.clone();
    event.org_id = org_id.clone();
    event.approve = approve;
    tx.proposal_event(event, false)
}

/// Records the tally a proposal was decided with (integers only; words are the reader's).
fn record_tally(
    proposal: &mut Proposal,
    approvals: u64,
    disapprovals: u64,
    member_count: u64,
    percent: u32,
) {
    let narrow = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
    proposal.approvals = narrow(approvals);
    proposal.disapprovals = narrow(disapprovals);
    proposal.member_count = narrow(member_count);
    proposal.approval_percent = percent;
}

/// Tallies `proposal` against the current members and writes it: passed (with its action's
/// writes), rejected, or still open.
fn decide(tx: &mut TxContext<'_, '_>, mut proposal: Proposal) -> Result<(), Failure> {
    let members = member_ids(tx.overlay)?;
    let counted = |approve: bool| -> u64 {
        proposal
            .votes
            .iter()
            .filter(|v| v.approve == approve && members.contains(&v.org_id))
            .count() as u64
    };
    let approvals = counted(true);
    let disapprovals = counted(false);
    let member_count = members.len() as u64;
    let undecided = member_count.saturating_sub(approvals + disapprovals);
    let percent = approval_percent(tx.params);
    assert!(
        approvals + disapprovals <= member_count,
        "proposal {} counts more votes than members",
        proposal.id
    );

    if passes(approvals, member_count, percent) {
        let action = proposal
            .submission
            .as_ref()
            .and_then(|s| s.action.clone())
            .ok_or_else(|| ExecError::CorruptState {
                key: format!("g/{}", proposal.id),
                what: "Proposal with an action",
                why: "no action".into(),
            })?;
        match check_action(tx, &action, &proposal.proposer_org) {
            Ok(plan) => {
                let events = apply(tx, plan, &proposal.id)?;
                proposal.set_status(ProposalStatus::Passed);
                for mut event in events {
                    event.proposal_id = proposal.id.clone();
                    tx.proposal_event(event, true)?;
                }
            }
            Err(Failure::Rejected(why)) => {
                proposal.set_status(ProposalStatus::Rejected);
                proposal.rejected_by = why.code.into();
            }
            Err(fatal @ Failure::Fatal(_)) => return Err(fatal),
        }
    } else if !passes(approvals + undecided, member_count, percent) {
        proposal.set_status(ProposalStatus::Rejected);
    }

    if proposal.status() != ProposalStatus::Open {
        proposal.decided_height = tx.context.height;
        record_tally(
            &mut proposal,
            approvals,
            disapprovals,
            member_count,
            percent,
        );
        tx.overlay
            .delete(keys::proposal_deadline(proposal.deadline_ms, &proposal.id));
        let kind = if proposal.status() == ProposalStatus::Passed {
            EventKind::ProposalPassed
        } else {
            EventKind::ProposalRejected
        };
        let mut event = tx.event(kind);
        event.proposal_id = proposal.id.clone();
        event.org_id = proposal.proposer_org.clone();
        event.code = proposal.rejected_by;
        tx.proposal_event(event, false)?;
    }
    tx.overlay
        .put_message(keys::proposal(&proposal.id), &proposal);
    Ok(())
}

/// The chain's own step at the start of a block, after destruction: every open proposal whose
/// deadline is at or before the block time expires, at most [`PROPOSAL_EXPIRY_PER_BLOCK_MAX`]
/// per block (the rest follow). `first_event_index` continues the numbering of the block's
/// system events.
pub(crate) fn expire_proposals(
    overlay: &mut Overlay<'_>,
    context: &BlockContext,
    params: &ChainParams,
    first_event_index: usize,
) -> Result<Vec<Event>, ExecError> {
    let due = overlay.scan_prefix(
        keys::PROPOSAL_DEADLINE_PREFIX,
        PROPOSAL_EXPIRY_PER_BLOCK_MAX,
    )?;
    let mut events = Vec::new();
    for (key, _) in due {
        let corrupt = |why: &str| ExecError::CorruptState {
            key: String::from_utf8_lossy(&key).into_owned(),
            what: "proposal deadline entry",
            why: why.to_owned(),
        };
        let (deadline_ms, proposal_id) =
            keys::parse_proposal_deadline(&key).ok_or_else(|| corrupt("malformed key"))?;
        if deadline_ms > context.timestamp_ms {
            break;
        }
        let mut proposal: Proposal = overlay
            .get_message(&keys::proposal(&proposal_id), "Proposal")?
            .ok_or_else(|| corrupt("proposal missing"))?;
        // The queue holds exactly the open proposals.
        assert!(
            proposal.status() == ProposalStatus::Open && proposal.deadline_ms == deadline_ms,
            "deadline queue holds proposal {proposal_id} that is not open with this deadline"
        );
        let approvals = proposal.votes.iter().filter(|v| v.approve).count() as u64;
        let disapprovals = proposal.votes.len() as u64 - approvals;
        proposal.set_status(ProposalStatus::Expired);
        proposal.decided_height = context.height;
        let member_count = member_ids(overlay)?.len() as u64;
        record_tally(
            &mut proposal,
            approvals,
            disapprovals,
            member_count,
            approval_percent(params),
        );
        overlay.delete(key.clone());
        overlay.put_message(keys::proposal(&proposal_id), &proposal);
        let event = Event {
            kind: EventKind::ProposalExpired.into(),
            height: context.height,
            time_ms: context.timestamp_ms,
            proposal_id: proposal_id.clone(),
            org_id: proposal.proposer_org.clone(),
            ..Event::default()
        };
        let index = first_event_index + events.len();
        let position = EventPosition {
            height: context.height,
            tx_index: u32::MAX,
            event_index: u16::try_from(index).map_err(|_| corrupt("too many system events"))?,
        };
        overlay.put_message(keys::proposal_event(&proposal_id, position), &event);
        events.push(event);
    }
    overlay.commit_tx();
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The default threshold lets exactly the tallies with more than two thirds pass, for every
    /// consortium size up to 97 members, and never lets two thirds or fewer pass at any size the
    /// chain allows.
    #[test]
    fn the_default_threshold_is_more_than_two_thirds() {
        for members in 1..=ORGANISATIONS_MAX as u64 {
            for approvals in 0..=members {
                let more_than_two_thirds = 3 * approvals > 2 * members;
                let passed = passes(approvals, members, PROPOSAL_APPROVAL_PERCENT_DEFAULT);
                if passed {
                    assert!(more_than_two_thirds, "{approvals}/{members} passed");
                }
                if members <= 97 {
                    assert_eq!(passed, more_than_two_thirds, "{approvals}/{members}");
                }
            }
        }
        // 66 would let exactly two thirds pass.
        assert!(passes(2, 3, 66));
        assert!(!passes(2, 3, 67));
    }

    #[test]
    fn ninety_nine_percent_is_unanimity_for_up_to_a_hundred_members() {
        for members in 1..=100u64 {
            assert!(passes(members, members, 99));
            assert!(!passes(members - 1, members, 99), "{members}");
        }
        assert!(
            !passes(5, 5, 100),
            "100% could never pass, so it is refused"
        );
    }
}
