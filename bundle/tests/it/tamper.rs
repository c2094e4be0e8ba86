//! Tampering with a valid bundle: every change to any field fails verification with a coded
//! error, and nothing panics.
//!
//! The mutations work on the protobuf wire tree of the encoded bundle, with the schema of
//! bundle.proto (which fields are messages, which are repeated), so they reach every field of
//! every nested message without a hand-written mutator per type: flip any bit of any bytes or
//! string field, change any integer, drop any field, duplicate or swap any repeated element.
//! Targeted tests then assert the specific code of each check.
//!
//! One field is left out of the blind mutations: `TraceBundle.voucher_id` selects which member
//! of the proven lineage was asked about, and every member's bundle holds the same proofs, so
//! naming another member is not a forgery (tested below); naming a voucher outside the lineage
//! is refused.

use crate::common;

use std::sync::OnceLock;

use ed25519_dalek::Signer;
use proptest::prelude::*;
use prost::Message;
use vchain_bundle::{build, decode, encode, verify, TraceBundle, VerifyError};
use vchain_contracts::genesis::Genesis;

/// A valid bundle of the story's chain and its genesis, built once.
fn fixture() -> &'static (TraceBundle, Genesis, Vec<u8>) {
    static FIXTURE: OnceLock<(TraceBundle, Genesis, Vec<u8>)> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let story = common::story();
        let bundle = build(&story.chain, &story.a1).expect("builds");
        verify(&bundle, &story.chain.genesis).expect("the untouched bundle verifies");
        let bytes = encode(&bundle);
        (bundle, story.chain.genesis, bytes)
    })
}

/// Message types of bundle.proto and types.proto that the tree descends into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bundle,
    CertifiedHeader,
    Header,
    Certificate,
    Signature,
    Entry,
    Proof,
    ProvenTx,
    SignedTx,
    Change,
    Result,
    Event,
}

fn child(kind: Kind, number: u32) -> Option<Kind> {
    use Kind::*;
    Some(match (kind, number) {
        (Bundle, 4 | 7) => CertifiedHeader,
        (Bundle, 5) => Entry,
        (Bundle, 6) => ProvenTx,
        (Bundle, 8) => Change,
        (CertifiedHeader, 1) => Header,
        (CertifiedHeader, 2) => Certificate,
        (Certificate, 4) => Signature,
        (Entry, 3) => Proof,
        (ProvenTx, 1) => SignedTx,
        (Change, 3) => Result,
        (Result, 4) => Event,
        _ => return None,
    })
}

fn repeated(kind: Kind, number: u32) -> bool {
    use Kind::*;
    matches!(
        (kind, number),
        (Bundle, 5..=8)
            | (Certificate, 4)
            | (Proof, 1)
            | (ProvenTx, 4)
            | (Change, 4)
            | (Result, 4)
            | (Event, 7 | 11)
    )
}

/// A field whose value prost reads as a bool (any non-zero is true).
fn boolean(kind: Kind, number: u32) -> bool {
    matches!((kind, number), (Kind::Event, 80))
}

#[derive(Debug, Clone, PartialEq)]
enum Value {
    Varint(u64),
    Bytes(Vec<u8>),
    Message(Vec<Field>),
}

#[derive(Debug, Clone, PartialEq)]
struct Field {
    number: u32,
    kind: Kind,
    value: Value,
}

fn varint(bytes: &[u8], at: &mut usize) -> u64 {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = bytes[*at];
        *at += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            break;
        }
    }
    value
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn parse(bytes: &[u8], kind: Kind) -> Vec<Field> {
    let mut fields = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let tag = varint(bytes, &mut at);
        let number = (tag >> 3) as u32;
        let value = match tag & 7 {
            0 => Value::Varint(varint(bytes, &mut at)),
            2 => {
                let len = varint(bytes, &mut at) as usize;
                let data = &bytes[at..at + len];
                at += len;
                match child(kind, number) {
                    Some(inner) => Value::Message(parse(data, inner)),
                    None => Value::Bytes(data.to_vec()),
                }
            }
            other => panic!("wire type {other} does not occur in a bundle"),
        };
        fields.push(Field {
            number,
            kind,
            value,
        });
    }
    fields
}

fn serialize(fields: &[Field]) -> Vec<u8> {
    let mut out = Vec::new();
    for field in fields {
        match &field.value {
            Value::Varint(v) => {
                put_varint(&mut out, u64::from(field.number) << 3);
                put_varint(&mut out, *v);
            }
            Value::Bytes(data) => {
                put_varint(&mut out, (u64::from(field.number) << 3) | 2);
                put_varint(&mut out, data.len() as u64);
                out.extend_from_slice(data);
            }
            Value::Message(inner) => {
                let data = serialize(inner);
                put_varint(&mut out, (u64::from(field.number) << 3) | 2);
                put_varint(&mut out, data.len() as u64);
                out.extend_from_slice(&data);
            }
        }
    }
    out
}

/// Where a field is: indices from the top-level list down.
type Path = Vec<usize>;

#[derive(Debug, Clone)]
enum Mutation {
    /// Flip bit `bit` (modulo the length) of a bytes or string field.
    Flip(Path, usize),
    /// Change an integer (up or down by one; a bool's truth).
    Bump(Path, bool),
    /// Remove a field.
    Drop(Path),
    /// Repeat an element of a repeated field.
    Duplicate(Path),
    /// Swap two neighbouring, different elements of a repeated field.
    Swap(Path),
}

fn sites(fields: &[Field], prefix: &mut Path, out: &mut Vec<Mutation>) {
    for (index, field) in fields.iter().enumerate() {
        prefix.push(index);
        let path = prefix.clone();
        let asked_voucher = field.kind == Kind::Bundle && field.number == 3;
        out.push(Mutation::Drop(path.clone()));
        if repeated(field.kind, field.number) {
            out.push(Mutation::Duplicate(path.clone()));
            if fields
                .get(index + 1)
                .is_some_and(|next| next.number == field.number && next.value != field.value)
            {
                out.push(Mutation::Swap(path.clone()));
            }
        }
        match &field.value {
            Value::Varint(_) => {
                out.push(Mutation::Bump(path.clone(), true));
                out.push(Mutation::Bump(path.clone(), false));
            }
            Value::Bytes(data) if !data.is_empty() && !asked_voucher => {
                out.push(Mutation::Flip(path.clone(), index * 7 + 3));
            }
            Value::Bytes(_) => {}
            Value::Message(inner) => sites(inner, prefix, out),
        }
        prefix.pop();
    }
}

fn apply(fields: &mut Vec<Field>, mutation: &Mutation) {
    let path = match mutation {
        Mutation::Flip(p, _) | Mutation::Bump(p, _) | Mutation::Drop(p) => p,
        Mutation::Duplicate(p) | Mutation::Swap(p) => p,
    };
    let (last, parents) = path.split_last().expect("a path");
    let mut list = fields;
    for &i in parents {
        match &mut list[i].value {
            Value::Message(inner) => list = inner,
            _ => unreachable!("paths go through messages"),
        }
    }
    let i = *last;
    match mutation {
        Mutation::Drop(_) => {
            list.remove(i);
        }
        Mutation::Duplicate(_) => {
            let copy = list[i].clone();
            list.insert(i, copy);
        }
        Mutation::Swap(_) => list.swap(i, i + 1),
        Mutation::Flip(_, bit) => {
            if let Value::Bytes(data) = &mut list[i].value {
                let bit = bit % (data.len() * 8);
                data[bit / 8] ^= 1 << (bit % 8);
            }
        }
        Mutation::Bump(_, up) => {
            let is_bool = boolean(list[i].kind, list[i].number);
            if let Value::Varint(v) = &mut list[i].value {
                *v = if is_bool {
                    u64::from(*v == 0)
                } else if *up || *v == 0 {
                    *v + 1
                } else {
                    *v - 1
                };
            }
        }
    }
}

/// Applies `mutation` to the fixture and checks the verifier refuses it with a known code.
fn refused(mutation: &Mutation) -> Result<&'static str, String> {
    let (_, genesis, bytes) = fixture();
    let mut tree = parse(bytes, Kind::Bundle);
    apply(&mut tree, mutation);
    let tampered = serialize(&tree);
    let outcome = decode(&tampered).and_then(|bundle| verify(&bundle, genesis).map(|_| ()));
    match outcome {
        Ok(()) => Err(format!("{mutation:?} verified")),
        Err(error) => {
            let code = error.code();
            if !VerifyError::CODES.contains(&code) || error.to_string().is_empty() {
                return Err(format!("{mutation:?}: code {code} not listed"));
            }
            Ok(code)
        }
    }
}

fn all_sites() -> Vec<Mutation> {
    let (_, _, bytes) = fixture();
    let tree = parse(bytes, Kind::Bundle);
    assert_eq!(serialize(&tree), *bytes, "the wire tree round-trips");
    let mut out = Vec::new();
    sites(&tree, &mut Vec::new(), &mut out);
    out
}

#[test]
fn every_field_of_the_bundle_is_covered_by_some_check() {
    let sites = all_sites();
    assert!(sites.len() > 500, "{} mutation sites", sites.len());
    let mut codes = std::collections::BTreeMap::<&str, usize>::new();
    let failures: Vec<String> = sites
        .iter()
        .filter_map(|m| match refused(m) {
            Ok(code) => {
                *codes.entry(code).or_default() += 1;
                None
            }
            Err(e) => Some(e),
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} undetected: {:#?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    // The blind mutations reach most checks.
    for code in [
        "order-not-canonical",
        "certificate-invalid",
        "certificate-names-other-block",
        "state-proof-invalid",
        "inclusion-proof-invalid",
        "signature-invalid",
        "field-missing",
        "event-count-mismatch",
        "transaction-missing",
        "bundle-malformed",
    ] {
        assert!(
            codes.contains_key(code),
            "no mutation gave {code}: {codes:?}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Random single mutations with random bits: refused, never a panic.
    #[test]
    fn any_tampering_is_refused(pick in any::<prop::sample::Index>(), bit in any::<usize>()) {
        let sites = all_sites();
        let mutation = match sites[pick.index(sites.len())].clone() {
            Mutation::Flip(path, _) => Mutation::Flip(path, bit),
            other => other,
        };
        prop_assert!(refused(&mutation).is_ok(), "{:?}", refused(&mutation));
    }

    /// Two mutations at once: still refused.
    #[test]
    fn two_changes_are_refused(a in any::<prop::sample::Index>(), b in any::<prop::sample::Index>(), bit in any::<usize>()) {
        let (_, genesis, bytes) = fixture();
        let sites = all_sites();
        let mut tree = parse(bytes, Kind::Bundle);
        // Apply the deeper-indexed one first is not needed: distinct paths may shift after a
        // drop, so the second is re-resolved only if it still exists.
        let first = sites[a.index(sites.len())].clone();
        apply(&mut tree, &match first { Mutation::Flip(p, _) => Mutation::Flip(p, bit), m => m });
        let mut again = Vec::new();
        sites_of(&tree, &mut again);
        if !again.is_empty() {
            apply(&mut tree, &again[b.index(again.len())]);
        }
        let tampered = serialize(&tree);
        if tampered != *bytes {
            let outcome = decode(&tampered).and_then(|bundle| verify(&bundle, genesis).map(|_| ()));
            prop_assert!(outcome.is_err());
        }
    }

    /// Arbitrary bytes never panic the decoder or the verifier.
    #[test]
    fn garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let (_, genesis, _) = fixture();
        if let Ok(bundle) = decode(&bytes) {
            let _ = verify(&bundle, genesis);
        }
    }
}

fn sites_of(tree: &[Field], out: &mut Vec<Mutation>) {
    sites(tree, &mut Vec::new(), out);
}

// ------------------------------------------------------------------------------------------
// Targeted: each check's own code.
// ------------------------------------------------------------------------------------------

fn code_of(bundle: &TraceBundle) -> &'static str {
    let (_, genesis, _) = fixture();
    verify(bundle, genesis).expect_err("refused").code()
}

fn bundle() -> TraceBundle {
    fixture().0.clone()
}

#[test]
fn swapped_certificates_name_other_blocks() {
    let mut b = bundle();
    let first = b.headers[0].certificate.clone();
    b.headers[0].certificate = b.headers[1].certificate.clone();
    b.headers[1].certificate = first;
    assert_eq!(code_of(&b), "certificate-names-other-block");
}

#[test]
fn a_certificate_short_of_a_quorum_is_refused() {
    let mut b = bundle();
    b.tip
        .as_mut()
        .and_then(|t| t.certificate.as_mut())
        .expect("cert")
        .signatures
        .pop();
    assert_eq!(code_of(&b), "certificate-invalid");
}

#[test]
fn a_forged_transaction_signature_is_refused() {
    let mut b = bundle();
    let signed = b.transactions[0].transaction.as_mut().expect("tx");
    // Signed by a key of the signer's that is not bound to it.
    let forger = common::key(200);
    signed.signature = forger.sign(&signed.body).to_bytes().to_vec();
    assert_eq!(code_of(&b), "signature-invalid");
    // The forger's own valid pair: its key is bound to no one.
    let signed = b.transactions[0].transaction.as_mut().expect("tx");
    signed.public_key = forger.verifying_key().to_bytes().to_vec();
    assert_eq!(code_of(&b), "record-missing");
}

#[test]
fn a_dropped_event_breaks_its_voucher_count() {
    let mut b = bundle();
    let position = b
        .records
        .iter()
        .position(|r| r.key.starts_with(b"e/"))
        .expect("an event");
    b.records.remove(position);
    assert_eq!(code_of(&b), "event-count-mismatch");
}

#[test]
fn a_dropped_validator_change_is_noticed() {
    let mut b = bundle();
    b.validator_changes.clear();
    // The fifth validator signs the blocks after its arrival: unknown to the genesis set.
    assert_eq!(code_of(&b), "certificate-invalid");
    // When only genesis validators sign, the tip's record still lists the change.
    let story = common::story_signed(true);
    let mut b = build(&story.chain, &story.a1).expect("builds");
    verify(&b, &story.chain.genesis).expect("verifies");
    b.validator_changes.clear();
    assert_eq!(
        verify(&b, &story.chain.genesis)
            .expect_err("incomplete")
            .code(),
        "validator-changes-incomplete"
    );
}

#[test]
fn a_dropped_transaction_is_missing() {
    let mut b = bundle();
    b.transactions.remove(0);
    assert_eq!(code_of(&b), "transaction-missing");
}

#[test]
fn reordered_and_duplicated_elements_are_not_canonical() {
    let mut b = bundle();
    b.records.swap(0, 1);
    assert_eq!(code_of(&b), "order-not-canonical");
    let mut b = bundle();
    let copy = b.transactions[0].clone();
    b.transactions.insert(0, copy);
    assert_eq!(code_of(&b), "order-not-canonical");
    let mut b = bundle();
    let copy = b.headers[0].clone();
    b.headers.push(copy);
    assert_eq!(code_of(&b), "order-not-canonical");
}

#[test]
fn an_extra_header_is_unreferenced() {
    let story = common::story();
    let mut b = bundle();
    // Block 1's header (the credit line: in no voucher's history) with its real certificate.
    let extra = vchain_proto::v1::CertifiedHeader {
        header: story.chain.blocks[0].header.clone(),
        certificate: story.chain.certificates.get(&1).cloned(),
    };
    assert!(b
        .headers
        .iter()
        .all(|h| h.header.as_ref().map(|h| h.height) != Some(1)));
    b.headers.insert(0, extra);
    assert_eq!(code_of(&b), "header-unreferenced");
}

#[test]
fn another_chain_and_another_version_are_refused() {
    let mut b = bundle();
    b.chain_id = "other".into();
    assert_eq!(code_of(&b), "chain-id-mismatch");
    let mut b = bundle();
    b.format_version = 2;
    assert_eq!(code_of(&b), "format-version-unsupported");
    let (_, genesis, _) = fixture();
    let mut other = genesis.clone();
    other.consensus.nodes.truncate(1);
    let error = verify(&bundle(), &other).expect_err("another genesis set");
    assert_eq!(error.code(), "certificate-invalid", "{error}");
}

#[test]
fn the_asked_voucher_must_be_in_the_lineage() {
    let mut b = bundle();
    b.voucher_id = "V999999999999".into();
    assert_eq!(code_of(&b), "voucher-not-in-lineage");
    // Another member of the lineage: the same proofs, about that voucher.
    let mut b = bundle();
    let root = fixture()
        .0
        .records
        .iter()
        .find(|r| r.key.starts_with(b"v/"))
        .expect("v/");
    b.voucher_id = String::from_utf8(root.key[2..].to_vec()).expect("id");
    let (_, genesis, _) = fixture();
    assert_eq!(
        verify(&b, genesis).expect("verifies").voucher_id,
        b.voucher_id
    );
}

#[test]
fn limits_are_checked_before_any_work() {
    let too_big = vec![0u8; vchain_bundle::limits::BUNDLE_BYTES_MAX + 1];
    assert_eq!(
        decode(&too_big).expect_err("too big").code(),
        "bundle-too-large"
    );
    let mut b = bundle();
    let copy = b.records[0].clone();
    b.records = vec![copy; vchain_bundle::limits::RECORDS_MAX + 1];
    assert_eq!(code_of(&b), "bundle-too-large");
}

#[test]
fn every_code_is_distinct_and_listed() {
    let codes: std::collections::BTreeSet<&str> = VerifyError::CODES.iter().copied().collect();
    assert_eq!(codes.len(), VerifyError::CODES.len());
    // The encoded fixture decodes to itself: nothing is lost in the format.
    let (b, _, bytes) = fixture();
    assert_eq!(TraceBundle::decode(bytes.as_slice()).expect("decodes"), *b);
}
