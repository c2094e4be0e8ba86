//! vchain's JSON mapping of the messages (feature `serde`, ADR 0013): the helpers the generated
//! `Serialize` derives call for bytes and enum fields. `build.rs` attaches them to every field
//! from the descriptors, so no message is mapped by hand.
//!
//! The mapping: field names are the proto names; bytes are lowercase hex; an enum field is its
//! value's proto name (`UNKNOWN_<n>` for a value this build does not know); a oneof is an object
//! with one key, the set field's proto name; integers are JSON numbers (u64 too, unlike proto3's
//! canonical JSON, which quotes them); every field is present, defaults included.
//!
//! Owns: only this mapping. Must not depend on: anything but serde and hex.

use serde::ser::SerializeSeq as _;
use serde::{Serialize, Serializer};

/// A bytes field as lowercase hex.
pub(crate) fn hex<B, S>(bytes: &B, serializer: S) -> Result<S::Ok, S::Error>
where
    B: AsRef<[u8]> + ?Sized,
    S: Serializer,
{
    serializer.serialize_str(&hex::encode(bytes))
}

/// A repeated bytes field as a list of lowercase hex strings.
pub(crate) fn hex_list<S: Serializer>(list: &[Vec<u8>], serializer: S) -> Result<S::Ok, S::Error> {
    let mut seq = serializer.serialize_seq(Some(list.len()))?;
    for bytes in list {
        seq.serialize_element(&hex::encode(bytes))?;
    }
    seq.end()
}

/// An enum field (prost keeps it as `i32`) as its value's proto name.
pub(crate) fn enum_name<E, S>(value: &i32, serializer: S) -> Result<S::Ok, S::Error>
where
    E: TryFrom<i32> + Serialize,
    S: Serializer,
{
    match E::try_from(*value) {
        Ok(known) => known.serialize(serializer),
        Err(_) => serializer.serialize_str(&format!("UNKNOWN_{value}")),
    }
}

/// A repeated enum field as a list of proto names.
// No message has a repeated enum field yet; `build.rs` attaches this to the first one.
#[allow(dead_code)]
pub(crate) fn enum_names<E, S>(values: &[i32], serializer: S) -> Result<S::Ok, S::Error>
where
    E: TryFrom<i32> + Serialize,
    S: Serializer,
{
    struct Name<E>(i32, std::marker::PhantomData<E>);
    impl<E: TryFrom<i32> + Serialize> Serialize for Name<E> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            enum_name::<E, S>(&self.0, serializer)
        }
    }
    let mut seq = serializer.serialize_seq(Some(values.len()))?;
    for &value in values {
        seq.serialize_element(&Name::<E>(value, std::marker::PhantomData))?;
    }
    seq.end()
}
