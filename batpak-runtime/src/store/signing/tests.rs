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
