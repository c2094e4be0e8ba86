//! Generates the prost messages, and with the `grpc` feature the tonic stubs and the
//! descriptor set that gRPC reflection serves. With the `serde` feature every message, enum and
//! oneof also derives `serde::Serialize` in vchain's JSON mapping (`src/json.rs`, ADR 0013):
//! the attributes are derived here from the descriptors, so a new field or message needs none
//! written by hand.
use std::{env, path::PathBuf};

use tonic_prost_build::{Builder, Config, FileDescriptorSet};

/// Enum fields printed as their number instead of their name: scripts already read them so
/// (`cli/tests/real_node.rs` reads a pledge's `health` as 3). Add nothing here.
const ENUM_FIELDS_AS_NUMBERS: &[&str] = &[".vchain.v1.Pledge.health"];

/// `FieldDescriptorProto` types and labels (descriptor.proto), as prost_types stores them.
const TYPE_ENUM: i32 = 14;
const TYPE_BYTES: i32 = 12;
const LABEL_REPEATED: i32 = 3;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    // SAFETY-free: build scripts are single threaded; prost-build reads PROTOC.
    unsafe { env::set_var("PROTOC", protoc) };
    let grpc = env::var_os("CARGO_FEATURE_GRPC").is_some();
    let serde = env::var_os("CARGO_FEATURE_SERDE").is_some();
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    let files = [
        "proto/vchain/v1/types.proto",
        "proto/vchain/v1/api.proto",
        "proto/vchain/v1/sync.proto",
        "proto/vchain/v1/bundle.proto",
        "proto/vchain/v1/admin.proto",
    ];
    for file in files {
        println!("cargo:rerun-if-changed={file}");
    }
    let mut builder = tonic_prost_build::configure()
        .build_server(grpc)
        .build_client(grpc)
        .file_descriptor_set_path(out_dir.join("vchain_descriptor.bin"));
    if serde {
        let descriptors = Config::new().load_fds(&files, &["proto"])?;
        builder = serde_attributes(builder, &descriptors)?;
    }
    builder.compile_protos(&files, &["proto"])?;
    Ok(())
}

/// `Serialize` on every type; JSON names are the proto names; bytes fields as lowercase hex and
/// enum fields (prost's `i32`) by their value's proto name, through the helpers in `src/json.rs`.
fn serde_attributes(
    mut builder: Builder,
    descriptors: &FileDescriptorSet,
) -> Result<Builder, String> {
    builder = builder.type_attribute(".", "#[derive(serde::Serialize)]");
    for file in &descriptors.file {
        let package = file.package();
        if package != "vchain.v1" {
            return Err(format!(
                "{}: only package vchain.v1 is mapped to crate::v1",
                file.name()
            ));
        }
        for enumeration in &file.enum_type {
            for value in &enumeration.value {
                builder = builder.field_attribute(
                    format!(".{package}.{}.{}", enumeration.name(), value.name()),
                    format!("#[serde(rename = \"{}\")]", value.name()),
                );
            }
        }
        for message in &file.message_type {
            if !message.enum_type.is_empty() || !message.nested_type.is_empty() {
                return Err(format!(
                    "{}: nested types are not mapped to Rust paths here; declare them at the top",
                    message.name()
                ));
            }
            let message_path = format!(".{package}.{}", message.name());
            for oneof in &message.oneof_decl {
                // The oneof's struct field takes no attribute (a path attribute on it would reach
                // its variants too): prost names it after the oneof, which must then be the JSON
                // name already.
                if !is_snake_case(oneof.name()) {
                    return Err(format!(
                        "{message_path}.{}: oneof name not snake_case",
                        oneof.name()
                    ));
                }
            }
            for field in &message.field {
                if field.proto3_optional() {
                    return Err(format!(
                        "{message_path}.{}: proto3 optional fields are not mapped (prost makes them Option)",
                        field.name()
                    ));
                }
                let path = match field.oneof_index {
                    Some(index) => {
                        let oneof = &message.oneof_decl
                            [usize::try_from(index).map_err(|e| e.to_string())?];
                        format!("{message_path}.{}.{}", oneof.name(), field.name())
                    }
                    _ => format!("{message_path}.{}", field.name()),
                };
                let repeated = field.label.unwrap_or_default() == LABEL_REPEATED;
                let with = match field.r#type.unwrap_or_default() {
                    TYPE_BYTES if repeated => Some("crate::json::hex_list".to_owned()),
                    TYPE_BYTES => Some("crate::json::hex".to_owned()),
                    TYPE_ENUM if ENUM_FIELDS_AS_NUMBERS.contains(&path.as_str()) => None,
                    TYPE_ENUM => {
                        let enum_type = field
                            .type_name()
                            .strip_prefix(&format!(".{package}."))
                            .filter(|name| !name.contains('.'))
                            .ok_or_else(|| {
                                format!(
                                    "{path}: enum type {} is not top-level in {package}",
                                    field.type_name()
                                )
                            })?;
                        let helper = if repeated { "enum_names" } else { "enum_name" };
                        Some(format!(
                            "crate::json::{helper}::<crate::v1::{enum_type}, _>"
                        ))
                    }
                    _ => None,
                };
                let attribute = match with {
                    Some(with) => format!(
                        "#[serde(rename = \"{}\", serialize_with = \"{with}\")]",
                        field.name()
                    ),
                    None => format!("#[serde(rename = \"{}\")]", field.name()),
                };
                builder = builder.field_attribute(path, attribute);
            }
        }
    }
    Ok(builder)
}

fn is_snake_case(name: &str) -> bool {
    name.bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}
