//! `batpak-nats`: run an exporter or a follower as a process of its own.
//!
//! ```text
//! batpak-nats export DATA_DIR URL STREAM [REPLICAS]   # beside the writer, over a read-only open
//! batpak-nats follow REPLICA_DIR URL STREAM           # a replica in REPLICA_DIR
//! ```
//!
//! Both run until killed; each prints `ready` once started, then a line
//! with its position every second.

use batpak_nats::{ExportConfig, Exporter, FollowConfig, Follower, StreamConfig};
use batpak_runtime::store::{Store, StoreConfig};
use std::sync::Arc;
use std::time::Duration;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["export", dir, url, stream, rest @ ..] => {
            let replicas = rest.first().and_then(|r| r.parse().ok()).unwrap_or(1);
            export(
                dir,
                StreamConfig::new(*url, *stream).with_replicas(replicas),
            )
        }
        ["follow", dir, url, stream] => follow(dir, StreamConfig::new(*url, *stream)),
        _ => {
            eprintln!("usage: batpak-nats export DATA_DIR URL STREAM [REPLICAS]\n       batpak-nats follow REPLICA_DIR URL STREAM");
            2
        }
    };
    std::process::exit(code);
}

fn export(dir: &str, stream: StreamConfig) -> i32 {
    let config = StoreConfig::new(dir).with_follow_interval(Duration::from_millis(2));
    let store = match Store::open_read_only(config) {
        Ok(s) => Arc::new(s),
        Err(e) => return fail(&e),
    };
    let exporter = match Exporter::start(store, ExportConfig::new(stream)) {
        Ok(e) => e,
        Err(e) => return fail(&e),
    };
    println!("ready");
    loop {
        std::thread::sleep(Duration::from_secs(1));
        let error = exporter
            .last_error()
            .map(|e| e.to_string())
            .unwrap_or_default();
        println!(
            "acked {} lag {} {error}",
            exporter.acked_sequence(),
            exporter.lag()
        );
    }
}

fn follow(dir: &str, stream: StreamConfig) -> i32 {
    let store = match Store::open_replica(StoreConfig::new(dir)) {
        Ok(s) => Arc::new(s),
        Err(e) => return fail(&e),
    };
    let follower = match Follower::start(store, FollowConfig::new(stream)) {
        Ok(f) => f,
        Err(e) => return fail(&e),
    };
    println!("ready");
    loop {
        std::thread::sleep(Duration::from_secs(1));
        let error = follower
            .last_error()
            .map(|e| e.to_string())
            .unwrap_or_default();
        println!("applied {} {error}", follower.applied_sequence());
    }
}

fn fail(e: &dyn std::error::Error) -> i32 {
    eprintln!("batpak-nats: {e}");
    1
}
