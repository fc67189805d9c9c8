//! Signed receipts. With a [`ReceiptSigner`] in the configuration (cargo
//! feature `signing`), the writer signs every receipt with ed25519 over the
//! event id, global sequence, coordinate, kind, the previous hash of the entity
//! and the event's own hash; anyone holding the verifying key can check that a
//! receipt was issued by this store for exactly this event. The data types are
//! always compiled so receipts keep one shape; signing and verifying need the
//! feature.

use super::options::AppendReceipt;
use crate::coordinate::Coordinate;
use crate::event::EventKind;

/// A receipt's signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReceiptSignature {
    /// First 8 bytes of blake3 over the verifying key: which key signed.
    pub key_id: [u8; 8],
    /// The ed25519 signature.
    pub signature: [u8; 64],
}

/// The signed bytes of a receipt.
pub fn receipt_message(
    receipt: &AppendReceipt,
    coordinate: &Coordinate,
    kind: EventKind,
    prev_hash: &[u8; 32],
) -> Vec<u8> {
    let mut m = Vec::with_capacity(128);
    m.extend_from_slice(b"batpak.receipt.v1");
    m.extend_from_slice(&receipt.event_id.to_le_bytes());
    m.extend_from_slice(&receipt.sequence.to_le_bytes());
    for name in [coordinate.entity(), coordinate.scope()] {
        m.extend_from_slice(&(name.len() as u32).to_le_bytes());
        m.extend_from_slice(name.as_bytes());
    }
    m.extend_from_slice(&kind.raw().to_le_bytes());
    m.extend_from_slice(prev_hash);
    m.extend_from_slice(&receipt.content_hash);
    m
}

/// The key id of a verifying key.
pub fn key_id(verifying_key: &[u8; 32]) -> [u8; 8] {
    let mut out = [0; 8];
    out.copy_from_slice(&blake3::hash(verifying_key).as_bytes()[..8]);
    out
}

#[cfg(feature = "signing")]
mod keys {
    use super::*;
    use ed25519_dalek::{Signer, Verifier};

    /// The store's signing key.
    #[derive(Clone)]
    pub struct ReceiptSigner {
        key: ed25519_dalek::SigningKey,
        key_id: [u8; 8],
    }

    impl std::fmt::Debug for ReceiptSigner {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "ReceiptSigner(key id {:02x?})", self.key_id)
        }
    }

    impl ReceiptSigner {
        /// A signer from a 32-byte ed25519 secret key.
        pub fn from_secret(secret: &[u8; 32]) -> Self {
            let key = ed25519_dalek::SigningKey::from_bytes(secret);
            let key_id = key_id(key.verifying_key().as_bytes());
            Self { key, key_id }
        }

        /// The public key that verifies this signer's receipts.
        pub fn verifying_key(&self) -> [u8; 32] {
            self.key.verifying_key().to_bytes()
        }

        pub(crate) fn sign(&self, message: &[u8]) -> super::ReceiptSignature {
            super::ReceiptSignature {
                key_id: self.key_id,
                signature: self.key.sign(message).to_bytes(),
            }
        }
    }

    /// Checks `receipt`'s signature for the given event facts and public key.
    pub fn verify_receipt(
        receipt: &AppendReceipt,
        coordinate: &Coordinate,
        kind: EventKind,
        prev_hash: &[u8; 32],
        verifying_key: &[u8; 32],
    ) -> bool {
        let Some(sig) = receipt.signature else {
            return false;
        };
        let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(verifying_key) else {
            return false;
        };
        sig.key_id == key_id(verifying_key)
            && key
                .verify(
                    &receipt_message(receipt, coordinate, kind, prev_hash),
                    &ed25519_dalek::Signature::from_bytes(&sig.signature),
                )
                .is_ok()
    }
}

#[cfg(feature = "signing")]
pub use keys::{verify_receipt, ReceiptSigner};

#[cfg(feature = "signing")]
impl<M> super::Store<M> {
    /// Checks a receipt against the stored event and this store's verifying
    /// key: the event must exist with the receipt's sequence and hash, and the
    /// signature must cover its coordinate, kind and previous hash.
    pub fn verify_receipt(&self, receipt: &AppendReceipt) -> Result<bool, super::StoreError> {
        let Some(signer) = &self.config().signing_key else {
            return Ok(false);
        };
        let Some(event) = self.get_as::<crate::event::RawBytesInput>(receipt.event_id)? else {
            return Ok(false);
        };
        if event.header.position.sequence != receipt.sequence
            || event.header.content_hash != receipt.content_hash
        {
            return Ok(false);
        }
        let seq = event.header.position.entity_sequence;
        let prev = match seq.checked_sub(2) {
            Some(i) => {
                let stream = self.stream(event.coordinate.entity());
                match stream.get(i as usize) {
                    Some(p) => self
                        .get_as::<crate::event::RawBytesInput>(p.event_id)?
                        .map_or([0; 32], |e| e.header.content_hash),
                    None => return Ok(false),
                }
            }
            None => [0; 32],
        };
        Ok(verify_receipt(
            receipt,
            &event.coordinate,
            event.header.kind,
            &prev,
            &signer.verifying_key(),
        ))
    }
}

#[cfg(all(test, feature = "signing"))]
mod tests {
    use super::*;
    use crate::store::{Store, StoreConfig};

    #[test]
    fn receipts_are_signed_and_tampering_is_caught() {
        let dir = tempfile::tempdir().unwrap();
        let signer = ReceiptSigner::from_secret(&[7; 32]);
        let config = StoreConfig::new(dir.path()).with_signing_key(signer.clone());
        let store = Store::open(config.clone()).unwrap();
        let c = Coordinate::new("acct", "bank").unwrap();
        let kind = EventKind::custom(0x1, 1);
        let first = store.append(&c, kind, &1).unwrap();
        let second = store.append(&c, kind, &2).unwrap();
        for r in [&first, &second] {
            let sig = r.signature.expect("signed");
            assert_eq!(sig.key_id, key_id(&signer.verifying_key()));
            assert!(store.verify_receipt(r).unwrap());
        }
        assert!(verify_receipt(
            &second,
            &c,
            kind,
            &first.content_hash,
            &signer.verifying_key()
        ));
        assert!(!verify_receipt(
            &second,
            &c,
            kind,
            &[0; 32],
            &signer.verifying_key()
        ));

        let mut forged = second;
        forged.sequence += 1;
        assert!(!store.verify_receipt(&forged).unwrap());
        let mut forged = second;
        forged.content_hash[0] ^= 1;
        assert!(!store.verify_receipt(&forged).unwrap());
        let mut forged = second;
        if let Some(s) = forged.signature.as_mut() {
            s.signature[5] ^= 1;
        }
        assert!(!store.verify_receipt(&forged).unwrap());
        let other = ReceiptSigner::from_secret(&[9; 32]);
        assert!(!verify_receipt(
            &second,
            &c,
            kind,
            &first.content_hash,
            &other.verifying_key()
        ));

        store.close().unwrap();
        let reopened = Store::open(config).unwrap();
        assert!(reopened.verify_receipt(&second).unwrap());
    }
}
