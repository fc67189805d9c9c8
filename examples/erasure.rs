//! Erasure. Personal fields (`#[batpak(personal)]`) are encrypted with a key
//! per data subject before they reach the log; `forget(subject)` destroys the
//! key, and from then on every read, of the store and of its backups, gives
//! those fields as `Personal::Erased` while the rest of each event, and every
//! projection over it, stays. Retention cuts whole events instead:
//! `truncate_before` and `tombstone` take them out of every read at once, and
//! `compact` removes their bytes. See docs/retention.md.
//!
//! Run with `cargo run --example erasure`.

use batpak::prelude::*;
use batpak::store::Freshness;
use batpak::{Apply, EventMeta, Personal};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
#[batpak(category = 0x3, name = "Member")]
enum Member {
    #[batpak(id = 1)]
    Joined {
        /// The data subject: a pseudonymous member number, not the email.
        #[batpak(subject)]
        member_id: u64,
        #[batpak(personal)]
        email: Personal<String>,
        plan: String,
    },
    /// No subject field: the subject is the event's entity.
    #[batpak(id = 2)]
    Moved {
        #[batpak(personal)]
        address: Personal<String>,
        country: String,
    },
}

/// A projection over the member's events keeps folding after erasure.
#[derive(Debug, Default, Serialize, Deserialize, batpak::Projection)]
#[batpak(events = Member)]
struct Profile {
    plan: String,
    country: String,
    contact: Option<String>,
}

impl Apply<Member> for Profile {
    fn apply(&mut self, event: &Member, _: &EventMeta) {
        match event {
            Member::Joined { email, plan, .. } => {
                self.plan = plan.clone();
                self.contact = email.value().cloned();
            }
            Member::Moved { country, .. } => self.country = country.clone(),
        }
    }
}

fn show(store: &Store, entity: &str) -> Result<(), StoreError> {
    for event in store.read_typed::<Member>(entity)? {
        let (meta, event) = event?;
        let personal = match &event {
            Member::Joined { email, .. } => email,
            Member::Moved { address, .. } => address,
        };
        match personal {
            Personal::Value(v) => println!("  #{} {v}", meta.header.position.entity_sequence),
            Personal::Erased => println!("  #{} <erased>", meta.header.position.entity_sequence),
        }
    }
    let profile: Option<Profile> = store.project(entity, &Freshness::Consistent)?;
    println!("  projection: {profile:?}");
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let store = Store::open(StoreConfig::new(dir.path().join("data")))?;
    for (n, email) in [(7_u64, "ada@example.org"), (8, "alan@example.org")] {
        let member = Coordinate::new(format!("member:{n}"), "club")?;
        let joined = Member::Joined {
            member_id: n,
            email: Personal::from(email.to_owned()),
            plan: "gold".into(),
        };
        store.append_typed(&member, &joined)?;
        let moved = Member::Moved {
            address: Personal::from(format!("{n} Analytical Lane")),
            country: "UK".into(),
        };
        store.append_typed(&member, &moved)?;
    }
    store.snapshot(dir.path().join("backup"))?;
    println!("member:7 before forget:");
    show(&store, "member:7")?;

    // Member 7 asks to be forgotten: their Joined event names subject "7",
    // their Moved event the entity "member:7".
    store.forget("7")?;
    store.forget("member:7")?;
    println!("member:7 after forget:");
    show(&store, "member:7")?;
    println!("member:8, untouched:");
    show(&store, "member:8")?;

    // Retention: an activity log keeps its last three events; a closed
    // account's log goes entirely, and its name is never used again.
    let seen = EventKind::custom(0x4, 1);
    for entity in ["activity:8", "activity:9"] {
        let at = Coordinate::new(entity, "club")?;
        for day in 1..=10 {
            store.append(&at, seen, &serde_json::json!({ "day": day }))?;
        }
    }
    let cut = store.truncate_before("activity:8", 8)?;
    let first = store.stream("activity:8")[0].entity_sequence;
    println!(
        "activity:8: {} events cut, the stream starts at #{first}",
        cut.events_cut
    );
    let gone = store.tombstone("activity:9")?;
    println!("activity:9: tombstoned, {} events cut", gone.events_cut);
    let report = store.compact()?;
    println!(
        "compact: {} cut events removed, {} bytes given back; verify clean: {}",
        report.events_cut,
        report.bytes_reclaimed,
        store.verify()?.is_clean()
    );
    let refused = store.append(&Coordinate::new("activity:9", "club")?, seen, &1);
    println!("a write to activity:9 now: {refused:?}");
    store.close()?;

    // The backup taken before the erasure holds only ciphertext, and the key
    // is gone: it reads as erased too.
    let keys = std::sync::Arc::new(batpak::store::FileKeyStore::new(
        dir.path().join("data").join("keys"),
    ));
    let backup =
        Store::open_read_only(StoreConfig::new(dir.path().join("backup")).with_key_store(keys))?;
    println!("member:7 in the backup taken before the erasure:");
    for event in backup.read_typed::<Member>("member:7")? {
        println!("  {:?}", event?.1);
    }
    Ok(())
}
