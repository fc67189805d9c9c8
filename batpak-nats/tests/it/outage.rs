//! The server goes away mid-export: stopped and restarted, or one node of
//! a three-node cluster with a stream of three replicas killed. The store
//! keeps committing; the exporter retries and catches up, with no loss and
//! no duplicate.

use super::server::{Cluster, Server};
use super::{committed, eventually, read_stream, workload_step, Rng};
use batpak::prelude::*;
use batpak_nats::{ExportConfig, Exporter, StreamConfig};
use std::sync::Arc;
use std::time::Duration;

const CATCH_UP: Duration = Duration::from_secs(90);

fn writes(store: &Store, rng: &mut Rng, from: u64, n: u64) {
    for step in from..from + n {
        workload_step(store, rng, step);
    }
}

#[test]
fn a_server_restart_mid_export_loses_nothing_and_duplicates_nothing() {
    let mut server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(StoreConfig::new(dir.path())).unwrap());
    let config = ExportConfig::new(StreamConfig::new(server.url(), "RESTART"));
    let exporter = Exporter::start(Arc::clone(&store), config).unwrap();
    let mut rng = Rng::seeded();
    writes(&store, &mut rng, 0, 300);
    assert!(exporter.wait_acked(store.frontier().visible, CATCH_UP));
    server.kill();
    // The store does not wait for the server.
    writes(&store, &mut rng, 300, 300);
    eventually(CATCH_UP, "the exporter to notice the outage", || {
        exporter.last_error().is_some()
    });
    assert!(exporter.lag() > 0);
    server.restart();
    writes(&store, &mut rng, 600, 300);
    let last = store.frontier().visible;
    assert!(
        exporter.wait_acked(last, CATCH_UP),
        "caught up after the restart"
    );
    assert_eq!(exporter.lag(), 0);
    exporter.stop();
    let got = read_stream(&server.url(), "RESTART");
    assert_eq!(got, committed(&*store));
}

#[test]
fn losing_one_node_of_three_loses_nothing_and_duplicates_nothing() {
    let mut cluster = Cluster::start();
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(StoreConfig::new(dir.path())).unwrap());
    let stream = StreamConfig::new(cluster.urls(), "R3").with_replicas(3);
    let exporter = Exporter::start(Arc::clone(&store), ExportConfig::new(stream)).unwrap();
    let mut rng = Rng::seeded();
    writes(&store, &mut rng, 0, 300);
    // The cluster elects its leaders before the stream exists.
    assert!(exporter.wait_acked(store.frontier().visible, CATCH_UP));
    cluster.nodes[0].kill();
    writes(&store, &mut rng, 300, 600);
    let last = store.frontier().visible;
    assert!(
        exporter.wait_acked(last, CATCH_UP),
        "caught up without node 0: {:?}",
        exporter.last_error()
    );
    exporter.stop();
    let survivor = cluster.nodes[1].url();
    assert_eq!(read_stream(&survivor, "R3"), committed(&*store));
}

#[test]
fn a_stream_of_another_store_is_refused() {
    let server = Server::start();
    let stream = StreamConfig::new(server.url(), "OTHER");
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let first = Arc::new(Store::open(StoreConfig::new(a.path())).unwrap());
    let mut rng = Rng::seeded();
    writes(&first, &mut rng, 0, 20);
    let exporter = Exporter::start(Arc::clone(&first), ExportConfig::new(stream.clone())).unwrap();
    assert!(exporter.wait_acked(first.frontier().visible, CATCH_UP));
    exporter.stop();
    let second = Arc::new(Store::open(StoreConfig::new(b.path())).unwrap());
    writes(&second, &mut rng, 0, 40);
    let exporter = Exporter::start(Arc::clone(&second), ExportConfig::new(stream)).unwrap();
    eventually(CATCH_UP, "the exporter to refuse the stream", || {
        matches!(
            exporter.last_error().as_deref(),
            Some(batpak_nats::Error::ForeignStream { .. })
        )
    });
    assert_eq!(exporter.acked_sequence(), 0);
    exporter.stop();
    assert_eq!(read_stream(&server.url(), "OTHER"), committed(&*first));
}
