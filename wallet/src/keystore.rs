//! The encrypted keystore: one JSON file holding many named ed25519 keys.
//!
//! Each key is encrypted on its own with a passphrase, so keys of different accounts can have
//! different passphrases and unlocking one never decrypts another:
//!
//! - the passphrase is stretched with **argon2id** (random 16-byte salt; memory, iterations and
//!   lanes stored with the entry, so entries written with other parameters stay readable);
//! - the 32-byte ed25519 secret is sealed with **XChaCha20-Poly1305** under that key (random
//!   24-byte nonce), with the entry's public key as associated data;
//! - name, account id, public key and creation time are stored in clear, so `key list` needs no
//!   passphrase.
//!
//! The file is written atomically (temporary file in the same directory, then rename) with mode
//! 0600. Its layout (`version` 1):
//!
//! ```json
//! {
//!   "version": 1,
//!   "keys": [
//!     {
//!       "name": "acme-treasury",
//!       "account_id": "acme-treasury",
//!       "public_key": "<64 hex chars>",
//!       "created": "2024-01-01T00:00:00.000Z",
//!       "crypto": {
//!         "kdf": "argon2id",
//!         "kdf_params": { "m_cost_kib": 19456, "t_cost": 2, "p_cost": 1, "salt": "<32 hex chars>" },
//!         "cipher": "xchacha20poly1305",
//!         "nonce": "<48 hex chars>",
//!         "ciphertext": "<96 hex chars: 32-byte secret + 16-byte tag>"
//!       }
//!     }
//!   ]
//! }
//! ```
//!
//! ```
//! # fn main() -> Result<(), vchain_wallet::KeystoreError> {
//! use vchain_wallet::keystore::{KdfParams, Keystore};
//! let dir = std::env::temp_dir().join(format!("vchain-keystore-doc-{}", std::process::id()));
//! let path = dir.join("keystore.json");
//! let mut ks = Keystore::load_or_create(&path)?.with_kdf_params(KdfParams::insecure_fast());
//! let public = ks.generate("alice", Some("alice-main"), "correct horse")?;
//! ks.save()?;
//! let ks = Keystore::load_or_create(&path)?;
//! assert_eq!(ks.unlock("alice", "correct horse")?.verifying_key(), public);
//! assert!(ks.unlock("alice", "wrong").is_err());
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok(())
//! # }
//! ```

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use ed25519_dalek::{SigningKey, VerifyingKey, PUBLIC_KEY_LENGTH, SECRET_KEY_LENGTH};
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

const FORMAT_VERSION: u32 = 1;
const KDF_NAME: &str = "argon2id";
const CIPHER_NAME: &str = "xchacha20poly1305";
const SALT_LEN: usize = 16;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
const AAD_PREFIX: &[u8] = b"vchain-keystore-v1:";
const MAX_NAME_LEN: usize = 128;

/// Why a keystore operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeystoreError {
    /// Reading, writing or renaming the keystore file failed.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What was being done ("read", "write", ...).
        action: &'static str,
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The file exists but is not a keystore this version understands.
    #[error("keystore {path} is not valid: {reason}")]
    Invalid {
        /// The keystore file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// No key of that name.
    #[error("no key named {0:?} in the keystore")]
    NotFound(String),
    /// A key of that name already exists (names are unique).
    #[error("a key named {0:?} already exists in the keystore")]
    DuplicateName(String),
    /// Names are 1 to 128 letters, digits or `-_.@:`.
    #[error("invalid key name {0:?}: use 1 to 128 letters, digits or -_.@:")]
    InvalidName(String),
    /// An empty passphrase was given for a new key.
    #[error("the passphrase is empty")]
    EmptyPassphrase,
    /// Decryption failed: the passphrase is wrong or the encrypted secret was altered.
    #[error("wrong passphrase for key {0:?} (or its encrypted secret is corrupted)")]
    WrongPassphrase(String),
    /// The secret decrypted but does not belong to the entry's public key.
    #[error("key {0:?}: the decrypted secret does not match the stored public key")]
    KeyMismatch(String),
    /// The argon2 parameters are out of range.
    #[error("invalid key derivation parameters: {0}")]
    Kdf(String),
}

/// argon2id cost parameters, stored with every entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    /// Memory cost in KiB.
    pub m_cost_kib: u32,
    /// Number of passes.
    pub t_cost: u32,
    /// Degree of parallelism (lanes).
    pub p_cost: u32,
}

impl Default for KdfParams {
    /// The argon2 crate's defaults (OWASP's recommendation: 19 MiB, 2 passes, 1 lane).
    fn default() -> Self {
        Self {
            m_cost_kib: Params::DEFAULT_M_COST,
            t_cost: Params::DEFAULT_T_COST,
            p_cost: Params::DEFAULT_P_COST,
        }
    }
}

impl KdfParams {
    /// Minimal parameters (8 KiB, 1 pass): for tests and throw-away dev keystores only.
    pub fn insecure_fast() -> Self {
        Self {
            m_cost_kib: 8,
            t_cost: 1,
            p_cost: 1,
        }
    }

    fn argon2(&self) -> Result<Argon2<'static>, KeystoreError> {
        let params = Params::new(self.m_cost_kib, self.t_cost, self.p_cost, Some(32))
            .map_err(|e| KeystoreError::Kdf(e.to_string()))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }
}

/// One key of the keystore: its public data and its encrypted secret.
#[derive(Debug, Clone)]
pub struct KeyEntry {
    name: String,
    account_id: Option<String>,
    public_key: VerifyingKey,
    created: Option<String>,
    kdf: KdfParams,
    salt: Vec<u8>,
    nonce: [u8; NONCE_LEN],
    ciphertext: Vec<u8>,
}

impl KeyEntry {
    /// The key's name in the keystore.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The on-chain account the key signs for, if set.
    pub fn account_id(&self) -> Option<&str> {
        self.account_id.as_deref()
    }

    /// The ed25519 public key.
    pub fn public_key(&self) -> &VerifyingKey {
        &self.public_key
    }

    /// The public key as 64 lowercase hex characters.
    pub fn public_key_hex(&self) -> String {
        hex::encode(self.public_key.as_bytes())
    }

    /// When the entry was created (UTC ISO-8601), if recorded.
    pub fn created(&self) -> Option<&str> {
        self.created.as_deref()
    }

    /// The argon2id parameters the secret is encrypted under.
    pub fn kdf_params(&self) -> KdfParams {
        self.kdf
    }
}

/// A keystore file and the keys it holds. Changes are in memory until [`Keystore::save`].
#[derive(Debug, Clone)]
pub struct Keystore {
    path: PathBuf,
    kdf: KdfParams,
    entries: Vec<KeyEntry>,
}

impl Keystore {
    /// Loads the keystore at `path`; a missing file gives an empty keystore (written on
    /// [`Keystore::save`]). New keys use [`KdfParams::default`].
    pub fn load_or_create(path: &Path) -> Result<Self, KeystoreError> {
        let entries = match fs::read(path) {
            Ok(bytes) => decode_file(path, &bytes)?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(source) => {
                return Err(KeystoreError::Io {
                    action: "read keystore",
                    path: path.to_owned(),
                    source,
                })
            }
        };
        Ok(Self {
            path: path.to_owned(),
            kdf: KdfParams::default(),
            entries,
        })
    }

    /// Uses `params` for keys generated or imported from now on (existing entries keep theirs).
    pub fn with_kdf_params(mut self, params: KdfParams) -> Self {
        self.kdf = params;
        self
    }

    /// The keystore file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Generates a new random key (from the OS RNG) named `name`, encrypted with `passphrase`.
    /// Fails if the name is taken.
    pub fn generate(
        &mut self,
        name: &str,
        account_id: Option<&str>,
        passphrase: &str,
    ) -> Result<VerifyingKey, KeystoreError> {
        let key = SigningKey::generate(&mut OsRng);
        self.import(name, account_id, &key, passphrase)?;
        Ok(key.verifying_key())
    }

    /// Adds an existing secret key named `name`, encrypted with `passphrase`.
    /// Fails if the name is taken.
    pub fn import(
        &mut self,
        name: &str,
        account_id: Option<&str>,
        key: &SigningKey,
        passphrase: &str,
    ) -> Result<(), KeystoreError> {
        validate_name(name)?;
        if self.entry(name).is_some() {
            return Err(KeystoreError::DuplicateName(name.to_owned()));
        }
        if passphrase.is_empty() {
            return Err(KeystoreError::EmptyPassphrase);
        }
        let public_key = key.verifying_key();
        let mut salt = vec![0u8; SALT_LEN];
        OsRng.fill_bytes(&mut salt);
        let mut nonce = [0u8; NONCE_LEN];
        OsRng.fill_bytes(&mut nonce);
        let cipher = cipher(&self.kdf, &salt, passphrase)?;
        let secret = Zeroizing::new(key.to_bytes());
        let ciphertext = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: secret.as_slice(),
                    aad: &aad(&public_key),
                },
            )
            .map_err(|_| KeystoreError::Kdf("encryption failed".into()))?;
        self.entries.push(KeyEntry {
            name: name.to_owned(),
            account_id: account_id.map(str::to_owned),
            public_key,
            created: Some(crate::time::format_utc_ms(crate::time::now_ms())),
            kdf: self.kdf,
            salt,
            nonce,
            ciphertext,
        });
        Ok(())
    }

    /// Decrypts the key named `name` with `passphrase`.
    ///
    /// A wrong passphrase (or an altered ciphertext) gives [`KeystoreError::WrongPassphrase`];
    /// a secret that does not match the stored public key gives [`KeystoreError::KeyMismatch`].
    pub fn unlock(&self, name: &str, passphrase: &str) -> Result<SigningKey, KeystoreError> {
        let entry = self
            .entry(name)
            .ok_or_else(|| KeystoreError::NotFound(name.to_owned()))?;
        let cipher = cipher(&entry.kdf, &entry.salt, passphrase)?;
        let plain = Zeroizing::new(
            cipher
                .decrypt(
                    XNonce::from_slice(&entry.nonce),
                    Payload {
                        msg: &entry.ciphertext,
                        aad: &aad(&entry.public_key),
                    },
                )
                .map_err(|_| KeystoreError::WrongPassphrase(name.to_owned()))?,
        );
        let secret: Zeroizing<[u8; SECRET_KEY_LENGTH]> = Zeroizing::new(
            plain
                .as_slice()
                .try_into()
                .map_err(|_| KeystoreError::KeyMismatch(name.to_owned()))?,
        );
        let key = SigningKey::from_bytes(&secret);
        if key.verifying_key() != entry.public_key {
            return Err(KeystoreError::KeyMismatch(name.to_owned()));
        }
        Ok(key)
    }

    /// The entry named `name`.
    pub fn entry(&self, name: &str) -> Option<&KeyEntry> {
        self.entries.iter().find(|e| e.name == name)
    }

    /// Every entry, in the order they were added.
    pub fn entries(&self) -> &[KeyEntry] {
        &self.entries
    }

    /// Records the on-chain account the key named `name` signs for.
    pub fn set_account(&mut self, name: &str, account_id: &str) -> Result<(), KeystoreError> {
        let entry = self
            .entries
            .iter_mut()
            .find(|e| e.name == name)
            .ok_or_else(|| KeystoreError::NotFound(name.to_owned()))?;
        entry.account_id = Some(account_id.to_owned());
        Ok(())
    }

    /// Writes the keystore to its file: atomically (temporary file, then rename), mode 0600,
    /// creating the parent directory (mode 0700) if needed.
    pub fn save(&self) -> Result<(), KeystoreError> {
        let file = StoredFile {
            version: FORMAT_VERSION,
            keys: self.entries.iter().map(StoredEntry::from).collect(),
        };
        let mut json = serde_json::to_vec_pretty(&file).map_err(|e| KeystoreError::Invalid {
            path: self.path.clone(),
            reason: format!("cannot encode: {e}"),
        })?;
        json.push(b'\n');
        write_atomic(&self.path, &json)
    }
}

fn validate_name(name: &str) -> Result<(), KeystoreError> {
    let ok = !name.is_empty()
        && name.chars().count() <= MAX_NAME_LEN
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || "-_.@:".contains(c));
    if ok {
        Ok(())
    } else {
        Err(KeystoreError::InvalidName(name.to_owned()))
    }
}

fn aad(public_key: &VerifyingKey) -> Vec<u8> {
    [AAD_PREFIX, public_key.as_bytes()].concat()
}

fn cipher(
    kdf: &KdfParams,
    salt: &[u8],
    passphrase: &str,
) -> Result<XChaCha20Poly1305, KeystoreError> {
    let mut key = Zeroizing::new([0u8; 32]);
    kdf.argon2()?
        .hash_password_into(passphrase.as_bytes(), salt, key.as_mut_slice())
        .map_err(|e| KeystoreError::Kdf(e.to_string()))?;
    Ok(XChaCha20Poly1305::new(chacha20poly1305::Key::from_slice(
        key.as_slice(),
    )))
}

// ---------------------------------------------------------------------------------------------
// File format
// ---------------------------------------------------------------------------------------------

#[derive(Serialize, Deserialize)]
struct StoredFile {
    version: u32,
    #[serde(default)]
    keys: Vec<StoredEntry>,
}

#[derive(Serialize, Deserialize)]
struct StoredEntry {
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    account_id: Option<String>,
    public_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    created: Option<String>,
    crypto: StoredCrypto,
}

#[derive(Serialize, Deserialize)]
struct StoredCrypto {
    kdf: String,
    kdf_params: StoredKdfParams,
    cipher: String,
    nonce: String,
    ciphertext: String,
}

#[derive(Serialize, Deserialize)]
struct StoredKdfParams {
    m_cost_kib: u32,
    t_cost: u32,
    p_cost: u32,
    salt: String,
}

impl From<&KeyEntry> for StoredEntry {
    fn from(e: &KeyEntry) -> Self {
        Self {
            name: e.name.clone(),
            account_id: e.account_id.clone(),
            public_key: e.public_key_hex(),
            created: e.created.clone(),
            crypto: StoredCrypto {
                kdf: KDF_NAME.to_owned(),
                kdf_params: StoredKdfParams {
                    m_cost_kib: e.kdf.m_cost_kib,
                    t_cost: e.kdf.t_cost,
                    p_cost: e.kdf.p_cost,
                    salt: hex::encode(&e.salt),
                },
                cipher: CIPHER_NAME.to_owned(),
                nonce: hex::encode(e.nonce),
                ciphertext: hex::encode(&e.ciphertext),
            },
        }
    }
}

fn decode_file(path: &Path, bytes: &[u8]) -> Result<Vec<KeyEntry>, KeystoreError> {
    let invalid = |reason: String| KeystoreError::Invalid {
        path: path.to_owned(),
        reason,
    };
    let file: StoredFile = serde_json::from_slice(bytes).map_err(|e| invalid(e.to_string()))?;
    if file.version != FORMAT_VERSION {
        return Err(invalid(format!(
            "unsupported version {} (expected {FORMAT_VERSION})",
            file.version
        )));
    }
    let mut entries: Vec<KeyEntry> = Vec::with_capacity(file.keys.len());
    for stored in file.keys {
        let entry = decode_entry(stored).map_err(&invalid)?;
        if entries.iter().any(|e| e.name == entry.name) {
            return Err(invalid(format!("key name {:?} appears twice", entry.name)));
        }
        entries.push(entry);
    }
    Ok(entries)
}

fn decode_entry(s: StoredEntry) -> Result<KeyEntry, String> {
    let name = s.name;
    let ctx = |what: &str| format!("key {name:?}: {what}");
    validate_name(&name).map_err(|e| e.to_string())?;
    let public: [u8; PUBLIC_KEY_LENGTH] = hex::decode(&s.public_key)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| ctx("public_key is not 32 bytes of hex"))?;
    let public_key =
        VerifyingKey::from_bytes(&public).map_err(|_| ctx("public_key is not an ed25519 point"))?;
    if s.crypto.kdf != KDF_NAME {
        return Err(ctx(&format!("unsupported kdf {:?}", s.crypto.kdf)));
    }
    if s.crypto.cipher != CIPHER_NAME {
        return Err(ctx(&format!("unsupported cipher {:?}", s.crypto.cipher)));
    }
    let p = &s.crypto.kdf_params;
    let kdf = KdfParams {
        m_cost_kib: p.m_cost_kib,
        t_cost: p.t_cost,
        p_cost: p.p_cost,
    };
    kdf.argon2().map_err(|e| ctx(&e.to_string()))?;
    let salt = hex::decode(&p.salt).map_err(|_| ctx("salt is not hex"))?;
    if salt.len() < argon2::MIN_SALT_LEN {
        return Err(ctx("salt is too short"));
    }
    let nonce: [u8; NONCE_LEN] = hex::decode(&s.crypto.nonce)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| ctx("nonce is not 24 bytes of hex"))?;
    let ciphertext = hex::decode(&s.crypto.ciphertext).map_err(|_| ctx("ciphertext is not hex"))?;
    if ciphertext.len() != SECRET_KEY_LENGTH + TAG_LEN {
        return Err(ctx("ciphertext has the wrong length"));
    }
    Ok(KeyEntry {
        name,
        account_id: s.account_id,
        public_key,
        created: s.created,
        kdf,
        salt,
        nonce,
        ciphertext,
    })
}

// ---------------------------------------------------------------------------------------------
// Atomic write
// ---------------------------------------------------------------------------------------------

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), KeystoreError> {
    let io_err = |action: &'static str, p: &Path| {
        let p = p.to_owned();
        move |source| KeystoreError::Io {
            action,
            path: p,
            source,
        }
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    if !dir.exists() {
        create_private_dir(&dir).map_err(io_err("create directory", &dir))?;
    }
    let file_name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("keystore.json");
    let tmp = dir.join(format!(
        ".{file_name}.tmp.{}.{}",
        std::process::id(),
        TMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut file = open_private(&tmp).map_err(io_err("create", &tmp))?;
        file.write_all(bytes).map_err(io_err("write", &tmp))?;
        file.sync_all().map_err(io_err("sync", &tmp))?;
        drop(file);
        fs::rename(&tmp, path).map_err(io_err("replace keystore", path))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result?;
    // Make the rename durable; failure here does not undo a completed write.
    if let Ok(d) = fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(unix)]
fn open_private(path: &Path) -> io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn open_private(path: &Path) -> io::Result<fs::File> {
    OpenOptions::new().write(true).create_new(true).open(path)
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fast(path: &Path) -> Keystore {
        Keystore::load_or_create(path)
            .expect("load")
            .with_kdf_params(KdfParams::insecure_fast())
    }

    #[test]
    fn round_trip_generate_save_reload_unlock() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sub").join("keystore.json");
        let mut ks = fast(&path);
        assert!(ks.entries().is_empty());
        let alice = ks
            .generate("alice", Some("alice-main"), "pw-a")
            .expect("generate");
        let bob_key = SigningKey::from_bytes(&[9; 32]);
        ks.import("bob", None, &bob_key, "pw-b").expect("import");
        ks.save().expect("save");

        let mut ks = Keystore::load_or_create(&path).expect("reload");
        assert_eq!(ks.entries().len(), 2);
        let a = ks.entry("alice").expect("alice");
        assert_eq!(a.account_id(), Some("alice-main"));
        assert_eq!(a.public_key(), &alice);
        assert_eq!(a.public_key_hex(), hex::encode(alice.as_bytes()));
        assert_eq!(a.kdf_params(), KdfParams::insecure_fast());
        assert!(a.created().is_some());
        assert_eq!(
            ks.unlock("alice", "pw-a").expect("unlock").verifying_key(),
            alice
        );
        assert_eq!(
            ks.unlock("bob", "pw-b").expect("unlock").to_bytes(),
            [9; 32]
        );

        ks.set_account("bob", "bob-main").expect("set account");
        ks.save().expect("save");
        let ks = Keystore::load_or_create(&path).expect("reload");
        assert_eq!(
            ks.entry("bob").and_then(KeyEntry::account_id),
            Some("bob-main")
        );
        assert_eq!(ks.entries()[0].name(), "alice");
    }

    #[test]
    fn missing_file_is_empty_and_unknown_names_are_not_found() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut ks = fast(&dir.path().join("none.json"));
        assert!(ks.entries().is_empty());
        assert!(matches!(ks.unlock("x", "pw"), Err(KeystoreError::NotFound(n)) if n == "x"));
        assert!(matches!(
            ks.set_account("x", "a"),
            Err(KeystoreError::NotFound(_))
        ));
        assert!(!dir.path().join("none.json").exists());
    }

    #[test]
    fn wrong_passphrase_is_a_typed_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut ks = fast(&dir.path().join("k.json"));
        ks.generate("alice", None, "right").expect("generate");
        assert!(
            matches!(ks.unlock("alice", "wrong"), Err(KeystoreError::WrongPassphrase(n)) if n == "alice")
        );
    }

    #[test]
    fn tampered_ciphertext_fails() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("k.json");
        let mut ks = fast(&path);
        ks.generate("alice", None, "pw").expect("generate");
        ks.save().expect("save");

        let mut doc: serde_json::Value =
            serde_json::from_slice(&fs::read(&path).expect("read")).expect("json");
        let ct = doc["keys"][0]["crypto"]["ciphertext"]
            .as_str()
            .expect("ciphertext")
            .to_owned();
        let mut bytes = hex::decode(ct).expect("hex");
        bytes[3] ^= 0x01;
        doc["keys"][0]["crypto"]["ciphertext"] = serde_json::Value::String(hex::encode(bytes));
        fs::write(&path, serde_json::to_vec(&doc).expect("encode")).expect("write");

        let ks = Keystore::load_or_create(&path).expect("still loads");
        assert!(matches!(
            ks.unlock("alice", "pw"),
            Err(KeystoreError::WrongPassphrase(_))
        ));
    }

    #[test]
    fn swapped_public_key_fails() {
        // The public key is bound as associated data: replacing it breaks decryption.
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("k.json");
        let mut ks = fast(&path);
        ks.generate("alice", None, "pw").expect("generate");
        ks.save().expect("save");
        let mut doc: serde_json::Value =
            serde_json::from_slice(&fs::read(&path).expect("read")).expect("json");
        let other = SigningKey::from_bytes(&[1; 32]).verifying_key();
        doc["keys"][0]["public_key"] = serde_json::Value::String(hex::encode(other.as_bytes()));
        fs::write(&path, serde_json::to_vec(&doc).expect("encode")).expect("write");
        let ks = Keystore::load_or_create(&path).expect("loads");
        assert!(ks.unlock("alice", "pw").is_err());
    }

    #[test]
    fn duplicate_and_invalid_names_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut ks = fast(&dir.path().join("k.json"));
        ks.generate("alice", None, "pw").expect("generate");
        assert!(
            matches!(ks.generate("alice", None, "pw"), Err(KeystoreError::DuplicateName(n)) if n == "alice")
        );
        let key = SigningKey::from_bytes(&[2; 32]);
        assert!(matches!(
            ks.import("alice", None, &key, "pw"),
            Err(KeystoreError::DuplicateName(_))
        ));
        assert!(matches!(
            ks.generate("", None, "pw"),
            Err(KeystoreError::InvalidName(_))
        ));
        assert!(matches!(
            ks.generate("a b", None, "pw"),
            Err(KeystoreError::InvalidName(_))
        ));
        assert!(matches!(
            ks.generate("carol", None, ""),
            Err(KeystoreError::EmptyPassphrase)
        ));
        assert_eq!(ks.entries().len(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn file_mode_is_0600_and_no_temp_files_are_left() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("k.json");
        let mut ks = fast(&path);
        ks.generate("alice", None, "pw").expect("generate");
        ks.save().expect("save");
        ks.save().expect("save again over the existing file");
        let mode = fs::metadata(&path).expect("metadata").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let names: Vec<_> = fs::read_dir(dir.path())
            .expect("read_dir")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("k.json")]);
    }

    #[test]
    fn invalid_files_are_reported() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("k.json");
        fs::write(&path, b"not json").expect("write");
        assert!(matches!(
            Keystore::load_or_create(&path),
            Err(KeystoreError::Invalid { .. })
        ));
        fs::write(&path, br#"{"version": 2, "keys": []}"#).expect("write");
        assert!(matches!(
            Keystore::load_or_create(&path),
            Err(KeystoreError::Invalid { .. })
        ));
        fs::write(&path, br#"{"version": 1, "keys": []}"#).expect("write");
        assert!(Keystore::load_or_create(&path)
            .expect("empty")
            .entries()
            .is_empty());
    }

    #[test]
    fn default_params_work() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut ks = Keystore::load_or_create(&dir.path().join("k.json")).expect("load");
        let public = ks.generate("alice", None, "pw").expect("generate");
        assert_eq!(
            ks.entry("alice").expect("entry").kdf_params(),
            KdfParams::default()
        );
        assert_eq!(
            ks.unlock("alice", "pw").expect("unlock").verifying_key(),
            public
        );
    }
}
