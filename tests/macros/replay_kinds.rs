//! A derived projection replays only its own kinds: among 1,000,000 events of
//! one entity, of which 1% belong to its family, exactly those are decoded.

use batpak::prelude::*;
use batpak::schema::{Schema, Shape};
use batpak::store::BatchAppendItem;
use serde::{Deserialize, Deserializer, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};

static DECODES: AtomicU64 = AtomicU64::new(0);

/// A u32 that counts how often it is deserialized.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(transparent)]
struct Counted(u32);

impl<'de> Deserialize<'de> for Counted {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        DECODES.fetch_add(1, Ordering::Relaxed);
        u32::deserialize(d).map(Counted)
    }
}

impl Schema for Counted {
    fn shape() -> Shape {
        Shape::U32
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
#[batpak(category = 0xA)]
enum Hot {
    #[batpak(id = 1)]
    Tick { c: Counted },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
#[batpak(category = 0xB)]
enum Cold {
    #[batpak(id = 1)]
    Noise { c: Counted },
}

#[derive(Debug, Default, Serialize, Deserialize, batpak::Projection)]
#[batpak(events = Hot)]
struct Ticks {
    n: u64,
    sum: u64,
}

impl batpak::Apply<Hot> for Ticks {
    fn apply(&mut self, event: &Hot, _meta: &batpak::EventMeta) {
        let Hot::Tick { c } = event;
        self.n += 1;
        self.sum += u64::from(c.0);
    }
}

#[test]
fn projection_decodes_only_its_own_kinds() {
    let dir = tempfile::tempdir().unwrap();
    let store =
        Store::open(StoreConfig::new(dir.path()).with_sync_every_n_events(1_000_000)).unwrap();
    let c = Coordinate::new("mixed", "replay").unwrap();
    let mut hot_sum = 0u64;
    for chunk in 0..1000u32 {
        let items = (0..1000u32)
            .map(|i| {
                let n = chunk * 1000 + i;
                if n % 100 == 0 {
                    hot_sum += u64::from(n);
                    BatchAppendItem::typed(
                        c.clone(),
                        &Hot::Tick { c: Counted(n) },
                        AppendOptions::new(),
                    )
                } else {
                    BatchAppendItem::typed(
                        c.clone(),
                        &Cold::Noise { c: Counted(n) },
                        AppendOptions::new(),
                    )
                }
                .unwrap()
            })
            .collect();
        store.append_batch(items).unwrap();
    }
    assert_eq!(store.stream("mixed").len(), 1_000_000);
    let before = DECODES.load(Ordering::Relaxed);
    let ticks = store.project_typed::<Ticks>("mixed").unwrap().unwrap();
    let decoded = DECODES.load(Ordering::Relaxed) - before;
    assert_eq!(ticks.n, 10_000);
    assert_eq!(ticks.sum, hot_sum);
    assert_eq!(decoded, 10_000, "only the projection's kinds were decoded");
    store.close().unwrap();
}
