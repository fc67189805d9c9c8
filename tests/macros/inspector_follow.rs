//! `batpak tail -f` on a live directory (issue 15): a writer in this process
//! keeps the store open and appends; the inspector, another process, shows
//! each new event as it commits, in order, by kind name, and never the
//! events of a cancelled fence.

use crate::domain;
use batpak::prelude::*;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The child's JSON lines, read on a thread so the test can wait with a
/// timeout; the child is killed when this is dropped.
struct Tail {
    child: Child,
    lines: mpsc::Receiver<serde_json::Value>,
}

impl Tail {
    fn start(dir: &std::path::Path, args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_batpak"))
            .arg("tail")
            .arg(dir)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start batpak tail -f");
        let out = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let value = serde_json::from_str(&line).expect("a JSON line");
                if tx.send(value).is_err() {
                    break;
                }
            }
        });
        Self { child, lines }
    }

    /// The next line of an application event (the library's own, such as a
    /// schema ledger entry for a kind's first write, are skipped), or a
    /// failure naming what was awaited.
    fn next(&self, what: &str) -> serde_json::Value {
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(20))
                .unwrap_or_else(|_| panic!("tail -f did not show {what}"));
            let system = line["kind_name"]
                .as_str()
                .is_some_and(|k| k.starts_with("batpak::"));
            if !system {
                return line;
            }
        }
    }
}

impl Drop for Tail {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn tail_follow_shows_events_as_the_writer_commits_them() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreConfig::new(dir.path())).unwrap();
    let alice = Coordinate::new("account:alice", "bank").unwrap();
    store
        .append_typed(&alice, &domain::Account::Opened { owner: "A".into() })
        .unwrap();

    // The writer stays open: the inspector reads beside it.
    let tail = Tail::start(dir.path(), &["-f", "-n", "1"]);
    let first = tail.next("the existing event");
    assert_eq!(first["kind_name"], "Account::Opened");

    for cents in [10u64, 20, 30] {
        store
            .append_typed(&alice, &domain::Account::Deposited { cents })
            .unwrap();
        let line = tail.next("a new deposit");
        assert_eq!(line["kind_name"], "Account::Deposited");
        assert_eq!(line["payload"]["Deposited"]["cents"], cents, "{line}");
    }
    // A cancelled fence never shows; the commit after it does.
    let fence = store.begin_visibility_fence().unwrap();
    let hidden = domain::Account::Deposited { cents: 999 };
    let item = batpak::store::BatchAppendItem::typed(alice.clone(), &hidden, AppendOptions::new())
        .unwrap();
    let _ticket = fence.submit_item(item).unwrap();
    fence.cancel().unwrap();
    store
        .append_typed(&alice, &domain::Account::Withdrawn { cents: 5 })
        .unwrap();
    let line = tail.next("the withdrawal after the cancelled fence");
    assert_eq!(line["kind_name"], "Account::Withdrawn", "{line}");
    assert_eq!(line["entity_sequence"], 5);
    store.close().unwrap();
}
