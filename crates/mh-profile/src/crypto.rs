//! Decryption of MetaHuman OS encrypted memories (`*.json.enc`).
//!
//! Format, as written by the seed (`packages/core/src/encryption.ts` and its caller
//! `memory.ts:captureEventWithDetails` in `Greg-Aster/metahuman-os`):
//!
//! * `<profile>/.encryption-meta.json` (pretty JSON):
//!   `{version, algorithm: "aes-256-gcm", keyDerivation: "pbkdf2", pbkdf2Iterations: 100000,
//!   pbkdf2Digest: "sha512", salt, createdAt, lastUnlockedAt?, encryptedFiles, useLoginPassword?}`.
//!   `salt` is 32 random bytes in **standard base64** (Node `Buffer#toString('base64')`).
//! * key = PBKDF2-HMAC-SHA512(passphrase as **UTF-8** bytes, salt, iterations, 32 bytes)
//!   (Node `crypto.pbkdf2Sync` with a JS string password encodes it as UTF-8).
//! * a `.enc` file body is compact JSON `{"iv", "authTag", "ciphertext"}`, each standard base64;
//!   AES-256-GCM with a 16-byte IV, a 16-byte tag and no associated data. For episodic events the
//!   plaintext is the event as 2-space pretty JSON.
//!
//! Differences from the seed, on purpose:
//! * the seed's `deriveKey` ignores the stored `pbkdf2Iterations`/`pbkdf2Digest` and always uses
//!   its constants (100 000, sha512). Every meta it writes carries exactly those values, so we
//!   honour what the file says and fall back to the seed's constants only when a field is absent.
//! * a salt is always decoded as base64, like the seed does; a 64-character hex string is also
//!   valid base64 and is therefore decoded as base64 (48 bytes), exactly as Node would.
//! * files over 500 MB are written by the seed's profile migration as `*.enc.chunked`
//!   (an NDJSON header line plus one envelope per line); memories never reach that size and this
//!   module does not read that variant.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use aes_gcm::aead::consts::U16;
use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::aes::Aes256;
use aes_gcm::{AesGcm, Nonce, Tag};
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;
use serde_json::{Map, Value};
use sha2::Sha512;

/// Name of the per-profile key-derivation parameters file.
pub const META_FILE: &str = ".encryption-meta.json";
/// Suffix the seed appends to an encrypted file's plain name (`<id>-<slug>.json.enc`).
pub const ENCRYPTED_EXTENSION: &str = ".enc";
/// IV length the seed uses (GCM's usual 12 bytes would not match its files).
pub const IV_LEN: usize = 16;
/// GCM tag length.
pub const TAG_LEN: usize = 16;
/// AES-256 key length.
pub const KEY_LEN: usize = 32;
/// Salt length the seed generates.
pub const SALT_LEN: usize = 32;
/// The seed's PBKDF2 iteration count, used when the meta file does not state one.
pub const DEFAULT_ITERATIONS: u32 = 100_000;

/// Upper bound on the iteration count we accept from disk, so a corrupted meta file cannot make
/// key derivation run for hours (the seed uses 100 000; this is 100×).
const MAX_ITERATIONS: u32 = 10_000_000;

/// AES-256-GCM with the seed's 16-byte nonce.
type Aes256Gcm16 = AesGcm<Aes256, U16>;

/// Node's base64 decoder accepts missing padding and non-zero trailing bits; so do we.
const LENIENT: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_encode_padding(true)
    .with_decode_padding_mode(DecodePaddingMode::Indifferent)
    .with_decode_allow_trailing_bits(true);
const B64_STANDARD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT);
/// Node also decodes the URL-safe alphabet under the name `base64`.
const B64_URL_SAFE: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT);

/// Why an encrypted file or the meta file could not be used.
///
/// No variant ever carries the passphrase or key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// The `.enc` body is not the `{iv, authTag, ciphertext}` JSON envelope.
    #[error("encrypted file envelope: `{field}` {problem}")]
    MalformedEnvelope {
        /// `body`, `iv`, `authTag` or `ciphertext`.
        field: &'static str,
        problem: String,
    },
    /// A field that must be base64 is not.
    #[error("`{field}` is not valid base64")]
    BadBase64 {
        /// `iv`, `authTag`, `ciphertext` or `salt`.
        field: &'static str,
    },
    /// GCM authentication failed: the key is wrong or the file was altered.
    #[error(
        "cannot decrypt: wrong passphrase or corrupted file (AES-GCM authentication tag mismatch)"
    )]
    WrongPassphraseOrCorrupted,
    #[error("unsupported key derivation `{0}` in {META_FILE} (only pbkdf2 is supported)")]
    UnsupportedKdf(String),
    #[error("unsupported PBKDF2 digest `{0}` in {META_FILE} (only sha512 is supported)")]
    UnsupportedDigest(String),
    #[error("unsupported cipher `{0}` in {META_FILE} (only aes-256-gcm is supported)")]
    UnsupportedAlgorithm(String),
    #[error("malformed {META_FILE}: {0}")]
    MalformedMeta(String),
    #[error("cannot read {}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
}

/// Key-derivation parameters of an encrypted profile (`.encryption-meta.json`).
#[derive(Debug, Clone, PartialEq)]
pub struct EncryptionMeta {
    /// `pbkdf2Iterations` (seed default when absent).
    pub iterations: u32,
    /// `pbkdf2Digest` as written, e.g. `sha512`.
    pub digest: String,
    /// Decoded `salt`.
    pub salt: Vec<u8>,
    /// `keyDerivation` as written (`pbkdf2` when absent).
    pub key_derivation: String,
    /// `algorithm` as written (`aes-256-gcm` when absent).
    pub algorithm: String,
    /// The whole object as read, so [`EncryptionMeta::to_json`] keeps fields we do not model.
    pub raw: Map<String, Value>,
}

impl EncryptionMeta {
    /// Reads `<profile_root>/.encryption-meta.json`; `Ok(None)` when the profile has none
    /// (i.e. it is not encrypted).
    pub fn load(profile_root: &Path) -> Result<Option<Self>, CryptoError> {
        let path = profile_root.join(META_FILE);
        match std::fs::read(&path) {
            Ok(bytes) => Self::parse(&bytes).map(Some),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(CryptoError::Io { path, source }),
        }
    }

    /// Parses the meta file's bytes. Checks shapes only; whether the KDF, digest and cipher are
    /// supported is checked by [`ProfileKey::derive`], so a profile using something else can
    /// still be inspected.
    pub fn parse(bytes: &[u8]) -> Result<Self, CryptoError> {
        let value: Value = serde_json::from_slice(bytes).map_err(|e| {
            CryptoError::MalformedMeta(format!("not valid JSON ({})", json_pos(&e)))
        })?;
        let Value::Object(raw) = value else {
            return Err(CryptoError::MalformedMeta("not a JSON object".into()));
        };

        let iterations = match raw.get("pbkdf2Iterations") {
            None | Some(Value::Null) => DEFAULT_ITERATIONS,
            Some(v) => match v.as_u64() {
                Some(0) => {
                    return Err(CryptoError::MalformedMeta(
                        "`pbkdf2Iterations` must be at least 1".into(),
                    ))
                }
                Some(n) if n <= u64::from(MAX_ITERATIONS) => n as u32,
                Some(n) => {
                    return Err(CryptoError::MalformedMeta(format!(
                        "`pbkdf2Iterations` {n} exceeds the supported maximum {MAX_ITERATIONS}"
                    )))
                }
                None => {
                    return Err(CryptoError::MalformedMeta(
                        "`pbkdf2Iterations` is not a positive integer".into(),
                    ))
                }
            },
        };
        let digest = optional_str(&raw, "pbkdf2Digest")?
            .unwrap_or("sha512")
            .to_owned();
        let key_derivation = optional_str(&raw, "keyDerivation")?
            .unwrap_or("pbkdf2")
            .to_owned();
        let algorithm = optional_str(&raw, "algorithm")?
            .unwrap_or("aes-256-gcm")
            .to_owned();

        let salt_text = optional_str(&raw, "salt")?
            .ok_or_else(|| CryptoError::MalformedMeta("`salt` is missing".into()))?;
        let salt = decode_b64(salt_text, "salt")?;
        if salt.is_empty() {
            return Err(CryptoError::MalformedMeta("`salt` is empty".into()));
        }

        Ok(Self {
            iterations,
            digest,
            salt,
            key_derivation,
            algorithm,
            raw,
        })
    }

    /// The meta as a JSON object in the seed's shape: the fields read from disk (unknown ones
    /// included, in their order) with the modelled fields set from this struct.
    pub fn to_json(&self) -> Value {
        let mut map = self.raw.clone();
        map.insert("algorithm".into(), Value::from(self.algorithm.clone()));
        map.insert(
            "keyDerivation".into(),
            Value::from(self.key_derivation.clone()),
        );
        map.insert("pbkdf2Iterations".into(), Value::from(self.iterations));
        map.insert("pbkdf2Digest".into(), Value::from(self.digest.clone()));
        map.insert("salt".into(), Value::from(B64_STANDARD.encode(&self.salt)));
        Value::Object(map)
    }

    /// A meta like the one the seed writes when encryption is switched on (`version: 1`,
    /// `createdAt` = now, `encryptedFiles: 0`), with a caller-chosen salt and iteration count
    /// (tests use few iterations to stay fast).
    pub fn new_random_like_seed(salt: [u8; SALT_LEN], iterations: u32) -> Self {
        let created_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let mut raw = Map::new();
        // Same key order as the seed's `initializeEncryption`.
        raw.insert("version".into(), Value::from(1));
        raw.insert("algorithm".into(), Value::from("aes-256-gcm"));
        raw.insert("keyDerivation".into(), Value::from("pbkdf2"));
        raw.insert("pbkdf2Iterations".into(), Value::from(iterations));
        raw.insert("pbkdf2Digest".into(), Value::from("sha512"));
        raw.insert("salt".into(), Value::from(B64_STANDARD.encode(salt)));
        raw.insert("createdAt".into(), Value::from(created_at));
        raw.insert("encryptedFiles".into(), Value::from(0));
        Self {
            iterations,
            digest: "sha512".into(),
            salt: salt.to_vec(),
            key_derivation: "pbkdf2".into(),
            algorithm: "aes-256-gcm".into(),
            raw,
        }
    }
}

/// A derived AES-256 key for one profile. Its `Debug` output never shows the bytes.
#[derive(Clone)]
pub struct ProfileKey([u8; KEY_LEN]);

impl fmt::Debug for ProfileKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ProfileKey(<redacted>)")
    }
}

impl ProfileKey {
    /// PBKDF2-HMAC-SHA512 over the UTF-8 bytes of `passphrase`, with the meta's salt and
    /// iteration count. Slow by design (~0.1–0.5 s at 100 000 iterations): derive once per run.
    ///
    /// A wrong passphrase is not detected here (the seed stores no verifier we rely on); it
    /// shows up as [`CryptoError::WrongPassphraseOrCorrupted`] on the first [`decrypt`].
    pub fn derive(passphrase: &str, meta: &EncryptionMeta) -> Result<Self, CryptoError> {
        if !meta.key_derivation.eq_ignore_ascii_case("pbkdf2") {
            return Err(CryptoError::UnsupportedKdf(truncated(&meta.key_derivation)));
        }
        if !matches!(
            meta.digest.to_ascii_lowercase().as_str(),
            "sha512" | "sha-512"
        ) {
            return Err(CryptoError::UnsupportedDigest(truncated(&meta.digest)));
        }
        if !meta.algorithm.eq_ignore_ascii_case("aes-256-gcm") {
            return Err(CryptoError::UnsupportedAlgorithm(truncated(
                &meta.algorithm,
            )));
        }
        // `parse` already rejects these; repeated because the fields are public.
        if meta.iterations == 0 || meta.iterations > MAX_ITERATIONS {
            return Err(CryptoError::MalformedMeta(format!(
                "`pbkdf2Iterations` must be between 1 and {MAX_ITERATIONS}"
            )));
        }
        if meta.salt.is_empty() {
            return Err(CryptoError::MalformedMeta("`salt` is empty".into()));
        }
        let mut key = [0u8; KEY_LEN];
        pbkdf2::pbkdf2_hmac::<Sha512>(passphrase.as_bytes(), &meta.salt, meta.iterations, &mut key);
        Ok(Self(key))
    }
}

/// Decrypts the bytes of a `.enc` file (the JSON envelope) and returns the plaintext.
pub fn decrypt(key: &ProfileKey, body: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| CryptoError::MalformedEnvelope {
            field: "body",
            problem: format!("is not valid JSON ({})", json_pos(&e)),
        })?;
    let Value::Object(envelope) = value else {
        return Err(CryptoError::MalformedEnvelope {
            field: "body",
            problem: "is not a JSON object".into(),
        });
    };

    let iv = envelope_field(&envelope, "iv")?;
    let tag = envelope_field(&envelope, "authTag")?;
    let mut buffer = envelope_field(&envelope, "ciphertext")?;

    let iv: [u8; IV_LEN] = iv
        .try_into()
        .map_err(|v: Vec<u8>| wrong_length("iv", v.len(), IV_LEN))?;
    let tag: [u8; TAG_LEN] = tag
        .try_into()
        .map_err(|v: Vec<u8>| wrong_length("authTag", v.len(), TAG_LEN))?;

    cipher(key)
        .decrypt_in_place_detached(
            &Nonce::<U16>::from(iv),
            b"",
            &mut buffer,
            &Tag::<U16>::from(tag),
        )
        .map_err(|_| CryptoError::WrongPassphraseOrCorrupted)?;
    Ok(buffer)
}

/// Encrypts `plaintext` into a `.enc` file body exactly as the seed writes it (compact JSON,
/// keys in the order `iv`, `authTag`, `ciphertext`, standard padded base64). The caller picks
/// the IV so fixtures are reproducible; real writers must use a fresh random IV per file.
///
/// # Panics
/// Only if `plaintext` exceeds AES-GCM's limit of 2^36 − 32 bytes (64 GiB).
pub fn encrypt(key: &ProfileKey, plaintext: &[u8], iv: [u8; IV_LEN]) -> Vec<u8> {
    let mut buffer = plaintext.to_vec();
    let tag = cipher(key)
        .encrypt_in_place_detached(&Nonce::<U16>::from(iv), b"", &mut buffer)
        .expect("AES-GCM plaintext over 64 GiB");
    // Base64 needs no JSON escaping, so the envelope can be spelled out directly.
    format!(
        r#"{{"iv":"{}","authTag":"{}","ciphertext":"{}"}}"#,
        B64_STANDARD.encode(iv),
        B64_STANDARD.encode(tag),
        B64_STANDARD.encode(&buffer)
    )
    .into_bytes()
}

fn cipher(key: &ProfileKey) -> Aes256Gcm16 {
    Aes256Gcm16::new(&key.0.into())
}

fn envelope_field(
    envelope: &Map<String, Value>,
    field: &'static str,
) -> Result<Vec<u8>, CryptoError> {
    match envelope.get(field) {
        None => Err(CryptoError::MalformedEnvelope {
            field,
            problem: "is missing".into(),
        }),
        Some(Value::String(s)) => decode_b64(s, field),
        Some(_) => Err(CryptoError::MalformedEnvelope {
            field,
            problem: "is not a string".into(),
        }),
    }
}

fn wrong_length(field: &'static str, got: usize, want: usize) -> CryptoError {
    CryptoError::MalformedEnvelope {
        field,
        problem: format!("decodes to {got} bytes, expected {want}"),
    }
}

fn decode_b64(text: &str, field: &'static str) -> Result<Vec<u8>, CryptoError> {
    // Node skips whitespace inside base64 (e.g. a hand-wrapped salt); only copy when needed.
    let cleaned;
    let text = if text.bytes().any(|b| b.is_ascii_whitespace()) {
        cleaned = text
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect::<String>();
        cleaned.as_str()
    } else {
        text
    };
    B64_STANDARD
        .decode(text)
        .or_else(|_| B64_URL_SAFE.decode(text))
        .map_err(|_| CryptoError::BadBase64 { field })
}

fn optional_str<'a>(
    raw: &'a Map<String, Value>,
    field: &str,
) -> Result<Option<&'a str>, CryptoError> {
    match raw.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(CryptoError::MalformedMeta(format!(
            "`{field}` is not a string"
        ))),
    }
}

/// Position of a JSON syntax error without echoing any of the input.
fn json_pos(e: &serde_json::Error) -> String {
    format!("line {}, column {}", e.line(), e.column())
}

/// Values from the meta file are echoed in errors; keep a corrupted one from flooding the output.
fn truncated(s: &str) -> String {
    const MAX: usize = 40;
    match s.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASS: &str = "hunter2 — long enough";
    const FAST: u32 = 1000;

    fn meta() -> EncryptionMeta {
        EncryptionMeta::new_random_like_seed([7u8; SALT_LEN], FAST)
    }

    fn key() -> ProfileKey {
        ProfileKey::derive(PASS, &meta()).unwrap()
    }

    fn envelope(body: &[u8]) -> Map<String, Value> {
        match serde_json::from_slice(body).unwrap() {
            Value::Object(m) => m,
            other => panic!("not an object: {other}"),
        }
    }

    fn with_field(body: &[u8], field: &str, value: Value) -> Vec<u8> {
        let mut env = envelope(body);
        env.insert(field.into(), value);
        serde_json::to_vec(&env).unwrap()
    }

    #[test]
    fn round_trip() {
        let key = key();
        let plain = br#"{"id": "evt-202511211030001", "content": "User: hi\n\nAssistant: yo"}"#;
        let body = encrypt(&key, plain, [9u8; IV_LEN]);
        assert_eq!(decrypt(&key, &body).unwrap(), plain);
        // Empty plaintext is legal GCM and must survive too.
        let body = encrypt(&key, b"", [1u8; IV_LEN]);
        assert_eq!(decrypt(&key, &body).unwrap(), b"");
    }

    #[test]
    fn envelope_has_seed_shape() {
        let body = encrypt(&key(), b"x", [0u8; IV_LEN]);
        let env = envelope(&body);
        let keys: Vec<&str> = env.keys().map(String::as_str).collect();
        assert_eq!(keys, ["iv", "authTag", "ciphertext"]);
        assert_eq!(env["iv"], "AAAAAAAAAAAAAAAAAAAAAA==");
        assert!(
            !body.contains(&b'\n'),
            "the seed writes the envelope compact"
        );
    }

    #[test]
    fn wrong_passphrase_is_the_tag_error() {
        let body = encrypt(&key(), b"secret memory", [3u8; IV_LEN]);
        let other = ProfileKey::derive("not the passphrase", &meta()).unwrap();
        let err = decrypt(&other, &body).unwrap_err();
        assert!(
            matches!(err, CryptoError::WrongPassphraseOrCorrupted),
            "{err:?}"
        );
        let msg = err.to_string();
        assert!(msg.contains("wrong passphrase"), "{msg}");
        assert!(!msg.contains(PASS) && !msg.contains("not the passphrase"));
    }

    #[test]
    fn tampering_is_detected() {
        let key = key();
        let body = encrypt(&key, b"secret memory", [3u8; IV_LEN]);
        let env = envelope(&body);
        for field in ["ciphertext", "authTag", "iv"] {
            let mut bytes = B64_STANDARD.decode(env[field].as_str().unwrap()).unwrap();
            bytes[0] ^= 0x01;
            let bad = with_field(&body, field, Value::from(B64_STANDARD.encode(&bytes)));
            let err = decrypt(&key, &bad).unwrap_err();
            assert!(
                matches!(err, CryptoError::WrongPassphraseOrCorrupted),
                "{field}: {err:?}"
            );
        }
    }

    #[test]
    fn malformed_envelopes_name_the_field() {
        let key = key();
        let good = encrypt(&key, b"x", [0u8; IV_LEN]);
        let field_of = |body: &[u8]| match decrypt(&key, body).unwrap_err() {
            CryptoError::MalformedEnvelope { field, .. } => field,
            CryptoError::BadBase64 { field } => field,
            other => panic!("unexpected {other:?}"),
        };

        assert_eq!(field_of(b"{\"iv\": \"AAAA"), "body");
        assert_eq!(field_of(b"[1, 2]"), "body");
        assert_eq!(field_of(b""), "body");

        let mut env = envelope(&good);
        env.remove("authTag");
        assert_eq!(field_of(&serde_json::to_vec(&env).unwrap()), "authTag");

        assert_eq!(field_of(&with_field(&good, "iv", Value::from(5))), "iv");
        assert_eq!(
            field_of(&with_field(&good, "ciphertext", Value::from("not base64!"))),
            "ciphertext"
        );
        assert!(matches!(
            decrypt(&key, &with_field(&good, "authTag", Value::from("@@@@"))).unwrap_err(),
            CryptoError::BadBase64 { field: "authTag" }
        ));
        // A 12-byte IV (GCM's common size) is not what the seed writes.
        let twelve = with_field(&good, "iv", Value::from(B64_STANDARD.encode([0u8; 12])));
        let err = decrypt(&key, &twelve).unwrap_err();
        assert!(err.to_string().contains("12 bytes, expected 16"), "{err}");
        let short_tag = with_field(&good, "authTag", Value::from(B64_STANDARD.encode([0u8; 8])));
        assert_eq!(field_of(&short_tag), "authTag");
    }

    #[test]
    fn lenient_base64_like_node() {
        let key = key();
        let body = encrypt(&key, b"padding test", [0xfbu8; IV_LEN]);
        let env = envelope(&body);
        let iv = env["iv"].as_str().unwrap();
        // Unpadded and URL-safe spellings of the same bytes.
        let unpadded = iv.trim_end_matches('=');
        let url = unpadded.replace('+', "-").replace('/', "_");
        for spelling in [unpadded.to_string(), url] {
            let alt = with_field(&body, "iv", Value::from(spelling));
            assert_eq!(decrypt(&key, &alt).unwrap(), b"padding test");
        }
    }

    #[test]
    fn parses_seed_meta() {
        let text = br#"{
  "version": 1,
  "algorithm": "aes-256-gcm",
  "keyDerivation": "pbkdf2",
  "pbkdf2Iterations": 100000,
  "pbkdf2Digest": "sha512",
  "salt": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
  "createdAt": "2025-11-21T10:30:00.123Z",
  "lastUnlockedAt": "2025-11-22T08:00:00.000Z",
  "encryptedFiles": 42,
  "useLoginPassword": true,
  "futureField": {"kept": true}
}"#;
        let meta = EncryptionMeta::parse(text).unwrap();
        assert_eq!(meta.iterations, 100_000);
        assert_eq!(meta.digest, "sha512");
        assert_eq!(meta.salt, (0u8..32).collect::<Vec<_>>());
        let back = meta.to_json();
        assert_eq!(back, serde_json::from_slice::<Value>(text).unwrap());
        let keys: Vec<&String> = back.as_object().unwrap().keys().collect();
        assert_eq!(keys.first().map(|k| k.as_str()), Some("version"));
        assert_eq!(keys.last().map(|k| k.as_str()), Some("futureField"));
    }

    #[test]
    fn meta_defaults_and_salt_encodings() {
        // Absent parameters fall back to the seed's constants.
        let meta = EncryptionMeta::parse(br#"{"salt": "AAECAwQ"}"#).unwrap();
        assert_eq!(meta.iterations, DEFAULT_ITERATIONS);
        assert_eq!(meta.digest, "sha512");
        assert_eq!(meta.salt, [0, 1, 2, 3, 4]);
        // A hex-looking salt is decoded as base64, as Node's Buffer.from(salt, 'base64') does.
        let hex = "00".repeat(32);
        let meta = EncryptionMeta::parse(format!(r#"{{"salt": "{hex}"}}"#).as_bytes()).unwrap();
        assert_eq!(meta.salt.len(), 48);
    }

    #[test]
    fn malformed_meta() {
        let cases: [&[u8]; 8] = [
            b"not json",
            b"[]",
            br#"{}"#,
            br#"{"salt": 5}"#,
            br#"{"salt": ""}"#,
            br#"{"salt": "AAAA", "pbkdf2Iterations": 0}"#,
            br#"{"salt": "AAAA", "pbkdf2Iterations": "100000"}"#,
            br#"{"salt": "AAAA", "pbkdf2Iterations": 4000000000}"#,
        ];
        for case in cases {
            let err = EncryptionMeta::parse(case).unwrap_err();
            assert!(
                matches!(err, CryptoError::MalformedMeta(_)),
                "{case:?}: {err:?}"
            );
        }
        assert!(matches!(
            EncryptionMeta::parse(br#"{"salt": "*&^%"}"#).unwrap_err(),
            CryptoError::BadBase64 { field: "salt" }
        ));
    }

    #[test]
    fn unsupported_parameters_are_rejected_at_derive() {
        let mut m = meta();
        m.digest = "sha256".into();
        assert!(
            matches!(ProfileKey::derive(PASS, &m), Err(CryptoError::UnsupportedDigest(d)) if d == "sha256")
        );
        let mut m = meta();
        m.key_derivation = "scrypt".into();
        assert!(matches!(
            ProfileKey::derive(PASS, &m),
            Err(CryptoError::UnsupportedKdf(_))
        ));
        let mut m = meta();
        m.algorithm = "aes-256-cbc".into();
        assert!(matches!(
            ProfileKey::derive(PASS, &m),
            Err(CryptoError::UnsupportedAlgorithm(_))
        ));
        let mut m = meta();
        m.digest = "SHA512".into();
        assert!(ProfileKey::derive(PASS, &m).is_ok());
    }

    #[test]
    fn load_from_profile_root() {
        let dir = tempfile::tempdir().unwrap();
        assert!(EncryptionMeta::load(dir.path()).unwrap().is_none());
        let meta = meta();
        std::fs::write(
            dir.path().join(META_FILE),
            serde_json::to_vec_pretty(&meta.to_json()).unwrap(),
        )
        .unwrap();
        assert_eq!(EncryptionMeta::load(dir.path()).unwrap(), Some(meta));
        std::fs::write(dir.path().join(META_FILE), b"{").unwrap();
        assert!(matches!(
            EncryptionMeta::load(dir.path()),
            Err(CryptoError::MalformedMeta(_))
        ));
    }

    #[test]
    fn debug_is_redacted() {
        let key = key();
        assert_eq!(format!("{key:?}"), "ProfileKey(<redacted>)");
        assert_eq!(format!("{:?}", Some(&key)), "Some(ProfileKey(<redacted>))");
    }

    /// Vector produced by `scripts/gen_crypto_vector.py` with Python's `cryptography` package
    /// (PBKDF2HMAC(SHA512) + AESGCM with a 16-byte nonce); Node's `crypto` decrypts it too.
    #[test]
    fn known_answer_from_python_cryptography() {
        let meta = EncryptionMeta::parse(
            br#"{"pbkdf2Iterations": 1000, "pbkdf2Digest": "sha512",
                 "salt": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="}"#,
        )
        .unwrap();
        let key =
            ProfileKey::derive("correct horse \u{2014} battery staple \u{2713}", &meta).unwrap();
        assert_eq!(
            hex::encode(key.0),
            "f187025b0fdc07ce04faa308f250aaedad3f296c08dc045fcdf4d10420f13c3f"
        );
        let body = br#"{"iv":"oKGio6SlpqeoqaqrrK2urw==","authTag":"bim3hKcfSD5MLEwOj/F3rg==","ciphertext":"HLBNaeRww+tH/kyh3AkQlLqJ6G8541N7t11R4KOqHFrRkIcFCBz3jHf0bWkaXT+TtTnBWvYtTfvexUX7oaqwPn4XC5HG"}"#;
        let plain = br#"{"id":"evt-202511211030001","content":"User: hi\n\nAssistant: hello"}"#;
        assert_eq!(decrypt(&key, body).unwrap(), plain);
        // And our encryptor reproduces the independent implementation byte for byte.
        let iv: [u8; IV_LEN] = std::array::from_fn(|i| 0xa0 + i as u8);
        assert_eq!(encrypt(&key, plain, iv), body);
    }
}
