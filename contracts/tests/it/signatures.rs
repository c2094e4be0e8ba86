//! One signature rule everywhere (issue 10 §5, ADR 0006): the ed25519 edge cases on which
//! cofactored and cofactorless verification (and so batch and single verification) disagree get
//! the same verdict whether a transaction is admitted alone (`check_tx`), in a batch of honest
//! transactions (`check_txs`), or executed in a block with honest (or forged) neighbours
//! (`execute_block`), in either order.
//!
//! The signatures are built here with curve25519-dalek, `R = [r]B`, `k = H(R ‖ A ‖ M)` reduced,
//! `s = r + k·a`, over the transaction body `M`, so each is a real transaction of an account
//! whose key is the edge-case key. The published vectors of "Taming the many EdDSAs"
//! (Chalkias, Garillot, Nikolaenko 2020; novifinancial/ed25519-speccheck `cases.json`) sign
//! fixed messages and are checked through the same verification path.

use crate::common;

use common::*;
use curve25519_dalek::constants::EIGHT_TORSION;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use sha2::{Digest, Sha512};
use vchain_contracts::execute::{
    check_tx, check_txs, execute_block, execute_block_verified, verify_signatures, CheckError,
};
use vchain_contracts::verified::VerifiedSignatures;
use vchain_contracts::{keys, signature};
use vchain_ledger::WriteSet;
use vchain_proto::v1::{
    transaction_body::Operation, Account, ErrorCode, RequestRedemption, SignedTransaction,
};
use vchain_wallet::transaction;

/// ℓ, the order of the prime-order subgroup, little-endian.
const ELL: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// The field prime p = 2^255 - 19 plus `t`, little-endian: a non-canonical encoding of y = t.
fn non_canonical_y(t: u8) -> [u8; 32] {
    let mut bytes = [0xff; 32];
    bytes[0] = 0xed + t; // t <= 18: no carry
    bytes[31] = 0x7f;
    bytes
}

fn hash_scalar(parts: &[&[u8]]) -> Scalar {
    let mut hash = Sha512::new();
    for part in parts {
        hash.update(part);
    }
    Scalar::from_bytes_mod_order_wide(&hash.finalize().into())
}

/// A test account holding `public_key`, written straight into state (as an account registered
/// before today's registration rules would be): supplier 1's identity, nonce 0.
fn put_account(chain: &mut TestChain, account_id: &str, public_key: [u8; 32]) {
    let mut account: Account = chain.account(SUP1);
    account.account_id = account_id.into();
    account.public_key = public_key.to_vec();
    account.next_nonce = 0;
    let mut writes = WriteSet::new();
    writes.insert(
        keys::account(account_id),
        Some(prost::Message::encode_to_vec(&account)),
    );
    chain.ledger.apply(&writes).expect("apply");
}

/// The body of `signer`'s transaction number `variant` (nonce 0, a redemption request).
fn body(signer: &str, variant: u32) -> Vec<u8> {
    let op = Operation::RequestRedemption(RequestRedemption {
        voucher_id: format!("V{variant:012}"),
    });
    prost::Message::encode_to_vec(&transaction::body(CHAIN_ID, signer, 0, op))
}

fn transaction(body: Vec<u8>, public_key: [u8; 32], r: [u8; 32], s: [u8; 32]) -> SignedTransaction {
    let mut signature = r.to_vec();
    signature.extend_from_slice(&s);
    SignedTransaction {
        body,
        public_key: public_key.to_vec(),
        signature,
    }
}

/// `k = H(R ‖ A ‖ M)` as the verifier computes it, over the bytes as given.
fn challenge(r: &[u8; 32], a: &[u8; 32], message: &[u8]) -> Scalar {
    hash_scalar(&[r, a, message])
}

/// Whether dalek's cofactorless single check (`verify_strict`, today's fallback) accepts `tx`.
fn strict(tx: &SignedTransaction) -> bool {
    let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(
        tx.public_key.as_slice().try_into().expect("32 bytes"),
    ) else {
        return false;
    };
    let signature = ed25519_dalek::Signature::from_slice(&tx.signature).expect("64 bytes");
    key.verify_strict(&tx.body, &signature).is_ok()
}

/// Honest neighbours: two transactions of other accounts, validly signed.
fn honest(chain: &TestChain) -> Vec<SignedTransaction> {
    let op = |n: u32| {
        Operation::RequestRedemption(RequestRedemption {
            voucher_id: format!("V{n:012}"),
        })
    };
    vec![chain.tx(SUP2, op(1)), chain.tx(SUP3, op(2))]
}

/// A neighbour whose signature does not verify (one bit of `s` flipped), so no batch of it passes.
fn forged(chain: &TestChain) -> SignedTransaction {
    let mut tx = chain.tx(
        CORE,
        Operation::RequestRedemption(RequestRedemption {
            voucher_id: "V000000000003".into(),
        }),
    );
    tx.signature[40] ^= 1;
    tx
}

fn signature_accepted_at_admission(
    result: &Result<vchain_contracts::CheckedTx, CheckError>,
) -> bool {
    !matches!(result, Err(CheckError::Rejected(r)) if r.code == ErrorCode::BadSignature)
}

/// The verdict on `edge`'s signature (true: accepted) in every setting, by setting name. Also
/// asserts the honest neighbours are accepted and the forged one refused in every setting.
fn verdicts(chain: &TestChain, edge: &SignedTransaction) -> Vec<(&'static str, bool)> {
    let honest = honest(chain);
    let forged = forged(chain);
    let mut out = Vec::new();
    let admitted = check_tx(&chain.ledger, edge, &VerifiedSignatures::none());
    out.push(("check_tx alone", signature_accepted_at_admission(&admitted)));

    let batch = |txs: Vec<SignedTransaction>, at: usize| -> bool {
        let results = check_txs(&chain.ledger, &txs, &VerifiedSignatures::none())
            .expect("state readable")
            .results;
        for (i, result) in results.iter().enumerate() {
            if i != at {
                let expected = txs[i] != forged;
                assert_eq!(
                    signature_accepted_at_admission(result),
                    expected,
                    "neighbour {i}"
                );
            }
        }
        signature_accepted_at_admission(&results[at])
    };
    let with = |before: &[SignedTransaction], after: &[SignedTransaction]| {
        let mut txs = before.to_vec();
        txs.push(edge.clone());
        txs.extend_from_slice(after);
        (txs, before.len())
    };
    let settings: [(&str, &str, Vec<SignedTransaction>, Vec<SignedTransaction>); 4] = [
        (
            "check_txs after honest",
            "block after honest",
            honest.clone(),
            vec![],
        ),
        (
            "check_txs before honest",
            "block before honest",
            vec![],
            honest.clone(),
        ),
        (
            "check_txs after honest and forged",
            "block after honest and forged",
            vec![honest[0].clone(), forged.clone()],
            vec![honest[1].clone()],
        ),
        (
            "check_txs before forged and honest",
            "block before forged and honest",
            vec![],
            vec![forged.clone(), honest[0].clone(), honest[1].clone()],
        ),
    ];
    let block = |txs: &[SignedTransaction], at: usize| -> bool {
        let outcome = execute_block(&chain.ledger, &chain.next_context(), txs)
            .expect("execution must not fail on a sound ledger");
        for (i, result) in outcome.results.iter().enumerate() {
            if i != at {
                let expected = txs[i] != forged;
                let accepted = result.code != ErrorCode::BadSignature as i32;
                assert_eq!(accepted, expected, "block neighbour {i}");
            }
        }
        outcome.results[at].code != ErrorCode::BadSignature as i32
    };
    out.push(("block alone", block(std::slice::from_ref(edge), 0)));
    // A node verifies each signature once: admission remembers valid verdicts and the block
    // takes them. The block's verdict must still be the rule's, whether admission saw the
    // transaction or not.
    let remembered = |admit: &[SignedTransaction], txs: &[SignedTransaction], at: usize| {
        let record = VerifiedSignatures::new(64);
        check_txs(&chain.ledger, admit, &record).expect("state readable");
        let outcome = execute_block_verified(&chain.ledger, &chain.next_context(), txs, &record)
            .expect("execution must not fail on a sound ledger");
        let plain = execute_block(&chain.ledger, &chain.next_context(), txs)
            .expect("execution must not fail on a sound ledger");
        assert_eq!(
            outcome, plain,
            "a remembered verdict changed the block's outcome"
        );
        outcome.results[at].code != ErrorCode::BadSignature as i32
    };
    let all = [
        honest[0].clone(),
        forged.clone(),
        edge.clone(),
        honest[1].clone(),
    ];
    out.push(("block after its admission", remembered(&all, &all, 2)));
    out.push((
        "block after its neighbours' admission",
        remembered(&[honest[0].clone(), forged.clone()], &all, 2),
    ));
    for (batch_name, block_name, before, after) in settings {
        let (txs, at) = with(&before, &after);
        out.push((batch_name, batch(txs.clone(), at)));
        out.push((block_name, block(&txs, at)));
    }
    out
}

/// Asserts `edge`'s signature gets `expected` in every setting.
fn assert_same_everywhere(chain: &TestChain, edge: &SignedTransaction, expected: bool) {
    assert_eq!(
        signature::verify(&edge.public_key, &edge.body, &edge.signature),
        expected,
        "the rule itself"
    );
    let verdicts = verdicts(chain, edge);
    let wrong: Vec<_> = verdicts.iter().filter(|(_, v)| *v != expected).collect();
    assert!(
        wrong.is_empty(),
        "expected {expected} everywhere, got {verdicts:?}"
    );
}

#[test]
fn a_mixed_order_key_with_a_cofactored_only_signature_is_valid_everywhere() {
    // A' = [a]B + T (T of order 8): a key an honest wallet never makes, but one that passes
    // registration (it is not of small order).
    let a = hash_scalar(&[b"mixed-order secret"]);
    let key_point = EdwardsPoint::mul_base(&a) + EIGHT_TORSION[1];
    let key = key_point.compress().to_bytes();
    assert!(!key_point.is_small_order() && !key_point.is_torsion_free());
    assert!(vchain_contracts::validate::public_key(&key).is_ok());

    let mut chain = TestChain::new();
    put_account(&mut chain, "edge-mixed", key);
    // The body is chosen so that k is not a multiple of 8: then [k]T is not the identity, so the
    // cofactorless equation fails while the cofactored one holds.
    let (message, r_bytes, k, r) = (0..64)
        .find_map(|variant| {
            let message = body("edge-mixed", variant);
            let r = hash_scalar(&[b"nonce", &message]);
            let r_bytes = EdwardsPoint::mul_base(&r).compress().to_bytes();
            let k = challenge(&r_bytes, &key, &message);
            (!k.to_bytes()[0].is_multiple_of(8)).then_some((message, r_bytes, k, r))
        })
        .expect("a body with k not divisible by 8");
    let s = r + k * a;
    let edge = transaction(message, key, r_bytes, s.to_bytes());
    assert!(!strict(&edge), "cofactorless verification refuses it");
    assert_same_everywhere(&chain, &edge, true);
}

#[test]
fn a_small_order_r_is_judged_the_same_everywhere() {
    // Honest key A = [a]B; R = T of order 8; s = k·a. Then [s]B - [k]A = 0 and R - 0 = T:
    // the cofactored equation holds, the cofactorless one does not.
    let a = hash_scalar(&[b"small-order R secret"]);
    let key = EdwardsPoint::mul_base(&a).compress().to_bytes();
    let mut chain = TestChain::new();
    put_account(&mut chain, "edge-small-r", key);
    let message = body("edge-small-r", 0);
    let r_bytes = EIGHT_TORSION[1].compress().to_bytes();
    let k = challenge(&r_bytes, &key, &message);
    let edge = transaction(message, key, r_bytes, (k * a).to_bytes());
    assert!(!strict(&edge));
    assert_same_everywhere(&chain, &edge, true);
}

#[test]
fn a_non_canonical_r_is_judged_the_same_everywhere() {
    // R encoded as y = p + 1: the identity, written non-canonically. k is computed over the bytes
    // as given; s = k·a satisfies both equations, but cofactorless verify_strict refuses the
    // encoding (and the small order). Today a lone batch of it passed and a failing batch's
    // one-by-one fallback refused it.
    let a = hash_scalar(&[b"non-canonical R secret"]);
    let key = EdwardsPoint::mul_base(&a).compress().to_bytes();
    let r_bytes = non_canonical_y(1);
    let r_point = CompressedEdwardsY(r_bytes).decompress().expect("decodes");
    assert_ne!(r_point.compress().to_bytes(), r_bytes, "non-canonical");
    let mut chain = TestChain::new();
    put_account(&mut chain, "edge-nc-r", key);
    let message = body("edge-nc-r", 0);
    let k = challenge(&r_bytes, &key, &message);
    let edge = transaction(message, key, r_bytes, (k * a).to_bytes());
    assert!(!strict(&edge));
    assert_same_everywhere(&chain, &edge, true);
}

#[test]
fn a_non_canonical_small_order_key_is_refused_everywhere() {
    // A encoded as y = p + 1 (the identity, non-canonically): small order, so [8][k]A = 0 and
    // R = [r]B, s = r "signs" any message. ZIP-215 alone accepts it; the chain's rule refuses
    // small-order keys, in every setting.
    let key = non_canonical_y(1);
    let key_point = CompressedEdwardsY(key).decompress().expect("decodes");
    assert!(key_point.is_small_order());
    assert!(vchain_contracts::validate::public_key(&key).is_err());
    let mut chain = TestChain::new();
    put_account(&mut chain, "edge-nc-a", key);
    let message = body("edge-nc-a", 0);
    let r = hash_scalar(&[b"nonce", &message]);
    let r_bytes = EdwardsPoint::mul_base(&r).compress().to_bytes();
    let edge = transaction(message, key, r_bytes, r.to_bytes());
    assert_same_everywhere(&chain, &edge, false);
}

#[test]
fn an_unreduced_s_is_refused_everywhere() {
    // An honest signature with s replaced by s + ℓ: the same point [s]B, but s is not below ℓ.
    let mut chain = TestChain::new();
    let signing = ed25519_dalek::SigningKey::from_bytes(&[77; 32]);
    let key = signing.verifying_key().to_bytes();
    put_account(&mut chain, "edge-big-s", key);
    chain.add_key("edge-big-s", signing);
    let mut edge = chain.sign(
        "edge-big-s",
        0,
        Operation::RequestRedemption(RequestRedemption {
            voucher_id: "V000000000000".into(),
        }),
    );
    assert_same_everywhere(&chain, &edge, true);
    let mut carry = 0u16;
    for (byte, ell) in edge.signature[32..].iter_mut().zip(ELL) {
        let sum = u16::from(*byte) + u16::from(ell) + carry;
        *byte = sum as u8;
        carry = sum >> 8;
    }
    assert_eq!(carry, 0);
    assert_same_everywhere(&chain, &edge, false);
}

/// The twelve vectors of "Taming the many EdDSAs" (message, key, signature) and the chain's
/// verdict on each: ZIP-215's (the paper's "Zebra" row: V V V V V V X X X V V V), except that
/// the four whose key is of small order (0, 1, 10, 11) are refused by the small-order-key rule.
const TAMING: [(&str, &str, &str, bool); 12] = [
    ("8c93255d71dcab10e8f379c26200f3c7bd5f09d9bc3068d3ef4edeb4853022b6", "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa", "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a0000000000000000000000000000000000000000000000000000000000000000", false),
    ("9bd9f44f4dcc75bd531b56b2cd280b0bb38fc1cd6d1230e14861d861de092e79", "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa", "f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43a5bb704786be79fc476f91d3f3f89b03984d8068dcf1bb7dfc6637b45450ac04", false),
    ("aebf3f2601a0c8c5d39cc7d8911642f740b78168218da8471772b35f9d35b9ab", "f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43", "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa8c4bd45aecaca5b24fb97bc10ac27ac8751a7dfe1baff8b953ec9f5833ca260e", true),
    ("9bd9f44f4dcc75bd531b56b2cd280b0bb38fc1cd6d1230e14861d861de092e79", "cdb267ce40c5cd45306fa5d2f29731459387dbf9eb933b7bd5aed9a765b88d4d", "9046a64750444938de19f227bb80485e92b83fdb4b6506c160484c016cc1852f87909e14428a7a1d62e9f22f3d3ad7802db02eb2e688b6c52fcd6648a98bd009", true),
    ("e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec4011eaccd55b53f56c", "cdb267ce40c5cd45306fa5d2f29731459387dbf9eb933b7bd5aed9a765b88d4d", "160a1cb0dc9c0258cd0a7d23e94d8fa878bcb1925f2c64246b2dee1796bed5125ec6bc982a269b723e0668e540911a9a6a58921d6925e434ab10aa7940551a09", true),
    ("e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec4011eaccd55b53f56c", "cdb267ce40c5cd45306fa5d2f29731459387dbf9eb933b7bd5aed9a765b88d4d", "21122a84e0b5fca4052f5b1235c80a537878b38f3142356b2c2384ebad4668b7e40bc836dac0f71076f9abe3a53f9c03c1ceeeddb658d0030494ace586687405", true),
    ("85e241a07d148b41e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec40", "442aad9f089ad9e14647b1ef9099a1ff4798d78589e66f28eca69c11f582a623", "e96f66be976d82e60150baecff9906684aebb1ef181f67a7189ac78ea23b6c0e547f7690a0e2ddcd04d87dbc3490dc19b3b3052f7ff0538cb68afb369ba3a514", false),
    ("85e241a07d148b41e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec40", "442aad9f089ad9e14647b1ef9099a1ff4798d78589e66f28eca69c11f582a623", "8ce5b96c8f26d0ab6c47958c9e68b937104cd36e13c33566acd2fe8d38aa19427e71f98a473474f2f13f06f97c20d58cc3f54b8bd0d272f42b695dd7e89a8c22", false),
    ("9bedc267423725d473888631ebf45988bad3db83851ee85c85e241a07d148b41", "f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43", "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff03be9678ac102edcd92b0210bb34d7428d12ffc5df5f37e359941266a4e35f0f", false),
    ("9bedc267423725d473888631ebf45988bad3db83851ee85c85e241a07d148b41", "f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43", "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffca8c5b64cd208982aa38d4936621a4775aa233aa0505711d8fdcfdaa943d4908", true),
    ("e96b7021eb39c1a163b6da4e3093dcd3f21387da4cc4572be588fafae23c155b", "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", "a9d55260f765261eb9b84e106f665e00b867287a761990d7135963ee0a7d59dca5bb704786be79fc476f91d3f3f89b03984d8068dcf1bb7dfc6637b45450ac04", false),
    ("39a591f5321bbe07fd5a23dc2f39d025d74526615746727ceefd6e82ae65c06f", "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", "a9d55260f765261eb9b84e106f665e00b867287a761990d7135963ee0a7d59dca5bb704786be79fc476f91d3f3f89b03984d8068dcf1bb7dfc6637b45450ac04", false),
];

#[test]
fn the_taming_vectors_get_one_verdict_alone_and_in_any_batch() {
    let chain = TestChain::new();
    let neighbours = honest(&chain);
    let forged = forged(&chain);
    for (case, (message, key, signature, expected)) in TAMING.iter().enumerate() {
        let vector = SignedTransaction {
            body: hex::decode(message).expect("hex"),
            public_key: hex::decode(key).expect("hex"),
            signature: hex::decode(signature).expect("hex"),
        };
        assert_eq!(
            signature::verify(&vector.public_key, &vector.body, &vector.signature),
            *expected,
            "case {case} alone"
        );
        let settings: [(Vec<SignedTransaction>, Vec<SignedTransaction>); 5] = [
            (vec![], vec![]),
            (neighbours.clone(), vec![]),
            (vec![], neighbours.clone()),
            (vec![neighbours[0].clone(), forged.clone()], vec![]),
            (vec![], vec![forged.clone(), neighbours[1].clone()]),
        ];
        for (before, after) in settings {
            let mut txs = before.clone();
            txs.push(vector.clone());
            txs.extend(after);
            let verdicts = verify_signatures(&txs);
            assert_eq!(
                verdicts[before.len()],
                *expected,
                "case {case} in {}",
                txs.len()
            );
            for (i, tx) in txs.iter().enumerate() {
                if i != before.len() {
                    assert_eq!(verdicts[i], *tx != forged, "case {case}, neighbour {i}");
                }
            }
        }
    }
}
