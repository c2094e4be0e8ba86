//! How the ledger stores the state tree: in pages of four levels, one RocksDB entry each.
//!
//! Owns: the page layout (which page and slot hold a node), a page's encoding, the writer's
//! cache of committed pages, and turning a [`TreeUpdate`]'s node changes into page writes.
//! Must not depend on: the tree's hashing or shape rules ([`crate::tree`] owns them): a page is
//! storage only, so the state root, proofs and every hash are exactly those of the binary tree.
//!
//! # Why pages
//! Stored one node per entry, a key at depth 20 cost 20 entries written and, below the cached
//! levels, one RocksDB read per level: a block of splits wrote about 60,000 entries and its
//! update spent most of its time in point reads (issue 16's profiles). A page holds the nodes of
//! one four-level binary subtree (at most 15), so a path costs a quarter of the entries and reads,
//! and a page (at most [`PAGE_BYTES_MAX`]) stays small enough to rewrite whole. This is the layout
//! of a 16-ary Jellyfish node, kept binary inside so that nothing hashed changes.
//!
//! # Layout
//! - A page is rooted at a depth that is a multiple of [`PAGE_LEVELS`]; its key is the encoded
//!   [`NodePath`] of that root. The page of a node at depth `d` is rooted at `d - d % 4` on the
//!   node's path; its slot is `2^r - 1 + b`, where `r = d % 4` and `b` the `r` path bits after the
//!   page root (slot 0 is the page root, slots 1-2 the next level, 3-6, then 7-14).
//! - Value, full form: a big-endian u16 whose bit `s` says slot `s` is occupied, then each
//!   occupied slot's encoded [`Node`] ([`NODE_LEN`] bytes) in slot order. A page with no node is
//!   not stored.
//! - Value, compact form (what a commit writes when it saves anything): the u16 with
//!   [`COMPACT_FLAG`] set as well, then a byte whose bit `s` says the inner node in slot `s` is
//!   left out, then the other occupied slots' nodes in slot order. Only inner nodes of the upper
//!   three levels ([`PARENT_SLOTS`]) are left out: their children are in the page, and an inner
//!   node is exactly the hashes of its two children (empty ones included), so reading the page
//!   computes them again, bottom up (an inner node whose sides do not match its child slots'
//!   occupancy is kept: [`StoredPage::stored_form`]). A full page of eight bottom nodes and seven inner nodes
//!   above them is 523 bytes compact, 977 in full: a block's tree writes, its RocksDB write and
//!   every later flush and compaction of them shrink by about that much. A reader accepts both
//!   forms (ledgers of format 3 hold full pages until a commit rewrites them).
//!
//! The writer holds pages in the full form, so a descent reads any slot's node directly; the
//! compact form exists only on disk. A damaged node under a left-out one is still caught: the
//! page's top node, computed from it, no longer hashes to what the parent page records.

use std::cell::Cell;
use std::collections::HashMap;

use crate::error::Hex;
use crate::tree::{Node, NodePath, TreeUpdate, DEPTH_MAX, NODE_LEN, TAG_INNER};
use crate::{LedgerError, EMPTY_ROOT};

/// Binary levels one page holds.
pub const PAGE_LEVELS: u16 = 4;
/// Node positions in a page: 1 + 2 + 4 + 8.
pub const PAGE_SLOTS: usize = (1 << PAGE_LEVELS) - 1;
/// Largest encoded page: the occupancy bits and every slot's node.
pub const PAGE_BYTES_MAX: usize = 2 + PAGE_SLOTS * NODE_LEN;
const _: () = assert!(PAGE_SLOTS <= u16::BITS as usize);
/// Set in a stored page's occupancy bits when the page is in the compact form (module docs).
/// It is a bit no slot uses, so a release that reads only full pages refuses a compact one.
const COMPACT_FLAG: u16 = 1 << 15;
// The flag is no slot's bit.
const _: () = assert!(COMPACT_FLAG.trailing_zeros() as usize >= PAGE_SLOTS);
/// Slots whose children lie in the same page (the upper three levels): an inner node in one of
/// them is left out of the compact form. Slot `s`'s children are slots `2s + 1` and `2s + 2`.
const PARENT_SLOTS: usize = (1 << (PAGE_LEVELS - 1)) - 1;
const _: () = assert!(PARENT_SLOTS <= u8::BITS as usize);
const _: () = assert!(2 * PARENT_SLOTS < PAGE_SLOTS);
/// Smallest stored compact page: the occupancy bits and the left-out slots.
const COMPACT_HEADER_BYTES: usize = 3;
// The deepest level (a leaf at DEPTH_MAX) starts a page of its own.
const _: () = assert!(DEPTH_MAX.is_multiple_of(PAGE_LEVELS));
/// Pages shallower than this stay in the writer's memory for good: every block's update walks
/// through them. 20 levels: at most 1 + 16 + 256 + 4,096 + 65,536 pages, kept as stored (a
/// page costs its nodes only), so at most about 70 MB, reached by trees of millions of keys
/// (in a tree of N keys, the levels below log2(N) are sparse).
pub const PAGES_CACHED_DEPTH: u16 = 20;
const _: () = assert!(PAGES_CACHED_DEPTH.is_multiple_of(PAGE_LEVELS));
// An upper page's position below the root is read from the first three bytes of its path.
const _: () = assert!(PAGES_CACHED_DEPTH - PAGE_LEVELS <= 24);
/// Page positions above [`PAGES_CACHED_DEPTH`]: 16⁰ + 16¹ + … (69,905 for 20 levels). The writer
/// indexes them directly, without hashing a path (every tree update looks up each of them).
const UPPER_PAGE_POSITIONS: usize =
    ((1usize << PAGES_CACHED_DEPTH) - 1) / ((1usize << PAGE_LEVELS) - 1);
/// Deeper pages the writer keeps from one block to the next (read or written since the cache
/// was last emptied): at most 16 MB. Past it the deeper pages are forgotten at the next commit.
pub const DEEP_PAGES_CACHED_MAX: usize = 16_384;

/// The nodes of one page, by slot.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Page {
    slots: [Option<Node>; PAGE_SLOTS],
}

/// The page root holding the node at `path`, and the node's slot in it.
pub(crate) fn page_of(path: &NodePath) -> (NodePath, usize) {
    let depth = path.depth();
    let page_depth = depth - depth % PAGE_LEVELS;
    let root = path.ancestor(page_depth);
    let mut below = 0usize;
    for index in page_depth..depth {
        let index = usize::from(index);
        let bit = (path.prefix()[index / 8] >> (7 - index % 8)) & 1;
        below = (below << 1) | usize::from(bit);
    }
    let relative = depth - page_depth;
    let slot = (1usize << relative) - 1 + below;
    debug_assert!(slot < PAGE_SLOTS);
    (root, slot)
}

impl Page {
    /// The node in `slot`.
    #[cfg(test)]
    pub(crate) fn node(&self, slot: usize) -> Option<Node> {
        self.slots[slot]
    }

    /// Puts `node` in `slot` (`None` empties it).
    pub(crate) fn set(&mut self, slot: usize, node: Option<Node>) {
        self.slots[slot] = node;
    }

    fn is_empty(&self) -> bool {
        self.slots.iter().all(Option::is_none)
    }

    /// The stored bytes (see the module docs).
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut occupied = 0u16;
        let mut bytes = Vec::with_capacity(PAGE_BYTES_MAX);
        bytes.extend_from_slice(&[0, 0]);
        for (slot, node) in self.slots.iter().enumerate() {
            if let Some(node) = node {
                occupied |= 1 << slot;
                bytes.extend_from_slice(&node.encode());
            }
        }
        bytes[..2].copy_from_slice(&occupied.to_be_bytes());
        debug_assert!(bytes.len() <= PAGE_BYTES_MAX);
        bytes
    }

    /// Parses stored bytes in either form (module docs), refusing a wrong length, an unused
    /// occupancy bit, a node that does not decode, an empty page (never stored), or a compact
    /// page that leaves out nothing or leaves out what it cannot give again.
    #[cfg(test)]
    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, LedgerError> {
        if is_compact(bytes) {
            Self::decode_compact(bytes)
        } else {
            Self::decode_full(bytes)
        }
    }

    /// [`Page::decode`] of the full form.
    fn decode_full(bytes: &[u8]) -> Result<Self, LedgerError> {
        let what = || format!("tree page of {} bytes", bytes.len());
        if bytes.len() < 2 {
            return Err(LedgerError::corruption(what(), "no occupancy bits"));
        }
        let occupied = u16::from_be_bytes([bytes[0], bytes[1]]);
        if occupied >> PAGE_SLOTS != 0 {
            return Err(LedgerError::corruption(
                what(),
                format!("occupancy bits {occupied:#06x} name a slot beyond {PAGE_SLOTS}"),
            ));
        }
        if occupied == 0 {
            return Err(LedgerError::corruption(what(), "an empty page is stored"));
        }
        let count = occupied.count_ones() as usize;
        if bytes.len() != 2 + count * NODE_LEN {
            return Err(LedgerError::corruption(
                what(),
                format!("{count} nodes need {} bytes", 2 + count * NODE_LEN),
            ));
        }
        let mut page = Page::default();
        page.fill(occupied, &bytes[2..])?;
        Ok(page)
    }

    /// Decodes `nodes` (one per bit of `slots`, in slot order, the length already checked) into
    /// those slots.
    fn fill(&mut self, slots: u16, nodes: &[u8]) -> Result<(), LedgerError> {
        let mut nodes = nodes.chunks_exact(NODE_LEN);
        for slot in 0..PAGE_SLOTS {
            if slots & (1 << slot) != 0 {
                let node = nodes.next().expect("length checked by the caller");
                self.slots[slot] = Some(Node::decode(node)?);
            }
        }
        Ok(())
    }

    /// Parses a compact page (module docs), computing its left-out inner nodes from their
    /// children, bottom up.
    fn decode_compact(bytes: &[u8]) -> Result<Self, LedgerError> {
        debug_assert!(is_compact(bytes));
        let what = || format!("compact tree page of {} bytes", bytes.len());
        let [high, low, omitted, ..] = *bytes else {
            return Err(LedgerError::corruption(what(), "shorter than its header"));
        };
        let occupied = u16::from_be_bytes([high, low]) & !COMPACT_FLAG;
        let omitted = u16::from(omitted);
        if omitted == 0 || omitted >> PARENT_SLOTS != 0 || omitted & !occupied != 0 {
            let why = format!("left-out slots {omitted:#04x}, occupied {occupied:#06x}");
            return Err(LedgerError::corruption(
                what(),
                format!("{why}: not occupied parent slots"),
            ));
        }
        let kept = occupied & !omitted;
        let length = COMPACT_HEADER_BYTES + kept.count_ones() as usize * NODE_LEN;
        if bytes.len() != length {
            return Err(LedgerError::corruption(
                what(),
                format!("{} nodes need {length} bytes", kept.count_ones()),
            ));
        }
        let mut page = Page::default();
        page.fill(kept, &bytes[COMPACT_HEADER_BYTES..])?;
        // Bottom up, so a left-out node's left-out children are computed before it.
        for slot in (0..PARENT_SLOTS).rev() {
            if omitted & (1 << slot) == 0 {
                continue;
            }
            let (left, right) = (&page.slots[2 * slot + 1], &page.slots[2 * slot + 2]);
            if left.is_none() && right.is_none() {
                return Err(LedgerError::corruption(
                    what(),
                    format!("the inner node left out of slot {slot} has no child in the page"),
                ));
            }
            let hash = |child: &Option<Node>| child.as_ref().map_or(EMPTY_ROOT, Node::hash);
            page.slots[slot] = Some(Node::Inner {
                left: hash(left),
                right: hash(right),
            });
        }
        Ok(page)
    }
}

/// Whether stored `bytes` are in the compact form (a page too short to say is refused by the
/// full form's decoder).
fn is_compact(bytes: &[u8]) -> bool {
    bytes
        .first()
        .is_some_and(|high| u16::from_be_bytes([*high, 0]) & COMPACT_FLAG != 0)
}

/// A page as stored: its bytes, checked once, from which one node is read without decoding the
/// others (the writer's cache holds pages this way: a sparse page costs only its nodes).
///
/// It also remembers which slots' nodes are known to hash to their parents' records, so that a
/// tree update descending through a cached page re-hashes each stored node once, not on every
/// block (re-hashing was about half the hashing of a follower's tree update). A slot is known
/// when a read checked it against its parent, or when the writer built it from a tree update
/// (whose nodes and parents' records are computed together). Such a slot stays known while the
/// page is cached: the cached bytes change only by a commit's rewrite, which keeps the mark of
/// a slot it copies and marks the slots it places. A position that a later update makes
/// reachable again is placed by that update, so a stale node's mark is never relied on.
#[derive(Clone, Debug)]
pub(crate) struct StoredPage {
    bytes: Box<[u8]>,
    /// Bit `s`: slot `s`'s node is known to hash to its parent's record.
    matched: Cell<u16>,
}

/// Two pages are equal when their stored bytes are: what is known of them is not stored.
impl PartialEq for StoredPage {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}

impl Eq for StoredPage {}

impl StoredPage {
    /// Checks stored bytes as [`Page::decode`] does and keeps them in the full form (no slot
    /// known to match).
    pub(crate) fn parse(bytes: &[u8]) -> Result<Self, LedgerError> {
        let bytes = if is_compact(bytes) {
            // Decoded once: its nodes, kept and computed, are encoded as the full form.
            Page::decode_compact(bytes)?.encode().into_boxed_slice()
        } else {
            Page::decode_full(bytes)?;
            bytes.into()
        };
        Ok(Self {
            bytes,
            matched: Cell::new(0),
        })
    }

    /// Puts the bytes to store for this page in `out` (emptied first): the compact form when
    /// it leaves anything out, the full form otherwise (module docs).
    pub(crate) fn stored_form(&self, out: &mut Vec<u8>) {
        out.clear();
        let occupied = self.occupied();
        let omitted = (0..PARENT_SLOTS)
            .filter(|slot| self.gives_inner_node(*slot))
            .fold(0u16, |omitted, slot| omitted | 1 << slot);
        if omitted == 0 {
            out.extend_from_slice(&self.bytes);
            return;
        }
        out.extend_from_slice(&(occupied | COMPACT_FLAG).to_be_bytes());
        out.push(u8::try_from(omitted).expect("parent slots fit a byte"));
        for slot in 0..PAGE_SLOTS {
            if omitted & (1 << slot) == 0 {
                if let Some(node) = self.slot_bytes(slot) {
                    out.extend_from_slice(node);
                }
            }
        }
        debug_assert_eq!(
            out.len(),
            COMPACT_HEADER_BYTES + (occupied & !omitted).count_ones() as usize * NODE_LEN
        );
    }

    /// Whether the node in parent slot `slot` is an inner node that reading the compact form
    /// gives again: each side it records empty has an empty child slot, and each side it records
    /// a hash for has a child. A tree update deletes what lies below a position it empties, so
    /// this holds for every inner node; a node stored below an empty side (which no read would
    /// reach) would change the computed node, so such an inner node is kept as it is.
    fn gives_inner_node(&self, slot: usize) -> bool {
        debug_assert!(slot < PARENT_SLOTS);
        let Some(node) = self.slot_bytes(slot) else {
            return false;
        };
        let occupied = self.occupied();
        let (left, right) = (&node[1..33], &node[33..NODE_LEN]);
        let recorded = |hash: &[u8], child: usize| {
            (hash != EMPTY_ROOT.as_slice()) == (occupied & (1 << child) != 0)
        };
        node[0] == TAG_INNER && recorded(left, 2 * slot + 1) && recorded(right, 2 * slot + 2)
    }

    /// Whether the node in `slot` is known to hash to its parent's record.
    pub(crate) fn matched(&self, slot: usize) -> bool {
        self.matched.get() & (1 << slot) != 0
    }

    /// Records that the node in `slot` was checked against its parent's record.
    pub(crate) fn mark_matched(&self, slot: usize) {
        debug_assert!(self.occupied() & (1 << slot) != 0, "marking an empty slot");
        self.matched.set(self.matched.get() | (1 << slot));
    }

    fn occupied(&self) -> u16 {
        u16::from_be_bytes([self.bytes[0], self.bytes[1]])
    }

    /// The node in `slot`: its offset is the count of occupied slots before it.
    pub(crate) fn node(&self, slot: usize) -> Option<Node> {
        let node = Node::decode(self.slot_bytes(slot)?);
        debug_assert!(
            node.is_ok(),
            "a parsed page holds a node that does not decode"
        );
        node.ok()
    }

    /// The encoded node in `slot`, if occupied.
    fn slot_bytes(&self, slot: usize) -> Option<&[u8]> {
        let occupied = self.occupied();
        if occupied & (1 << slot) == 0 {
            return None;
        }
        let before = (occupied & ((1u16 << slot) - 1)).count_ones() as usize;
        let at = 2 + before * NODE_LEN;
        Some(&self.bytes[at..at + NODE_LEN])
    }

    /// Every node, decoded.
    #[cfg(test)]
    pub(crate) fn to_page(&self) -> Page {
        let mut page = Page::default();
        for slot in 0..PAGE_SLOTS {
            page.slots[slot] = self.node(slot);
        }
        page
    }

    /// The stored bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

impl From<&Page> for Option<StoredPage> {
    fn from(page: &Page) -> Self {
        (!page.is_empty()).then(|| StoredPage {
            bytes: page.encode().into_boxed_slice(),
            matched: Cell::new(0),
        })
    }
}

/// Committed pages the writer holds in memory (`None`: known to be absent).
#[derive(Debug, Default)]
pub(crate) struct PageCache {
    /// Pages rooted above [`PAGES_CACHED_DEPTH`], kept for good, by [`upper_position`]; empty
    /// until the first is cached.
    upper: Vec<Option<Option<StoredPage>>>,
    /// Deeper pages read or written since the cache last emptied them.
    deep: HashMap<NodePath, Option<StoredPage>>,
}

/// Where the page rooted at `root` (above [`PAGES_CACHED_DEPTH`]) sits in [`PageCache::upper`]:
/// the positions of shallower page levels, then its path bits as a number.
fn upper_position(root: &NodePath) -> usize {
    let depth = root.depth();
    debug_assert!(depth < PAGES_CACHED_DEPTH && depth.is_multiple_of(PAGE_LEVELS));
    let level = u32::from(depth / PAGE_LEVELS);
    let shallower = ((1usize << (u32::from(PAGE_LEVELS) * level)) - 1) / PAGE_SLOTS;
    let prefix = root.prefix();
    let bits = u32::from_be_bytes([prefix[0], prefix[1], prefix[2], 0]);
    let below = bits.checked_shr(32 - u32::from(depth)).unwrap_or(0) as usize;
    shallower + below
}

impl PageCache {
    /// The cached page at `root`, if cached.
    pub(crate) fn get(&self, root: &NodePath) -> Option<&Option<StoredPage>> {
        if root.depth() < PAGES_CACHED_DEPTH {
            self.upper.get(upper_position(root))?.as_ref()
        } else {
            self.deep.get(root)
        }
    }

    /// Records the committed page at `root`.
    pub(crate) fn insert(&mut self, root: NodePath, page: Option<StoredPage>) {
        if root.depth() < PAGES_CACHED_DEPTH {
            if self.upper.is_empty() {
                self.upper.resize_with(UPPER_PAGE_POSITIONS, || None);
            }
            self.upper[upper_position(&root)] = Some(page);
        } else {
            self.deep.insert(root, page);
        }
    }

    /// Deeper pages held now.
    #[cfg(test)]
    pub(crate) fn deep_len(&self) -> usize {
        self.deep.len()
    }

    /// Brings the cache to pages that are now durable, then keeps it within its bound.
    pub(crate) fn refresh(&mut self, written: PagesWritten) {
        self.stage(written);
        self.trim();
    }

    /// Brings the cache to a staged block's pages, whose write may not be durable yet: they
    /// stay until [`trim`](Self::trim) runs once it is (the store would give the pages before).
    pub(crate) fn stage(&mut self, written: PagesWritten) {
        for (root, page) in written {
            self.insert(root, page);
        }
    }

    /// Forgets every page (the tree was replaced).
    pub(crate) fn clear(&mut self) {
        self.upper = Vec::new();
        self.deep.clear();
    }

    /// Keeps the deeper pages within [`DEEP_PAGES_CACHED_MAX`]: all are forgotten at once when
    /// past it (the next blocks read again what they use). Only when every staged block is
    /// durable: the cache is then equal to the store.
    pub(crate) fn trim(&mut self) {
        if self.deep.len() > DEEP_PAGES_CACHED_MAX {
            self.deep.clear();
        }
    }
}

/// The pages a tree update leaves, by root (`None`: the page is now empty and deleted).
pub(crate) type PagesWritten = Vec<(NodePath, Option<StoredPage>)>;

/// One node change of a tree update, placed in its page.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PageChange<'u> {
    root: NodePath,
    slot: usize,
    node: &'u Option<Node>,
    /// The change's place in (page root, slot) order, as one number (see [`page_order`]).
    order: u128,
}

impl<'u> PageChange<'u> {
    /// The change of slot `slot` of the page rooted at `root` to `node`, with its order.
    fn new(root: NodePath, slot: usize, node: &'u Option<Node>) -> Self {
        Self {
            root,
            slot,
            node,
            order: page_order(&root, slot),
        }
    }

    /// Whether `self` and `other` change one position. Orders that differ settle it with one
    /// integer compare; only equal orders (or roots deeper than [`ORDERED_DEPTH_MAX`]) compare
    /// the paths.
    fn same_position(&self, other: &Self) -> bool {
        self.order == other.order && (self.root, self.slot) == (other.root, other.slot)
    }
}

/// Page roots at most this deep are ordered by [`page_order`] alone: their path bits fit in
/// its 13 prefix bytes.
const ORDERED_DEPTH_MAX: u16 = 104;
const _: () = assert!(ORDERED_DEPTH_MAX as usize == 13 * 8);

/// A number whose order is (page root, slot) order for roots at most [`ORDERED_DEPTH_MAX`]
/// deep: the root's depth, its first 13 path bytes, then the slot. Deeper roots (a tree of
/// about 2^100 keys, or keys whose hashes share 104 bits) tie on it with every change of an
/// equal head, and the full comparison orders them. Sorting a block's tens of thousands of
/// changes by one integer compare instead of a 32-byte one was about a third of the grouping.
fn page_order(root: &NodePath, slot: usize) -> u128 {
    let mut head = [0u8; 16];
    head[..2].copy_from_slice(&root.depth().to_be_bytes());
    head[2..15].copy_from_slice(&root.prefix()[..13]);
    if root.depth() <= ORDERED_DEPTH_MAX {
        head[15] = u8::try_from(slot).expect("a slot fits a byte");
    }
    u128::from_be_bytes(head)
}

/// `update`'s node changes grouped by page: in page-root order, and by slot within a page.
///
/// # Panics
/// If two changes are of one position (a tree update changes each position once).
pub(crate) fn changes_by_page(update: &TreeUpdate) -> Vec<PageChange<'_>> {
    let mut changes: Vec<PageChange<'_>> = update
        .node_writes
        .iter()
        .map(|(path, node)| {
            let (root, slot) = page_of(path);
            PageChange::new(root, slot, node)
        })
        .collect();
    changes.sort_unstable_by(|a, b| {
        a.order
            .cmp(&b.order)
            .then_with(|| (a.root, a.slot).cmp(&(b.root, b.slot)))
    });
    for pair in changes.windows(2) {
        // One page and slot is one position: a tree update changes each position once.
        assert!(
            !pair[0].same_position(&pair[1]),
            "a tree update places the node at slot {} of page {} twice",
            pair[0].slot,
            Hex(&pair[0].root.encode())
        );
    }
    changes
}

/// The distinct page roots of `changes` (from [`changes_by_page`]), in order.
pub(crate) fn roots<'a>(changes: &'a [PageChange<'_>]) -> impl Iterator<Item = NodePath> + 'a {
    changes
        .chunk_by(|a, b| a.root == b.root)
        .map(|page| page[0].root)
}

/// The pages that apply `changes` (from [`changes_by_page`]) to the committed pages, which
/// `committed` gives (`None`: absent). A page is built from the committed page's stored node
/// bytes and the changed nodes' encodings, in slot order, without decoding the nodes it keeps.
pub(crate) fn page_writes<'c>(
    changes: &[PageChange<'_>],
    committed: impl Fn(&NodePath) -> Option<&'c StoredPage>,
) -> PagesWritten {
    changes
        .chunk_by(|a, b| a.root == b.root)
        .map(|page| (page[0].root, rewrite(committed(&page[0].root), page)))
        .collect()
}

/// One page after `changes` (all of one page, in slot order); `None` when nothing is left.
fn rewrite(committed: Option<&StoredPage>, changes: &[PageChange<'_>]) -> Option<StoredPage> {
    let mut changed = 0u16;
    let mut placed = 0u16;
    for change in changes {
        debug_assert!(changed & (1 << change.slot) == 0, "a slot changed twice");
        changed |= 1 << change.slot;
        if change.node.is_some() {
            placed |= 1 << change.slot;
        }
    }
    let kept = committed.map_or(0, StoredPage::occupied) & !changed;
    let occupied = kept | placed;
    if occupied == 0 {
        return None;
    }
    let mut bytes = Vec::with_capacity(2 + occupied.count_ones() as usize * NODE_LEN);
    bytes.extend_from_slice(&occupied.to_be_bytes());
    let mut placed_nodes = changes.iter().filter_map(|change| change.node.as_ref());
    for slot in 0..PAGE_SLOTS {
        if placed & (1 << slot) != 0 {
            let node = placed_nodes
                .next()
                .expect("one placed node per placed slot");
            bytes.extend_from_slice(&node.encode());
        } else if kept & (1 << slot) != 0 {
            let page = committed.expect("a kept slot is in a committed page");
            bytes.extend_from_slice(page.slot_bytes(slot).expect("a kept slot is occupied"));
        }
    }
    debug_assert!(placed_nodes.next().is_none(), "every placed node written");
    // Each node came from `Node::encode` or from a committed page checked when it was read.
    assert_eq!(
        bytes.len(),
        2 + occupied.count_ones() as usize * NODE_LEN,
        "a rewritten page holds one node per occupied slot"
    );
    // A kept slot stays as known as it was; a placed one was computed with its parent.
    let matched = committed.map_or(0, |page| page.matched.get()) & kept | placed;
    Some(StoredPage {
        bytes: bytes.into_boxed_slice(),
        matched: Cell::new(matched),
    })
}

/// Decodes a stored page, naming its root on failure.
pub(crate) fn decode_stored(root: &NodePath, bytes: &[u8]) -> Result<StoredPage, LedgerError> {
    StoredPage::parse(bytes).map_err(|error| {
        LedgerError::corruption(
            format!("tree page {}", Hex(&root.encode())),
            error.to_string(),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(bits: &[bool]) -> NodePath {
        bits.iter()
            .fold(NodePath::ROOT, |path, right| path.child(*right))
    }

    fn leaf(n: u8) -> Node {
        Node::Leaf {
            key_hash: [n; 32],
            value_hash: [n.wrapping_add(1); 32],
        }
    }

    #[test]
    fn slots_follow_the_levels_of_the_page() {
        assert_eq!(page_of(&NodePath::ROOT), (NodePath::ROOT, 0));
        assert_eq!(page_of(&path(&[false])).1, 1);
        assert_eq!(page_of(&path(&[true])).1, 2);
        assert_eq!(page_of(&path(&[true, false])).1, 5);
        assert_eq!(page_of(&path(&[true, true, true])).1, 14);
        assert_eq!(page_of(&path(&[false, false, false])).1, 7);
        // Depth 4 starts the next page, rooted on the node's own path.
        let deep = path(&[true, false, true, true, false, true]);
        let (root, slot) = page_of(&deep);
        assert_eq!(root, path(&[true, false, true, true]));
        assert_eq!(slot, 3 + 0b01);
        // Every position of a page has its own slot.
        let mut seen = std::collections::BTreeSet::new();
        let mut frontier = vec![NodePath::ROOT];
        for _ in 0..PAGE_LEVELS {
            let mut next = Vec::new();
            for p in frontier {
                let (root, slot) = page_of(&p);
                assert_eq!(root, NodePath::ROOT);
                assert!(seen.insert(slot));
                next.push(p.child(false));
                next.push(p.child(true));
            }
            frontier = next;
        }
        assert_eq!(seen.len(), PAGE_SLOTS);
    }

    #[test]
    fn a_page_round_trips_and_bad_bytes_are_refused() {
        let mut page = Page::default();
        page.set(
            0,
            Some(Node::Inner {
                left: [1; 32],
                right: [2; 32],
            }),
        );
        page.set(9, Some(leaf(7)));
        page.set(14, Some(leaf(9)));
        let bytes = page.encode();
        assert_eq!(bytes.len(), 2 + 3 * NODE_LEN);
        assert_eq!(
            &bytes[..2],
            &((1u16 << 0) | (1 << 9) | (1 << 14)).to_be_bytes()
        );
        assert_eq!(Page::decode(&bytes).expect("decodes"), page);

        let mut full = Page::default();
        for slot in 0..PAGE_SLOTS {
            full.set(slot, Some(leaf(slot as u8)));
        }
        assert_eq!(full.encode().len(), PAGE_BYTES_MAX);
        assert_eq!(Page::decode(&full.encode()).expect("decodes"), full);

        assert!(Page::decode(&[]).is_err(), "no occupancy bits");
        assert!(
            Page::decode(&[0, 0]).is_err(),
            "an empty page is never stored"
        );
        assert!(
            Page::decode(&[0x80, 0x00]).is_err(),
            "slot 15 does not exist"
        );
        assert!(Page::decode(&bytes[..bytes.len() - 1]).is_err(), "short");
        let mut long = bytes.clone();
        long.push(0);
        assert!(Page::decode(&long).is_err(), "long");
        let mut bad_tag = bytes;
        bad_tag[2] = 0x07;
        assert!(
            Page::decode(&bad_tag).is_err(),
            "a node with an unknown tag"
        );
    }

    /// The pages a tree update of `keys` keys writes into an empty tree, as the writer holds them.
    fn pages_of_a_tree(keys: u32) -> Vec<StoredPage> {
        let writes: crate::WriteSet = (0..keys)
            .map(|i| (format!("key {i}").into_bytes(), Some(vec![1, 2, 3])))
            .collect();
        let update =
            crate::tree::update(&crate::MemoryLedger::new(), &writes).expect("tree update");
        page_writes(&changes_by_page(&update), |_| None)
            .into_iter()
            .map(|(_, page)| page.expect("a fresh tree's page holds nodes"))
            .collect()
    }

    /// The stored form of `page`.
    fn stored(page: &StoredPage) -> Vec<u8> {
        let mut out = Vec::new();
        page.stored_form(&mut out);
        out
    }

    #[test]
    fn a_page_is_stored_without_the_inner_nodes_its_children_give() {
        let pages = pages_of_a_tree(2_000);
        let root_page = &pages[0];
        assert!(
            (0..PAGE_SLOTS).all(|slot| root_page.node(slot).is_some()),
            "2,000 keys fill the root page"
        );
        let compact = stored(root_page);
        assert_eq!(compact.len(), COMPACT_HEADER_BYTES + 8 * NODE_LEN);
        assert_eq!(root_page.bytes().len(), PAGE_BYTES_MAX);
        assert_eq!(&compact[..COMPACT_HEADER_BYTES], &[0xff, 0xff, 0x7f]);
        // Read back, the left-out nodes are computed to the same bytes.
        let read = StoredPage::parse(&compact).expect("parses");
        assert_eq!(read, *root_page);
        assert_eq!(
            Page::decode(&compact).expect("decodes"),
            root_page.to_page()
        );
        // Every page of the tree: the stored form reads back as the page, never longer than
        // the full form, and shorter whenever an upper slot holds an inner node.
        let mut saved = 0;
        for page in &pages {
            let bytes = stored(page);
            assert_eq!(StoredPage::parse(&bytes).expect("parses"), *page);
            let inner_above =
                (0..PARENT_SLOTS).any(|slot| matches!(page.node(slot), Some(Node::Inner { .. })));
            assert_eq!(bytes.len() < page.bytes().len(), inner_above);
            saved += page.bytes().len() - bytes.len();
        }
        assert!(saved > 0);
    }

    /// An inner node that records an empty side over an occupied child slot (a node no read
    /// would reach) is not one the compact form gives again: it is stored as it is, and the
    /// page reads back unchanged.
    #[test]
    fn an_inner_node_over_a_node_it_does_not_record_is_stored_as_it_is() {
        let mut page = Page::default();
        let (left, right) = (leaf(1), leaf(2));
        page.set(1, Some(left));
        page.set(2, Some(right));
        page.set(
            0,
            Some(Node::Inner {
                left: left.hash(),
                right: EMPTY_ROOT,
            }),
        );
        let page = Option::<StoredPage>::from(&page).expect("nodes");
        let bytes = stored(&page);
        assert_eq!(bytes, page.bytes(), "kept in full");
        assert_eq!(StoredPage::parse(&bytes).expect("parses"), page);
        // Recording both sides, the same node is left out.
        let mut consistent = page.to_page();
        consistent.set(
            0,
            Some(Node::Inner {
                left: left.hash(),
                right: right.hash(),
            }),
        );
        let consistent = Option::<StoredPage>::from(&consistent).expect("nodes");
        let bytes = stored(&consistent);
        assert_eq!(bytes.len(), COMPACT_HEADER_BYTES + 2 * NODE_LEN);
        assert_eq!(StoredPage::parse(&bytes).expect("parses"), consistent);
    }

    #[test]
    fn a_page_without_upper_inner_nodes_is_stored_in_full() {
        let mut page = Page::default();
        page.set(0, Some(leaf(1)));
        let page = Option::<StoredPage>::from(&page).expect("a node");
        assert_eq!(stored(&page), page.bytes());
    }

    #[test]
    fn a_compact_page_that_cannot_be_read_back_is_refused() {
        let root_page = &pages_of_a_tree(2_000)[0];
        let compact = stored(root_page);
        let refused = |bytes: &[u8], why: &str| {
            let error = Page::decode(bytes).expect_err(why);
            assert!(
                matches!(error, LedgerError::Corruption { .. }),
                "{why}: {error}"
            );
            assert!(StoredPage::parse(bytes).is_err(), "{why}");
        };
        refused(&compact[..2], "no left-out slots byte");
        refused(&compact[..compact.len() - 1], "short");
        let mut long = compact.clone();
        long.extend_from_slice(&[0; NODE_LEN]);
        refused(&long, "a node too many");
        let mut nothing_left_out = compact.clone();
        nothing_left_out[2] = 0;
        refused(&nothing_left_out, "a compact page that leaves out nothing");
        let mut bottom_left_out = compact.clone();
        bottom_left_out[2] = 0x80;
        refused(&bottom_left_out, "slot 7 has no children in the page");
        // Slot 6 left out while its children (slots 13, 14) are empty.
        let mut childless = Page::default();
        childless.set(
            6,
            Some(Node::Inner {
                left: [1; 32],
                right: [2; 32],
            }),
        );
        childless.set(0, Some(leaf(1)));
        let mut bytes = vec![0x80, 0x41, 0x40];
        bytes.extend_from_slice(&leaf(1).encode());
        refused(&bytes, "a left-out inner node without a child");
        // The same page in full is read (a full page is not checked against its children here;
        // the descent checks each node against its parent's record).
        assert!(Page::decode(&childless.encode()).is_ok());
    }

    #[test]
    fn node_changes_become_whole_page_writes() {
        let mut committed = Page::default();
        committed.set(0, Some(leaf(1)));
        let keep = path(&[true, true, true, true]);
        let mut deep_committed = Page::default();
        deep_committed.set(0, Some(leaf(3)));
        let mut update = TreeUpdate::default();
        // The root page: slot 0 replaced, slot 2 added.
        update.node_writes.push((
            NodePath::ROOT,
            Some(Node::Inner {
                left: [0; 32],
                right: [4; 32],
            }),
        ));
        update.node_writes.push((path(&[true]), Some(leaf(2))));
        // A deeper page emptied.
        update.node_writes.push((keep, None));
        let committed = Option::<StoredPage>::from(&committed);
        let deep_committed = Option::<StoredPage>::from(&deep_committed);
        let written = page_writes(&changes_by_page(&update), |root| {
            if *root == NodePath::ROOT {
                committed.as_ref()
            } else if *root == keep {
                deep_committed.as_ref()
            } else {
                None
            }
        });
        assert_eq!(written.len(), 2);
        let root_page = written[0].1.as_ref().expect("root page kept");
        assert_eq!(written[0].0, NodePath::ROOT);
        assert_eq!(
            root_page.node(0),
            Some(Node::Inner {
                left: [0; 32],
                right: [4; 32]
            })
        );
        assert_eq!(root_page.node(1), None);
        assert_eq!(root_page.node(2), Some(leaf(2)));
        assert_eq!(written[1], (keep, None), "an emptied page is deleted");
    }

    /// Two changes of one position are a broken tree update: refused, never written.
    #[test]
    #[should_panic(expected = "places the node at slot 2 of page")]
    fn a_position_changed_twice_is_refused() {
        let mut update = TreeUpdate::default();
        update.node_writes.push((path(&[true]), Some(leaf(1))));
        update.node_writes.push((NodePath::ROOT, Some(leaf(3))));
        update.node_writes.push((path(&[true]), None));
        changes_by_page(&update);
    }

    /// A rewritten page keeps what was known of the slots it copies and knows the slots it
    /// places (computed with their parents); a page parsed from the store knows nothing.
    #[test]
    fn a_rewritten_page_keeps_what_is_known_of_its_slots() {
        let mut committed = Page::default();
        for slot in [0, 1, 2, 5] {
            committed.set(slot, Some(leaf(slot as u8)));
        }
        let committed = StoredPage::parse(&committed.encode()).expect("parses");
        assert!((0..PAGE_SLOTS).all(|slot| !committed.matched(slot)));
        committed.mark_matched(1);
        committed.mark_matched(5);
        let mut update = TreeUpdate::default();
        // Slot 0 replaced, slot 5 emptied, slot 6 added; slots 1 and 2 kept.
        update.node_writes.push((NodePath::ROOT, Some(leaf(9))));
        update.node_writes.push((path(&[true, false]), None));
        update
            .node_writes
            .push((path(&[true, true]), Some(leaf(10))));
        let written = page_writes(&changes_by_page(&update), |_| Some(&committed));
        let page = written[0].1.as_ref().expect("a page is left");
        assert!(page.matched(0), "placed");
        assert!(page.matched(1), "kept, and known before");
        assert!(!page.matched(2), "kept, never checked");
        assert!(!page.matched(5), "emptied");
        assert!(page.matched(6), "placed");
        assert_eq!(page.node(5), None);
    }

    #[test]
    fn every_upper_page_has_its_own_position() {
        let mut seen = vec![false; UPPER_PAGE_POSITIONS];
        let mut level = vec![NodePath::ROOT];
        for depth in (0..PAGES_CACHED_DEPTH).step_by(usize::from(PAGE_LEVELS)) {
            let mut next = Vec::with_capacity(level.len() << PAGE_LEVELS);
            for root in &level {
                assert_eq!(root.depth(), depth);
                let position = upper_position(root);
                assert!(!seen[position], "position {position} taken twice");
                seen[position] = true;
                // The page roots one page level down: every path of PAGE_LEVELS bits.
                let mut below = vec![*root];
                for _ in 0..PAGE_LEVELS {
                    below = below
                        .iter()
                        .flat_map(|p| [p.child(false), p.child(true)])
                        .collect();
                }
                next.extend(below);
            }
            level = next;
        }
        assert!(seen.iter().all(|taken| *taken), "the positions are dense");
    }

    proptest::proptest! {
        /// Node changes come out grouped by page in (page root, slot) order, roots deeper than
        /// the order number's head (sharing its 13 bytes) included.
        #[test]
        fn changes_are_in_page_root_then_slot_order(
            positions in proptest::collection::btree_set(
                (0u8..2, proptest::array::uniform32(0u8..4), 0..=DEPTH_MAX),
                1..200,
            ),
        ) {
            let mut update = TreeUpdate::default();
            let mut seen = std::collections::BTreeSet::new();
            for (head, mut key_hash, depth) in positions {
                // Two heads of 13 bytes: most roots share one, and deep roots tie on it.
                key_hash[..13].fill(head * 0xff);
                let path = NodePath::of_key_hash(&key_hash, depth);
                if seen.insert(path) {
                    update.node_writes.push((path, None));
                }
            }
            let changes = changes_by_page(&update);
            proptest::prop_assert_eq!(changes.len(), seen.len());
            for pair in changes.windows(2) {
                proptest::prop_assert!(
                    (pair[0].root, pair[0].slot) < (pair[1].root, pair[1].slot),
                    "out of order"
                );
            }
        }

        /// Building a page from stored bytes and changed nodes gives what decoding it, setting
        /// the slots and encoding it again gives.
        #[test]
        fn a_rewritten_page_is_the_decoded_page_changed(
            committed in proptest::collection::vec(proptest::option::of(0u8..200), PAGE_SLOTS),
            changes in proptest::collection::btree_map(
                0..PAGE_SLOTS,
                proptest::option::of(0u8..200),
                0..=PAGE_SLOTS,
            ),
        ) {
            let mut reference = Page::default();
            for (slot, node) in committed.iter().enumerate() {
                reference.set(slot, node.map(leaf));
            }
            let stored = Option::<StoredPage>::from(&reference);
            let nodes: Vec<(usize, Option<Node>)> =
                changes.iter().map(|(slot, node)| (*slot, node.map(leaf))).collect();
            let page_changes: Vec<PageChange<'_>> = nodes
                .iter()
                .map(|(slot, node)| PageChange::new(NodePath::ROOT, *slot, node))
                .collect();
            for (slot, node) in &nodes {
                reference.set(*slot, *node);
            }
            let rewritten = rewrite(stored.as_ref(), &page_changes);
            proptest::prop_assert_eq!(rewritten, Option::<StoredPage>::from(&reference));
        }
    }

    #[test]
    fn a_stored_page_reads_each_slot_as_the_decoded_page_does() {
        let mut page = Page::default();
        for slot in [0usize, 3, 4, 11, 14] {
            page.set(slot, Some(leaf(slot as u8)));
        }
        let stored = StoredPage::parse(&page.encode()).expect("parses");
        for slot in 0..PAGE_SLOTS {
            assert_eq!(stored.node(slot), page.node(slot), "slot {slot}");
        }
        assert_eq!(stored.to_page(), page);
        assert_eq!(stored.bytes(), page.encode().as_slice());
        assert!(StoredPage::parse(&[0, 0]).is_err());
        assert_eq!(Option::<StoredPage>::from(&Page::default()), None);
    }
}
