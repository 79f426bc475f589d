//! Provider keys at rest and in memory: AES-256-GCM with a data key from configuration, and
//! a wrapper that never prints what it holds and wipes it when dropped.
//!
//! The data key comes from `AI_CREDITS_DATA_KEY` (64 hex characters), else from a key file
//! (`serve --data-key-file PATH`), else — for the embedded SQLite default only — from
//! `ai-credits.key` beside the database, created on first start with mode 0600. A PostgreSQL
//! deployment must name its key (env or file): a key generated on one of several servers would
//! not decrypt what another wrote.

use std::fmt;
use std::path::{Path, PathBuf};

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use rand::RngCore;
use zeroize::Zeroizing;

/// Bytes of an AES-256 key.
const DATA_KEY_BYTES: usize = 32;
/// Bytes of an AES-GCM nonce (96 bits, random per encryption).
const NONCE_BYTES: usize = 12;
/// The name of the key file kept beside an SQLite database.
pub const KEY_FILE_NAME: &str = "ai-credits.key";

/// A secret string (a provider key). `Debug` and `Display` print `[redacted]`; the bytes are
/// zeroed when it is dropped. There is deliberately no `Serialize`.
#[derive(Clone)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    pub fn new(text: String) -> Secret {
        Secret(Zeroizing::new(text))
    }

    /// The secret itself, for the one place that must send it (a provider call) or encrypt it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The last four characters, which the API may show.
    pub fn last4(&self) -> String {
        let chars: Vec<char> = self.0.chars().collect();
        chars[chars.len().saturating_sub(4)..].iter().collect()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
        String::deserialize(d).map(Secret::new)
    }
}

/// The key that encrypts provider keys. Never printed.
#[derive(Clone)]
pub struct DataKey(Zeroizing<[u8; DATA_KEY_BYTES]>);

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey([redacted])")
    }
}

/// A provider key as stored: ciphertext (with its GCM tag) and nonce, in hex.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sealed {
    pub ciphertext_hex: String,
    pub nonce_hex: String,
}

impl DataKey {
    /// Reads 64 hex characters (surrounding whitespace ignored).
    pub fn from_hex(text: &str) -> Result<DataKey, String> {
        let bytes = Zeroizing::new(
            unhex(text.trim())
                .ok_or("the data key must be 64 hexadecimal characters (32 bytes)")?,
        );
        let array: [u8; DATA_KEY_BYTES] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| "the data key must be 64 hexadecimal characters (32 bytes)")?;
        Ok(DataKey(Zeroizing::new(array)))
    }

    /// The key's bytes, for deriving its fingerprint (`data_key`).
    pub(crate) fn bytes(&self) -> &[u8] {
        self.0.as_ref()
    }

    pub fn random() -> DataKey {
        let mut key = Zeroizing::new([0u8; DATA_KEY_BYTES]);
        rand::rng().fill_bytes(key.as_mut());
        DataKey(key)
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(self.0.as_ref().into())
    }

    /// Encrypts `secret`, bound to `context` (account and provider) as associated data, so a
    /// ciphertext copied to another account's row does not decrypt.
    pub fn seal(&self, secret: &Secret, context: &str) -> Result<Sealed, String> {
        let mut nonce = [0u8; NONCE_BYTES];
        rand::rng().fill_bytes(&mut nonce);
        let payload = Payload {
            msg: secret.expose().as_bytes(),
            aad: context.as_bytes(),
        };
        let ciphertext = self
            .cipher()
            .encrypt(Nonce::from_slice(&nonce), payload)
            .map_err(|_| "encryption failed".to_owned())?;
        Ok(Sealed {
            ciphertext_hex: hex::encode(&ciphertext),
            nonce_hex: hex::encode(nonce),
        })
    }

    /// Decrypts what `seal` wrote for the same `context`.
    pub fn open(&self, sealed: &Sealed, context: &str) -> Result<Secret, String> {
        let bad = || "the stored key does not decrypt with this data key".to_owned();
        let ciphertext = unhex(&sealed.ciphertext_hex).ok_or_else(bad)?;
        let nonce = unhex(&sealed.nonce_hex)
            .filter(|n| n.len() == NONCE_BYTES)
            .ok_or_else(bad)?;
        let payload = Payload {
            msg: &ciphertext,
            aad: context.as_bytes(),
        };
        let plain = Zeroizing::new(
            self.cipher()
                .decrypt(Nonce::from_slice(&nonce), payload)
                .map_err(|_| bad())?,
        );
        let text = std::str::from_utf8(&plain).map_err(|_| bad())?;
        Ok(Secret::new(text.to_owned()))
    }
}

/// Where the data key comes from, in order of preference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DataKeySource {
    /// `AI_CREDITS_DATA_KEY`.
    Env(String),
    /// A file named by `--data-key-file`, or the default one beside an SQLite database
    /// (created when missing).
    File(PathBuf),
    /// None configured (PostgreSQL without env or file): provider keys are switched off.
    Missing,
}

impl DataKeySource {
    /// `env` wins; then `file`; then, for an SQLite database, `ai-credits.key` beside it.
    pub fn choose(env: Option<String>, file: Option<&Path>, sqlite_db: Option<&Path>) -> Self {
        if let Some(hex) = env.filter(|h| !h.trim().is_empty()) {
            return DataKeySource::Env(hex);
        }
        if let Some(file) = file {
            return DataKeySource::File(file.to_owned());
        }
        match sqlite_db {
            Some(db) => {
                let dir = db.parent().filter(|d| !d.as_os_str().is_empty());
                DataKeySource::File(dir.unwrap_or(Path::new(".")).join(KEY_FILE_NAME))
            }
            None => DataKeySource::Missing,
        }
    }

    /// The key, reading or creating the file; `Ok(None)` when none is configured.
    pub fn load(&self) -> Result<Option<DataKey>, String> {
        match self {
            DataKeySource::Env(hex) => DataKey::from_hex(hex)
                .map(Some)
                .map_err(|e| format!("AI_CREDITS_DATA_KEY: {e}")),
            DataKeySource::File(path) => load_or_create(path).map(Some),
            DataKeySource::Missing => Ok(None),
        }
    }
}

fn load_or_create(path: &Path) -> Result<DataKey, String> {
    let named = |e: &dyn fmt::Display| format!("data key file {}: {e}", path.display());
    match std::fs::read_to_string(path) {
        Ok(text) => {
            warn_if_readable_by_others(path);
            DataKey::from_hex(&text).map_err(|e| named(&e))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = DataKey::random();
            let text = Zeroizing::new(hex::encode(key.0.as_ref()));
            match write_new_private(path, text.as_bytes()) {
                Ok(()) => {
                    tracing::info!(path = %path.display(), "created a new data key file (mode 0600)");
                    Ok(key)
                }
                // Another server starting beside this one wrote it first: use that one.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let text =
                        Zeroizing::new(std::fs::read_to_string(path).map_err(|e| named(&e))?);
                    DataKey::from_hex(&text).map_err(|e| named(&e))
                }
                Err(e) => Err(named(&e)),
            }
        }
        Err(e) => Err(named(&e)),
    }
}

/// Creates `path` (never overwriting) readable and writable by the owner only, whole at
/// once: the bytes go to a private temporary file that is then linked to `path`, so a reader
/// never sees it half-written, and of two writers one wins (`AlreadyExists` for the other).
fn write_new_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("key");
    let temp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let written = (|| {
        let mut file = options.open(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::hard_link(&temp, path)
    })();
    let _ = std::fs::remove_file(&temp);
    written
}

fn warn_if_readable_by_others(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path)
            && meta.permissions().mode() & 0o077 != 0
        {
            tracing::warn!(path = %path.display(), "the data key file is readable by others; chmod 600 it");
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// Hex to bytes; `None` for odd length or a non-hex character.
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    hex::decode(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_never_prints() {
        // Proves Debug, Display and a panic message built from them show `[redacted]`, never the key.
        let s = Secret::new("sk-live-abcdefgh1234".into());
        assert_eq!(
            format!("{s:?} {s} {:?}", Some(&s)),
            "[redacted] [redacted] Some([redacted])"
        );
        let panic = std::panic::catch_unwind(|| panic!("bad key {s:?}"))
            .err()
            .and_then(|p| p.downcast::<String>().ok())
            .expect("a panic message");
        assert!(!panic.contains("abcdefgh"), "{panic}");
        assert_eq!(s.last4(), "1234");
        assert_eq!(format!("{:?}", DataKey::random()), "DataKey([redacted])");
    }

    #[test]
    fn sealed_keys_open_only_with_the_same_data_key_and_context() {
        // Proves AES-GCM round-trips, the ciphertext does not contain the key, and another data key or another account cannot open it.
        let key = DataKey::random();
        let secret = Secret::new("xai-SECRET-0123456789".into());
        let sealed = key.seal(&secret, "acc_1/xai").expect("seals");
        assert!(!sealed.ciphertext_hex.contains(&hex::encode(b"SECRET")));
        assert_eq!(
            key.open(&sealed, "acc_1/xai").expect("opens").expose(),
            "xai-SECRET-0123456789"
        );
        assert!(key.open(&sealed, "acc_2/xai").is_err());
        assert!(DataKey::random().open(&sealed, "acc_1/xai").is_err());
        assert_ne!(
            key.seal(&secret, "acc_1/xai").expect("seals"),
            sealed,
            "nonces repeat"
        );
    }

    #[test]
    fn the_key_file_is_created_once_with_mode_0600() {
        // Proves the first start writes a 0600 key file and the next start reads the same key.
        let dir = std::env::temp_dir().join(format!(
            "ai-credits-key-{}",
            crate::http::auth::random_hex(6)
        ));
        std::fs::create_dir_all(&dir).expect("dir");
        let source = DataKeySource::choose(None, None, Some(&dir.join("ai-credits.db")));
        assert_eq!(source, DataKeySource::File(dir.join(KEY_FILE_NAME)));
        let first = source.load().expect("loads").expect("a key");
        let sealed = first.seal(&Secret::new("k".into()), "c").expect("seals");
        let second = source.load().expect("loads").expect("a key");
        assert_eq!(second.open(&sealed, "c").expect("same key").expose(), "k");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join(KEY_FILE_NAME))
                .expect("file")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(
            DataKeySource::choose(None, None, None),
            DataKeySource::Missing
        );
        assert!(DataKeySource::Env("zz".into()).load().is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
