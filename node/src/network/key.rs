//! The node key: an ed25519 secret in `<data_dir>/node_key` whose public key is the node's
//! libp2p identity ([`PeerId`]).

use std::fs;
use std::io::{self, Write};
use std::path::Path;

use libp2p::identity::{ed25519, Keypair, PublicKey};
use libp2p::PeerId;

use super::NetworkError;

/// Name of the key file inside the data directory.
pub const NODE_KEY_FILE: &str = "node_key";

/// Length of an ed25519 secret key.
const SECRET_BYTES: usize = 32;

/// A node's ed25519 network key.
#[derive(Clone)]
pub struct NodeKey {
    keypair: ed25519::Keypair,
}

impl std::fmt::Debug for NodeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret.
        f.debug_struct("NodeKey")
            .field("peer_id", &self.peer_id())
            .finish()
    }
}

impl NodeKey {
    /// A fresh random key (tests, and `load_or_create` on first start).
    pub fn generate() -> Self {
        Self {
            keypair: ed25519::Keypair::generate(),
        }
    }

    /// Reads `<data_dir>/node_key`, or creates it (mode 0600, the directory 0700) if missing.
    ///
    /// The file holds the 32-byte secret as 64 hex digits and a newline.
    pub fn load_or_create(data_dir: &Path) -> Result<Self, NetworkError> {
        let path = data_dir.join(NODE_KEY_FILE);
        match fs::read_to_string(&path) {
            Ok(text) => {
                if let Some(mode) = exposed_mode(&path) {
                    // Whoever reads it can speak as this node to the consortium.
                    tracing::warn!(
                        path = %path.display(),
                        mode = format!("{mode:o}"),
                        "the node key can be read by other users: run chmod 600 on it"
                    );
                }
                Self::parse(&path, &text)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let key = Self::generate();
                key.write_new(data_dir, &path)?;
                tracing::info!(peer = %key.peer_id(), path = %path.display(), "created node key");
                Ok(key)
            }
            Err(source) => Err(NetworkError::KeyIo { path, source }),
        }
    }

    fn parse(path: &Path, text: &str) -> Result<Self, NetworkError> {
        let invalid = |why: String| NetworkError::KeyInvalid {
            path: path.to_owned(),
            why,
        };
        let bytes = hex::decode(text.trim()).map_err(|e| invalid(e.to_string()))?;
        if bytes.len() != SECRET_BYTES {
            return Err(invalid(format!(
                "{} bytes, expected {SECRET_BYTES}",
                bytes.len()
            )));
        }
        let secret =
            ed25519::SecretKey::try_from_bytes(bytes).map_err(|e| invalid(e.to_string()))?;
        Ok(Self {
            keypair: ed25519::Keypair::from(secret),
        })
    }

    fn write_new(&self, data_dir: &Path, path: &Path) -> Result<(), NetworkError> {
        let io_error = |source| NetworkError::KeyIo {
            path: path.to_owned(),
            source,
        };
        create_private_dir(data_dir).map_err(io_error)?;
        let text = format!("{}\n", hex::encode(self.keypair.secret().as_ref()));
        // create_new: two nodes racing on one directory never overwrite each other's key.
        let mut file = open_private(path).map_err(io_error)?;
        file.write_all(text.as_bytes()).map_err(io_error)?;
        file.sync_all().map_err(io_error)?;
        Ok(())
    }

    /// The node's libp2p identity.
    pub fn peer_id(&self) -> PeerId {
        self.public_key().to_peer_id()
    }

    /// The libp2p public key.
    pub(crate) fn public_key(&self) -> PublicKey {
        PublicKey::from(self.keypair.public())
    }

    /// The raw 32-byte ed25519 public key as hex, for genesis and configs.
    pub fn public_key_hex(&self) -> String {
        hex::encode(self.keypair.public().to_bytes())
    }

    /// The raw 32-byte ed25519 public key (the node's consensus key).
    pub fn public_key_bytes(&self) -> [u8; 32] {
        self.keypair.public().to_bytes()
    }

    /// This node's ed25519 signature over `message` (its consensus votes under PBFT).
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        let signature = self.keypair.sign(message);
        signature
            .try_into()
            .expect("an ed25519 signature is 64 bytes")
    }

    /// The key as libp2p wants it.
    pub(crate) fn to_keypair(&self) -> Keypair {
        Keypair::from(self.keypair.clone())
    }
}

/// The PeerId of a consortium node listed by its raw ed25519 public key (64 hex digits).
pub fn peer_id_from_public_key_hex(key: &str) -> Result<PeerId, NetworkError> {
    let invalid = |why: String| NetworkError::PublicKeyInvalid {
        key: key.to_owned(),
        why,
    };
    let bytes = hex::decode(key.trim()).map_err(|e| invalid(e.to_string()))?;
    let public = ed25519::PublicKey::try_from_bytes(&bytes).map_err(|e| invalid(e.to_string()))?;
    Ok(PublicKey::from(public).to_peer_id())
}

/// The file's permission bits if users other than its owner may read or write it.
#[cfg(unix)]
fn exposed_mode(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    let mode = fs::metadata(path).ok()?.permissions().mode() & 0o777;
    (mode & 0o077 != 0).then_some(mode)
}

#[cfg(not(unix))]
fn exposed_mode(_path: &Path) -> Option<u32> {
    None
}

#[cfg(unix)]
fn open_private(path: &Path) -> io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn open_private(path: &Path) -> io::Result<fs::File> {
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
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

    #[cfg(unix)]
    #[test]
    fn a_key_file_others_can_read_is_reported() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        NodeKey::load_or_create(dir.path()).expect("create");
        let path = dir.path().join(NODE_KEY_FILE);
        assert_eq!(exposed_mode(&path), None, "created private");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");
        assert_eq!(exposed_mode(&path), Some(0o644));
        // Still loads (the warning is the operator's to act on).
        NodeKey::load_or_create(dir.path()).expect("loads");
    }

    #[test]
    fn key_is_created_once_private_and_reloaded() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        let first = NodeKey::load_or_create(&data).expect("create");
        let again = NodeKey::load_or_create(&data).expect("reload");
        assert_eq!(first.peer_id(), again.peer_id());
        assert_eq!(
            peer_id_from_public_key_hex(&first.public_key_hex()).expect("derive"),
            first.peer_id()
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(data.join(NODE_KEY_FILE))
                .expect("stat")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(format!("{first:?}").contains(&first.peer_id().to_string()));
    }

    #[test]
    fn corrupt_key_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::write(dir.path().join(NODE_KEY_FILE), "abcd\n").expect("write");
        assert!(matches!(
            NodeKey::load_or_create(dir.path()),
            Err(NetworkError::KeyInvalid { .. })
        ));
        assert!(peer_id_from_public_key_hex("zz").is_err());
    }
}
