//! Signed receipts. With a [`ReceiptSigner`] in the configuration (cargo
//! feature `signing`), the writer signs every receipt with ed25519 over the
//! event id, global sequence, coordinate, kind, the previous hash of the entity
//! and the event's own hash; anyone holding the verifying key can check that a
//! receipt was issued by this store for exactly this event. The data types are
//! always compiled so receipts keep one shape; signing and verifying need the
//! feature.

use super::options::AppendReceipt;
#[cfg(feature = "signing")]
use super::options::ReceiptSignature;
use crate::coordinate::Coordinate;
use crate::event::EventKind;
#[cfg(feature = "signing")]
use ed25519_dalek::{Signer, Verifier};

/// The signed bytes of a receipt.
pub fn receipt_message(
    receipt: &AppendReceipt,
    coordinate: &Coordinate,
    kind: EventKind,
    prev_hash: &[u8; 32],
) -> Vec<u8> {
    let mut m = Vec::with_capacity(128);
    m.extend_from_slice(b"batpak.receipt.v1");
    m.extend_from_slice(&receipt.event_id.get().to_le_bytes());
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
/// The store's signing key.
#[derive(Clone)]
pub struct ReceiptSigner {
    key: ed25519_dalek::SigningKey,
    key_id: [u8; 8],
}

#[cfg(feature = "signing")]
impl std::fmt::Debug for ReceiptSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ReceiptSigner(key id {:02x?})", self.key_id)
    }
}

#[cfg(feature = "signing")]
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

    pub(crate) fn sign(&self, message: &[u8]) -> ReceiptSignature {
        ReceiptSignature {
            key_id: self.key_id,
            signature: self.key.sign(message).to_bytes(),
        }
    }
}

#[cfg(feature = "signing")]
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

#[cfg(all(test, feature = "signing"))]
mod tests;
