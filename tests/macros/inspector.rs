//! The `batpak` inspector, run as a separate process on a store written with
//! the example families: it renders every event as JSON from the log's own
//! ledger, without linking those types, beside the writer or after it, and
//! fails clearly on a missing directory.

use crate::domain;

use crate::cli::batpak;
use batpak::prelude::*;

/// `Account` as a later build might define it: the same kinds and versions,
/// `Deposited` with another shape (drift). It keeps the other variants, so
/// that drift is the only thing the store can refuse it for.
mod drifted {
    use serde::{Deserialize, Serialize};

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
    #[batpak(category = 0x1)]
    pub enum Account {
        #[batpak(id = 1)]
        Opened { owner: String },
        #[batpak(id = 2)]
        Deposited { cents: u64, note: String },
        #[batpak(id = 3)]
        Withdrawn { cents: u64 },
    }
}

#[test]
fn tail_renders_every_event_as_json_from_the_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_str().unwrap();
    let alice = Coordinate::new("account:alice", "bank").unwrap();
    let player = Coordinate::new("player:1", "game").unwrap();
    let mut expected = Vec::new();
    {
        let store = Store::open(StoreConfig::new(dir.path())).unwrap();
        let events = [
            domain::Account::Opened {
                owner: "Alice".into(),
            },
            domain::Account::Deposited { cents: 500 },
            domain::Account::Withdrawn { cents: 120 },
        ];
        for e in &events {
            store.append_typed(&alice, e).unwrap();
            expected.push(serde_json::to_value(e).unwrap());
        }
        store
            .append_typed(&player, &domain::legacy::Player::Moved { x: 4 })
            .unwrap();
        expected.push(serde_json::json!({"Moved": {"x": 4}}));
        let moved = domain::Player::Moved { x: 1, y: 2, z: 3 };
        store.append_typed(&player, &moved).unwrap();
        expected.push(serde_json::to_value(&moved).unwrap());
        store
            .append(
                &player,
                EventKind::custom(0x7, 1),
                &serde_json::json!({"raw": true}),
            )
            .unwrap();
        expected.push(serde_json::json!({"raw": true}));

        // The inspector reads a directory beside its writer (a reader takes
        // no lock), up to what the writer has made durable.
        let beside = batpak(&["tail", path, "-n", "100"]);
        let text = String::from_utf8_lossy(&beside.stdout);
        assert!(
            beside.status.success(),
            "{}",
            String::from_utf8_lossy(&beside.stderr)
        );
        let users = text
            .lines()
            .filter(|l| !l.contains("\"entity\":\"$"))
            .count();
        assert_eq!(users, expected.len(), "{text}");
        store.close().unwrap();
    }
    // Reopen with a drifted shape: refused, nothing written, and the directory
    // still renders with the inspector.
    {
        let store = Store::open(StoreConfig::new(dir.path())).unwrap();
        let before = store.stats().unwrap().events;
        let drift = store.append_typed(
            &alice,
            &drifted::Account::Deposited {
                cents: 1,
                note: "x".into(),
            },
        );
        match drift {
            Err(batpak::store::StoreError::SchemaDrift { version, path, .. }) => {
                assert_eq!(version, 1);
                assert_eq!(path, "Deposited.note");
            }
            other => panic!("expected SchemaDrift, got {other:?}"),
        }
        assert_eq!(store.stats().unwrap().events, before);
        store.close().unwrap();
    }
    let out = batpak(&["tail", path, "-n", "100"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    let user: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| !l["entity"].as_str().unwrap().starts_with('$'))
        .map(|l| &l["payload"])
        .collect();
    assert_eq!(user, expected.iter().collect::<Vec<_>>());
    let versions: Vec<u64> = lines
        .iter()
        .filter(|l| l["entity"] == "player:1")
        .map(|l| l["version"].as_u64().unwrap())
        .collect();
    assert_eq!(versions, vec![1, 3, 0]);

    let filtered = batpak(&["tail", path, "--entity", "account:alice", "-n", "2"]);
    assert_eq!(String::from_utf8_lossy(&filtered.stdout).lines().count(), 2);
    let verify = batpak(&["verify", path]);
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
    let schema = String::from_utf8(batpak(&["schema", path]).stdout).unwrap();
    assert!(
        schema.contains("Account") && schema.contains("Moved") && schema.contains("v3"),
        "{schema}"
    );
    let info = String::from_utf8(batpak(&["info", path]).stdout).unwrap();
    assert!(info.contains("events:"), "{info}");
}

#[test]
fn a_missing_directory_is_a_clear_error() {
    let out = batpak(&["info", "/nonexistent/batpak-data"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));
    let usage = batpak(&["frobnicate"]);
    assert_eq!(usage.status.code(), Some(2));
}

/// A family this repository never snapshotted.
mod unknown {
    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, batpak::Event)]
    #[batpak(category = 0x7)]
    pub enum Parcel {
        #[batpak(id = 1)]
        Shipped { weight_grams: u32 },
    }
}

#[test]
fn schema_check_reads_a_log_against_the_committed_snapshots() {
    let snapshots = concat!(env!("CARGO_MANIFEST_DIR"), "/schemas");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_str().unwrap();
    let alice = Coordinate::new("account:alice", "bank").unwrap();
    let player = Coordinate::new("player:1", "game").unwrap();
    {
        let store = Store::open(StoreConfig::new(dir.path())).unwrap();
        store
            .append_typed(&alice, &domain::Account::Deposited { cents: 5 })
            .unwrap();
        store
            .append_typed(&player, &domain::legacy::Player::Moved { x: 4 })
            .unwrap();
        store.close().unwrap();
    }
    let ok = batpak(&["schema", "check", path, "--against", snapshots]);
    let stdout = String::from_utf8_lossy(&ok.stdout);
    assert!(
        ok.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(stdout.starts_with("ok:"), "{stdout}");

    // A kind the snapshots lack: the check fails and names it.
    {
        let store = Store::open(StoreConfig::new(dir.path())).unwrap();
        let parcel = Coordinate::new("parcel:9", "post").unwrap();
        store
            .append_typed(&parcel, &unknown::Parcel::Shipped { weight_grams: 250 })
            .unwrap();
        store.close().unwrap();
    }
    let failed = batpak(&["schema", "check", path, "--against", snapshots]);
    let stdout = String::from_utf8_lossy(&failed.stdout);
    assert_eq!(failed.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("Parcel::Shipped v1"), "{stdout}");
    assert!(stdout.contains("kind 0x7001"), "{stdout}");
    assert!(stdout.contains("rule 22"), "{stdout}");

    // An empty snapshot directory is reported as such, not as a pass.
    let empty = tempfile::tempdir().unwrap();
    let none = batpak(&[
        "schema",
        "check",
        path,
        "--against",
        empty.path().to_str().unwrap(),
    ]);
    assert_eq!(none.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&none.stdout).contains("no snapshots"));
}

/// A family with a personal field, for the inspector's view of erasure.
mod members {
    use batpak::Personal;
    use serde::{Deserialize, Serialize};

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
    #[batpak(category = 0x9, id = 1, name = "InspectedMember")]
    pub struct Joined {
        #[batpak(personal)]
        pub email: Personal<String>,
        pub plan: String,
    }
}

#[test]
fn tail_shows_forgotten_personal_fields_as_erased_and_never_ciphertext() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_str().unwrap();
    {
        let store = Store::open(StoreConfig::new(dir.path())).unwrap();
        for who in ["ada", "alan"] {
            let c = Coordinate::new(format!("member:{who}"), "club").unwrap();
            let e = members::Joined {
                email: batpak::Personal::from(format!("{who}@example.org")),
                plan: "gold".into(),
            };
            store.append_typed(&c, &e).unwrap();
        }
        assert!(store.forget("member:ada").unwrap());
        store.close().unwrap();
    }
    let out = batpak(&["tail", path, "-n", "100"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let payloads: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| {
            v["entity"]
                .as_str()
                .is_some_and(|e| e.starts_with("member:"))
        })
        .map(|v| v["payload"].clone())
        .collect();
    assert_eq!(
        payloads,
        vec![
            serde_json::json!({"email": "erased", "plan": "gold"}),
            serde_json::json!({"email": {"value": "alan@example.org"}, "plan": "gold"}),
        ],
        "{text}"
    );
}
