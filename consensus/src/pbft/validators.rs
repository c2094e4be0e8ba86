//! The validator sets of a PBFT chain by height: the set that decides height `h` is the one in
//! force after block `h - 1` (a governance block changes the set from the height after it, ADR
//! 0014). A replica keeps the current set and the few before it, so it can check the
//! certificates of recent heights (in view-changes and catch-up) against the set that made
//! them.

use std::collections::BTreeMap;

use crate::NodeId;

/// Earlier sets kept besides the current one.
pub const EARLIER_SETS_MAX: usize = 4;

/// Validator sets by the first height each decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatorSets {
    /// First height -> the set (sorted, distinct, non-empty).
    sets: BTreeMap<u64, Vec<NodeId>>,
}

impl ValidatorSets {
    /// `validators` deciding every height from `from` on.
    ///
    /// # Panics
    /// If `validators` is empty.
    pub fn new(from: u64, validators: Vec<NodeId>) -> Self {
        let mut sets = BTreeMap::new();
        sets.insert(from, normalised(validators));
        Self { sets }
    }

    /// The set deciding `height`: the latest one starting at or before it (the earliest kept
    /// for heights before every kept set: the replica cannot check those better).
    pub fn at(&self, height: u64) -> &[NodeId] {
        self.sets
            .range(..=height)
            .next_back()
            .or_else(|| self.sets.iter().next())
            .map(|(_, set)| set.as_slice())
            .expect("there is always a set")
    }

    /// The current (latest) set.
    pub fn latest(&self) -> &[NodeId] {
        self.sets
            .values()
            .next_back()
            .map(Vec::as_slice)
            .expect("there is always a set")
    }

    /// `validators` decide every height from `from` on; sets starting later are replaced.
    /// Keeps at most [`EARLIER_SETS_MAX`] earlier sets.
    ///
    /// # Panics
    /// If `validators` is empty.
    pub fn change(&mut self, from: u64, validators: Vec<NodeId>) {
        self.sets.split_off(&from);
        self.sets.insert(from, normalised(validators));
        while self.sets.len() > EARLIER_SETS_MAX + 1 {
            self.sets.pop_first();
        }
    }

    /// Every set kept, as (first height, validators), oldest first: for the durable record.
    pub fn all(&self) -> impl Iterator<Item = (u64, &[NodeId])> {
        self.sets.iter().map(|(from, set)| (*from, set.as_slice()))
    }

    /// Brings back an earlier set from the durable record (the node knows only the current
    /// one at restart): kept only if it starts before the current one, which stays.
    pub fn remember(&mut self, from: u64, validators: Vec<NodeId>) {
        let latest = *self.sets.keys().next_back().expect("there is always a set");
        if from < latest && !validators.is_empty() {
            self.sets.insert(from, normalised(validators));
            while self.sets.len() > EARLIER_SETS_MAX + 1 {
                self.sets.pop_first();
            }
        }
    }
}

fn normalised(mut validators: Vec<NodeId>) -> Vec<NodeId> {
    validators.sort();
    validators.dedup();
    assert!(!validators.is_empty(), "a validator set is not empty");
    validators
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(ids: &[&str]) -> Vec<NodeId> {
        ids.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn each_height_is_decided_by_the_set_in_force_before_it() {
        let mut sets = ValidatorSets::new(1, set(&["b", "a", "c", "d"]));
        sets.change(7, set(&["a", "b", "c", "d", "e"]));
        assert_eq!(sets.at(6), set(&["a", "b", "c", "d"]));
        assert_eq!(sets.at(7), set(&["a", "b", "c", "d", "e"]));
        assert_eq!(sets.latest(), set(&["a", "b", "c", "d", "e"]));
        // A change announced again from an earlier height replaces the later ones.
        sets.change(5, set(&["a", "b", "c"]));
        assert_eq!(sets.at(9), set(&["a", "b", "c"]));
        for h in 10..20 {
            sets.change(h, set(&["a", "b", "c"]));
        }
        assert!(sets.sets.len() <= EARLIER_SETS_MAX + 1);
    }

    #[test]
    fn a_restarted_replica_remembers_the_sets_before_the_current_one() {
        // The node knows the current set from height 8; the record had sets from 1 and 4.
        let mut sets = ValidatorSets::new(8, set(&["a", "b", "c", "d"]));
        sets.remember(1, set(&["a", "b", "c", "d", "e"]));
        sets.remember(4, set(&["a", "b", "c", "d"]));
        sets.remember(9, set(&["x"]));
        assert_eq!(sets.at(3), set(&["a", "b", "c", "d", "e"]));
        assert_eq!(sets.at(5), set(&["a", "b", "c", "d"]));
        assert_eq!(
            sets.latest(),
            set(&["a", "b", "c", "d"]),
            "the node's set stays"
        );
    }
}
