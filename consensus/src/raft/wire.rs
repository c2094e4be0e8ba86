//! Decoding raft-rs's wire types (eraftpb) with prost instead of rust-protobuf 2.
//!
//! Owns: every conversion from bytes to an eraftpb value in this crate: peers' messages, the
//! entries and conf changes they carry, and what the node stored (snapshot record, entries, hard
//! state). Must not depend on: rust-protobuf 2's parser, which RUSTSEC-2024-0437 lists as
//! recursing without a limit on nested unknown fields (a peer overflowing a node's stack with one
//! frame); see ADR 0007.
//!
//! The mirror structs below carry eraftpb's field numbers and types (raft-proto 0.7's
//! `eraftpb.proto`), so the bytes are the same protobuf on the wire; prost refuses nesting past
//! its recursion limit (100) with an error, and skips unknown length-delimited fields without
//! parsing them. Each mirror converts field by field into the eraftpb type raft-rs takes.
//! Unknown fields are dropped, so nothing a peer adds survives into the node's log. Encoding
//! stays with rust-protobuf (writing is not affected), so outgoing bytes are unchanged.

use ::raft::eraftpb::{
    ConfChange, ConfChangeType, ConfState, Entry, HardState, Message, MessageType, Snapshot,
    SnapshotMetadata,
};
use protobuf::ProtobufEnum;

/// Why bytes are not an eraftpb value.
#[derive(Debug, thiserror::Error)]
pub(super) enum WireError {
    /// Not protobuf of the expected shape, or nested past prost's recursion limit.
    #[error("undecodable {what}: {source}")]
    Decode {
        /// The eraftpb type expected.
        what: &'static str,
        /// prost's reason.
        source: prost::DecodeError,
    },
    /// An enum value this version of eraftpb does not define.
    #[error("{field} has no value {value}")]
    UnknownEnum {
        /// The enum field.
        field: &'static str,
        /// The value received.
        value: i32,
    },
}

#[derive(Clone, PartialEq, prost::Message)]
struct WireEntry {
    #[prost(int32, tag = "1")]
    entry_type: i32,
    #[prost(uint64, tag = "2")]
    term: u64,
    #[prost(uint64, tag = "3")]
    index: u64,
    #[prost(bytes = "vec", tag = "4")]
    data: Vec<u8>,
    #[prost(bytes = "vec", tag = "6")]
    context: Vec<u8>,
    #[prost(bool, tag = "5")]
    sync_log: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
struct WireConfState {
    #[prost(uint64, repeated, tag = "1")]
    voters: Vec<u64>,
    #[prost(uint64, repeated, tag = "2")]
    learners: Vec<u64>,
    #[prost(uint64, repeated, tag = "3")]
    voters_outgoing: Vec<u64>,
    #[prost(uint64, repeated, tag = "4")]
    learners_next: Vec<u64>,
    #[prost(bool, tag = "5")]
    auto_leave: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
struct WireSnapshotMetadata {
    #[prost(message, optional, tag = "1")]
    conf_state: Option<WireConfState>,
    #[prost(uint64, tag = "2")]
    index: u64,
    #[prost(uint64, tag = "3")]
    term: u64,
}

#[derive(Clone, PartialEq, prost::Message)]
struct WireSnapshot {
    #[prost(bytes = "vec", tag = "1")]
    data: Vec<u8>,
    #[prost(message, optional, tag = "2")]
    metadata: Option<WireSnapshotMetadata>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct WireMessage {
    #[prost(int32, tag = "1")]
    msg_type: i32,
    #[prost(uint64, tag = "2")]
    to: u64,
    #[prost(uint64, tag = "3")]
    from: u64,
    #[prost(uint64, tag = "4")]
    term: u64,
    #[prost(uint64, tag = "5")]
    log_term: u64,
    #[prost(uint64, tag = "6")]
    index: u64,
    #[prost(message, repeated, tag = "7")]
    entries: Vec<WireEntry>,
    #[prost(uint64, tag = "8")]
    commit: u64,
    #[prost(uint64, tag = "15")]
    commit_term: u64,
    #[prost(message, optional, tag = "9")]
    snapshot: Option<WireSnapshot>,
    #[prost(uint64, tag = "13")]
    request_snapshot: u64,
    #[prost(bool, tag = "10")]
    reject: bool,
    #[prost(uint64, tag = "11")]
    reject_hint: u64,
    #[prost(bytes = "vec", tag = "12")]
    context: Vec<u8>,
    #[prost(uint64, tag = "14")]
    deprecated_priority: u64,
    #[prost(int64, tag = "16")]
    priority: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
struct WireHardState {
    #[prost(uint64, tag = "1")]
    term: u64,
    #[prost(uint64, tag = "2")]
    vote: u64,
    #[prost(uint64, tag = "3")]
    commit: u64,
}

#[derive(Clone, PartialEq, prost::Message)]
struct WireConfChange {
    #[prost(int32, tag = "2")]
    change_type: i32,
    #[prost(uint64, tag = "3")]
    node_id: u64,
    #[prost(bytes = "vec", tag = "4")]
    context: Vec<u8>,
    #[prost(uint64, tag = "1")]
    id: u64,
}

fn decode<M: prost::Message + Default>(what: &'static str, bytes: &[u8]) -> Result<M, WireError> {
    M::decode(bytes).map_err(|source| WireError::Decode { what, source })
}

fn enum_value<E: ProtobufEnum>(field: &'static str, value: i32) -> Result<E, WireError> {
    E::from_i32(value).ok_or(WireError::UnknownEnum { field, value })
}

fn entry_from(wire: WireEntry) -> Result<Entry, WireError> {
    let mut entry = Entry::default();
    entry.set_entry_type(enum_value("Entry.entry_type", wire.entry_type)?);
    entry.term = wire.term;
    entry.index = wire.index;
    entry.data = wire.data.into();
    entry.context = wire.context.into();
    entry.sync_log = wire.sync_log;
    Ok(entry)
}

fn conf_state_from(wire: WireConfState) -> ConfState {
    ConfState {
        voters: wire.voters,
        learners: wire.learners,
        voters_outgoing: wire.voters_outgoing,
        learners_next: wire.learners_next,
        auto_leave: wire.auto_leave,
        ..ConfState::default()
    }
}

fn snapshot_from(wire: WireSnapshot) -> Snapshot {
    let mut snapshot = Snapshot {
        data: wire.data.into(),
        ..Snapshot::default()
    };
    if let Some(meta) = wire.metadata {
        let mut metadata = SnapshotMetadata::default();
        if let Some(conf_state) = meta.conf_state {
            metadata.set_conf_state(conf_state_from(conf_state));
        }
        metadata.index = meta.index;
        metadata.term = meta.term;
        snapshot.set_metadata(metadata);
    }
    snapshot
}

/// A peer's raft message.
pub(super) fn message(bytes: &[u8]) -> Result<Message, WireError> {
    let wire: WireMessage = decode("Message", bytes)?;
    let mut message = Message::default();
    message.set_msg_type(enum_value::<MessageType>(
        "Message.msg_type",
        wire.msg_type,
    )?);
    message.to = wire.to;
    message.from = wire.from;
    message.term = wire.term;
    message.log_term = wire.log_term;
    message.index = wire.index;
    let entries = wire
        .entries
        .into_iter()
        .map(entry_from)
        .collect::<Result<Vec<Entry>, WireError>>()?;
    message.set_entries(entries.into());
    message.commit = wire.commit;
    message.commit_term = wire.commit_term;
    if let Some(snapshot) = wire.snapshot {
        message.set_snapshot(snapshot_from(snapshot));
    }
    message.request_snapshot = wire.request_snapshot;
    message.reject = wire.reject;
    message.reject_hint = wire.reject_hint;
    message.context = wire.context.into();
    message.deprecated_priority = wire.deprecated_priority;
    message.priority = wire.priority;
    Ok(message)
}

/// A log entry (as the node stored it).
pub(super) fn entry(bytes: &[u8]) -> Result<Entry, WireError> {
    entry_from(decode("Entry", bytes)?)
}

/// A snapshot (as the node stored it).
pub(super) fn snapshot(bytes: &[u8]) -> Result<Snapshot, WireError> {
    Ok(snapshot_from(decode("Snapshot", bytes)?))
}

/// A hard state (as the node stored it).
pub(super) fn hard_state(bytes: &[u8]) -> Result<HardState, WireError> {
    let wire: WireHardState = decode("HardState", bytes)?;
    Ok(HardState {
        term: wire.term,
        vote: wire.vote,
        commit: wire.commit,
        ..HardState::default()
    })
}

/// A conf change (the data of an `EntryConfChange` entry, written by a leader).
pub(super) fn conf_change(bytes: &[u8]) -> Result<ConfChange, WireError> {
    let wire: WireConfChange = decode("ConfChange", bytes)?;
    let mut change = ConfChange::default();
    change.set_change_type(enum_value::<ConfChangeType>(
        "ConfChange.change_type",
        wire.change_type,
    )?);
    change.node_id = wire.node_id;
    change.context = wire.context.into();
    change.id = wire.id;
    Ok(change)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ::raft::eraftpb::EntryType;

    fn encode<M: protobuf::Message>(message: &M) -> Vec<u8> {
        message.write_to_bytes().expect("proto3 encodes")
    }

    fn entry_of(kind: EntryType, index: u64, data: &[u8]) -> Entry {
        let mut entry = Entry::default();
        entry.set_entry_type(kind);
        entry.term = 3;
        entry.index = index;
        entry.data = data.to_vec().into();
        entry.context = b"ctx".to_vec().into();
        entry
    }

    fn conf_change_bytes(kind: ConfChangeType, node_id: u64) -> Vec<u8> {
        let mut change = ConfChange::default();
        change.set_change_type(kind);
        change.node_id = node_id;
        change.context = b"node-4".to_vec().into();
        change.id = 9;
        encode(&change)
    }

    fn snapshot_of() -> Snapshot {
        let mut snapshot = Snapshot {
            data: b"height 7".to_vec().into(),
            ..Snapshot::default()
        };
        let meta = snapshot.mut_metadata();
        meta.index = 40;
        meta.term = 3;
        let conf = meta.mut_conf_state();
        conf.voters = vec![1, 2, 3];
        conf.learners = vec![4];
        conf.voters_outgoing = vec![1, 2];
        conf.learners_next = vec![5];
        conf.auto_leave = true;
        snapshot
    }

    /// Every kind of message a Raft node sends, with every field this crate's peers set.
    fn every_message() -> Vec<Message> {
        let base = |kind: MessageType| {
            let mut m = Message::default();
            m.set_msg_type(kind);
            m.to = 0xfeed_beef_0000_0001;
            m.from = u64::MAX;
            m.term = 7;
            m
        };
        let mut out = Vec::new();
        for kind in [MessageType::MsgRequestVote, MessageType::MsgRequestPreVote] {
            let mut vote = base(kind);
            vote.log_term = 6;
            vote.index = 41;
            vote.commit = 40;
            vote.commit_term = 6;
            vote.priority = -3;
            vote.deprecated_priority = 3;
            vote.context = b"campaign-transfer".to_vec().into();
            out.push(vote);
        }
        for kind in [
            MessageType::MsgRequestVoteResponse,
            MessageType::MsgRequestPreVoteResponse,
        ] {
            let mut response = base(kind);
            response.reject = true;
            out.push(response);
        }
        let mut append = base(MessageType::MsgAppend);
        append.log_term = 6;
        append.index = 41;
        append.commit = 40;
        append.set_entries(
            vec![
                entry_of(EntryType::EntryNormal, 42, b"block"),
                entry_of(EntryType::EntryNormal, 43, b""),
                entry_of(
                    EntryType::EntryConfChange,
                    44,
                    &conf_change_bytes(ConfChangeType::AddNode, 4),
                ),
                entry_of(EntryType::EntryConfChangeV2, 45, b"\x08\x01"),
            ]
            .into(),
        );
        out.push(append);
        let mut append_response = base(MessageType::MsgAppendResponse);
        append_response.index = 45;
        append_response.reject = true;
        append_response.reject_hint = 30;
        append_response.log_term = 5;
        append_response.commit = 44;
        out.push(append_response);
        let mut heartbeat = base(MessageType::MsgHeartbeat);
        heartbeat.commit = 44;
        heartbeat.context = b"read-index".to_vec().into();
        out.push(heartbeat);
        out.push(base(MessageType::MsgHeartbeatResponse));
        let mut snapshot = base(MessageType::MsgSnapshot);
        snapshot.set_snapshot(snapshot_of());
        out.push(snapshot);
        let mut request_snapshot = base(MessageType::MsgAppendResponse);
        request_snapshot.request_snapshot = 40;
        out.push(request_snapshot);
        out.push(base(MessageType::MsgTimeoutNow));
        out.push(base(MessageType::MsgTransferLeader));
        let mut read_index = base(MessageType::MsgReadIndex);
        read_index.set_entries(vec![entry_of(EntryType::EntryNormal, 0, b"rctx")].into());
        out.push(read_index);
        let mut read_index_resp = base(MessageType::MsgReadIndexResp);
        read_index_resp.index = 44;
        out.push(read_index_resp);
        out.push(Message::default());
        out
    }

    #[test]
    fn every_message_a_node_sends_decodes_as_rust_protobuf_encoded_it() {
        for original in every_message() {
            let bytes = encode(&original);
            let decoded = message(&bytes).expect("decodes");
            assert_eq!(decoded, original, "{:?}", original.get_msg_type());
            assert_eq!(encode(&decoded), bytes, "re-encodes byte for byte");
        }
    }

    #[test]
    fn stored_values_and_conf_changes_decode_as_written() {
        let original = snapshot_of();
        assert_eq!(snapshot(&encode(&original)).expect("snapshot"), original);
        assert_eq!(
            snapshot(&encode(&Snapshot::default())).expect("empty"),
            Snapshot::default()
        );
        let stored = entry_of(EntryType::EntryConfChange, 44, b"x");
        let decoded = entry(&encode(&stored)).expect("entry");
        assert_eq!(decoded, stored);
        assert_eq!(decoded.get_entry_type(), EntryType::EntryConfChange);
        let state = HardState {
            term: 9,
            vote: 0xabcdef,
            commit: 77,
            ..HardState::default()
        };
        assert_eq!(hard_state(&encode(&state)).expect("hard state"), state);
        for kind in [
            ConfChangeType::AddNode,
            ConfChangeType::RemoveNode,
            ConfChangeType::AddLearnerNode,
        ] {
            let bytes = conf_change_bytes(kind, 4);
            let decoded = conf_change(&bytes).expect("conf change");
            assert_eq!(encode(&decoded), bytes);
            assert_eq!(decoded.get_change_type(), kind);
        }
    }

    #[test]
    fn unknown_enum_values_and_garbage_are_refused() {
        // msg_type = 99
        assert!(matches!(
            message(&[0x08, 99]),
            Err(WireError::UnknownEnum { .. })
        ));
        assert!(matches!(
            message(b"\xff\xff"),
            Err(WireError::Decode { .. })
        ));
        // change_type = 7
        assert!(matches!(
            conf_change(&[0x10, 7]),
            Err(WireError::UnknownEnum { .. })
        ));
    }
}
