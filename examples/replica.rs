//! A primary and a read replica in two processes, joined by a NATS
//! JetStream stream: this process writes account events and exports them;
//! a second process (this program again, with `follow`) builds a replica
//! from the stream, checks its chain and projects the same balance.
//!
//! Run with `cargo run --example replica` (starts a `nats-server` of its own
//! on a free loopback port; install it with `apt-get install nats-server`),
//! or `cargo run --example replica -- nats://HOST:PORT` for a running server
//! with JetStream enabled.

#[path = "domain/mod.rs"]
mod domain;

use batpak::prelude::*;
use batpak_nats::{ExportConfig, Exporter, FollowConfig, Follower, StreamConfig};
use domain::{Account, Balance};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const STREAM: &str = "EXAMPLE";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [mode, url, dir, last] if mode == "follow" => follow(url, dir, last.parse()?),
        [url] => primary(url.clone(), None),
        [] => {
            let (server, url) = start_server()?;
            primary(url, Some(server))
        }
        _ => Err("usage: replica [NATS_URL]".into()),
    }
}

/// The primary: writes, exports, starts the replica's process and waits
/// for its report.
fn primary(url: String, server: Option<ServerGuard>) -> Result<(), Box<dyn std::error::Error>> {
    reachable(&url)?;
    let dir = tempfile::tempdir()?;
    let store = Arc::new(Store::open(StoreConfig::new(dir.path()))?);
    let exporter = Exporter::start(
        Arc::clone(&store),
        ExportConfig::new(StreamConfig::new(&url, STREAM)),
    )?;
    let alice = Coordinate::new("account:alice", "bank")?;
    store.append_typed(
        &alice,
        &Account::Opened {
            owner: "alice".into(),
        },
    )?;
    for cents in 1..=100 {
        store.append_typed(&alice, &Account::Deposited { cents })?;
    }
    let last = store.frontier().visible;
    if !exporter.wait_acked(last, Duration::from_secs(10)) {
        return Err(format!("the stream did not ack: {:?}", exporter.last_error()).into());
    }
    let balance: Option<Balance> = store.project_typed("account:alice")?;
    println!(
        "primary: {last} events exported; alice has {} cents",
        balance.map_or(0, |b| b.cents)
    );
    let replica_dir = tempfile::tempdir()?;
    let mut child = Command::new(std::env::current_exe()?)
        .args([
            "follow",
            &url,
            &replica_dir.path().display().to_string(),
            &last.to_string(),
        ])
        .stdout(Stdio::inherit())
        .spawn()?;
    let status = wait(&mut child, Duration::from_secs(30))?;
    exporter.stop();
    drop(server);
    if !status {
        return Err("the replica failed".into());
    }
    Ok(())
}

/// The replica's process: follows the stream up to `last`, then reports.
fn follow(url: &str, dir: &str, last: u64) -> Result<(), Box<dyn std::error::Error>> {
    let replica = Arc::new(Store::open_replica(StoreConfig::new(dir))?);
    let follower = Follower::start(
        Arc::clone(&replica),
        FollowConfig::new(StreamConfig::new(url, STREAM)),
    )?;
    if !follower.wait_applied(last, Duration::from_secs(20)) {
        return Err(format!("the replica did not catch up: {:?}", follower.last_error()).into());
    }
    follower.stop();
    let balance: Option<Balance> = replica.project_typed("account:alice")?;
    let clean = replica.verify()?.is_clean();
    let bob = Coordinate::new("account:bob", "bank")?;
    let refused = replica.append(&bob, EventKind::custom(0x3, 1), &serde_json::json!({}));
    println!(
        "replica (pid {}): caught up to event {last}; chain verified: {clean}; alice has {} cents; \
         a user write is refused: {}",
        std::process::id(),
        balance.map_or(0, |b| b.cents),
        matches!(refused, Err(StoreError::Replica))
    );
    Ok(())
}

/// Fails fast (no hang) when nothing listens at `url`.
fn reachable(url: &str) -> Result<(), Box<dyn std::error::Error>> {
    use std::net::ToSocketAddrs;
    let hostport = url.trim_start_matches("nats://");
    let addr = hostport
        .to_socket_addrs()?
        .next()
        .ok_or("no address for the server")?;
    std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2))
        .map_err(|e| format!("no NATS server at {url}: {e}"))?;
    Ok(())
}

/// Waits for `child` up to `limit`; kills it after that.
fn wait(child: &mut Child, limit: Duration) -> Result<bool, Box<dyn std::error::Error>> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status.success());
        }
        if Instant::now() > deadline {
            child.kill()?;
            return Ok(false);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A `nats-server` this example started, killed on drop.
struct ServerGuard {
    child: Child,
    _dir: tempfile::TempDir,
}

impl Drop for ServerGuard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server() -> Result<(ServerGuard, String), Box<dyn std::error::Error>> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let dir = tempfile::tempdir()?;
    let child = Command::new("nats-server")
        .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| {
            format!("nats-server could not be started ({e}): install it (apt-get install nats-server) or pass a server's url")
        })?;
    let guard = ServerGuard { child, _dir: dir };
    let url = format!("nats://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while reachable(&url).is_err() {
        if Instant::now() > deadline {
            return Err("nats-server did not start listening".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok((guard, url))
}
