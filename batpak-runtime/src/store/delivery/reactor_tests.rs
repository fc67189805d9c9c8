use super::*;
use crate::event::EventKind;
use crate::schema::{decode, encode, EventShape, Field, Fields, KindInfo, SchemaError, Shape};
use crate::store::delivery::cursor::CursorWorkerConfig;
use crate::store::StoreConfig;
use std::time::Duration;

const PING: EventKind = EventKind::custom(0x6, 1);
const PONG: EventKind = EventKind::custom(0x6, 2);

macro_rules! one_kind_family {
    ($ty:ident, $kind:expr, $name:literal) => {
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        struct $ty {
            n: u32,
        }
        impl EventFamily for $ty {
            const NAME: &'static str = $name;
            const KINDS: &'static [KindInfo] = &[KindInfo {
                kind: $kind,
                variant: $name,
                version: 1,
                retired: false,
            }];
            const KIND_LIST: &'static [EventKind] = &[$kind];
            fn kind(&self) -> EventKind {
                $kind
            }
            fn encode_fields(&self) -> Result<Vec<u8>, SchemaError> {
                encode(self)
            }
            fn decode_fields(_: EventKind, _: u16, bytes: &[u8]) -> Result<Self, SchemaError> {
                decode(bytes)
            }
            fn event_shapes() -> Vec<(EventKind, u16, EventShape)> {
                let fields = Fields::Named(vec![Field {
                    name: "n".into(),
                    shape: Shape::U32,
                }]);
                vec![(
                    $kind,
                    1,
                    EventShape {
                        family: $name.into(),
                        variant: None,
                        fields,
                    },
                )]
            }
        }
    };
}

one_kind_family!(Ping, PING, "Ping");
one_kind_family!(Pong, PONG, "Pong");

#[test]
fn reactions_are_linked_committed_and_not_duplicated_on_redelivery() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(StoreConfig::new(dir.path())).unwrap());
    let c = Coordinate::new("table", "game").unwrap();
    let mut pings = Vec::new();
    for n in 0..5 {
        pings.push(store.append_typed(&c, &Ping { n }).unwrap());
    }
    let run = |store: &Arc<Store>| {
        let config = CursorWorkerConfig {
            batch_size: 2,
            ..CursorWorkerConfig::default()
        };
        let (tx, rx) = flume::unbounded();
        let worker = store
            .react_typed::<Ping, _>(
                &Region::all(),
                config,
                move |ping: &Ping, _meta: &EventMeta, out: &mut ReactionBatch| {
                    out.push(Coordinate::new("table", "game")?, &Pong { n: ping.n * 10 })?;
                    let _ = tx.send(ping.n);
                    Ok(())
                },
            )
            .unwrap();
        for _ in 0..5 {
            rx.recv_timeout(Duration::from_secs(5)).unwrap();
        }
        // stop_and_join lets the current batch finish, commit included.
        worker.stop_and_join().unwrap();
    };
    run(&store);
    // No checkpoint: a second worker re-delivers every ping, and the derived
    // idempotency keys turn its reactions into replays.
    run(&store);
    let pongs = store.by_fact(PONG);
    assert_eq!(pongs.len(), 5);
    for (pong, ping) in pongs.iter().zip(&pings) {
        assert_eq!(pong.causation_id, Some(ping.event_id));
        assert_eq!(pong.correlation_id, ping.event_id);
    }
    let values: Vec<u32> = store
        .read_typed::<Pong>("table")
        .unwrap()
        .into_iter()
        .map(|r| r.unwrap().1.n)
        .collect();
    assert_eq!(values, vec![0, 10, 20, 30, 40]);
}
