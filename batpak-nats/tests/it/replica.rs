//! Replicas built from the stream: equal to the primary (ids, sequences,
//! hashes, payloads, the schema ledger, projections), `verify()` clean,
//! refusing user writes; a replica process killed and restarted catches up
//! from its own log; a promoted replica takes writes.

use super::server::Server;
use super::{workload_step, Account, Rng};
use batpak::prelude::*;
use batpak::store::ReplicatedEvent;
use batpak_nats::{ExportConfig, Exporter, FollowConfig, Follower, StreamConfig};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

const CATCH_UP: Duration = Duration::from_secs(60);

fn all(store: &Store) -> Vec<ReplicatedEvent> {
    store.replicated_events(0, usize::MAX).unwrap()
}

/// The balance of an account, folded from its typed events.
#[derive(
    Debug, Default, Clone, PartialEq, serde::Serialize, serde::Deserialize, batpak::Projection,
)]
#[batpak(events = Account)]
struct Balance {
    cents: i64,
    movements: u32,
}

impl batpak::Apply<Account> for Balance {
    fn apply(&mut self, event: &Account, _meta: &batpak::EventMeta) {
        match event {
            Account::Deposited { cents } => self.cents += *cents as i64,
            Account::Withdrawn { cents } => self.cents -= *cents as i64,
        }
        self.movements += 1;
    }
}

fn assert_equal(primary: &Store, replica: &Store) {
    assert_eq!(
        all(primary),
        all(replica),
        "ids, sequences, hashes, payloads"
    );
    assert!(replica.verify().unwrap().is_clean());
    assert_eq!(
        primary.schema_ledger().len(),
        replica.schema_ledger().len(),
        "the schema ledger travelled"
    );
    for n in 0..17 {
        let entity = format!("acct:{n}");
        let p: Option<Balance> = primary.project_typed(&entity).unwrap();
        let r: Option<Balance> = replica.project_typed(&entity).unwrap();
        assert_eq!(p, r, "projection of {entity}");
    }
}

#[test]
fn a_replica_equals_its_primary_and_a_promoted_one_takes_writes() {
    let server = Server::start();
    let (pd, rd) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let primary = Arc::new(Store::open(StoreConfig::new(pd.path())).unwrap());
    let stream = StreamConfig::new(server.url(), "REPLICA");
    let exporter =
        Exporter::start(Arc::clone(&primary), ExportConfig::new(stream.clone())).unwrap();
    let replica = Arc::new(Store::open_replica(StoreConfig::new(rd.path())).unwrap());
    let subscription = replica.subscribe_lossy(&Region::all());
    let follower =
        Follower::start(Arc::clone(&replica), FollowConfig::new(stream.clone())).unwrap();
    let mut rng = Rng::seeded();
    for step in 0..500 {
        workload_step(&primary, &mut rng, step);
    }
    let last = primary.frontier().visible;
    assert!(
        follower.wait_applied(last, CATCH_UP),
        "{:?}",
        follower.last_error()
    );
    assert_equal(&primary, &replica);
    assert!(!replica.schema_ledger().is_empty());
    // Cursors and subscriptions on the replica see what it applied.
    let mut cursor = replica.cursor_guaranteed(&Region::all());
    assert_eq!(cursor.poll(usize::MAX).len(), all(&primary).len());
    let notified = std::iter::from_fn(|| subscription.try_recv()).count() as u64;
    assert_eq!(
        notified + subscription.dropped(),
        all(&primary).len() as u64
    );
    // A second replica of this stream, fed from another stream's replica
    // directory, is refused.
    let other = tempfile::tempdir().unwrap();
    {
        let first = Store::open(StoreConfig::new(other.path())).unwrap();
        first
            .append(
                &Coordinate::new("x", "y").unwrap(),
                super::RAW,
                &serde_json::json!({}),
            )
            .unwrap();
        first.close().unwrap();
    }
    let foreign = Arc::new(Store::open_replica(StoreConfig::new(other.path())).unwrap());
    let refused = Follower::start(Arc::clone(&foreign), FollowConfig::new(stream)).unwrap();
    super::eventually(CATCH_UP, "the follower to refuse the stream", || {
        matches!(
            refused.last_error().as_deref(),
            Some(batpak_nats::Error::StreamMismatch { .. })
        )
    });
    refused.stop();
    let cart = Coordinate::new("acct:1", "bank").unwrap();
    assert!(matches!(
        replica.append(&cart, super::RAW, &serde_json::json!({})),
        Err(StoreError::Replica)
    ));
    follower.stop();
    exporter.stop();
    // Promotion after losing the primary: the replica's directory opens as
    // an ordinary store and continues every chain.
    let replica = Arc::into_inner(replica).unwrap();
    replica.close().unwrap();
    let promoted = Store::open(StoreConfig::new(rd.path())).unwrap();
    let before = promoted.entity_sequence("acct:1");
    let r = promoted
        .append_typed(&cart, &Account::Deposited { cents: 1 })
        .unwrap();
    assert_eq!(r.entity_sequence, before + 1);
    assert!(r.sequence > last);
    assert!(promoted.verify().unwrap().is_clean());
}

#[test]
fn a_replica_process_killed_and_restarted_catches_up() {
    let server = Server::start();
    let (pd, rd) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let primary = Arc::new(Store::open(StoreConfig::new(pd.path())).unwrap());
    let stream = StreamConfig::new(server.url(), "FOLLOW");
    let exporter = Exporter::start(Arc::clone(&primary), ExportConfig::new(stream)).unwrap();
    let spawn = || {
        Command::new(env!("CARGO_BIN_EXE_batpak-nats"))
            .args([
                "follow",
                &rd.path().display().to_string(),
                &server.url(),
                "FOLLOW",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn the follower")
    };
    let mut rng = Rng::seeded();
    let mut step = 0;
    for _ in 0..5 {
        let mut child = spawn();
        for _ in 0..100 {
            workload_step(&primary, &mut rng, step);
            step += 1;
        }
        std::thread::sleep(Duration::from_millis(rng.below(200)));
        child.kill().unwrap();
        child.wait().unwrap();
    }
    let last = primary.frontier().visible;
    assert!(exporter.wait_acked(last, CATCH_UP));
    let mut child = spawn();
    super::eventually(CATCH_UP, "the restarted replica to catch up", || {
        Store::open_read_only(StoreConfig::new(rd.path()))
            .is_ok_and(|r| r.frontier().visible == last)
    });
    child.kill().unwrap();
    child.wait().unwrap();
    let replica = Store::open_replica(StoreConfig::new(rd.path())).unwrap();
    assert_equal(&primary, &replica);
}
