//! The inspector for operators: `--version`, kinds by name (`--kind
//! Account::Deposited`, system kinds named in `info`, `proposed_kind` of
//! denials and bypasses as hex and name), and `--json` on every command.

use crate::domain;

use crate::cli::{batpak, stdout};
use batpak::gate::{Bypass, Denial, DenialCode, FnGate, GateSet};
use batpak::prelude::*;
use serde_json::Value;
use std::process::Output;

fn json(out: &Output) -> Value {
    serde_json::from_str(&stdout(out)).expect("one JSON document")
}

/// A store with accounts, a player, a raw kind, a denial and a bypass.
fn sample_store() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreConfig::new(dir.path())).unwrap();
    let alice = Coordinate::new("account:alice", "bank").unwrap();
    let bob = Coordinate::new("account:bob", "bank").unwrap();
    for (at, event) in [
        (&alice, domain::Account::Opened { owner: "A".into() }),
        (&alice, domain::Account::Deposited { cents: 500 }),
        (&bob, domain::Account::Deposited { cents: 70 }),
        (&alice, domain::Account::Withdrawn { cents: 120 }),
    ] {
        store.append_typed(at, &event).unwrap();
    }
    let player = Coordinate::new("player:1", "game").unwrap();
    let moved = domain::Player::Moved { x: 1, y: 2, z: 3 };
    store.append_typed(&player, &moved).unwrap();
    store
        .append(
            &player,
            EventKind::custom(0x7, 1),
            &serde_json::json!({"raw": true}),
        )
        .unwrap();
    let gates: GateSet<u32> = GateSet::new().with(FnGate::new("limit", |_: &u32| {
        Err(Denial::new(DenialCode::new("over_limit"), "over the limit"))
    }));
    let rejection = gates.evaluate(&1).unwrap_err();
    store
        .append_denial(&alice, domain::Account::WITHDRAWN, &rejection)
        .unwrap();
    let bypass = Bypass::new("approved by a supervisor").unwrap();
    store
        .append_bypass(&bob, domain::Account::DEPOSITED, &gates, &bypass)
        .unwrap();
    store.close().unwrap();
    dir
}

#[test]
fn version_and_help_say_what_they_should() {
    let expected = format!("batpak {}\n", env!("CARGO_PKG_VERSION"));
    assert_eq!(stdout(&batpak(&["--version"])), expected);
    assert_eq!(stdout(&batpak(&["-V"])), expected);
    let help = stdout(&batpak(&["--help"]));
    for part in [
        "exit codes:",
        "0  success",
        "2  usage error",
        "--json",
        "graph DIR",
    ] {
        assert!(help.contains(part), "{part}: {help}");
    }
}

#[test]
fn kind_takes_a_name_hex_or_decimal() {
    let dir = sample_store();
    let path = dir.path().to_str().unwrap();
    let lines = |kind: &str| -> Vec<Value> {
        stdout(&batpak(&["tail", path, "--kind", kind, "-n", "100"]))
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect()
    };
    let by_name = lines("Account::Deposited");
    let entities: Vec<&str> = by_name
        .iter()
        .map(|l| l["entity"].as_str().unwrap())
        .collect();
    assert_eq!(entities, ["account:alice", "account:bob"]);
    for line in &by_name {
        assert_eq!(line["kind"], "0x1002");
        assert_eq!(line["kind_name"], "Account::Deposited");
    }
    assert_eq!(lines("0x1002"), by_name);
    assert_eq!(lines("4098"), by_name);

    // System kinds by name; a denial's or bypass's proposed kind in hex and by name.
    let denials = lines("batpak::Denial");
    assert_eq!(denials.len(), 1);
    assert_eq!(
        denials[0]["payload"]["proposed_kind"],
        "0x1003 Account::Withdrawn"
    );
    let bypasses = lines("batpak::Bypass");
    assert_eq!(
        bypasses[0]["payload"]["proposed_kind"],
        "0x1002 Account::Deposited"
    );
    assert_eq!(bypasses[0]["kind"], "0x0002");

    // An unknown name is a usage error that names the close ones.
    let unknown = batpak(&["tail", path, "--kind", "Account::Deposit"]);
    assert_eq!(unknown.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert!(
        stderr.contains("did you mean Account::Deposited"),
        "{stderr}"
    );
    let bad = batpak(&["tail", path, "--kind", "0x10000"]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn info_names_every_kind_the_system_ones_too() {
    let dir = sample_store();
    let path = dir.path().to_str().unwrap();
    let info = stdout(&batpak(&["info", path]));
    for line in [
        "  0x0001 batpak::Denial: 1 events (library)",
        "  0x0002 batpak::Bypass: 1 events (library)",
        "  0x1001 Account::Opened: 1 events (v1)",
        "  0x1002 Account::Deposited: 2 events (v1)",
        "  0x2002 Player::Moved: 1 events (v3)",
        "  0x7001: 1 events (raw JSON)",
    ] {
        assert!(info.lines().any(|l| l == line), "{line}\n{info}");
    }
    assert!(
        info.lines()
            .any(|l| l.starts_with("  0xd001 batpak::SchemaLedger: ")),
        "{info}"
    );
    assert!(!info.contains("(raw)"), "{info}");
}

#[test]
fn every_command_speaks_json() {
    let dir = sample_store();
    let path = dir.path().to_str().unwrap();

    let info = json(&batpak(&["info", path, "--json"]));
    assert_eq!(info["segments"], 1);
    assert_eq!(info["system_events"], info["events"].as_u64().unwrap() - 6);
    let kinds = info["kinds"].as_array().unwrap();
    let named = |name: &str| kinds.iter().find(|k| k["name"] == name).cloned();
    assert_eq!(named("Account::Deposited").unwrap()["events"], 2);
    assert_eq!(named("batpak::SchemaLedger").unwrap()["system"], true);
    assert_eq!(
        named("Player::Moved").unwrap()["versions"],
        serde_json::json!([3])
    );
    assert!(kinds
        .iter()
        .any(|k| k["kind"] == "0x7001" && k["name"].is_null()));

    // tail stays one JSON object a line, with or without --json.
    let tail = stdout(&batpak(&["tail", path, "--json", "-n", "3"]));
    assert_eq!(tail.lines().count(), 3);
    for line in tail.lines() {
        let event: Value = serde_json::from_str(line).expect("a JSON line");
        assert!(event["event_id"].as_str().unwrap().len() == 32, "{event}");
    }

    let verify = json(&batpak(&["verify", "--json", path]));
    assert_eq!(verify["ok"], true);
    assert_eq!(verify["problems"], serde_json::json!([]));
    assert_eq!(verify["events"], info["events"]);

    let schema = json(&batpak(&["schema", path, "--json"]));
    let families = schema["families"].as_array().unwrap();
    let account = families.iter().find(|f| f["family"] == "Account").unwrap();
    let variants: Vec<&str> = account["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        variants,
        [
            "Account::Opened",
            "Account::Deposited",
            "Account::Withdrawn"
        ]
    );

    let snapshots = concat!(env!("CARGO_MANIFEST_DIR"), "/schemas");
    let check = json(&batpak(&[
        "schema",
        "check",
        path,
        "--against",
        snapshots,
        "--json",
    ]));
    assert_eq!(check["ok"], true, "{check}");
    assert_eq!(check["findings"], serde_json::json!([]));
    assert!(check["checked"].as_u64().unwrap() >= 4, "{check}");

    // A failing check still prints its document, and exits 1.
    let empty = tempfile::tempdir().unwrap();
    let none = batpak(&[
        "schema",
        "check",
        path,
        "--against",
        empty.path().to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(none.status.code(), Some(1));
    let doc: Value = serde_json::from_slice(&none.stdout).expect("a JSON document");
    assert_eq!(doc["ok"], false);
    assert_eq!(doc["snapshots"], false);

    // Errors stay on stderr with their exit codes; stdout stays empty.
    let missing = batpak(&["info", "/nonexistent/batpak-data", "--json"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(missing.stdout.is_empty());
    let usage = batpak(&["verify", path, "--frob"]);
    assert_eq!(usage.status.code(), Some(2));
}

#[test]
fn info_lists_retention_cuts() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreConfig::new(dir.path())).unwrap();
    let alice = Coordinate::new("account:alice", "bank").unwrap();
    let bob = Coordinate::new("account:bob", "bank").unwrap();
    for cents in 1..=5 {
        store
            .append_typed(&alice, &domain::Account::Deposited { cents })
            .unwrap();
        store
            .append_typed(&bob, &domain::Account::Deposited { cents })
            .unwrap();
    }
    store.truncate_before("account:alice", 4).unwrap();
    store.tombstone("account:bob").unwrap();
    let policy =
        batpak::store::RetentionPolicy::new(Region::entity_under("account")).with_max_count(100);
    store.set_retention_policies(&[policy]).unwrap();
    store.close().unwrap();
    let path = dir.path().to_str().unwrap();
    let info = stdout(&batpak(&["info", path]));
    for line in [
        "retention: 2 entities cut (1 tombstoned)",
        "  account:alice: starts at 4 (truncate_before 4)",
        "  account:bob: tombstoned (tombstone)",
    ] {
        assert!(info.lines().any(|l| l == line), "{line}\n{info}");
    }
    assert!(
        info.lines()
            .any(|l| l.starts_with("  0x0003 batpak::Retention: 2 events")),
        "{info}"
    );
    let json = json(&batpak(&["info", path, "--json"]));
    assert_eq!(json["tombstoned_entities"], 1);
    assert_eq!(json["retention"][0]["before"], 4);
    assert_eq!(
        json["retention"][0]["hash_at_cut"].as_str().unwrap().len(),
        64
    );
}
