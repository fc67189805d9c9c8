//! The exporter as a child process, SIGKILLed at random points 20 times
//! while the store takes appends, batches and fences: the stream holds every
//! committed event once, in commit order, and nothing of a cancelled fence.

use super::server::Server;
use super::{committed, eventually, read_stream, workload_step, Rng};
use batpak::prelude::*;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn spawn_exporter(dir: &std::path::Path, url: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_batpak-nats"))
        .args(["export", &dir.display().to_string(), url, "KILLS"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the exporter")
}

#[test]
fn an_exporter_killed_20_times_publishes_every_committed_event_once_in_order() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(StoreConfig::new(dir.path())).unwrap());
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (store, stop) = (Arc::clone(&store), Arc::clone(&stop));
        std::thread::spawn(move || {
            let mut rng = Rng::seeded();
            let mut step = 0;
            while !stop.load(Ordering::Acquire) {
                workload_step(&store, &mut rng, step);
                step += 1;
            }
            step
        })
    };
    let mut rng = Rng::seeded();
    for _ in 0..20 {
        let mut child = spawn_exporter(dir.path(), &server.url());
        // Anywhere from before its first connection to well into a run.
        std::thread::sleep(Duration::from_millis(rng.below(400)));
        child.kill().unwrap();
        child.wait().unwrap();
    }
    stop.store(true, Ordering::Release);
    let steps = writer.join().unwrap();
    let want = committed(&*store);
    // The killed exporters published part of it (each kill fell somewhere
    // into a run, not only before the first connection).
    let published = read_stream_last(&server.url());
    eprintln!(
        "{steps} workload steps, {} committed events, the killed exporters published through sequence {published:?}",
        want.len()
    );
    assert!(published.is_some());
    // A last exporter brings the stream up to date.
    let mut child = spawn_exporter(dir.path(), &server.url());
    let last = want.last().unwrap().sequence;
    eventually(Duration::from_secs(60), "the stream to catch up", || {
        read_stream_last(&server.url()) == Some(last)
    });
    child.kill().unwrap();
    child.wait().unwrap();
    let got = read_stream(&server.url(), "KILLS");
    assert_eq!(got.len(), want.len(), "one message per committed event");
    assert_eq!(
        got, want,
        "the stream holds the committed events in commit order"
    );
}

/// The global sequence in the stream's last message, if any.
fn read_stream_last(url: &str) -> Option<u64> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = async_nats::connect(url).await.ok()?;
        let js = async_nats::jetstream::new(client);
        let mut s = js.get_stream("KILLS").await.ok()?;
        let last = s.info().await.ok()?.state.last_sequence;
        let msg = s.get_raw_message(last).await.ok()?;
        let meta = msg.headers.get("Batpak-Event")?.as_str();
        super::field(meta, "seq")?.parse().ok()
    })
}
