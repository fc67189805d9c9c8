//! Crypto-shredding: personal fields are sealed before they reach the log, and
//! `forget(subject)` erases them everywhere at once by destroying the
//! subject's key: in the data directory, in backups taken before and after,
//! across reopens. The test scans the raw bytes of every file for every
//! personal value, with a non-personal marker as the control that the scan
//! sees what is in clear.

use batpak::store::{FileKeyStore, Freshness, Store, StoreConfig};
use batpak::{Apply, EventMeta, Personal};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
#[batpak(category = 0x6, name = "ErasureMembers")]
enum Member {
    /// The subject is named by a field.
    #[batpak(id = 1)]
    Joined {
        #[batpak(subject)]
        member: String,
        #[batpak(personal)]
        email: Personal<String>,
        plan: String,
    },
    /// The subject is the entity.
    #[batpak(id = 2)]
    Moved {
        #[batpak(personal)]
        address: Personal<String>,
        #[batpak(personal)]
        visits: Personal<Vec<u32>>,
        city: String,
    },
}

#[derive(Debug, Default, Serialize, Deserialize, batpak::Projection)]
#[batpak(events = Member)]
struct Card {
    events: u64,
    erased: u64,
    city: String,
}

impl Apply<Member> for Card {
    fn apply(&mut self, event: &Member, _: &EventMeta) {
        self.events += 1;
        match event {
            Member::Joined { email, .. } => self.erased += u64::from(email.is_erased()),
            Member::Moved { address, city, .. } => {
                self.erased += u64::from(address.is_erased());
                self.city = city.clone();
            }
        }
    }
}

const SUBJECTS: u32 = 3;
const MOVES: u32 = 40;

fn entity(n: u32) -> String {
    format!("member:{n}")
}

fn email(n: u32) -> String {
    format!("secret-mail-{n}-qx@example.org")
}

fn address(n: u32, m: u32) -> String {
    format!("{m} Hidden Lane {n}-zz")
}

/// A visit count no other bytes of the log are likely to spell.
fn visits(n: u32) -> Vec<u32> {
    vec![0x0BAD_F00D + n, 0x0C0F_FEE0 + n]
}

fn visits_bytes(n: u32) -> Vec<u8> {
    batpak::schema::encode(&visits(n)).expect("encodes")
}

const PLAN_MARKER: &str = "plan-gold-control-marker";

/// Every file under `dir`, recursively.
fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read_dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// The files under `dirs` holding `needle`.
fn holding(dirs: &[&Path], needle: &[u8]) -> Vec<PathBuf> {
    let mut all = Vec::new();
    for dir in dirs {
        files(dir, &mut all);
    }
    all.into_iter()
        .filter(|f| {
            let bytes = std::fs::read(f).expect("read file");
            bytes.windows(needle.len()).any(|w| w == needle)
        })
        .collect()
}

/// The personal values written for subject `n`.
fn personal_values(n: u32) -> Vec<Vec<u8>> {
    let mut out = vec![email(n).into_bytes(), visits_bytes(n)];
    out.extend((0..MOVES).map(|m| address(n, m).into_bytes()));
    out
}

fn write_members(store: &Store) {
    for n in 0..SUBJECTS {
        let coord = batpak::coordinate::Coordinate::new(entity(n), "members").expect("coord");
        let joined = Member::Joined {
            member: entity(n),
            email: Personal::from(email(n)),
            plan: PLAN_MARKER.into(),
        };
        store.append_typed(&coord, &joined).expect("joined");
        for m in 0..MOVES {
            let moved = Member::Moved {
                address: Personal::from(address(n, m)),
                visits: Personal::from(visits(n)),
                city: format!("city-{m}"),
            };
            store.append_typed(&coord, &moved).expect("moved");
        }
    }
}

fn assert_erased(store: &Store<impl Sized>, forgotten: u32) {
    for n in 0..SUBJECTS {
        let events = store.read_typed::<Member>(&entity(n)).expect("read");
        assert_eq!(events.len(), 1 + MOVES as usize);
        for (i, event) in events.into_iter().enumerate() {
            let (_, event) = event.expect("decodes");
            match event {
                Member::Joined {
                    member,
                    email: got,
                    plan,
                } => {
                    assert_eq!((member, plan.as_str()), (entity(n), PLAN_MARKER));
                    let want = if n == forgotten {
                        Personal::Erased
                    } else {
                        Personal::from(email(n))
                    };
                    assert_eq!(got, want);
                }
                Member::Moved {
                    address: got,
                    visits: v,
                    city,
                } => {
                    assert_eq!(city, format!("city-{}", i - 1));
                    if n == forgotten {
                        assert_eq!((got, v), (Personal::Erased, Personal::Erased));
                    } else {
                        let m = i as u32 - 1;
                        assert_eq!(got, Personal::from(address(n, m)));
                        assert_eq!(v, Personal::from(visits(n)));
                    }
                }
            }
        }
    }
}

#[test]
fn forget_erases_personal_fields_from_the_store_and_every_backup() {
    let root = tempfile::tempdir().expect("tempdir");
    let data = root.path().join("data");
    let before = root.path().join("backup-before");
    let after = root.path().join("backup-after");
    // Small segments, so compaction has sealed ones to rewrite; the index
    // snapshot, so its file is scanned too.
    let config = || {
        StoreConfig::new(&data)
            .with_segment_max_bytes(16 << 10)
            .with_enable_mmap_index(true)
    };
    let forgotten = 1;

    let store = Store::open(config()).expect("open");
    write_members(&store);
    store.snapshot(&before).expect("backup before forget");
    assert!(store.forget(&entity(forgotten)).expect("forget"));
    assert!(!store.forget(&entity(forgotten)).expect("forget again"));
    store.compact().expect("compact");
    store.snapshot(&after).expect("backup after forget");

    // No file anywhere holds a personal value in clear, of any subject: the
    // store never wrote one.
    let keys = data.join("keys");
    let dirs = [
        data.as_path(),
        keys.as_path(),
        before.as_path(),
        after.as_path(),
    ];
    for n in 0..SUBJECTS {
        for value in personal_values(n) {
            let found = holding(&dirs, &value);
            assert!(
                found.is_empty(),
                "subject {n}: {:?} in {found:?}",
                String::from_utf8_lossy(&value)
            );
        }
    }
    // The control: what is not personal is found, in the store and both backups.
    for dir in [&data, &before, &after] {
        assert!(
            !holding(&[dir], PLAN_MARKER.as_bytes()).is_empty(),
            "control in {dir:?}"
        );
    }
    // Keys live beside the log, never in a backup.
    assert_eq!(
        std::fs::read_dir(&keys).expect("keys").count(),
        SUBJECTS as usize - 1
    );
    assert!(!before.join("keys").exists() && !after.join("keys").exists());

    assert_erased(&store, forgotten);
    assert!(store.verify().expect("verify").is_clean());
    // The forget is recorded for replicas and audits, by key id only.
    let records = store.stream(batpak::store::ERASURE_ENTITY);
    assert_eq!(records.len(), 1, "one key destroyed, one record");
    assert_eq!(records[0].kind, batpak::event::system::ERASURE);
    let record = store
        .get(records[0].event_id)
        .expect("get")
        .expect("visible")
        .payload;
    let key_id = batpak::store::KeyId::of(&entity(forgotten)).to_hex();
    assert_eq!(record, serde_json::json!({ "key_id": key_id }));
    // A projection still folds every event, erased fields included.
    let card: Card = store
        .project(&entity(forgotten), &Freshness::Consistent)
        .expect("project")
        .expect("state");
    assert_eq!(
        (card.events, card.erased),
        (1 + u64::from(MOVES), 1 + u64::from(MOVES))
    );
    assert_eq!(card.city, format!("city-{}", MOVES - 1));
    // JSON views show a marker.
    let first = store.stream(&entity(forgotten))[0].event_id;
    let json = store.get(first).expect("get").expect("visible").payload;
    assert_eq!(json["Joined"]["email"], "erased");
    assert_eq!(json["Joined"]["plan"], PLAN_MARKER);
    store.close().expect("close");

    // Erasure is durable, and reaches the backup taken before it: the key
    // was the only way to the values.
    let reopened = Store::open(config()).expect("reopen");
    assert_erased(&reopened, forgotten);
    reopened.close().expect("close");
    // Closed, the store has written its index snapshot: scan again.
    assert!(
        data.join("index.snap").exists(),
        "the index snapshot is scanned"
    );
    for n in 0..SUBJECTS {
        for value in personal_values(n) {
            assert!(
                holding(&[&data], &value).is_empty(),
                "subject {n} after close"
            );
        }
    }
    let old_backup = Store::open_read_only(
        StoreConfig::new(&before).with_key_store(Arc::new(FileKeyStore::new(&keys))),
    )
    .expect("open backup");
    assert_erased(&old_backup, forgotten);
}

#[test]
fn without_its_key_store_a_backup_shows_erased_fields_never_ciphertext() {
    let root = tempfile::tempdir().expect("tempdir");
    let data = root.path().join("data");
    let backup = root.path().join("backup");
    let store = Store::open(StoreConfig::new(&data)).expect("open");
    write_members(&store);
    store.snapshot(&backup).expect("backup");
    store.close().expect("close");
    // The backup opened on its own has no keys (they are not copied): reads
    // cannot tell a missing key from a destroyed one, so the fields are
    // erased, and nothing fails.
    let alone = Store::open_read_only(StoreConfig::new(&backup)).expect("open backup");
    let events = alone.read_typed::<Member>(&entity(0)).expect("read");
    match events[0].as_ref().expect("decodes") {
        (_, Member::Joined { email, plan, .. }) => {
            assert_eq!((email, plan.as_str()), (&Personal::Erased, PLAN_MARKER));
        }
        other => panic!("expected Joined, got {other:?}"),
    }
    let json = alone
        .get(events[0].as_ref().expect("ok").0.header.event_id)
        .expect("get");
    assert_eq!(json.expect("visible").payload["Joined"]["email"], "erased");
}
