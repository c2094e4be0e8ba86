//! A voucher's lineage as a graph for people, laid out for drawing.
//!
//! A node of the graph is one *holding*: a voucher while one account held it. A voucher's first
//! holding begins at its issuance (or at the split that made it); each transfer, financing or
//! pledge enforcement ends a holding and begins the next, with the new holder; a split ends the
//! voucher's last holding and begins each child's first. So the graph is a tree rooted at the
//! issuance, every edge labelled with what moved the value (split, transfer, financing,
//! enforcement), and every node shows the voucher, its amount, the holder then and how the
//! holding ended (or the voucher's status, for the current holding), with the events that
//! happened during it (issuance, splits, transfers, financing, pledges, redemption, freezing,
//! destruction).
//!
//! The layout is a function of the trace alone (no clock, no randomness, integer pixels): rows
//! by distance from the root; leaves take columns left to right in the trace's depth-first
//! order (children in the order the split made them); a parent is centred over its first and
//! last child. The browser only draws what it is given, so the same trace always looks the same.
//!
//! Owns: shaping a `TraceVoucherResponse` into this graph. Must not depend on: the network or
//! HTTP (tested with traces made in the tests).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;
use vchain_proto::v1::{Event, EventKind, TraceVoucherResponse, Voucher, VoucherStatus};

use crate::json;

/// Most holdings drawn; a larger lineage is cut (in the trace's order) and says so.
pub(crate) const LINEAGE_NODES_MAX: usize = 2_000;
/// Width of a node's box, pixels.
pub(crate) const NODE_WIDTH: u32 = 216;
/// Height of a node's box, pixels.
pub(crate) const NODE_HEIGHT: u32 = 86;
/// Horizontal distance between the left edges of neighbouring leaves.
pub(crate) const COLUMN_PITCH: u32 = NODE_WIDTH + 28;
/// Vertical distance between the top edges of neighbouring rows (room for an edge's label).
pub(crate) const ROW_PITCH: u32 = NODE_HEIGHT + 58;
/// Empty border around the drawing.
pub(crate) const MARGIN: u32 = 12;

const _: () = assert!(COLUMN_PITCH > NODE_WIDTH && ROW_PITCH > NODE_HEIGHT);
// The largest drawing still has integer coordinates that fit a u32 with room to spare.
const _: () = assert!((LINEAGE_NODES_MAX as u64) * (ROW_PITCH as u64) < u32::MAX as u64 / 2);
const _: () = assert!((LINEAGE_NODES_MAX as u64) * (COLUMN_PITCH as u64) < u32::MAX as u64 / 2);

/// What moved value from one holding to the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum EdgeKind {
    /// A split made the child voucher.
    Split,
    /// The holder transferred the voucher (a payment down the supply chain).
    Transfer,
    /// The holder sold it to a financier for a consideration.
    Financing,
    /// The pledgee enforced a pledge and took the voucher.
    PledgeEnforced,
}

/// One holding: a voucher while one account held it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct LineageNode {
    /// Unique in the graph: `{voucher id}.{holding index}`.
    pub(crate) key: String,
    /// The voucher.
    pub(crate) voucher_id: String,
    /// 0 for the voucher's first holding, +1 for each change of holder.
    pub(crate) holding: u32,
    /// Who held it.
    pub(crate) holder: String,
    /// The voucher's amount, minor units.
    pub(crate) amount: u64,
    /// Its currency.
    pub(crate) currency: String,
    /// For the current holding the voucher's status (`ACTIVE`, `SPLIT`, `REDEEMED` ...); for an
    /// earlier one how it ended (`TRANSFERRED`, `FINANCED`, `ENFORCED`).
    pub(crate) state: String,
    /// The voucher's current holding.
    pub(crate) current: bool,
    /// Frozen now (current holding only).
    pub(crate) frozen: bool,
    /// The active pledge that locks it now, if any (current holding only).
    pub(crate) pledge: String,
    /// The voucher asked for.
    pub(crate) focus: bool,
    /// Splits between the voucher and the root.
    pub(crate) depth: u32,
    /// Height of the event that began the holding (0 when the trace shows none).
    pub(crate) from_height: u64,
    /// What happened during the holding, oldest first (the event that began it first).
    pub(crate) events: Vec<Value>,
    /// Left edge of its box, pixels.
    pub(crate) x: u32,
    /// Top edge of its box, pixels.
    pub(crate) y: u32,
}

/// What moved value from one holding to another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct LineageEdge {
    /// The earlier holding's key.
    pub(crate) from: String,
    /// The later holding's key.
    pub(crate) to: String,
    /// What it was.
    pub(crate) kind: EdgeKind,
    /// The amount that moved: the child's on a split, the voucher's otherwise.
    pub(crate) amount: u64,
    /// A financing's consideration (0 otherwise).
    pub(crate) consideration: u64,
    /// Height of the event.
    pub(crate) height: u64,
}

/// A lineage laid out for drawing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Lineage {
    /// The voucher asked for.
    pub(crate) voucher_id: String,
    /// The issued voucher at the root.
    pub(crate) root_id: String,
    /// Height the trace was read at.
    pub(crate) height: u64,
    /// Holdings, parents before children.
    pub(crate) nodes: Vec<LineageNode>,
    /// Edges, in the order of their later holding.
    pub(crate) edges: Vec<LineageEdge>,
    /// Size of the drawing, pixels.
    pub(crate) width: u32,
    /// Size of the drawing, pixels.
    pub(crate) height_px: u32,
    /// Box size and pitches, so the browser draws what was laid out.
    pub(crate) node_width: u32,
    /// Box size.
    pub(crate) node_height: u32,
    /// Holdings left out past [`LINEAGE_NODES_MAX`].
    pub(crate) truncated: usize,
}

/// A holding while being built: its node and the index of its parent holding.
struct Holding {
    node: LineageNode,
    parent: Option<usize>,
    edge: Option<(EdgeKind, u64, u64, u64)>,
}

/// The lineage graph of `trace`.
pub(crate) fn lineage(trace: &TraceVoucherResponse) -> Lineage {
    let mut holdings: Vec<Holding> = Vec::new();
    // The last holding of each voucher built so far (a split's children hang from it).
    let mut last_holding: BTreeMap<&str, usize> = BTreeMap::new();
    let mut truncated = 0usize;
    for traced in &trace.vouchers {
        let Some(voucher) = &traced.voucher else {
            continue;
        };
        let pieces = holdings_of(voucher, &traced.events, &trace.voucher_id, traced.depth);
        // Once one voucher does not fit, none after it is drawn: a later one could hang from
        // a voucher left out and would float free.
        if truncated > 0 || holdings.len() + pieces.len() > LINEAGE_NODES_MAX {
            truncated += pieces.len();
            continue;
        }
        let parent = last_holding.get(voucher.parent_id.as_str()).copied();
        let first = holdings.len();
        for (i, (node, edge)) in pieces.into_iter().enumerate() {
            let parent = if i == 0 { parent } else { Some(first + i - 1) };
            holdings.push(Holding { node, parent, edge });
        }
        if let Some(last) = holdings.len().checked_sub(1).filter(|&l| l >= first) {
            last_holding.insert(voucher.id.as_str(), last);
        }
    }
    let (width, height_px) = lay_out(&mut holdings);
    let edges = holdings
        .iter()
        .filter_map(|h| {
            let parent = h.parent?;
            let (kind, amount, consideration, height) = h.edge?;
            Some(LineageEdge {
                from: holdings[parent].node.key.clone(),
                to: h.node.key.clone(),
                kind,
                amount,
                consideration,
                height,
            })
        })
        .collect();
    Lineage {
        voucher_id: trace.voucher_id.clone(),
        root_id: trace.root_id.clone(),
        height: trace.height,
        nodes: holdings.into_iter().map(|h| h.node).collect(),
        edges,
        width,
        height_px,
        node_width: NODE_WIDTH,
        node_height: NODE_HEIGHT,
        truncated,
    }
}

/// The edge into a holding: kind, amount, consideration, height.
type EdgeIn = Option<(EdgeKind, u64, u64, u64)>;

/// The holdings of one voucher, each with the edge into it (the first one's is the split that
/// made the voucher, or none for the root).
fn holdings_of(
    voucher: &Voucher,
    events: &[Event],
    focus: &str,
    depth: u32,
) -> Vec<(LineageNode, EdgeIn)> {
    let first_event_height = events.first().map_or(0, |e| e.height);
    let created = events
        .iter()
        .find(|e| e.kind() == EventKind::VoucherCreatedBySplit);
    let first_holder = first_holder(voucher, events);
    let node = |holding: u32, holder: String, from_height: u64| LineageNode {
        key: format!("{}.{holding}", voucher.id),
        voucher_id: voucher.id.clone(),
        holding,
        holder,
        amount: voucher.amount,
        currency: voucher.currency.clone(),
        state: String::new(),
        current: false,
        frozen: false,
        pledge: String::new(),
        focus: voucher.id == focus,
        depth,
        from_height,
        events: Vec::new(),
        x: 0,
        y: 0,
    };
    let split_edge = (!voucher.parent_id.is_empty()).then(|| {
        (
            EdgeKind::Split,
            voucher.amount,
            0,
            created.map_or(first_event_height, |e| e.height),
        )
    });
    let mut out: Vec<(LineageNode, EdgeIn)> =
        vec![(node(0, first_holder, first_event_height), split_edge)];
    for event in events {
        let change = match event.kind() {
            EventKind::VoucherTransferred => Some(EdgeKind::Transfer),
            EventKind::VoucherFinanced => Some(EdgeKind::Financing),
            EventKind::PledgeEnforced if event.voucher_id == voucher.id => {
                Some(EdgeKind::PledgeEnforced)
            }
            _ => None,
        };
        if let Some(kind) = change {
            if let Some((previous, _)) = out.last_mut() {
                previous.state = ended_state(kind).to_owned();
            }
            let holding = u32::try_from(out.len()).unwrap_or(u32::MAX);
            out.push((
                node(holding, event.counterparty.clone(), event.height),
                Some((kind, voucher.amount, event.consideration, event.height)),
            ));
        }
        if let Some((current, _)) = out.last_mut() {
            current.events.push(json::to_json(event));
        }
    }
    if let Some((current, _)) = out.last_mut() {
        current.current = true;
        current.state = status_name(voucher.status);
        current.frozen = voucher.frozen;
        current.pledge = voucher.pledge.clone();
        // The chain's record names the holder now; the events agree unless the trace is cut.
        current.holder = voucher.holder.clone();
    }
    out
}

/// Who held the voucher first: the issuance's holder, the splitter (a child begins with its
/// parent's holder), or the first transfer's previous holder; the holder now when the trace
/// shows none of these.
fn first_holder(voucher: &Voucher, events: &[Event]) -> String {
    for event in events {
        match event.kind() {
            EventKind::VoucherIssued if !event.counterparty.is_empty() => {
                return event.counterparty.clone()
            }
            EventKind::VoucherCreatedBySplit => {
                if let Some(holder) = event.accounts.first() {
                    return holder.clone();
                }
            }
            EventKind::VoucherTransferred | EventKind::VoucherFinanced
                if !event.previous_holder.is_empty() =>
            {
                return event.previous_holder.clone()
            }
            EventKind::PledgeEnforced if !event.previous_holder.is_empty() => {
                return event.previous_holder.clone()
            }
            _ => {}
        }
    }
    voucher.holder.clone()
}

/// How a holding ended, by what began the next.
fn ended_state(kind: EdgeKind) -> &'static str {
    match kind {
        EdgeKind::Transfer => "TRANSFERRED",
        EdgeKind::Financing => "FINANCED",
        EdgeKind::PledgeEnforced => "ENFORCED",
        EdgeKind::Split => "SPLIT",
    }
}

/// A voucher status without its type prefix (`VOUCHER_STATUS_ACTIVE` -> `ACTIVE`).
fn status_name(status: i32) -> String {
    let name = VoucherStatus::try_from(status)
        .map(|s| s.as_str_name().to_owned())
        .unwrap_or_else(|_| format!("UNKNOWN_{status}"));
    name.strip_prefix("VOUCHER_STATUS_")
        .map(str::to_owned)
        .unwrap_or(name)
}

/// Places every holding (see the module docs) and returns the drawing's width and height.
/// Holdings come parents first, so one pass from the end finds every node's children; the
/// depth-first walk is iterative, so a long chain of transfers cannot exhaust the stack.
fn lay_out(holdings: &mut [Holding]) -> (u32, u32) {
    let count = holdings.len();
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); count];
    let mut roots = Vec::new();
    for (i, h) in holdings.iter().enumerate() {
        match h.parent {
            Some(p) => children[p].push(i),
            None => roots.push(i),
        }
    }
    let mut row = vec![0u32; count];
    let mut x = vec![0u32; count];
    let mut next_leaf = 0u32;
    // (node, children placed?) — post-order without recursion.
    let mut stack: Vec<(usize, bool)> = roots.iter().rev().map(|&r| (r, false)).collect();
    while let Some((i, placed)) = stack.pop() {
        if placed {
            x[i] = match (children[i].first(), children[i].last()) {
                (Some(&first), Some(&last)) => (x[first] + x[last]) / 2,
                _ => {
                    let at = next_leaf * COLUMN_PITCH;
                    next_leaf += 1;
                    at
                }
            };
            continue;
        }
        stack.push((i, true));
        for &child in children[i].iter().rev() {
            row[child] = row[i] + 1;
            stack.push((child, false));
        }
    }
    let mut rows = 0u32;
    for (i, h) in holdings.iter_mut().enumerate() {
        h.node.x = MARGIN + x[i];
        h.node.y = MARGIN + row[i] * ROW_PITCH;
        rows = rows.max(row[i] + 1);
    }
    let width = 2 * MARGIN + next_leaf.saturating_sub(1) * COLUMN_PITCH + NODE_WIDTH;
    let height = 2 * MARGIN + rows.saturating_sub(1) * ROW_PITCH + NODE_HEIGHT;
    if count == 0 {
        return (2 * MARGIN, 2 * MARGIN);
    }
    (width, height)
}

#[cfg(test)]
mod tests {
    use super::*;
    use vchain_proto::v1::TracedVoucher;

    fn voucher(
        id: &str,
        parent: &str,
        amount: u64,
        holder: &str,
        status: VoucherStatus,
    ) -> Voucher {
        Voucher {
            id: id.into(),
            parent_id: parent.into(),
            amount,
            currency: "CNY".into(),
            holder: holder.into(),
            status: status as i32,
            ..Default::default()
        }
    }

    fn event(kind: EventKind, height: u64, voucher: &str) -> Event {
        Event {
            kind: kind as i32,
            height,
            voucher_id: voucher.into(),
            ..Default::default()
        }
    }

    fn issued(v: &str, holder: &str) -> Event {
        let mut e = event(EventKind::VoucherIssued, 2, v);
        e.counterparty = holder.into();
        e
    }

    fn created(v: &str, parent: &str, holder: &str, height: u64) -> Event {
        let mut e = event(EventKind::VoucherCreatedBySplit, height, v);
        e.accounts = vec![holder.into()];
        e.related_vouchers = vec![parent.into()];
        e
    }

    fn moved(kind: EventKind, v: &str, from: &str, to: &str, height: u64) -> Event {
        let mut e = event(kind, height, v);
        e.previous_holder = from.into();
        e.counterparty = to.into();
        e
    }

    fn traced(voucher: Voucher, events: Vec<Event>, depth: u32) -> TracedVoucher {
        TracedVoucher {
            voucher: Some(voucher),
            events,
            depth,
        }
    }

    /// V1 issued to gearbox, split into V2 and V3 at 3; V2 transferred to castings at 4 and
    /// split into V4, V5 at 5; V5 financed to a bank at 6; V3 stays with gearbox.
    fn demo() -> TraceVoucherResponse {
        use VoucherStatus::{Active, Split};
        let mut split1 = event(EventKind::VoucherSplit, 3, "V1");
        split1.related_vouchers = vec!["V2".into(), "V3".into()];
        let mut split2 = event(EventKind::VoucherSplit, 5, "V2");
        split2.related_vouchers = vec!["V4".into(), "V5".into()];
        let mut financed = moved(EventKind::VoucherFinanced, "V5", "castings", "bank", 6);
        financed.consideration = 9_500;
        TraceVoucherResponse {
            voucher_id: "V4".into(),
            root_id: "V1".into(),
            height: 7,
            next_page_token: String::new(),
            vouchers: vec![
                traced(
                    voucher("V1", "", 100_000, "gearbox", Split),
                    vec![issued("V1", "gearbox"), split1],
                    0,
                ),
                traced(
                    voucher("V2", "V1", 60_000, "castings", Split),
                    vec![
                        created("V2", "V1", "gearbox", 3),
                        moved(
                            EventKind::VoucherTransferred,
                            "V2",
                            "gearbox",
                            "castings",
                            4,
                        ),
                        split2,
                    ],
                    1,
                ),
                traced(
                    voucher("V4", "V2", 50_000, "castings", Active),
                    vec![created("V4", "V2", "castings", 5)],
                    2,
                ),
                traced(
                    voucher("V5", "V2", 10_000, "bank", Active),
                    vec![created("V5", "V2", "castings", 5), financed],
                    2,
                ),
                traced(
                    voucher("V3", "V1", 40_000, "gearbox", Active),
                    vec![created("V3", "V1", "gearbox", 3)],
                    1,
                ),
            ],
        }
    }

    fn node<'a>(l: &'a Lineage, key: &str) -> &'a LineageNode {
        l.nodes
            .iter()
            .find(|n| n.key == key)
            .unwrap_or_else(|| panic!("no node {key} in {:?}", l.nodes))
    }

    #[test]
    fn every_change_of_holder_is_a_node_and_every_move_an_edge() {
        let l = lineage(&demo());
        let keys: Vec<&str> = l.nodes.iter().map(|n| n.key.as_str()).collect();
        assert_eq!(
            keys,
            ["V1.0", "V2.0", "V2.1", "V4.0", "V5.0", "V5.1", "V3.0"]
        );
        let edges: Vec<(&str, &str, EdgeKind)> = l
            .edges
            .iter()
            .map(|e| (e.from.as_str(), e.to.as_str(), e.kind))
            .collect();
        assert_eq!(
            edges,
            [
                ("V1.0", "V2.0", EdgeKind::Split),
                ("V2.0", "V2.1", EdgeKind::Transfer),
                ("V2.1", "V4.0", EdgeKind::Split),
                ("V2.1", "V5.0", EdgeKind::Split),
                ("V5.0", "V5.1", EdgeKind::Financing),
                ("V1.0", "V3.0", EdgeKind::Split),
            ]
        );
        let financing = &l.edges[4];
        assert_eq!((financing.amount, financing.consideration), (10_000, 9_500));
        assert_eq!(
            l.edges[0].amount, 60_000,
            "a split edge carries the child's amount"
        );
    }

    #[test]
    fn holders_amounts_and_states_are_those_of_each_holding() {
        let l = lineage(&demo());
        let v2_first = node(&l, "V2.0");
        assert_eq!(
            v2_first.holder, "gearbox",
            "a child begins with the splitter"
        );
        assert_eq!(v2_first.state, "TRANSFERRED");
        assert!(!v2_first.current);
        let v2_now = node(&l, "V2.1");
        assert_eq!(
            (v2_now.holder.as_str(), v2_now.amount),
            ("castings", 60_000)
        );
        assert_eq!(v2_now.state, "SPLIT");
        assert!(v2_now.current);
        assert_eq!(node(&l, "V5.0").state, "FINANCED");
        assert_eq!(node(&l, "V5.1").holder, "bank");
        assert_eq!(node(&l, "V1.0").holder, "gearbox");
        assert_eq!(node(&l, "V1.0").state, "SPLIT");
        assert!(node(&l, "V4.0").focus && !node(&l, "V5.0").focus);
        assert_eq!(node(&l, "V4.0").depth, 2);
    }

    #[test]
    fn events_go_to_the_holding_they_happened_in() {
        let l = lineage(&demo());
        let kinds = |key: &str| -> Vec<String> {
            node(&l, key)
                .events
                .iter()
                .map(|e| e["kind"].as_str().unwrap_or_default().to_owned())
                .collect()
        };
        assert_eq!(
            kinds("V1.0"),
            ["EVENT_KIND_VOUCHER_ISSUED", "EVENT_KIND_VOUCHER_SPLIT"]
        );
        assert_eq!(kinds("V2.0"), ["EVENT_KIND_VOUCHER_CREATED_BY_SPLIT"]);
        assert_eq!(
            kinds("V2.1"),
            ["EVENT_KIND_VOUCHER_TRANSFERRED", "EVENT_KIND_VOUCHER_SPLIT"]
        );
        assert_eq!(kinds("V5.1"), ["EVENT_KIND_VOUCHER_FINANCED"]);
    }

    #[test]
    fn the_layout_is_a_tidy_tree_with_parents_over_their_children() {
        let l = lineage(&demo());
        let at = |key: &str| (node(&l, key).x, node(&l, key).y);
        // Leaves left to right in trace order: V4, V5.1, V3.
        assert_eq!(at("V4.0"), (MARGIN, MARGIN + 3 * ROW_PITCH));
        assert_eq!(at("V5.1"), (MARGIN + COLUMN_PITCH, MARGIN + 4 * ROW_PITCH));
        assert_eq!(at("V3.0"), (MARGIN + 2 * COLUMN_PITCH, MARGIN + ROW_PITCH));
        // A parent is centred over its first and last child; a chain stays in one column.
        assert_eq!(at("V5.0").0, at("V5.1").0);
        assert_eq!(at("V2.1").0, (at("V4.0").0 + at("V5.0").0) / 2);
        assert_eq!(at("V1.0").0, (at("V2.0").0 + at("V3.0").0) / 2);
        assert_eq!(at("V1.0").1, MARGIN);
        // Every box lies inside the drawing, and no two boxes overlap.
        for n in &l.nodes {
            assert!(n.x + NODE_WIDTH + MARGIN <= l.width, "{n:?}");
            assert!(n.y + NODE_HEIGHT + MARGIN <= l.height_px, "{n:?}");
        }
        for (i, a) in l.nodes.iter().enumerate() {
            for b in &l.nodes[i + 1..] {
                let apart_x = a.x + NODE_WIDTH <= b.x || b.x + NODE_WIDTH <= a.x;
                let apart_y = a.y + NODE_HEIGHT <= b.y || b.y + NODE_HEIGHT <= a.y;
                assert!(apart_x || apart_y, "{} overlaps {}", a.key, b.key);
            }
        }
        assert_eq!(l.width, 2 * MARGIN + 2 * COLUMN_PITCH + NODE_WIDTH);
        assert_eq!(l.height_px, 2 * MARGIN + 4 * ROW_PITCH + NODE_HEIGHT);
    }

    #[test]
    fn the_same_trace_always_gives_the_same_graph() {
        assert_eq!(lineage(&demo()), lineage(&demo()));
    }

    #[test]
    fn a_pledge_enforcement_hands_the_voucher_to_the_pledgee() {
        let mut pledged = event(EventKind::PledgeRegistered, 3, "V1");
        pledged.pledge = "R000000000001".into();
        pledged.counterparty = "bank".into();
        let mut enforced = moved(EventKind::PledgeEnforced, "V1", "gearbox", "bank", 4);
        enforced.pledge = "R000000000001".into();
        let mut v = voucher("V1", "", 100, "bank", VoucherStatus::Active);
        v.frozen = true;
        let trace = TraceVoucherResponse {
            voucher_id: "V1".into(),
            root_id: "V1".into(),
            height: 5,
            next_page_token: String::new(),
            vouchers: vec![traced(
                v,
                vec![issued("V1", "gearbox"), pledged, enforced],
                0,
            )],
        };
        let l = lineage(&trace);
        assert_eq!(l.nodes.len(), 2);
        assert_eq!(l.nodes[0].state, "ENFORCED");
        assert_eq!(l.nodes[0].events.len(), 2, "issuance and the pledge");
        assert_eq!(l.nodes[1].holder, "bank");
        assert!(l.nodes[1].frozen);
        assert_eq!(l.edges[0].kind, EdgeKind::PledgeEnforced);
    }

    #[test]
    fn a_lineage_past_the_bound_is_cut_and_says_so() {
        // One root split into LINEAGE_NODES_MAX children: the last one does not fit.
        let children: Vec<TracedVoucher> = (0..LINEAGE_NODES_MAX)
            .map(|i| {
                let id = format!("C{i}");
                traced(
                    voucher(&id, "R", 1, "s", VoucherStatus::Active),
                    vec![created(&id, "R", "s", 3)],
                    1,
                )
            })
            .collect();
        let mut vouchers = vec![traced(
            voucher("R", "", 1, "s", VoucherStatus::Split),
            vec![issued("R", "s")],
            0,
        )];
        vouchers.extend(children);
        let l = lineage(&TraceVoucherResponse {
            voucher_id: "R".into(),
            root_id: "R".into(),
            height: 3,
            next_page_token: String::new(),
            vouchers,
        });
        assert_eq!(l.nodes.len(), LINEAGE_NODES_MAX);
        assert_eq!(l.truncated, 1);
        assert_eq!(l.edges.len(), LINEAGE_NODES_MAX - 1);
    }

    #[test]
    fn an_empty_trace_is_an_empty_drawing() {
        let l = lineage(&TraceVoucherResponse::default());
        assert!(l.nodes.is_empty() && l.edges.is_empty());
        assert_eq!((l.width, l.height_px), (2 * MARGIN, 2 * MARGIN));
    }
}
