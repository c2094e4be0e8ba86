//! Where a key's passphrase comes from: `--passphrase-file`, then `VCHAIN_PASSPHRASE`, then a
//! prompt on a terminal; anything else is an error (exit code 6), never a silent default.

use std::io::IsTerminal;
use std::path::Path;

use anyhow::Context;
use zeroize::Zeroizing;

use crate::exit::KeyProblem;

/// Environment variable holding the passphrase.
pub(crate) const PASSPHRASE_ENV: &str = "VCHAIN_PASSPHRASE";

/// Obtains the passphrase for `key_name`. `confirm` asks twice on a terminal (for new keys).
pub(crate) fn obtain(
    file: Option<&Path>,
    key_name: &str,
    confirm: bool,
) -> anyhow::Result<Zeroizing<String>> {
    if let Some(path) = file {
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
            KeyProblem(format!(
                "cannot read passphrase file {}: {e}",
                path.display()
            ))
        })?);
        return Ok(Zeroizing::new(first_line(&text).to_owned()));
    }
    if let Ok(p) = std::env::var(PASSPHRASE_ENV) {
        return Ok(Zeroizing::new(p));
    }
    if std::io::stdin().is_terminal() {
        let first = Zeroizing::new(
            rpassword::prompt_password(format!("Passphrase for key {key_name}: "))
                .context("reading passphrase")?,
        );
        if confirm {
            let again = Zeroizing::new(
                rpassword::prompt_password("Repeat passphrase: ").context("reading passphrase")?,
            );
            if *again != *first {
                return Err(KeyProblem("the passphrases do not match".into()).into());
            }
        }
        return Ok(first);
    }
    Err(KeyProblem(format!(
        "no passphrase for key {key_name}: use --passphrase-file, set {PASSPHRASE_ENV}, or run on a terminal"
    ))
    .into())
}

/// The first line of a passphrase file, without its line ending.
fn first_line(text: &str) -> &str {
    let line = text.split('\n').next().unwrap_or("");
    line.strip_suffix('\r').unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passphrase_file_first_line() {
        assert_eq!(first_line("secret\n"), "secret");
        assert_eq!(first_line("secret\r\nignored"), "secret");
        assert_eq!(first_line("with spaces "), "with spaces ");
        assert_eq!(first_line(""), "");
    }

    #[test]
    fn passphrase_from_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("pw");
        std::fs::write(&p, "hunter2\n").expect("write");
        assert_eq!(
            obtain(Some(&p), "k", false).expect("read").as_str(),
            "hunter2"
        );
        let err = obtain(Some(&dir.path().join("missing")), "k", false).expect_err("missing");
        assert_eq!(
            crate::exit::exit_for_error(&err),
            crate::exit::Exit::Keystore
        );
    }
}
