//! docs/errors.md lists every rule code with the gRPC status the node answers it with and its
//! meaning (from the comment beside it in types.proto). This test keeps the table true: a new
//! code, a changed status or a changed meaning fails it until the doc is regenerated
//! (`VCHAIN_BLESS=1 cargo test --workspace --lib -- errors_doc`).

use std::path::PathBuf;

use vchain_proto::v1::ErrorCode;

use crate::api::grpc_code;

const BEGIN: &str = "<!-- BEGIN GENERATED: the code table; node/src/errors_doc.rs checks it -->";
const END: &str = "<!-- END GENERATED -->";
/// Codes are numbered below this (the enum's sections end at 16x).
const CODE_NUMBER_MAX: i32 = 1_000;

fn repository_file(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path)
}

/// The comment after `NAME = N;` in the ErrorCode enum of types.proto.
fn meaning(proto: &str, name: &str) -> String {
    let enum_start = proto.find("enum ErrorCode {").expect("ErrorCode enum");
    let body = &proto[enum_start..];
    let body = &body[..body.find("\n}").expect("enum end")];
    body.lines()
        .find_map(|line| {
            let (declaration, comment) = line.split_once("//")?;
            (declaration.split('=').next()?.trim() == name).then(|| comment.trim().to_owned())
        })
        .unwrap_or_else(|| panic!("{name} has no comment in types.proto saying what it means"))
}

/// `InvalidArgument` as gRPC names it: `INVALID_ARGUMENT`.
fn status_name(code: tonic::Code) -> String {
    let debug = format!("{code:?}");
    let mut name = String::new();
    for (i, c) in debug.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            name.push('_');
        }
        name.push(c.to_ascii_uppercase());
    }
    name
}

fn table() -> String {
    let proto = std::fs::read_to_string(repository_file("proto/proto/vchain/v1/types.proto"))
        .expect("types.proto");
    let mut rows = vec![
        "| code | name | gRPC status | meaning |".to_owned(),
        "|---:|---|---|---|".to_owned(),
    ];
    for number in 0..CODE_NUMBER_MAX {
        let Ok(code) = ErrorCode::try_from(number) else {
            continue;
        };
        let name = code.as_str_name();
        rows.push(format!(
            "| {number} | `{name}` | {} | {} |",
            status_name(grpc_code(code)),
            meaning(&proto, name).replace('|', "\\|"),
        ));
    }
    rows.join("\n")
}

#[test]
fn errors_doc_lists_every_code_with_its_status_and_meaning() {
    let path = repository_file("docs/errors.md");
    let doc = std::fs::read_to_string(&path).expect("docs/errors.md");
    let start = doc.find(BEGIN).expect("begin marker") + BEGIN.len();
    let end = doc.find(END).expect("end marker");
    let expected = format!("\n{}\n", table());
    if std::env::var_os("VCHAIN_BLESS").is_some() {
        let updated = format!("{}{expected}{}", &doc[..start], &doc[end..]);
        std::fs::write(&path, updated).expect("write docs/errors.md");
        return;
    }
    assert_eq!(
        &doc[start..end],
        expected,
        "docs/errors.md is out of date: run VCHAIN_BLESS=1 cargo test --workspace --lib -- errors_doc"
    );
}

#[test]
fn status_names_are_grpcs() {
    assert_eq!(
        status_name(tonic::Code::InvalidArgument),
        "INVALID_ARGUMENT"
    );
    assert_eq!(status_name(tonic::Code::Ok), "OK");
    assert_eq!(status_name(tonic::Code::DataLoss), "DATA_LOSS");
}
