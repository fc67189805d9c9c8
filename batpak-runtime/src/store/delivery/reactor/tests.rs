use super::*;
use crate::event::EventKind;
use crate::schema::test_family::one_kind_family;
use crate::schema::Shape;
use crate::store::delivery::cursor::CursorWorkerConfig;
use crate::store::StoreConfig;
use std::time::Duration;

const PING: EventKind = EventKind::custom(0x6, 1);
const PONG: EventKind = EventKind::custom(0x6, 2);

one_kind_family!(Ping, name = "Ping", variant = None, kind = PING, { n: u32 => Shape::U32 });
one_kind_family!(Pong, name = "Pong", variant = None, kind = PONG, { n: u32 => Shape::U32 });

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
