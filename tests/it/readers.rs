//! Readers in other processes (issue 15, item 1). A writer process appends
//! continuously (single appends, batches, fences committed and cancelled,
//! segments small enough to rotate every few dozen events, a compaction now
//! and then), is SIGKILLed halfway inside a fence with durable writes, and a
//! second writer process recovers (sealing that fence with a cancel marker),
//! closes and reopens its store, and closes it at the end. A reader process
//! follows all along with a read-only store. It must see every committed
//! event exactly once and in order, never an event of a cancelled fence,
//! never part of a batch or fence without the rest, and write nothing into
//! the data directory. The test prints the reader's lag behind the writer's
//! acknowledgements (p50, p99) and the bytes the reader wrote.

use crate::support::{
    child_args, coord, listing, say, spawn_gate, tempdir, Child, Listed, Rng, KIND_A,
};
use batpak::coordinate::Region;
use batpak::store::{AppendOptions, BatchAppendItem, CausationRef, Store, StoreConfig};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const TEST: &str = "readers::a_reader_process_follows_a_restarting_writer_process";
/// What a child is: `reader`, or `writer` (its seed says which writer).
const ROLE_ENV: &str = "BATPAK_READERS_ROLE";
/// The first writer closes after a short run, before the reader starts.
const SEED_FIRST: u64 = 1;
/// The second writer runs, then holds a fence open until the parent
/// SIGKILLs it.
const SEED_KILLED: u64 = 2;
/// The third recovers, reopens halfway, writes a last event and closes.
const SEED_LAST: u64 = 3;
/// How long the killed writer runs, and the last one.
const WRITER_RUN: Duration = Duration::from_secs(4);
/// Unit numbers of writer `seed` start at `seed * UNITS_PER_WRITER`.
const UNITS_PER_WRITER: u64 = 1_000_000;
/// How often the reader's background refresh runs.
const FOLLOW_EVERY: Duration = Duration::from_millis(1);

fn config(dir: &Path) -> StoreConfig {
    StoreConfig::new(dir)
        .with_segment_max_bytes(8192)
        .with_sync_every_n_events(1)
}

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

// ---------------------------------------------------------------------------
// The writer.

/// One unit's payload: its unit number, what it is, its index in the unit.
fn payload(rng: &mut Rng, unit: u64, kind: &str, i: usize) -> serde_json::Value {
    let pad = "x".repeat(rng.range(10, 400) as usize);
    serde_json::json!({ "u": unit, "k": kind, "i": i, "pad": pad })
}

fn account(rng: &mut Rng) -> batpak::coordinate::Coordinate {
    coord(&format!("acct:{}", rng.below(8)), "s")
}

fn items(rng: &mut Rng, unit: u64, kind: &str, n: usize) -> Vec<BatchAppendItem> {
    (0..n)
        .map(|i| {
            let body = payload(rng, unit, kind, i);
            let (c, o) = (account(rng), AppendOptions::new());
            BatchAppendItem::new(c, KIND_A, &body, o, CausationRef::None).expect("batch item")
        })
        .collect()
}

fn ack(unit: u64, kind: &str, ids: impl IntoIterator<Item = u128>) -> String {
    let ids: Vec<String> = ids.into_iter().map(|id| format!("{id:x}")).collect();
    format!("ack {unit} {kind} {} {}", now_us(), ids.join(","))
}

/// A fenced unit: singles and batches, synced (so a reader finds them on
/// disk, hidden), then committed or cancelled.
fn fence(store: &Store, rng: &mut Rng, unit: u64, commit: bool) -> String {
    let kind = if commit { "fence" } else { "cancelled" };
    let fence = store.begin_visibility_fence().expect("begin fence");
    let mut singles = Vec::new();
    let mut batches = Vec::new();
    for i in 0..rng.range(1, 4) as usize {
        if rng.chance(1, 3) {
            let n = rng.range(2, 4) as usize;
            let ticket = fence.submit_batch(items(rng, unit, kind, n));
            batches.push((i, ticket.expect("fenced batch")));
        } else {
            let (c, body) = (account(rng), payload(rng, unit, kind, i));
            singles.push((i, fence.submit(&c, KIND_A, &body).expect("fenced append")));
        }
    }
    store.sync().expect("sync the fenced writes");
    std::thread::sleep(Duration::from_micros(rng.below(3000)));
    if !commit {
        fence.cancel().expect("cancel");
        return format!("cancelled {unit}");
    }
    fence.commit().expect("commit");
    let mut ids: Vec<(usize, Vec<u128>)> = Vec::new();
    for (i, t) in singles {
        ids.push((i, vec![t.wait().expect("fenced receipt").event_id.get()]));
    }
    for (i, t) in batches {
        let receipts = t.wait().expect("fenced batch receipts");
        ids.push((i, receipts.iter().map(|r| r.event_id.get()).collect()));
    }
    ids.sort();
    ack(unit, kind, ids.into_iter().flat_map(|(_, ids)| ids))
}

/// Opens a fence with durable writes in it and waits to be killed: the next
/// writer's open seals it with a cancel marker.
fn hold_a_fence(store: &Store, rng: &mut Rng, unit: u64) -> ! {
    let fence = store.begin_visibility_fence().expect("begin fence");
    let (c, body) = (account(rng), payload(rng, unit, "killed", 0));
    let _single = fence.submit(&c, KIND_A, &body).expect("fenced append");
    let _batch = fence.submit_batch(items(rng, unit, "killed", 3));
    store.sync().expect("sync the fenced writes");
    say("fence-open");
    loop {
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// One random unit; its protocol line.
fn unit(store: &Store, rng: &mut Rng, unit: u64) -> String {
    match rng.below(100) {
        0..=44 => {
            let body = payload(rng, unit, "one", 0);
            let r = store.append(&account(rng), KIND_A, &body).expect("append");
            ack(unit, "one", [r.event_id.get()])
        }
        45..=64 => {
            let n = rng.range(2, 6) as usize;
            let receipts = store
                .append_batch(items(rng, unit, "batch", n))
                .expect("batch");
            ack(unit, "batch", receipts.iter().map(|r| r.event_id.get()))
        }
        65..=79 => fence(store, rng, unit, true),
        80..=93 => fence(store, rng, unit, false),
        _ => {
            let r = store.compact().expect("compact");
            format!("compact {} {}", r.segments_rewritten, r.events_dropped)
        }
    }
}

fn writer(dir: &Path, seed: u64) {
    let mut rng = Rng::new(seed);
    let mut store = Store::open(config(dir)).expect("writer open");
    let recovery = store.diagnostics().recovery;
    let cut = recovery.truncated_tail.map_or(0, |t| t.bytes);
    say(&format!(
        "recovered cut={cut} open_fence={}",
        recovery.unterminated_fence
    ));
    let run = match seed {
        SEED_FIRST => Duration::from_millis(300),
        _ => WRITER_RUN,
    };
    let start = Instant::now();
    let mut reopened = seed != SEED_LAST;
    let mut n = seed * UNITS_PER_WRITER;
    while start.elapsed() < run {
        if !reopened && start.elapsed() > run / 2 {
            store.close().expect("close");
            store = Store::open(config(dir)).expect("reopen");
            reopened = true;
            say("reopened");
        }
        n += 1;
        if !say(&unit(&store, &mut rng, n)) {
            return;
        }
        std::thread::sleep(Duration::from_micros(rng.below(1500)));
    }
    if seed == SEED_KILLED {
        hold_a_fence(&store, &mut rng, n + 1);
    }
    if seed == SEED_LAST {
        let body = serde_json::json!({ "u": n + 1, "k": "final", "i": 0 });
        let r = store
            .append(&coord("final", "s"), KIND_A, &body)
            .expect("append");
        say(&ack(n + 1, "final", [r.event_id.get()]));
    }
    store.close().expect("close");
    say("done");
}

// ---------------------------------------------------------------------------
// The reader.

/// Bytes this process wrote to storage and through `write` calls at all,
/// from `/proc/self/io` (Linux); `None` elsewhere.
fn io_counters() -> Option<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/self/io").ok()?;
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse::<u64>().ok())
    };
    Some((field("write_bytes:")?, field("wchar:")?))
}

/// The reader's protocol lines, counting the bytes they cost `write`.
#[derive(Default)]
struct Teller {
    bytes: u64,
}

impl Teller {
    fn say(&mut self, line: &str) {
        // `say` writes a mark, the line and a newline.
        self.bytes += line.len() as u64 + 2;
        say(line);
    }
}

fn reader(dir: &Path) {
    let mut io = vec![io_counters()];
    let mut out = Teller::default();
    let cfg = config(dir).with_follow_interval(FOLLOW_EVERY);
    let store = Store::open_read_only(cfg).expect("read-only open");
    io.push(io_counters());
    out.say(&format!("opened {}", store.query(&Region::all()).len()));
    let opened = Instant::now();
    let mut following_said = false;
    let mut cursor = store.cursor_guaranteed(&Region::all());
    let (mut round, mut final_seen) = (0u64, None::<Instant>);
    while final_seen.is_none_or(|t| t.elapsed() < Duration::from_millis(800)) {
        let batch = cursor.poll_wait(1 << 20, Duration::from_millis(20));
        let t = now_us();
        round += u64::from(!batch.is_empty());
        for e in &batch {
            let body = store.get(e.event_id).expect("read").expect("visible");
            let (unit, kind) = (&body.payload["u"], body.payload["k"].as_str());
            let (id, kind) = (e.event_id.get(), kind.unwrap_or("?"));
            out.say(&format!(
                "seen {} {id:x} {round} {t} {unit} {kind}",
                e.sequence
            ));
            if kind == "final" {
                final_seen = Some(Instant::now());
                io.push(io_counters());
                out.say("final-seen");
            }
        }
        if !following_said && opened.elapsed() > Duration::from_millis(200) {
            following_said = true;
            out.say("following");
        }
    }
    io.push(io_counters());
    // Everything is still readable where it lies now (compaction moved some).
    let all = store.query(&Region::all());
    for e in &all {
        store
            .get(e.event_id)
            .expect("reread")
            .expect("still visible");
    }
    let diagnostics = store.diagnostics();
    out.say(&format!(
        "reread {} error={:?}",
        all.len(),
        diagnostics.follow_error
    ));
    store.close().expect("close the reader");
    io.push(io_counters());
    say(&io_line(&io, out.bytes));
    say("done");
}

/// What the reader cost in writes: the bytes the kernel counted as sent to
/// storage while it opened, followed the writers and followed the stopped
/// log, and the bytes of its write calls besides the protocol lines.
fn io_line(io: &[Option<(u64, u64)>], protocol: u64) -> String {
    let Some(io) = io.iter().copied().collect::<Option<Vec<_>>>() else {
        return "io unavailable".to_owned();
    };
    let storage = |from: usize| io[from + 1].0 - io[from].0;
    let calls = io[4].1 - io[0].1 - protocol;
    format!("io {} {} {} {calls}", storage(0), storage(1), storage(2))
}

// ---------------------------------------------------------------------------
// The parent.

/// What a reader said it saw: (sequence, id, round, time, unit, kind).
type Seen = (u64, u128, u64, u64, u64, String);

fn parse_seen(line: &str) -> Option<Seen> {
    let mut f = line.strip_prefix("seen ")?.split(' ');
    let mut next = || f.next();
    Some((
        next()?.parse().ok()?,
        u128::from_str_radix(next()?, 16).ok()?,
        next()?.parse().ok()?,
        next()?.parse().ok()?,
        next()?.parse().ok()?,
        next()?.to_owned(),
    ))
}

/// An acknowledged unit: (unit, kind, time, event ids).
type Ack = (u64, String, u64, Vec<u128>);

fn parse_ack(line: &str) -> Option<Ack> {
    let mut f = line.strip_prefix("ack ")?.split(' ');
    let unit = f.next()?.parse().ok()?;
    let kind = f.next()?.to_owned();
    let time = f.next()?.parse().ok()?;
    let ids = f.next()?.split(',');
    let ids = ids.map(|id| u128::from_str_radix(id, 16).ok());
    Some((unit, kind, time, ids.collect::<Option<_>>()?))
}

fn writer_child(dir: &Path, seed: u64) -> Child {
    Child::spawn_with_env(TEST, dir, seed, &[(ROLE_ENV, "writer")])
}

/// Waits for the line `want` from `child`, keeping every line before it.
fn wait_for(child: &Child, want: &str, lines: &mut Vec<String>) {
    while let Some(line) = child.next_line() {
        let found = line.starts_with(want);
        lines.push(line);
        if found {
            return;
        }
    }
    panic!("the child ended before saying {want:?}");
}

fn percentile(sorted: &[i64], p: f64) -> i64 {
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

#[test]
fn a_reader_process_follows_a_restarting_writer_process() {
    if let Some((dir, seed)) = child_args() {
        match std::env::var(ROLE_ENV).as_deref() {
            Ok("reader") => reader(&dir),
            Ok("writer") => writer(&dir, seed),
            other => panic!("unknown role {other:?}"),
        }
        return;
    }
    let _gate = spawn_gate();
    let dir = tempdir();
    let mut written = Vec::new();
    let (status, rest) = writer_child(dir.path(), SEED_FIRST).finish();
    assert!(status.success(), "first writer: {status}");
    written.extend(rest);

    // The reader opens and follows an idle directory: it writes nothing.
    let idle = listing(dir.path());
    let reader = Child::spawn_with_env(TEST, dir.path(), 0, &[(ROLE_ENV, "reader")]);
    let mut read = Vec::new();
    wait_for(&reader, "following", &mut read);
    assert_eq!(listing(dir.path()), idle, "the reader's open wrote");

    // A writer that is killed, then one that recovers, restarts and closes.
    let killed = writer_child(dir.path(), SEED_KILLED);
    wait_for(&killed, "fence-open", &mut written);
    written.extend(killed.kill());
    let (status, rest) = writer_child(dir.path(), SEED_LAST).finish();
    assert!(status.success(), "last writer: {status}");
    written.extend(rest);

    // The reader goes on following the stopped writer: it writes nothing.
    let stopped = listing(dir.path());
    wait_for(&reader, "final-seen", &mut read);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(listing(dir.path()), stopped, "the following reader wrote");
    let (status, rest) = reader.finish();
    assert!(status.success(), "reader: {status}");
    read.extend(rest);
    assert_eq!(listing(dir.path()), stopped, "the closing reader wrote");

    check(dir.path(), &written, &read, &stopped);
}

/// Every check on what the writers acknowledged and the reader saw, against
/// the log as it ended up; prints the figures.
fn check(dir: &Path, written: &[String], read: &[String], files: &[Listed]) {
    let truth = Store::open_read_only(config(dir)).expect("open the result");
    let truth: Vec<(u64, u128)> = truth
        .query(&Region::all())
        .iter()
        .map(|e| (e.sequence, e.event_id.get()))
        .collect();
    let seen: Vec<Seen> = read.iter().filter_map(|l| parse_seen(l)).collect();
    let acks: Vec<Ack> = written.iter().filter_map(|l| parse_ack(l)).collect();
    check_events(&truth, &seen, &acks);
    let lags = lags(&seen, &acks);
    let (p50, p99) = (percentile(&lags, 0.5), percentile(&lags, 0.99));
    let io = check_io(read);
    let count = |prefix: &str| written.iter().filter(|l| l.starts_with(prefix)).count();
    let rewrites: u64 = written
        .iter()
        .filter_map(|l| {
            l.strip_prefix("compact ")?
                .split(' ')
                .next()?
                .parse::<u64>()
                .ok()
        })
        .sum();
    let segments = files
        .iter()
        .filter(|f| f.path.extension().is_some_and(|e| e == "bpk"));
    let segments = segments.count();
    let opens: Vec<&String> = written
        .iter()
        .filter(|l| l.starts_with("recovered"))
        .collect();
    let units: HashSet<u64> = seen.iter().map(|s| s.4).collect();
    eprintln!(
        "readers: {} events in {} units checked ({} acknowledged units, {} cancelled fences, \
         {} compactions rewriting {rewrites} segments, {segments} segments, writer opens: {opens:?}); \
         lag behind the acknowledgement: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms \
         ({} of {} seen before their ack returned); the reader's writes: {io} bytes \
         (storage while opening, while following the writers, while following the stopped log; \
         write calls besides its protocol lines)",
        truth.len(),
        units.len(),
        acks.len(),
        count("cancelled"),
        count("compact"),
        p50 as f64 / 1000.0,
        p99 as f64 / 1000.0,
        *lags.last().unwrap_or(&0) as f64 / 1000.0,
        lags.iter().filter(|l| **l < 0).count(),
        lags.len(),
    );
    assert!(
        rewrites > 0,
        "no compaction rewrote a segment: the test missed it"
    );
    assert!(
        segments > 10,
        "the writers rotated only to {segments} segments"
    );
    let sealed = opens.last().is_some_and(|l| l.contains("open_fence=true"));
    assert!(
        sealed,
        "the last writer did not find the killed one's fence: {opens:?}"
    );
    assert!(p99 < 2_000_000, "the reader lagged {p99} µs at p99");
}

/// Every committed event exactly once, in order; none of a cancelled fence;
/// every acknowledged unit whole in one poll.
fn check_events(truth: &[(u64, u128)], seen: &[Seen], acks: &[Ack]) {
    let seen_order: Vec<(u64, u128)> = seen.iter().map(|s| (s.0, s.1)).collect();
    assert_eq!(seen_order, truth, "the reader's events are not the log's");
    let cancelled = |s: &&Seen| s.5 == "cancelled" || s.5 == "killed";
    let cancelled = seen.iter().find(cancelled);
    assert_eq!(cancelled, None, "a cancelled fence's event was seen");
    let in_log: HashSet<u128> = truth.iter().map(|t| t.1).collect();
    let by_id: HashMap<u128, &Seen> = seen.iter().map(|s| (s.1, s)).collect();
    for (unit, kind, _, ids) in acks {
        let lost = ids.iter().find(|id| !in_log.contains(id));
        assert_eq!(lost, None, "an event of unit {unit} ({kind}) is lost");
        let rounds: HashSet<u64> = ids.iter().map(|id| by_id[id].2).collect();
        assert_eq!(rounds.len(), 1, "unit {unit} ({kind}) was seen in parts");
    }
}

/// Microseconds from each acknowledgement to the reader's poll that saw the
/// event, sorted (the first writer's events were there before the reader).
fn lags(seen: &[Seen], acks: &[Ack]) -> Vec<i64> {
    let seen_at: HashMap<u128, u64> = seen.iter().map(|s| (s.1, s.3)).collect();
    let mut lags: Vec<i64> = acks
        .iter()
        .filter(|(unit, ..)| unit / UNITS_PER_WRITER != SEED_FIRST)
        .flat_map(|(_, _, acked, ids)| ids.iter().map(move |id| (*acked, id)))
        .map(|(acked, id)| seen_at[id] as i64 - acked as i64)
        .collect();
    lags.sort_unstable();
    lags
}

/// The reader's `io` line, checked: its only write calls are its protocol
/// lines. The kernel may still count storage writes against it: listing the
/// directory at the open may update the directory's access time, and closing
/// the last descriptor of a segment file that a compaction replaced frees
/// that file's blocks. Following a stopped log costs nothing at all.
fn check_io(read: &[String]) -> String {
    let io = read
        .iter()
        .find_map(|l| l.strip_prefix("io "))
        .unwrap_or("?");
    let fields: Vec<u64> = io.split(' ').filter_map(|b| b.parse().ok()).collect();
    if let [_opening, _writing, idle, calls] = fields[..] {
        assert_eq!(calls, 0, "the reader passed {calls} bytes to write calls");
        assert_eq!(
            idle, 0,
            "following a stopped log caused {idle} bytes of writes"
        );
    }
    io.to_owned()
}
