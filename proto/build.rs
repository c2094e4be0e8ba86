//! Generates the prost messages, and with the `grpc` feature the tonic stubs and the
//! descriptor set that gRPC reflection serves.
use std::{env, path::PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    // SAFETY-free: build scripts are single threaded; prost-build reads PROTOC.
    unsafe { env::set_var("PROTOC", protoc) };
    let grpc = env::var_os("CARGO_FEATURE_GRPC").is_some();
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    let files = [
        "proto/vchain/v1/types.proto",
        "proto/vchain/v1/api.proto",
        "proto/vchain/v1/sync.proto",
    ];
    for file in files {
        println!("cargo:rerun-if-changed={file}");
    }
    tonic_prost_build::configure()
        .build_server(grpc)
        .build_client(grpc)
        .file_descriptor_set_path(out_dir.join("vchain_descriptor.bin"))
        .compile_protos(&files, &["proto"])?;
    Ok(())
}
