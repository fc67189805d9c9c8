//! The scale-out bench on loopback: exporter throughput (events/s from a
//! store holding 200,000 events to all acked, 1,024 publishes in flight),
//! and end-to-end lag from a primary's append returning to the event being
//! visible on a replica fed through the stream, at 10,000 events/s; each
//! beside the local append rate of the same run. Starts its own
//! `nats-server` (JetStream in a temporary directory); about a minute.
//!
//! `cargo bench -p batpak-nats`

use batpak_nats::{ExportConfig, Exporter, FollowConfig, Follower, StreamConfig};
use batpak_runtime::coordinate::Coordinate;
use batpak_runtime::event::EventKind;
use batpak_runtime::store::{
    AppendOptions, BatchAppendItem, CausationRef, Store, StoreConfig, SyncConfig,
};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const KIND: EventKind = EventKind::custom(0x1, 1);
const EXPORT_EVENTS: u64 = 200_000;
const LAG_RATE: u64 = 10_000;
const LAG_SECONDS: u64 = 5;
const APPENDERS: u64 = 16;

struct Server {
    child: Child,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn server() -> (Server, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    // `BATPAK_BENCH_JS_DIR` puts the server's storage elsewhere (a tmpfs,
    // to tell the server's disk from the rest).
    let dir = match std::env::var_os("BATPAK_BENCH_JS_DIR") {
        Some(parent) => tempfile::tempdir_in(parent),
        None => tempfile::tempdir(),
    }
    .expect("temp dir");
    let child = Command::new("nats-server")
        .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            eprintln!("nats-server could not be started ({e}): apt-get install -y nats-server");
            std::process::exit(1)
        });
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nats-server did not listen");
        std::thread::sleep(Duration::from_millis(20));
    }
    (
        Server { child, _dir: dir },
        format!("nats://127.0.0.1:{port}"),
    )
}

fn main() {
    let (_server, url) = server();
    // `BATPAK_BENCH=export` or `=lag` runs one half.
    let only = std::env::var("BATPAK_BENCH").unwrap_or_default();
    if only != "lag" {
        throughput(&url);
    }
    if only != "export" {
        lag(&url);
    }
}

fn throughput(url: &str) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(StoreConfig::new(dir.path())).unwrap());
    let payload = serde_json::json!({ "sku": "apple", "qty": 1, "note": "a typical small event" });
    let start = Instant::now();
    let mut n = 0;
    while n < EXPORT_EVENTS {
        let items = (0..1000)
            .map(|i| {
                let c = Coordinate::new(format!("cart:{}", (n + i) % 1000), "shop").unwrap();
                BatchAppendItem::new(c, KIND, &payload, AppendOptions::new(), CausationRef::None)
                    .unwrap()
            })
            .collect();
        store.append_batch(items).unwrap();
        n += 1000;
    }
    let local = EXPORT_EVENTS as f64 / start.elapsed().as_secs_f64();
    let start = Instant::now();
    let exporter = Exporter::start(
        Arc::clone(&store),
        ExportConfig::new(StreamConfig::new(url, "BENCH_EXPORT")),
    )
    .unwrap();
    let last = store.frontier().visible;
    assert!(
        exporter.wait_acked(last, Duration::from_secs(120)),
        "{:?}",
        exporter.last_error()
    );
    let exported = EXPORT_EVENTS as f64 / start.elapsed().as_secs_f64();
    exporter.stop();
    println!(
        "export throughput: {exported:.0} events/s ({EXPORT_EVENTS} events, 16384 in flight); \
         local append rate (batches of 1000) {local:.0} events/s"
    );
}

/// What `APPENDERS` unpaced threads append per second to a store of their
/// own: the local capacity the paced run uses part of.
fn local_rate() -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(StoreConfig::new(dir.path())).unwrap());
    let per_thread = 2_500;
    let start = Instant::now();
    let threads: Vec<_> = (0..APPENDERS)
        .map(|t| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                let cart = Coordinate::new(format!("cart:{t}"), "shop").unwrap();
                for _ in 0..per_thread {
                    store
                        .append(&cart, KIND, &serde_json::json!({ "sku": "apple" }))
                        .unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    (per_thread * APPENDERS) as f64 / start.elapsed().as_secs_f64()
}

fn lag(url: &str) {
    let local = local_rate();
    let (pd, rd) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let primary = Arc::new(Store::open(StoreConfig::new(pd.path())).unwrap());
    // Its own subjects: two streams may not share any.
    let stream = StreamConfig::new(url, "BENCH_LAG").with_subject_prefix("lag");
    let exporter =
        Exporter::start(Arc::clone(&primary), ExportConfig::new(stream.clone())).unwrap();
    let replica_config = StoreConfig::new(rd.path()).with_sync(SyncConfig {
        every_n_events: 1,
        ..SyncConfig::default()
    });
    let replica = Arc::new(Store::open_replica(replica_config).unwrap());
    let follower = Follower::start(Arc::clone(&replica), FollowConfig::new(stream)).unwrap();
    // When each sequence became visible on the replica.
    let seen: Arc<Mutex<Vec<(u64, Instant)>>> = Arc::default();
    // The watcher stops once it has seen the last event (`u64::MAX` until known).
    let target = Arc::new(AtomicU64::new(u64::MAX));
    let watcher = {
        let (replica, seen, target) =
            (Arc::clone(&replica), Arc::clone(&seen), Arc::clone(&target));
        std::thread::spawn(move || {
            let mut last = 0;
            while last < target.load(Ordering::Acquire) {
                let visible = replica.frontier().visible;
                if visible > last {
                    seen.lock().unwrap().push((visible, Instant::now()));
                    last = visible;
                }
                std::thread::sleep(Duration::from_micros(200));
            }
        })
    };
    let total = LAG_RATE * LAG_SECONDS;
    // Several appenders, each paced at its share of the rate: the writer
    // commits what they queue together under one fsync (group commit), as
    // it does for a service's request threads.
    let start = Instant::now();
    let appenders: Vec<_> = (0..APPENDERS)
        .map(|t| {
            let primary = Arc::clone(&primary);
            std::thread::spawn(move || {
                let cart = Coordinate::new(format!("cart:{t}"), "shop").unwrap();
                let payload = serde_json::json!({ "sku": "apple" });
                let share = total / APPENDERS;
                let mut appended = Vec::with_capacity(share as usize);
                let mut busy = Duration::ZERO;
                for i in 0..share {
                    let due = start
                        + Duration::from_secs_f64(i as f64 * APPENDERS as f64 / LAG_RATE as f64);
                    if let Some(wait) = due.checked_duration_since(Instant::now()) {
                        std::thread::sleep(wait);
                    }
                    let t = Instant::now();
                    let r = primary.append(&cart, KIND, &payload).unwrap();
                    let now = Instant::now();
                    busy += now - t;
                    appended.push((r.sequence, now));
                }
                (appended, busy)
            })
        })
        .collect();
    let mut appended = Vec::new();
    let mut busy = Duration::ZERO;
    for a in appenders {
        let (events, b) = a.join().unwrap();
        appended.extend(events);
        busy += b;
    }
    appended.sort();
    let rate = total as f64 / start.elapsed().as_secs_f64();
    let last = appended.iter().map(|a| a.0).max().unwrap();
    target.store(last, Ordering::Release);
    let caught_up = follower.wait_applied(last, Duration::from_secs(60));
    assert!(
        caught_up,
        "replica at {} of {last}, exporter acked {}: {:?} / {:?}",
        follower.applied_sequence(),
        exporter.acked_sequence(),
        follower.last_error(),
        exporter.last_error()
    );
    watcher.join().unwrap();
    let seen = seen.lock().unwrap();
    let mut lags: Vec<Duration> = appended
        .iter()
        .map(|&(seq, at)| {
            let i = seen.partition_point(|&(v, _)| v < seq);
            seen[i].1.saturating_duration_since(at)
        })
        .collect();
    lags.sort();
    let pct = |p: f64| lags[((lags.len() as f64 * p) as usize).min(lags.len() - 1)];
    println!(
        "end-to-end lag at {rate:.0} events/s ({total} appends from {APPENDERS} threads, fsynced \
         per group on both sides): p50 {:?}, p99 {:?}, max {:?}; local append latency mean {:?}, \
         local append rate ({APPENDERS} threads, unpaced) {local:.0} events/s",
        pct(0.50),
        pct(0.99),
        lags[lags.len() - 1],
        busy / total as u32
    );
    follower.stop();
    exporter.stop();
}
