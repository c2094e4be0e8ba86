//! Property tests: random sequences of lifecycle operations (valid and invalid, several per block
//! at times, with time passing so vouchers mature and are destroyed), checking after every block
//! that value is conserved, nothing is spent twice, the indexes and the expiry queue agree with
//! the vouchers, and that replaying the blocks on a fresh ledger gives the same results and roots.

use crate::common;

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use common::ops::*;
use common::*;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use prost::Message;
use vchain_contracts::execute::execute_block;
use vchain_contracts::keys;
use vchain_ledger::MemoryLedger;
use vchain_proto::v1::{
    transaction_body::Operation, CreditLine, ErrorCode, EventKind, Role, SignedTransaction,
    Voucher, VoucherStatus,
};

const LINE_LIMIT: u64 = 20_000_000;
/// Accounts that may sign anything (most of them are wrong for most operations).
const ACTORS: [&str; 8] = [
    SUP1, SUP2, SUP3, FINANCIER, CORE, CORE_2, REGULATOR, ADMIN_A,
];
/// First holders of issues; the warehouse is an invalid one.
const HOLDERS: [&str; 5] = [SUP1, SUP2, SUP3, FINANCIER, WAREHOUSE];
/// Accounts the administrator freezes and unfreezes.
const FREEZABLE: [&str; 4] = [SUP1, SUP2, SUP3, FINANCIER];
/// Who freezes vouchers (the supplier is refused).
const VOUCHER_FREEZERS: [&str; 3] = [REGULATOR, ADMIN_A, SUP1];
/// Who confirms redemptions (the supplier is refused).
const CONFIRMERS: [&str; 3] = [CORE, CORE_2, SUP1];

#[derive(Debug, Clone)]
enum Action {
    Issue {
        holder: usize,
        amount: u64,
        days: i64,
        second_account: bool,
    },
    /// `signer`: `None` for the voucher's holder.
    Split {
        voucher: usize,
        signer: Option<usize>,
        weights: Vec<u64>,
        exact: bool,
    },
    Transfer {
        voucher: usize,
        signer: Option<usize>,
        to: usize,
        consideration_pct: Option<u64>,
    },
    Request {
        voucher: usize,
        signer: Option<usize>,
    },
    Confirm {
        voucher: usize,
        signer: usize,
    },
    FreezeVoucher {
        voucher: usize,
        by: usize,
    },
    UnfreezeVoucher {
        voucher: usize,
        by: usize,
    },
    /// Freezes the account, or unfreezes it if it is frozen (`right: false` does the opposite,
    /// which is rejected).
    ToggleAccount {
        account: usize,
        right: bool,
    },
    /// 0-2 raise, 3-5 lower, 6 revoke, 7 grant.
    Line {
        kind: u8,
        amount: u64,
    },
    /// 0-1 the holder pledges a voucher to the financier for `days`; 2-3 the financier
    /// releases a pledge; 4-5 it enforces one.
    Pledge {
        voucher: usize,
        kind: u8,
        days: i64,
    },
    AdvanceDays(u64),
}

#[derive(Debug, Clone)]
struct Step {
    action: Action,
    /// Goes into the same block as the previous step.
    same_block: bool,
}

fn signer() -> impl Strategy<Value = Option<usize>> {
    prop_oneof![5 => Just(None), 1 => (0..ACTORS.len()).prop_map(Some)]
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        4 => (0..HOLDERS.len(), 100u64..=5_000_000, 1i64..=20, any::<bool>())
            .prop_map(|(holder, amount, days, second_account)| Action::Issue { holder, amount, days, second_account }),
        4 => (any::<usize>(), signer(), vec(1u64..=100, 1..=5), prop::bool::weighted(0.85))
            .prop_map(|(voucher, signer, weights, exact)| Action::Split { voucher, signer, weights, exact }),
        4 => (any::<usize>(), signer(), prop_oneof![3 => 0..4usize, 1 => 0..ACTORS.len()], prop::option::of(0u64..=110))
            .prop_map(|(voucher, signer, to, consideration_pct)| Action::Transfer { voucher, signer, to, consideration_pct }),
        3 => (any::<usize>(), signer()).prop_map(|(voucher, signer)| Action::Request { voucher, signer }),
        3 => (any::<usize>(), 0..CONFIRMERS.len()).prop_map(|(voucher, signer)| Action::Confirm { voucher, signer }),
        1 => (any::<usize>(), 0..VOUCHER_FREEZERS.len()).prop_map(|(voucher, by)| Action::FreezeVoucher { voucher, by }),
        1 => (any::<usize>(), 0..VOUCHER_FREEZERS.len()).prop_map(|(voucher, by)| Action::UnfreezeVoucher { voucher, by }),
        2 => (0..FREEZABLE.len(), prop::bool::weighted(0.8)).prop_map(|(account, right)| Action::ToggleAccount { account, right }),
        1 => (0u8..8, 1u64..=10_000_000).prop_map(|(kind, amount)| Action::Line { kind, amount }),
        5 => (any::<usize>(), 0u8..6, 0i64..=12)
            .prop_map(|(voucher, kind, days)| Action::Pledge { voucher, kind, days }),
        3 => (0u64..=8).prop_map(Action::AdvanceDays),
    ]
}

fn scenario() -> impl Strategy<Value = Vec<Step>> {
    vec(
        (action(), prop::bool::weighted(0.3))
            .prop_map(|(action, same_block)| Step { action, same_block }),
        8..=40,
    )
}

fn is_live(voucher: &Voucher) -> bool {
    matches!(
        voucher.status(),
        VoucherStatus::Active | VoucherStatus::RedemptionRequested
    )
}

/// Picks a voucher id: usually one matching `prefer`, sometimes any, and a missing id when there
/// are none.
fn pick(
    vouchers: &BTreeMap<String, Voucher>,
    n: usize,
    prefer: impl Fn(&Voucher) -> bool,
) -> String {
    let preferred: Vec<&String> = vouchers
        .values()
        .filter(|v| prefer(v))
        .map(|v| &v.id)
        .collect();
    let all: Vec<&String> = vouchers.keys().collect();
    let pool = if !n.is_multiple_of(5) && !preferred.is_empty() {
        preferred
    } else {
        all
    };
    pool.get(n / 5 % pool.len().max(1))
        .map_or_else(|| "V000000000001".to_owned(), |id| (*id).clone())
}

/// Builds the transaction for `action` against the committed state (the block's start); `None`
/// for an action that is not a transaction.
fn build(
    chain: &mut TestChain,
    action: &Action,
    nonces: &mut BTreeMap<String, u64>,
) -> Option<SignedTransaction> {
    let vouchers = chain.vouchers();
    let today = chain.today();
    let holder_or = |id: &str, signer: Option<usize>| -> String {
        match signer {
            Some(n) => ACTORS[n].to_owned(),
            None => vouchers
                .get(id)
                .map_or_else(|| SUP1.to_owned(), |v| v.holder.clone()),
        }
    };
    let (signer, op): (String, Operation) = match action {
        Action::Issue {
            holder,
            amount,
            days,
            second_account,
        } => {
            let op = chain.issue_op(HOLDERS[*holder], *amount, *days);
            ((if *second_account { CORE_2 } else { CORE }).to_owned(), op)
        }
        Action::Split {
            voucher,
            signer,
            weights,
            exact,
        } => {
            let id = pick(&vouchers, *voucher, |v| v.status() == VoucherStatus::Active);
            let amounts: Vec<u64> = if *exact {
                let total = vouchers.get(&id).map_or(1_000_000, |v| v.amount);
                let sum: u64 = weights.iter().sum();
                let mut amounts: Vec<u64> = weights.iter().map(|w| total / sum * w).collect();
                let assigned: u64 = amounts.iter().sum();
                if let Some(last) = amounts.last_mut() {
                    *last += total - assigned;
                }
                amounts
            } else {
                weights.iter().map(|w| w * 1_000).collect()
            };
            (holder_or(&id, *signer), split(&id, &amounts))
        }
        Action::Transfer {
            voucher,
            signer,
            to,
            consideration_pct,
        } => {
            let id = pick(&vouchers, *voucher, |v| {
                v.status() == VoucherStatus::Active && v.maturity_day > today
            });
            let face = vouchers.get(&id).map_or(1, |v| v.amount);
            let op = match consideration_pct {
                None => transfer(&id, ACTORS[*to]),
                Some(pct) => transfer_for(&id, ACTORS[*to], face / 100 * pct, "CNY"),
            };
            (holder_or(&id, *signer), op)
        }
        Action::Request { voucher, signer } => {
            let id = pick(&vouchers, *voucher, |v| {
                v.status() == VoucherStatus::Active && v.maturity_day <= today
            });
            (holder_or(&id, *signer), request(&id))
        }
        Action::Confirm { voucher, signer } => {
            let id = pick(&vouchers, *voucher, |v| {
                v.status() == VoucherStatus::RedemptionRequested
            });
            (CONFIRMERS[*signer].to_owned(), confirm(&id))
        }
        Action::FreezeVoucher { voucher, by } => (
            VOUCHER_FREEZERS[*by].to_owned(),
            freeze_voucher(&pick(&vouchers, *voucher, |v| is_live(v) && !v.frozen)),
        ),
        Action::UnfreezeVoucher { voucher, by } => (
            VOUCHER_FREEZERS[*by].to_owned(),
            unfreeze_voucher(&pick(&vouchers, *voucher, |v| v.frozen)),
        ),
        Action::ToggleAccount { account, right } => {
            let id = FREEZABLE[*account];
            let frozen = chain.account(id).status() == vchain_proto::v1::AccountStatus::Frozen;
            (
                ADMIN_A.to_owned(),
                if frozen == *right {
                    unfreeze_account(id)
                } else {
                    freeze_account(id)
                },
            )
        }
        Action::Line { kind, amount } => {
            let core = core_uscc();
            let op = match kind {
                0..=2 => raise(&core, *amount),
                3..=5 => lower(&core, *amount),
                6 => revoke(&core),
                _ => grant(&core, "CNY", LINE_LIMIT),
            };
            (FINANCIER.to_owned(), op)
        }
        Action::Pledge {
            voucher,
            kind,
            days,
        } => {
            if *kind <= 1 {
                let id = pick(&vouchers, *voucher, |v| {
                    v.status() == VoucherStatus::Active && v.pledge.is_empty()
                });
                let end = chain.date_in(*days);
                let op = Operation::RegisterPledge(vchain_proto::v1::RegisterPledge {
                    voucher_id: id.clone(),
                    pledgee: FINANCIER.into(),
                    secured_amount: 1_000,
                    currency: "CNY".into(),
                    period_end_date: end,
                    collateral_description: "property test loan".into(),
                    modification_code_hash: vec![7; 32],
                    ..Default::default()
                });
                (holder_or(&id, None), op)
            } else {
                let id = pick(&vouchers, *voucher, |v| !v.pledge.is_empty());
                let number = vouchers
                    .get(&id)
                    .map_or_else(|| "R000000000001".to_owned(), |v| v.pledge.clone());
                let op = if *kind <= 3 {
                    Operation::ReleasePledge(vchain_proto::v1::ReleasePledge {
                        registration_number: number,
                        reason: "repaid".into(),
                    })
                } else {
                    Operation::EnforcePledge(vchain_proto::v1::EnforcePledge {
                        registration_number: number,
                        reason: "default".into(),
                    })
                };
                (FINANCIER.to_owned(), op)
            }
        }
        Action::AdvanceDays(_) => return None,
    };
    let nonce = nonces
        .entry(signer.clone())
        .or_insert_with(|| chain.nonce(&signer));
    let tx = chain.sign(&signer, *nonce, op);
    *nonce += 1;
    Some(tx)
}

/// What the checks compare a block against: the vouchers (decoded and raw) and lines before it.
struct Snapshot {
    vouchers: BTreeMap<String, Voucher>,
    raw: BTreeMap<Vec<u8>, Vec<u8>>,
    lines: BTreeMap<Vec<u8>, CreditLine>,
}

fn snapshot(chain: &TestChain) -> Snapshot {
    let raw: BTreeMap<Vec<u8>, Vec<u8>> = chain.scan(b"v/").into_iter().collect();
    let lines = chain
        .scan(b"c/")
        .into_iter()
        .map(|(k, v)| (k, CreditLine::decode(v.as_slice()).expect("line decodes")))
        .collect();
    Snapshot {
        vouchers: chain.vouchers(),
        raw,
        lines,
    }
}

fn line_key(voucher: &Voucher) -> Vec<u8> {
    keys::credit_line(&voucher.financier, &voucher.issuer)
}

/// Checks every invariant after a block whose outcome is `outcome`, given the state before it.
fn check_block(chain: &TestChain, before: &Snapshot, outcome: &vchain_contracts::BlockOutcome) {
    chain
        .ledger
        .check_integrity()
        .expect("state tree integrity");
    let after = snapshot(chain);
    let grace = chain.genesis.params.redemption_grace_days;

    // (a) Value: each line's outstanding is the face value of its live vouchers, and changed by
    // exactly what was issued, redeemed and destroyed in this block.
    let mut live_sum: BTreeMap<Vec<u8>, u64> = BTreeMap::new();
    for voucher in after.vouchers.values().filter(|v| is_live(v)) {
        *live_sum.entry(line_key(voucher)).or_default() += voucher.amount;
    }
    let mut delta: BTreeMap<Vec<u8>, i128> = BTreeMap::new();
    for event in outcome.events() {
        let sign = match event.kind() {
            EventKind::VoucherIssued => 1,
            EventKind::VoucherRedeemed | EventKind::VoucherDestroyed => -1,
            _ => continue,
        };
        let voucher = &after.vouchers[&event.voucher_id];
        assert_eq!(
            event.amount, voucher.amount,
            "event amount is the voucher's"
        );
        *delta.entry(line_key(voucher)).or_default() += sign * i128::from(voucher.amount);
    }
    for (key, line) in &after.lines {
        assert_eq!(
            live_sum.get(key).copied().unwrap_or(0),
            line.outstanding,
            "outstanding of {} is its live vouchers' value",
            String::from_utf8_lossy(key)
        );
        assert!(
            line.outstanding <= line.limit
                || line.status() != vchain_proto::v1::CreditLineStatus::Active,
            "outstanding above the limit of an active line"
        );
        let previous = before.lines.get(key).map_or(0, |l| l.outstanding);
        assert_eq!(
            i128::from(line.outstanding) - i128::from(previous),
            delta.get(key).copied().unwrap_or(0),
            "outstanding changes only by issue, redemption and destruction"
        );
    }
    assert!(
        live_sum.keys().all(|k| after.lines.contains_key(k)),
        "every live voucher draws on an existing line"
    );

    // (b) No double spend: ended vouchers never change; the fixed fields of any voucher never do;
    // statuses only move forward.
    for (id, old) in &before.vouchers {
        let new = after
            .vouchers
            .get(id)
            .unwrap_or_else(|| panic!("voucher {id} vanished"));
        if !is_live(old) {
            assert_eq!(
                before.raw[&keys::voucher(id)],
                chain.raw(&keys::voucher(id)).expect("stored"),
                "ended voucher {id} changed"
            );
        }
        let fixed = |v: &Voucher| {
            (
                v.amount,
                v.issuer.clone(),
                v.financier.clone(),
                v.maturity_day,
                v.parent_id.clone(),
                v.root_id.clone(),
                v.depth,
                v.trade_document.clone(),
                v.issued_height,
            )
        };
        assert_eq!(fixed(old), fixed(new), "fixed fields of {id} changed");
        let allowed = match old.status() {
            VoucherStatus::Active => [
                VoucherStatus::Active,
                VoucherStatus::Split,
                VoucherStatus::RedemptionRequested,
                // Requested and confirmed in the same block.
                VoucherStatus::Redeemed,
                VoucherStatus::Destroyed,
            ]
            .contains(&new.status()),
            VoucherStatus::RedemptionRequested => {
                [VoucherStatus::RedemptionRequested, VoucherStatus::Redeemed]
                    .contains(&new.status())
            }
            _ => new.status() == old.status(),
        };
        assert!(
            allowed,
            "voucher {id} went from {:?} to {:?}",
            old.status(),
            new.status()
        );
        if old.holder != new.holder {
            assert_eq!(
                old.status(),
                VoucherStatus::Active,
                "only an active voucher changes hands"
            );
        }
    }

    // Lineage: children sum to their split parent; leaves of each root sum to the root.
    let mut leaves_of_root: BTreeMap<&str, u64> = BTreeMap::new();
    for voucher in after.vouchers.values() {
        if voucher.status() == VoucherStatus::Split {
            assert!(
                voucher.children.len() >= 2,
                "split {} has {} children",
                voucher.id,
                voucher.children.len()
            );
            let mut sum = 0u64;
            for child_id in &voucher.children {
                let child = &after.vouchers[child_id];
                assert_eq!(
                    (
                        child.parent_id.as_str(),
                        child.root_id.as_str(),
                        child.depth
                    ),
                    (
                        voucher.id.as_str(),
                        voucher.root_id.as_str(),
                        voucher.depth + 1
                    )
                );
                sum += child.amount;
            }
            assert_eq!(sum, voucher.amount, "children of {} sum to it", voucher.id);
        } else {
            assert!(
                voucher.children.is_empty(),
                "unsplit {} has children",
                voucher.id
            );
            *leaves_of_root.entry(voucher.root_id.as_str()).or_default() += voucher.amount;
        }
        if voucher.parent_id.is_empty() {
            assert_eq!(
                (voucher.root_id.as_str(), voucher.depth),
                (voucher.id.as_str(), 0)
            );
        } else {
            assert!(after.vouchers[&voucher.parent_id]
                .children
                .contains(&voucher.id));
        }
    }
    for (root, sum) in &leaves_of_root {
        assert_eq!(
            *sum, after.vouchers[*root].amount,
            "the lineage of {root} conserves its value"
        );
    }
    let roots = after
        .vouchers
        .values()
        .filter(|v| v.parent_id.is_empty())
        .count();
    assert_eq!(
        chain.scan(b"d/").len(),
        roots,
        "one trade document per issued voucher"
    );
    assert_eq!(
        chain.scan(b"dh/").len(),
        roots,
        "one document hash per issued voucher"
    );

    // One holder per voucher, matching the holder index; every voucher in its issuer's index.
    let mut indexed: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for key in &chain.index {
        let text = String::from_utf8(key.clone()).expect("utf-8 index key");
        if let Some(rest) = text.strip_prefix("h/") {
            let (holder, id) = rest.rsplit_once('/').expect("h/{holder}/{id}");
            indexed
                .entry(id.to_owned())
                .or_default()
                .push(holder.to_owned());
        }
    }
    for voucher in after.vouchers.values() {
        let holders = indexed.get(&voucher.id).cloned().unwrap_or_default();
        assert_eq!(
            holders,
            std::slice::from_ref(&voucher.holder),
            "holder index of {}",
            voucher.id
        );
        assert!(chain
            .index
            .contains(&keys::issuer_index(&voucher.issuer, &voucher.id)));
        if is_live(voucher) {
            let role = chain.account(&voucher.holder).role();
            assert!(
                matches!(role, Role::Supplier | Role::Financier),
                "{} held by a {role:?}",
                voucher.id
            );
        }
    }
    assert_eq!(
        indexed.len(),
        after.vouchers.len(),
        "no index entry for a voucher that does not exist"
    );
    // A pledge lock, its asset key and its active registration agree, both ways.
    let mut locked = 0;
    for voucher in after.vouchers.values().filter(|v| !v.pledge.is_empty()) {
        locked += 1;
        let notice = vchain_contracts::active_pledge(&chain.ledger, "voucher", &voucher.id)
            .expect("read")
            .unwrap_or_else(|| panic!("{} is locked without a notice", voucher.id));
        assert_eq!(notice.registration_number, voucher.pledge);
        assert_eq!(notice.status(), vchain_proto::v1::PledgeStatus::Active);
        assert_eq!(notice.asset_id, voucher.id);
    }
    assert_eq!(
        chain.scan(b"pa/").len(),
        locked,
        "one notice per locked voucher"
    );
    assert_eq!(
        chain.scan(b"px/").len(),
        locked,
        "one lapse entry per active pledge"
    );

    // Every account's count of live vouchers is the number it holds.
    let mut live_held: BTreeMap<String, u32> = BTreeMap::new();
    for voucher in after.vouchers.values().filter(|v| is_live(v)) {
        *live_held.entry(voucher.holder.clone()).or_default() += 1;
    }
    for (key, value) in chain.scan(b"a/") {
        let account = vchain_proto::v1::Account::decode(value.as_slice()).expect("account");
        assert_eq!(
            account.live_vouchers,
            live_held.get(&account.account_id).copied().unwrap_or(0),
            "live voucher count of {}",
            String::from_utf8_lossy(&key)
        );
    }

    // The expiry queue holds exactly the active, unfrozen vouchers, each at its destruction day.
    let queue: BTreeSet<Vec<u8>> = chain
        .scan(keys::EXPIRY_PREFIX)
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    let expected: BTreeSet<Vec<u8>> = after
        .vouchers
        .values()
        .filter(|v| v.status() == VoucherStatus::Active && !v.frozen)
        .map(|v| keys::expiry(v.maturity_day + grace, &v.id))
        .collect();
    assert_eq!(queue, expected, "expiry queue");

    // Completeness of every history: each voucher's event count (`ec/{id}`) is exactly the
    // number of events under `e/{id}/`, whoever wrote them (transactions, destruction, lapse).
    for voucher in after.vouchers.values() {
        let events = chain.scan(&keys::voucher_events_prefix(&voucher.id)).len();
        let count = chain
            .raw(&keys::voucher_event_count(&voucher.id))
            .map(|bytes| keys::decode_event_count(&bytes).expect("an 8-byte count"));
        assert_eq!(
            count,
            Some(events as u64),
            "event count of {} is its number of events",
            voucher.id
        );
    }

    // Destruction: exactly the vouchers whose day had come before this block's transactions (the
    // default cap of 256 per block is never reached here).
    for event in &outcome.system_events {
        if event.kind() == EventKind::PledgeLapsed {
            // A lapse unlocks its voucher; the lock invariants above cover the rest.
            assert!(after.vouchers[&event.voucher_id].pledge.is_empty());
            continue;
        }
        assert_eq!(event.kind(), EventKind::VoucherDestroyed);
        let voucher = &after.vouchers[&event.voucher_id];
        assert_eq!(voucher.status(), VoucherStatus::Destroyed);
        let old = &before.vouchers[&event.voucher_id];
        assert!(
            old.status() == VoucherStatus::Active && !old.frozen,
            "destroyed {} was active and unfrozen",
            old.id
        );
    }
    let block_day = vchain_contracts::validate::local_day(
        chain.history[chain.history.len() - 1].context.timestamp_ms,
        chain.genesis.params.utc_offset_minutes,
    );
    for voucher in before.vouchers.values() {
        if voucher.status() == VoucherStatus::Active
            && !voucher.frozen
            && voucher.maturity_day + grace <= block_day
        {
            assert_eq!(
                after.vouchers[&voucher.id].status(),
                VoucherStatus::Destroyed,
                "overdue {} was destroyed",
                voucher.id
            );
        }
    }
}

/// Success and rejection counts over all cases, to show the generator reaches every path.
type Stats = BTreeMap<String, usize>;

fn record(stats: &mut Stats, outcome: &vchain_contracts::BlockOutcome) {
    for result in &outcome.results {
        if result.code() == ErrorCode::Ok {
            for event in &result.events {
                *stats
                    .entry(event.kind().as_str_name().to_owned())
                    .or_default() += 1;
            }
        } else {
            *stats
                .entry(result.code().as_str_name().to_owned())
                .or_default() += 1;
        }
    }
    for event in &outcome.system_events {
        *stats
            .entry(event.kind().as_str_name().to_owned())
            .or_default() += 1;
    }
}

/// Executes `transactions` as the next block and checks it.
fn execute(chain: &mut TestChain, transactions: Vec<SignedTransaction>, stats: &mut Stats) {
    let before = snapshot(chain);
    let outcome = chain.block(transactions);
    record(stats, &outcome);
    check_block(chain, &before, &outcome);
}

fn run_scenario(steps: &[Step], stats: &mut Stats) {
    let mut chain = TestChain::new();
    chain.grant_line(LINE_LIMIT);
    for (holder, days) in [(SUP1, 3), (SUP2, 8), (SUP3, 15)] {
        chain.issue(holder, 1_000_000, days);
    }
    let mut pending: Vec<SignedTransaction> = Vec::new();
    let mut nonces: BTreeMap<String, u64> = BTreeMap::new();
    for step in steps {
        let ends_block = !step.same_block || matches!(step.action, Action::AdvanceDays(_));
        if ends_block && !pending.is_empty() {
            execute(&mut chain, std::mem::take(&mut pending), stats);
            nonces.clear();
        }
        match &step.action {
            Action::AdvanceDays(days) => {
                chain.advance_days(*days);
                // An empty block at the new time: the chain destroys what is due.
                execute(&mut chain, Vec::new(), stats);
            }
            action => {
                let tx = build(&mut chain, action, &mut nonces).expect("a transaction");
                pending.push(tx);
            }
        }
    }
    if !pending.is_empty() {
        execute(&mut chain, pending, stats);
    }

    // (c) Replay: the same blocks on a fresh ledger give the same outcomes and roots.
    let mut fresh = MemoryLedger::new();
    fresh
        .apply(&chain.genesis.state().expect("valid genesis"))
        .expect("apply genesis");
    for record in &chain.history {
        let outcome =
            execute_block(&fresh, &record.context, &record.transactions).expect("replay executes");
        assert_eq!(
            outcome, record.outcome,
            "replayed block {} differs",
            record.context.height
        );
        assert_eq!(
            fresh.apply(&outcome.state_writes).expect("apply"),
            record.root,
            "state root after block {}",
            record.context.height
        );
    }
    assert_eq!(fresh, chain.ledger, "replayed ledger equals the original");
}

#[test]
fn lifecycle_invariants_hold_for_random_sequences() {
    let stats = RefCell::new(Stats::new());
    // A fixed seed: the coverage asserted below is then the same on every run (with a random
    // seed an unlucky run missed an event kind), and a failure replays exactly.
    let mut runner = TestRunner::new_with_rng(
        Config {
            cases: 64,
            failure_persistence: None,
            ..Config::default()
        },
        proptest::test_runner::TestRng::deterministic_rng(
            proptest::test_runner::RngAlgorithm::ChaCha,
        ),
    );
    let result = runner.run(&scenario(), |steps| {
        run_scenario(&steps, &mut stats.borrow_mut());
        Ok(())
    });
    if let Err(error) = result {
        panic!("{error}");
    }
    let stats = stats.into_inner();
    // The generator must reach every lifecycle step and the main rejections, or the properties
    // above prove little.
    for needed in [
        "EVENT_KIND_VOUCHER_ISSUED",
        "EVENT_KIND_VOUCHER_SPLIT",
        "EVENT_KIND_VOUCHER_TRANSFERRED",
        "EVENT_KIND_VOUCHER_FINANCED",
        "EVENT_KIND_REDEMPTION_REQUESTED",
        "EVENT_KIND_VOUCHER_REDEEMED",
        "EVENT_KIND_VOUCHER_DESTROYED",
        "EVENT_KIND_VOUCHER_FROZEN",
        "EVENT_KIND_VOUCHER_UNFROZEN",
        "EVENT_KIND_PLEDGE_REGISTERED",
        "EVENT_KIND_PLEDGE_RELEASED",
        "EVENT_KIND_PLEDGE_ENFORCED",
        "EVENT_KIND_PLEDGE_LAPSED",
        "VOUCHER_PLEDGED",
        "NOT_HOLDER",
        "VOUCHER_NOT_ACTIVE",
        "SPLIT_SUM_MISMATCH",
        "INVALID_RECIPIENT",
    ] {
        assert!(
            stats.get(needed).copied().unwrap_or(0) > 0,
            "no {needed} in 64 cases: {stats:?}"
        );
    }
}
