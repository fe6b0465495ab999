//! The few primitives the server needs, all from RustCrypto so they behave identically on
//! the host (tests) and on wasm32 (the Worker). Nothing here is hand-rolled.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

const NONCE_LEN: usize = 12;
/// Versioned so a future change of scheme can coexist with stored values.
const HKDF_SALT: &[u8] = b"spotify-mcp-edge/hkdf/v1";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CryptoError {
    /// The master key is not 32 bytes of base64/base64url.
    BadMasterKey(&'static str),
    /// Authentication failed: wrong key, wrong associated data, or tampered bytes.
    Decrypt,
    /// The platform could not supply randomness.
    Random,
}

impl std::fmt::Display for CryptoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CryptoError::BadMasterKey(why) => write!(f, "TOKEN_ENCRYPTION_KEY {why}"),
            CryptoError::Decrypt => f.write_str("stored value failed authentication"),
            CryptoError::Random => f.write_str("no randomness available"),
        }
    }
}

/// A 256-bit key. `Debug` never prints the bytes.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Key([u8; 32]);

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(<redacted>)")
    }
}

impl Key {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Key(bytes)
    }

    /// Parses `TOKEN_ENCRYPTION_KEY`: 32 bytes in base64 or base64url, padded or not.
    pub fn from_base64(text: &str) -> Result<Self, CryptoError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(CryptoError::BadMasterKey("is empty"));
        }
        let bytes = [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD]
            .iter()
            .find_map(|engine| engine.decode(text).ok())
            .ok_or(CryptoError::BadMasterKey("is not base64 or base64url"))?;
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| {
            CryptoError::BadMasterKey("must decode to exactly 32 bytes (try `openssl rand -base64 32`)")
        })?;
        Ok(Key(bytes))
    }

    /// HKDF-SHA256 (RFC 5869) expansion: one independent key per purpose and per user,
    /// so a leak of one derived key exposes nothing else.
    pub fn derive(&self, info: &[u8]) -> Key {
        let hk = hkdf::Hkdf::<Sha256>::new(Some(HKDF_SALT), &self.0);
        let mut out = [0u8; 32];
        // 32 bytes is far below HKDF's 255*32 limit, so expand cannot fail.
        let _ = hk.expand(info, &mut out);
        Key(out)
    }

    /// This key ready to seal and open many values (its AES key schedule done once).
    pub fn sealer(&self) -> Sealer {
        // A 32-byte key is always a valid AES-256 key.
        Sealer(std::rc::Rc::new(Aes256Gcm::new(self.0.as_ref().into())))
    }

    /// AES-256-GCM with a random 96-bit nonce, output `nonce || ciphertext || tag`.
    /// `aad` binds the value to where it is stored (the KV key), so a copy elsewhere fails.
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.sealer().seal(aad, plaintext)
    }

    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.sealer().open(aad, sealed)
    }

    pub fn hmac(&self, data: &[u8]) -> [u8; 32] {
        hmac_sha256(&self.0, data)
    }
}

/// A [`Key`] with its AES-256-GCM key schedule computed, for a key used again and again (a
/// user's data key, kept per isolate). `Debug` prints nothing of it.
#[derive(Clone)]
pub struct Sealer(std::rc::Rc<Aes256Gcm>);

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(<redacted>)")
    }
}

impl Sealer {
    /// AES-256-GCM with a random 96-bit nonce, output `nonce || ciphertext || tag`.
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let nonce = random_array::<NONCE_LEN>()?;
        let ct = self
            .0
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: plaintext, aad })
            .map_err(|_| CryptoError::Decrypt)?;
        let mut out = Vec::with_capacity(NONCE_LEN + ct.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if sealed.len() < NONCE_LEN + 16 {
            return Err(CryptoError::Decrypt);
        }
        let (nonce, ct) = sealed.split_at(NONCE_LEN);
        self.0.decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad }).map_err(|_| CryptoError::Decrypt)
    }
}

pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

pub fn random_array<const N: usize>() -> Result<[u8; N], CryptoError> {
    let mut out = [0u8; N];
    getrandom::fill(&mut out).map_err(|_| CryptoError::Random)?;
    Ok(out)
}

/// 256 random bits as base64url: the entropy of every opaque token we mint.
pub fn random_token() -> Result<String, CryptoError> {
    Ok(b64url(&random_array::<32>()?))
}

pub fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn b64url_decode(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).ok()
}

/// Constant-time equality, for comparing secrets and hashes of secrets.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// RFC 7636 S256: `BASE64URL(SHA256(verifier))`.
pub fn pkce_s256(verifier: &str) -> String {
    b64url(&sha256(verifier.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    #[test]
    fn sha256_fips_180_abc() {
        assert_eq!(sha256(b"abc").to_vec(), hex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
    }

    #[test]
    fn hmac_sha256_rfc4231_case_2() {
        assert_eq!(
            hmac_sha256(b"Jefe", b"what do ya want for nothing?").to_vec(),
            hex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        );
    }

    #[test]
    fn hkdf_rfc5869_case_1() {
        // Checks the library and our use of it against the RFC's published OKM.
        let ikm = hex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b");
        let salt = hex("000102030405060708090a0b0c");
        let info = hex("f0f1f2f3f4f5f6f7f8f9");
        let hk = hkdf::Hkdf::<Sha256>::new(Some(&salt), &ikm);
        let mut okm = [0u8; 42];
        hk.expand(&info, &mut okm).unwrap();
        assert_eq!(
            okm.to_vec(),
            hex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865")
        );
    }

    #[test]
    fn aes_256_gcm_test_case_16() {
        // McGrew & Viega, "The Galois/Counter Mode of Operation", test case 16 (AES-256, with AAD).
        let key = hex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308");
        let iv = hex("cafebabefacedbaddecaf888");
        let pt = hex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39");
        let aad = hex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
        let expected_ct = hex("522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662");
        let expected_tag = hex("76fc6ece0f4e1768cddf8853bb2d551b");
        let mut sealed = iv.clone();
        sealed.extend_from_slice(&expected_ct);
        sealed.extend_from_slice(&expected_tag);
        let k = Key::from_bytes(key.try_into().unwrap());
        assert_eq!(k.open(&aad, &sealed).unwrap(), pt);
    }

    #[test]
    fn rfc7636_appendix_b_s256() {
        assert_eq!(
            pkce_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn seal_binds_associated_data_and_detects_tampering() {
        let k = Key::from_bytes([7; 32]);
        let sealed = k.seal(b"u:alice:spotify", b"secret").unwrap();
        assert_eq!(k.open(b"u:alice:spotify", &sealed).unwrap(), b"secret");
        assert_eq!(k.open(b"u:bob:spotify", &sealed), Err(CryptoError::Decrypt));
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert_eq!(k.open(b"u:alice:spotify", &tampered), Err(CryptoError::Decrypt));
        assert_eq!(Key::from_bytes([8; 32]).open(b"u:alice:spotify", &sealed), Err(CryptoError::Decrypt));
        assert_ne!(k.seal(b"a", b"x").unwrap(), k.seal(b"a", b"x").unwrap(), "nonces must differ");
    }

    #[test]
    fn derived_keys_differ_per_info() {
        let m = Key::from_bytes([1; 32]);
        assert_ne!(m.derive(b"user:a"), m.derive(b"user:b"));
        assert_eq!(m.derive(b"user:a"), m.derive(b"user:a"));
    }

    #[test]
    fn master_key_parsing_accepts_both_alphabets_and_names_the_problem() {
        let raw = [0xfbu8; 32];
        for text in [STANDARD.encode(raw), URL_SAFE_NO_PAD.encode(raw), URL_SAFE.encode(raw)] {
            assert_eq!(Key::from_base64(&text).unwrap(), Key::from_bytes(raw));
        }
        let short = STANDARD.encode([1u8; 16]);
        assert!(Key::from_base64(&short).unwrap_err().to_string().contains("32 bytes"));
        assert!(Key::from_base64("not base64!").unwrap_err().to_string().starts_with("TOKEN_ENCRYPTION_KEY"));
        assert_eq!(format!("{:?}", Key::from_bytes(raw)), "Key(<redacted>)");
    }
}
