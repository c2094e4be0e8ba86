//! vchain's local networks: the testnet runner (the `vchain-testnet` binary) and the IoT sensor
//! simulator ([`sensors`], the `vchain-sensors` binary) that drives a fleet of devices against
//! a running dev node or testnet, and the judgement of soak runs ([`soak`]).
//!
//! Owns: nothing the chain depends on; everything here is a client over gRPC.

pub mod sensors;
pub mod soak;
