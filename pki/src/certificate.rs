//! A certificate's bytes, DER in memory and PEM on disk.

use x509_cert::der::pem::{self, LineEnding};

use crate::parse::{check_len, parse_certificate, WHAT_CERTIFICATE};
use crate::{CertError, PEM_BYTES_MAX};

/// PEM label of a certificate (RFC 7468 §5).
pub const CERTIFICATE_PEM_LABEL: &str = "CERTIFICATE";

/// An X.509 certificate in canonical DER that parses under this crate's profile.
///
/// Parsing is not verifying: use [`crate::verify`] or [`crate::verify_root`] for that.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Certificate {
    der: Vec<u8>,
}

impl Certificate {
    /// Takes DER bytes that parse under this crate's profile (see the crate docs).
    pub fn from_der(der: Vec<u8>) -> Result<Certificate, CertError> {
        parse_certificate(WHAT_CERTIFICATE, &der)?;
        Ok(Certificate { der })
    }

    /// Reads a PEM `CERTIFICATE` block (RFC 7468), e.g. a file written by [`Certificate::to_pem`].
    pub fn from_pem(pem_text: &str) -> Result<Certificate, CertError> {
        let der = pem_decode(WHAT_CERTIFICATE, CERTIFICATE_PEM_LABEL, pem_text)?;
        Certificate::from_der(der)
    }

    /// The PEM `CERTIFICATE` block, `\n` line endings.
    pub fn to_pem(&self) -> String {
        pem_encode(CERTIFICATE_PEM_LABEL, &self.der)
    }

    /// The DER bytes.
    pub fn as_der(&self) -> &[u8] {
        &self.der
    }

    /// The DER bytes, owned.
    pub fn into_der(self) -> Vec<u8> {
        self.der
    }

    /// Constructs from bytes this crate just built and checked.
    #[cfg(feature = "make")]
    pub(crate) fn from_checked_der(der: Vec<u8>) -> Certificate {
        Certificate { der }
    }
}

/// Decodes one PEM block with the given label, refusing anything else.
pub(crate) fn pem_decode(
    what: &'static str,
    label: &'static str,
    pem_text: &str,
) -> Result<Vec<u8>, CertError> {
    check_len(what, pem_text.as_bytes(), PEM_BYTES_MAX)?;
    let (found, der) =
        pem::decode_vec(pem_text.trim().as_bytes()).map_err(|error| CertError::Pem {
            what,
            label,
            reason: error.to_string(),
        })?;
    if found != label {
        return Err(CertError::Pem {
            what,
            label,
            reason: format!("the label is `{found}`"),
        });
    }
    Ok(der)
}

pub(crate) fn pem_encode(label: &'static str, der: &[u8]) -> String {
    // Encoding fails only for labels that are not RFC 7468 labels or lengths beyond usize;
    // our labels are constants and our inputs are bounded.
    match pem::encode_string(label, LineEnding::LF, der) {
        Ok(text) => text,
        Err(error) => unreachable!("PEM encoding of a valid label cannot fail: {error}"),
    }
}
