//! Personal information at rest: ID and phone numbers are stored encrypted
//! (AES-256-GCM), beside a keyed digest for uniqueness checks and look-ups.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};

pub struct Pii {
    cipher: Aes256Gcm,
    digest_key: [u8; 32],
}

impl std::fmt::Debug for Pii {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pii(..)")
    }
}

const PREFIX: &str = "v1:";

impl Pii {
    /// Names the key without revealing it (see `keys`).
    pub fn fingerprint(key: &[u8; 32]) -> String {
        hex::encode(&crate::keys::derive(key, "pii-fingerprint")[..16])
    }

    pub fn new(key: &[u8; 32]) -> Pii {
        let digest_key: [u8; 32] = Sha256::new().chain_update(b"cmis-digest").chain_update(key).finalize().into();
        Pii { cipher: Aes256Gcm::new(key.into()), digest_key }
    }

    pub fn encrypt(&self, plain: &str) -> String {
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), plain.as_bytes())
            .expect("AES-GCM encryption does not fail for in-memory input");
        let mut out = nonce.to_vec();
        out.extend(sealed);
        format!("{PREFIX}{}", B64.encode(out))
    }

    pub fn decrypt(&self, sealed: &str) -> anyhow::Result<String> {
        let raw = B64.decode(sealed.strip_prefix(PREFIX).context("unknown format")?)?;
        anyhow::ensure!(raw.len() > 12, "too short");
        let plain = self
            .cipher
            .decrypt(Nonce::from_slice(&raw[..12]), &raw[12..])
            .map_err(|_| anyhow::anyhow!("cannot decrypt: wrong key or damaged value"))?;
        Ok(String::from_utf8(plain)?)
    }

    /// A keyed digest of the normalised value (trimmed, upper case).
    pub fn digest(&self, value: &str) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.digest_key).expect("any key length");
        mac.update(value.trim().to_uppercase().as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_never_repeats_a_ciphertext() {
        let p = Pii::new(&[7u8; 32]);
        let a = p.encrypt("11010519491231002X");
        let b = p.encrypt("11010519491231002X");
        assert_ne!(a, b, "a fresh nonce each time");
        assert!(!a.contains("1101"), "no plain digits at rest");
        assert_eq!(p.decrypt(&a).unwrap(), "11010519491231002X");
    }

    #[test]
    fn another_key_cannot_read_it() {
        let a = Pii::new(&[1u8; 32]).encrypt("13812348628");
        assert!(Pii::new(&[2u8; 32]).decrypt(&a).is_err());
    }

    #[test]
    fn digests_normalise_and_depend_on_the_key() {
        let p = Pii::new(&[7u8; 32]);
        assert_eq!(p.digest("11010519491231002x "), p.digest("11010519491231002X"));
        assert_ne!(p.digest("x"), Pii::new(&[8u8; 32]).digest("x"));
    }
}
