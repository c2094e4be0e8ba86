//! The engine that makes commit votes and the rule that checks their certificates count a
//! quorum the same way (`vchain_consensus::pbft::quorum` and
//! `vchain_contracts::commit_certificate::quorum`): the node depends on both, so it holds the
//! test.

#[test]
fn the_engine_and_the_certificate_rule_agree_on_every_quorum() {
    for n in 1..=vchain_contracts::commit_certificate::VALIDATORS_MAX {
        assert_eq!(
            vchain_consensus::pbft::quorum(n),
            vchain_contracts::commit_certificate::quorum(n),
            "{n} validators"
        );
    }
}
