//! The golden fixtures next to the committed snapshots (written once by
//! `cargo xtask schema bless`, never rewritten) still decode with today's types,
//! through their upcast chains.

use crate::domain;

use batpak::event::EventKind;
use batpak::schema::{Catalog, FamilySnapshot};
use batpak::EventFamily;
use std::path::Path;

fn today() -> Catalog {
    Catalog::new()
        .with::<domain::Account>()
        .with::<domain::Player>()
        .with::<domain::Alert>()
}

#[test]
fn every_golden_fixture_decodes_with_todays_types() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas");
    let catalog = today();
    let mut decoded = 0;
    for entry in std::fs::read_dir(&root).expect("schemas/") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|x| x != "json") {
            continue;
        }
        let snap = FamilySnapshot::from_json(&std::fs::read_to_string(&path).expect("read"))
            .expect("parse");
        for k in snap.kinds.iter().filter(|k| !k.removed) {
            for v in &k.versions {
                let fixture = root
                    .join(&snap.family)
                    .join(format!("{}.v{}.bin", k.variant, v.version));
                let Ok(bytes) = std::fs::read(&fixture) else {
                    continue;
                };
                let kind = EventKind::from_raw((u16::from(snap.category) << 12) | k.id);
                let result = catalog
                    .decode(&snap.family, kind, v.version, &bytes)
                    .unwrap_or_else(|| panic!("no type for family {}", snap.family));
                assert!(
                    result.is_ok(),
                    "{} does not decode: {result:?}",
                    fixture.display()
                );
                decoded += 1;
            }
        }
    }
    assert!(
        decoded >= 9,
        "expected the example families' fixtures, decoded {decoded}"
    );
    // The oldest Player::Moved bytes arrive as today's version 3.
    let v1 = std::fs::read(root.join("Player/Moved.v1.bin")).expect("fixture");
    let moved = domain::Player::decode_fields(domain::Player::MOVED, 1, &v1).expect("v1 decodes");
    assert!(
        matches!(moved, domain::Player::Moved { y: 0, z: 0, .. }),
        "{moved:?}"
    );
}
