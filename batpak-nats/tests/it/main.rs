//! batpak-nats against real servers: the exporter's exactly-once and
//! gap-free guarantee across SIGKILLs, server restarts and a lost cluster
//! node, and replicas built from the stream.

mod kill;
mod outage;
mod replica;
mod server;

use async_nats::jetstream::{self, consumer};
use batpak::prelude::*;
use batpak::store::{BatchAppendItem, CausationRef, ReplicatedEvent};
use futures_util::StreamExt;
use std::time::{Duration, Instant};

/// A small typed family, so the schema ledger has entries to carry.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, batpak::Event)]
#[batpak(category = 0x1)]
pub enum Account {
    #[batpak(id = 1)]
    Deposited { cents: u64 },
    #[batpak(id = 2)]
    Withdrawn { cents: u64 },
}

pub const RAW: EventKind = EventKind::custom(0x2, 1);

/// What a message of the stream says about its event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub sequence: u64,
    pub event_id: String,
}

/// Every message of `stream` on `url`, in stream order; retried for up to
/// a minute while the server (or a cluster that lost a node) cannot answer.
pub fn read_stream(url: &str, stream: &str) -> Vec<Published> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match try_read_stream(url, stream) {
            Ok(all) => return all,
            Err(e) if Instant::now() < deadline => {
                eprintln!("reading the stream again: {e}");
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(e) => panic!("the stream could not be read: {e}"),
        }
    }
}

fn try_read_stream(url: &str, stream: &str) -> Result<Vec<Published>, async_nats::Error> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    rt.block_on(async {
        let servers: Vec<&str> = url.split(',').collect();
        let client = async_nats::connect(servers).await?;
        let js = jetstream::new(client);
        let mut s = js.get_stream(stream).await?;
        let count = s.info().await?.state.messages;
        let consumer = s
            .create_consumer(consumer::pull::OrderedConfig::default())
            .await?;
        let mut messages = consumer.messages().await?;
        let mut out = Vec::new();
        while (out.len() as u64) < count {
            let m = tokio::time::timeout(Duration::from_secs(10), messages.next())
                .await?
                .ok_or("the consumer ended")??;
            let h = m.message.headers.as_ref().ok_or("no headers")?;
            let event_id = h
                .get("Nats-Msg-Id")
                .ok_or("no Nats-Msg-Id")?
                .as_str()
                .to_owned();
            let meta = h.get("Batpak-Event").ok_or("no Batpak-Event")?.as_str();
            let sequence = field(meta, "seq").ok_or("no seq")?.parse()?;
            assert_eq!(
                field(meta, "id"),
                Some(event_id.as_str()),
                "Nats-Msg-Id is the event id"
            );
            out.push(Published { sequence, event_id });
        }
        Ok(out)
    })
}

/// A field of a `Batpak-Event` header.
pub fn field<'a>(meta: &'a str, key: &str) -> Option<&'a str> {
    meta.split(';')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
}

/// What the stream must hold: every committed event of `store`, in order.
pub fn committed<M>(store: &Store<M>) -> Vec<Published> {
    store
        .replicated_events(0, usize::MAX)
        .unwrap()
        .into_iter()
        .map(|e: ReplicatedEvent| Published {
            sequence: e.header.position.sequence,
            event_id: format!("{:032x}", e.header.event_id.get()),
        })
        .collect()
}

/// Polls `cond` until it holds; panics with `what` after `limit`.
pub fn eventually(limit: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A tiny deterministic generator (xorshift), seeded per test and printed.
pub struct Rng(u64);

impl Rng {
    pub fn seeded() -> Self {
        let seed = std::env::var("BATPAK_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64)
            })
            | 1;
        eprintln!("BATPAK_SEED={seed}");
        Self(seed)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// One step of a workload mixing everything a store commits and discards:
/// plain and typed appends, batches, committed fences and cancelled ones
/// (some on entities no committed event names).
pub fn workload_step(store: &Store, rng: &mut Rng, step: u64) {
    let entity = |n: u64| Coordinate::new(format!("acct:{}", n % 17), "bank").unwrap();
    match rng.below(6) {
        0 | 1 => {
            store
                .append(&entity(step), RAW, &serde_json::json!({ "step": step }))
                .unwrap();
        }
        2 => {
            store
                .append_typed(&entity(step), &Account::Deposited { cents: step })
                .unwrap();
        }
        3 => {
            let items = (0..1 + rng.below(4))
                .map(|i| {
                    BatchAppendItem::typed(
                        entity(step + i),
                        &Account::Withdrawn { cents: i },
                        AppendOptions::new(),
                    )
                })
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
            store.append_batch(items).unwrap();
        }
        4 => {
            let fence = store.begin_visibility_fence().unwrap();
            let t = fence
                .submit(&entity(step), RAW, &serde_json::json!({ "fenced": step }))
                .unwrap();
            fence.commit().unwrap();
            t.wait().unwrap();
        }
        _ => {
            let fence = store.begin_visibility_fence().unwrap();
            let gone = Coordinate::new(format!("gone:{step}"), "bank").unwrap();
            let _ = fence
                .submit(&gone, RAW, &serde_json::json!({ "cancelled": step }))
                .unwrap();
            let item = BatchAppendItem::new(
                entity(step),
                RAW,
                &serde_json::json!({ "cancelled": step }),
                AppendOptions::new(),
                CausationRef::None,
            )
            .unwrap();
            let _ = fence.submit_batch(vec![item]).unwrap();
            fence.cancel().unwrap();
        }
    }
}
