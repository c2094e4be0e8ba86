//! Parsing whole command lines: what each command accepts and refuses.

use super::dev::AdvanceClockArgs;
use super::*;
use clap::error::ErrorKind;
use vchain_proto::v1::Role;

fn parse(args: &[&str]) -> Cli {
    let mut argv = vec!["vchain"];
    argv.extend_from_slice(args);
    match Cli::try_parse_from(argv) {
        Ok(cli) => cli,
        Err(e) => panic!("{args:?}: {e}"),
    }
}

fn parse_err(args: &[&str]) -> ErrorKind {
    let mut argv = vec!["vchain"];
    argv.extend_from_slice(args);
    match Cli::try_parse_from(argv) {
        Ok(cli) => panic!("{args:?} parsed: {cli:?}"),
        Err(e) => e.kind(),
    }
}

#[test]
fn verify_cli() {
    use clap::CommandFactory;
    Cli::command().debug_assert();
}

#[test]
fn amount_parsing() {
    assert_eq!(parse_amount("0"), Ok(0));
    assert_eq!(parse_amount("100000"), Ok(100_000));
    assert_eq!(parse_amount("18446744073709551615"), Ok(u64::MAX));
    assert!(parse_amount("18446744073709551616").is_err());
    for bad in ["", "1.5", "-3", "+3", "1e3", " 1", "1_000", "abc"] {
        assert!(parse_amount(bad).is_err(), "{bad:?}");
    }
    assert_eq!(parse_amount_list("100,200"), Ok(AmountList(vec![100, 200])));
    assert_eq!(
        parse_amount_list("100, 200 ,300"),
        Ok(AmountList(vec![100, 200, 300]))
    );
    assert_eq!(parse_amount_list("5"), Ok(AmountList(vec![5])));
    for bad in [
        "", " ", "1.5", "-3", "100,", ",100", "100,,200", "100,1.5", "100;200",
    ] {
        assert!(parse_amount_list(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn hex_parsing() {
    let h = "ab".repeat(32);
    assert_eq!(parse_hex32(&h), Ok(Hex32([0xab; 32])));
    assert_eq!(parse_hex32(&format!("0x{h}")), Ok(Hex32([0xab; 32])));
    assert!(parse_hex32("abcd").is_err());
    assert!(parse_hex32(&"zz".repeat(32)).is_err());
}

#[test]
fn globals_and_defaults() {
    let cli = parse(&["status"]);
    assert!(!cli.json);
    assert!(matches!(cli.command, Command::Status));
    let cli = parse(&[
        "voucher",
        "get",
        "V000000000001",
        "--json",
        "--endpoint",
        "http://node:9000",
    ]);
    assert!(cli.json);
    assert_eq!(cli.endpoint, "http://node:9000");
    assert!(
        matches!(cli.command, Command::Voucher(VoucherCmd::Get { ref voucher }) if voucher == "V000000000001")
    );
}

#[test]
fn key_commands() {
    let cli = parse(&[
        "--keystore",
        "/tmp/ks.json",
        "key",
        "new",
        "alice",
        "--account",
        "alice-main",
    ]);
    assert_eq!(cli.keystore, Some(PathBuf::from("/tmp/ks.json")));
    assert!(
        matches!(cli.command, Command::Key(KeyCmd::New { ref name, account: Some(ref a) }) if name == "alice" && a == "alice-main")
    );
    let cli = parse(&["key", "import", "bob", "--secret-hex", &"07".repeat(32)]);
    assert!(
        matches!(cli.command, Command::Key(KeyCmd::Import { secret_hex, account: None, .. }) if secret_hex.0 == [7; 32])
    );
    assert!(matches!(
        parse(&["key", "set-account", "bob", "bob-1"]).command,
        Command::Key(KeyCmd::SetAccount { .. })
    ));
    assert_eq!(
        parse_err(&["key", "import", "bob", "--secret-hex", "00"]),
        ErrorKind::ValueValidation
    );
}

#[test]
fn identity_register() {
    let cli = parse(&[
        "identity",
        "register",
        "--as",
        "admin",
        "--uscc",
        "91310000MA1FL0000X",
        "--name",
        "Acme",
        "--role",
        "core-enterprise",
        "--account",
        "acme-1",
        "--key",
        "acme",
    ]);
    let Command::Identity(IdentityCmd::Register {
        tx,
        role,
        key,
        legal_rep,
        ..
    }) = cli.command
    else {
        panic!("wrong command")
    };
    assert_eq!(tx.signer, "admin");
    assert!(!tx.no_wait);
    assert_eq!(Role::from(role), Role::CoreEnterprise);
    assert_eq!(key.key.as_deref(), Some("acme"));
    assert_eq!(legal_rep, "");
    // Exactly one of --public-key / --key.
    let base = [
        "identity",
        "register",
        "--as",
        "a",
        "--uscc",
        "U",
        "--name",
        "N",
        "--role",
        "supplier",
        "--account",
        "x",
    ];
    assert_eq!(parse_err(&base), ErrorKind::MissingRequiredArgument);
    let mut both = base.to_vec();
    let pk = "11".repeat(32);
    both.extend(["--key", "k", "--public-key", &pk]);
    assert_eq!(parse_err(&both), ErrorKind::ArgumentConflict);
    let mut bad_role = base.to_vec();
    bad_role[9] = "banker";
    bad_role.extend(["--key", "k"]);
    assert_eq!(parse_err(&bad_role), ErrorKind::InvalidValue);
}

#[test]
fn voucher_commands() {
    let cli = parse(&[
        "voucher",
        "issue",
        "--as",
        "acme",
        "--holder",
        "sup-1",
        "--financier",
        "F",
        "--amount",
        "100000",
        "--maturity",
        "2030-01-31",
        "--doc-kind",
        "invoice",
        "--doc-number",
        "INV-1",
        "--doc-file",
        "/tmp/x.pdf",
        "--no-wait",
    ]);
    let Command::Voucher(VoucherCmd::Issue {
        tx,
        amount,
        currency,
        doc,
        ..
    }) = cli.command
    else {
        panic!("wrong command")
    };
    assert!(tx.no_wait);
    assert_eq!(amount, 100_000);
    assert_eq!(currency, "CNY");
    assert_eq!(doc.doc_file, Some(PathBuf::from("/tmp/x.pdf")));
    assert_eq!(
        parse_err(&[
            "voucher",
            "issue",
            "--as",
            "a",
            "--holder",
            "h",
            "--financier",
            "F",
            "--amount",
            "1.5",
            "--maturity",
            "2030-01-31",
            "--doc-kind",
            "invoice",
            "--doc-number",
            "1",
            "--doc-hash",
            &"00".repeat(32)
        ]),
        ErrorKind::ValueValidation
    );

    let cli = parse(&[
        "voucher",
        "split",
        "--as",
        "sup",
        "V000000000001",
        "--amounts",
        "100,200",
    ]);
    assert!(
        matches!(cli.command, Command::Voucher(VoucherCmd::Split { ref amounts, .. }) if amounts.0 == vec![100, 200])
    );
    assert_eq!(
        parse_err(&["voucher", "split", "--as", "s", "V1", "--amounts=-3"]),
        ErrorKind::ValueValidation
    );
    assert_eq!(
        parse_err(&["voucher", "split", "--as", "s", "V1", "--amounts", "1.5,2"]),
        ErrorKind::ValueValidation
    );
    assert_eq!(
        parse_err(&["voucher", "split", "--as", "s", "V1", "--amounts", ""]),
        ErrorKind::ValueValidation
    );

    let h = "ab".repeat(32);
    let cli = parse(&[
        "voucher",
        "transfer",
        "--as",
        "s",
        "V1",
        "--to",
        "bank",
        "--agreement-hash",
        &h,
        "--consideration",
        "9000",
    ]);
    assert!(matches!(
        cli.command,
        Command::Voucher(VoucherCmd::Transfer {
            consideration: Some(9000),
            consideration_currency: None,
            ..
        })
    ));
    assert_eq!(
        parse_err(&[
            "voucher",
            "transfer",
            "--as",
            "s",
            "V1",
            "--to",
            "b",
            "--agreement-hash",
            &h,
            "--consideration-currency",
            "CNY"
        ]),
        ErrorKind::MissingRequiredArgument
    );

    let cli = parse(&[
        "voucher",
        "list",
        "--holder",
        "sup-1",
        "--live",
        "--page-size",
        "10",
    ]);
    assert!(matches!(
        cli.command,
        Command::Voucher(VoucherCmd::List {
            live: true,
            page_size: Some(10),
            ..
        })
    ));
    assert_eq!(
        parse_err(&["voucher", "list"]),
        ErrorKind::MissingRequiredArgument
    );
    assert_eq!(
        parse_err(&["voucher", "list", "--holder", "a", "--issuer", "b"]),
        ErrorKind::ArgumentConflict
    );

    assert!(matches!(
        parse(&["voucher", "trace", "V1"]).command,
        Command::Voucher(VoucherCmd::Trace { .. })
    ));
    assert!(matches!(
        parse(&[
            "voucher",
            "confirm",
            "--as",
            "acme",
            "V1",
            "--payment-ref",
            "P-1"
        ])
        .command,
        Command::Voucher(VoucherCmd::Confirm { .. })
    ));
    assert_eq!(
        parse_err(&["voucher", "freeze", "--as", "reg", "V1"]),
        ErrorKind::MissingRequiredArgument
    );
}

#[test]
fn chain_commands() {
    assert!(matches!(
        parse(&["block", "get"]).command,
        Command::Block(BlockCmd::Get {
            height: None,
            hash: None
        })
    ));
    assert!(matches!(
        parse(&["block", "get", "7"]).command,
        Command::Block(BlockCmd::Get {
            height: Some(7),
            ..
        })
    ));
    let h = "cd".repeat(32);
    assert_eq!(
        parse_err(&["block", "get", "7", "--hash", &h]),
        ErrorKind::ArgumentConflict
    );
    assert!(
        matches!(parse(&["tx", "get", &h]).command, Command::Tx(TxCmd::Get { hash }) if hash.0 == [0xcd; 32])
    );
    let cli = parse(&[
        "events",
        "--voucher",
        "V1",
        "--limit",
        "3",
        "--timeout-secs",
        "5",
    ]);
    assert!(matches!(
        cli.command,
        Command::Events(EventsArgs {
            limit: Some(3),
            timeout_secs: Some(5),
            ..
        })
    ));
    assert_eq!(
        parse_err(&["events", "--limit", "0"]),
        ErrorKind::ValueValidation
    );
    assert!(matches!(
        parse(&["dev", "advance-clock", "--days", "30"]).command,
        Command::Dev(DevCmd::AdvanceClock(AdvanceClockArgs {
            days: Some(30),
            ms: None
        }))
    ));
    assert_eq!(
        parse_err(&["dev", "advance-clock"]),
        ErrorKind::MissingRequiredArgument
    );
    assert_eq!(
        parse_err(&["dev", "advance-clock", "--days", "1", "--ms", "5"]),
        ErrorKind::ArgumentConflict
    );
    let cli = parse(&[
        "credit-line",
        "grant",
        "--as",
        "bank",
        "--core",
        "C",
        "--limit",
        "100000000",
    ]);
    assert!(matches!(
        cli.command,
        Command::CreditLine(CreditLineCmd::Grant {
            limit: 100_000_000,
            ..
        })
    ));
    assert!(matches!(
        parse(&[
            "account",
            "freeze",
            "--as",
            "admin",
            "acc-1",
            "--reason",
            "court order"
        ])
        .command,
        Command::Account(AccountCmd::Freeze { .. })
    ));
}

#[test]
fn consensus_commands() {
    let key = "ab".repeat(32);
    let cli = parse(&[
        "consensus",
        "add-node",
        "--as",
        "admin",
        "--node-id",
        "node-c",
        "--org",
        "bank-a",
        "--public-key",
        &key,
    ]);
    assert!(matches!(
        cli.command,
        Command::Consensus(ConsensusCmd::AddNode { ref node_id, ref org_id, public_key, .. })
            if node_id == "node-c" && org_id == "bank-a" && public_key.0 == [0xab; 32]
    ));
    assert_eq!(
        parse_err(&[
            "consensus",
            "add-node",
            "--as",
            "admin",
            "--node-id",
            "node-c",
            "--org",
            "bank-a",
            "--public-key",
            "abcd"
        ]),
        ErrorKind::ValueValidation
    );
    assert_eq!(
        parse_err(&[
            "consensus",
            "add-node",
            "--as",
            "admin",
            "--node-id",
            "node-c"
        ]),
        ErrorKind::MissingRequiredArgument
    );
    assert!(matches!(
        parse(&["consensus", "remove-node", "--as", "admin", "--node-id", "node-c"]).command,
        Command::Consensus(ConsensusCmd::RemoveNode { ref node_id, .. }) if node_id == "node-c"
    ));
    assert_eq!(
        parse_err(&["consensus", "remove-node", "--as", "admin"]),
        ErrorKind::MissingRequiredArgument
    );
}

#[test]
fn proposal_commands() {
    let key = "cd".repeat(32);
    let admin = format!("bank-c-admin={key}");
    assert!(matches!(
        parse(&[
            "proposal", "submit", "add-organisation", "--as", "admin", "--org", "bank-c",
            "--name", "Bank C", "--uscc", "91310000MA1FL00038", "--admin", &admin,
            "--ca-cert", "/tmp/ca.pem", "--title", "admit C"
        ])
        .command,
        Command::Proposal(ProposalCmd::Submit(ProposalAction::AddOrganisation {
            ref org_id, ref admins, ref ca_cert, ref text, ..
        })) if org_id == "bank-c" && admins.len() == 1 && admins[0].0 == "bank-c-admin"
            && admins[0].1 .0 == [0xcd; 32] && ca_cert.is_some()
            && text.title.as_deref() == Some("admit C")
    ));
    assert_eq!(
        parse_err(&[
            "proposal",
            "submit",
            "add-organisation",
            "--as",
            "admin",
            "--org",
            "bank-c",
            "--name",
            "Bank C",
            "--uscc",
            "X"
        ]),
        ErrorKind::MissingRequiredArgument
    );
    assert_eq!(
        parse_err(&[
            "proposal",
            "submit",
            "add-organisation",
            "--as",
            "admin",
            "--org",
            "bank-c",
            "--name",
            "Bank C",
            "--uscc",
            "X",
            "--admin",
            "no-key"
        ]),
        ErrorKind::ValueValidation
    );
    assert!(matches!(
        parse(&["proposal", "submit", "set-params", "--as", "admin", "--split-fanout-max", "4"])
            .command,
        Command::Proposal(ProposalCmd::Submit(ProposalAction::SetParams { ref params, .. }))
            if params.split_fanout_max == Some(4) && params.max_tenor_days.is_none()
    ));
    assert!(matches!(
        parse(&[
            "proposal", "submit", "set-params", "--as", "admin", "--lineage-depth-max", "1000"
        ])
        .command,
        Command::Proposal(ProposalCmd::Submit(ProposalAction::SetParams { ref params, .. }))
            if params.lineage_depth_max == Some(1_000)
    ));
    assert!(matches!(
        parse(&[
            "proposal",
            "submit",
            "schedule-upgrade",
            "--as",
            "admin",
            "--version",
            "2",
            "--activation-height",
            "5000"
        ])
        .command,
        Command::Proposal(ProposalCmd::Submit(ProposalAction::ScheduleUpgrade {
            version: 2,
            activation_height: 5_000,
            ..
        }))
    ));
    assert_eq!(
        parse_err(&[
            "proposal",
            "submit",
            "schedule-upgrade",
            "--as",
            "admin",
            "--version",
            "2"
        ]),
        ErrorKind::MissingRequiredArgument
    );
    assert!(matches!(
        parse(&[
            "proposal",
            "submit",
            "rotate-ca",
            "--as",
            "admin",
            "--org",
            "bank-a",
            "--ca-cert",
            "ca.der"
        ])
        .command,
        Command::Proposal(ProposalCmd::Submit(ProposalAction::RotateCa { .. }))
    ));
    assert!(matches!(
        parse(&["proposal", "vote", "P000000000001", "--as", "admin", "--approve"]).command,
        Command::Proposal(ProposalCmd::Vote { ref proposal_id, approve: true, reject: false, .. })
            if proposal_id == "P000000000001"
    ));
    assert!(matches!(
        parse(&[
            "proposal",
            "vote",
            "P000000000001",
            "--as",
            "admin",
            "--reject"
        ])
        .command,
        Command::Proposal(ProposalCmd::Vote {
            approve: false,
            reject: true,
            ..
        })
    ));
    assert_eq!(
        parse_err(&["proposal", "vote", "P000000000001", "--as", "admin"]),
        ErrorKind::MissingRequiredArgument
    );
    assert_eq!(
        parse_err(&[
            "proposal",
            "vote",
            "P1",
            "--as",
            "admin",
            "--approve",
            "--reject"
        ]),
        ErrorKind::ArgumentConflict
    );
}
