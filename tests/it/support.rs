//! Shared helpers of the integration tests: store configuration, a seeded PRNG,
//! re-executed child processes that can be killed with SIGKILL, directory
//! listings, and builders for hand-made segment bytes (crash and corruption images).

use batpak::coordinate::Coordinate;
use batpak::event::EventId;
use batpak::event::{Event, EventKind, EventSourced, JsonValueInput};
use batpak::store::{Store, StoreConfig};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

/// The kinds the tests write.
pub const KIND_A: EventKind = EventKind::custom(0x1, 1);
pub const KIND_B: EventKind = EventKind::custom(0x1, 2);
pub const KIND_C: EventKind = EventKind::custom(0x2, 7);

/// The store configuration most tests use: every acknowledged append is durable.
pub fn config(dir: &Path) -> StoreConfig {
    StoreConfig::new(dir).with_sync_every_n_events(1)
}

/// A fresh temporary directory.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temporary directory")
}

/// A coordinate from names the tests know to be valid.
pub fn coord(entity: &str, scope: &str) -> Coordinate {
    Coordinate::new(entity, scope).expect("valid coordinate")
}

/// Opens a read-write store, failing the test with the error otherwise.
pub fn open(config: StoreConfig) -> Store {
    Store::open(config).unwrap_or_else(|e| panic!("open store: {e:?}"))
}

/// SplitMix64: a small deterministic generator, so every failure replays.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// A number in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// True with probability `num / den`.
    pub fn chance(&mut self, num: u64, den: u64) -> bool {
        self.below(den) < num
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }
}

// ---------------------------------------------------------------------------
// Child processes.

/// Orders child spawns against the other tests of this binary. A child forked
/// while another test holds a store open inherits the descriptor of that store's
/// locked data directory until it execs; if the test closes and reopens its store inside
/// that window, the reopen sees `StoreLocked`. Tests that open stores hold the
/// shared side, tests that spawn children hold the exclusive side.
static SPAWN_GATE: RwLock<()> = RwLock::new(());

/// Held by a test that opens stores (and spawns no children).
pub fn store_gate() -> RwLockReadGuard<'static, ()> {
    SPAWN_GATE.read().unwrap_or_else(PoisonError::into_inner)
}

/// Held by a test that spawns child processes.
pub fn spawn_gate() -> RwLockWriteGuard<'static, ()> {
    SPAWN_GATE.write().unwrap_or_else(PoisonError::into_inner)
}

/// Set in a re-executed child: the data directory it works on.
pub const CHILD_DIR_ENV: &str = "BATPAK_CHILD_DIR";
/// Set in a re-executed child: its seed (the round number of a crash test).
pub const CHILD_SEED_ENV: &str = "BATPAK_CHILD_SEED";
/// Marks the lines a child prints for its parent (the test harness prints others).
const LINE_MARK: char = '@';
/// How long a parent waits for the next line of a child before failing the test.
const CHILD_LINE_BOUND: Duration = Duration::from_secs(30);

/// When this process is a re-executed child: its data directory and seed.
pub fn child_args() -> Option<(PathBuf, u64)> {
    let dir = std::env::var_os(CHILD_DIR_ENV)?;
    let seed = std::env::var(CHILD_SEED_ENV)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Some((PathBuf::from(dir), seed))
}

/// Prints one protocol line to the parent and flushes it. `false` when the
/// parent is gone (the pipe is closed), which tells a looping child to stop.
pub fn say(line: &str) -> bool {
    let whole = format!("{LINE_MARK}{line}\n");
    let mut out = std::io::stdout().lock();
    out.write_all(whole.as_bytes())
        .and_then(|()| out.flush())
        .is_ok()
}

/// A re-executed copy of this test binary running one test as a child.
pub struct Child {
    child: std::process::Child,
    lines: flume::Receiver<String>,
    reader: Option<JoinHandle<()>>,
}

impl Child {
    /// Runs test `test` (its full path, e.g. `recovery::crash_rounds`) in a child
    /// process with `dir` and `seed` in its environment.
    pub fn spawn(test: &str, dir: &Path, seed: u64) -> Self {
        Self::spawn_with_env(test, dir, seed, &[])
    }

    /// [`Child::spawn`] with more variables in the child's environment (what
    /// the child should do, when a seed cannot say it).
    pub fn spawn_with_env(test: &str, dir: &Path, seed: u64, env: &[(&str, &str)]) -> Self {
        let exe = std::env::current_exe().expect("path of the test binary");
        let mut child = Command::new(exe)
            .args(["--exact", test, "--nocapture", "--test-threads=1"])
            .env(CHILD_DIR_ENV, dir)
            .env(CHILD_SEED_ENV, seed.to_string())
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn child process");
        let stdout = child.stdout.take().expect("child stdout is piped");
        let (tx, lines) = flume::unbounded();
        let reader = std::thread::spawn(move || {
            let mut stdout = BufReader::new(stdout);
            let mut line = String::new();
            loop {
                line.clear();
                match stdout.read_line(&mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
                // A line cut short by the kill was never fully said: drop it.
                let Some(whole) = line.strip_suffix('\n') else {
                    break;
                };
                // libtest may print "test name ... " without a newline first.
                if let Some(at) = whole.find(LINE_MARK) {
                    if tx.send(whole[at + 1..].to_owned()).is_err() {
                        break;
                    }
                }
            }
        });
        Self {
            child,
            lines,
            reader: Some(reader),
        }
    }

    /// The next protocol line, or `None` once the child closed its stdout.
    pub fn next_line(&self) -> Option<String> {
        match self.lines.recv_timeout(CHILD_LINE_BOUND) {
            Ok(line) => Some(line),
            Err(flume::RecvTimeoutError::Disconnected) => None,
            Err(flume::RecvTimeoutError::Timeout) => {
                panic!("child printed nothing for {CHILD_LINE_BOUND:?}")
            }
        }
    }

    /// SIGKILLs the child, reaps it and returns the lines it printed that were
    /// not read yet (they were acknowledged before the kill).
    pub fn kill(mut self) -> Vec<String> {
        self.child.kill().expect("SIGKILL the child");
        self.child.wait().expect("reap the child");
        self.drain()
    }

    /// Waits for the child to exit by itself; its status and unread lines.
    pub fn finish(mut self) -> (ExitStatus, Vec<String>) {
        let status = self.child.wait().expect("reap the child");
        (status, self.drain())
    }

    fn drain(&mut self) -> Vec<String> {
        if let Some(reader) = self.reader.take() {
            reader.join().expect("child reader thread");
        }
        self.lines.drain().collect()
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        // A failing parent must not leave a child running.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// When a crash round kills its child.
#[derive(Debug, Clone, Copy)]
pub struct KillPoint {
    /// After this many protocol lines that count.
    pub lines: usize,
    /// Plus this much jitter, so the kill lands in different phases of the
    /// child's next write (encoding, `write`, `fdatasync`, replying).
    pub jitter: Duration,
}

impl KillPoint {
    /// A kill point after `1..=lines_max` lines and up to 2 ms of jitter.
    pub fn random(rng: &mut Rng, lines_max: u64) -> Self {
        Self {
            lines: rng.range(1, lines_max) as usize,
            jitter: Duration::from_micros(rng.below(2_000)),
        }
    }
}

/// Runs a crash round: spawns `test` as a child, reads protocol lines until
/// `kill.lines` of them satisfy `counts`, SIGKILLs the child and returns every
/// line it printed (read or drained).
pub fn crash_round(
    test: &str,
    dir: &Path,
    seed: u64,
    kill: KillPoint,
    counts: impl Fn(&str) -> bool,
) -> Vec<String> {
    let child = Child::spawn(test, dir, seed);
    let mut lines = Vec::new();
    let mut counted = 0;
    while counted < kill.lines {
        let Some(line) = child.next_line() else {
            let (status, rest) = child.finish();
            panic!("child exited early with {status}: {lines:?} {rest:?}");
        };
        if counts(&line) {
            counted += 1;
        }
        lines.push(line);
    }
    // Jitter, not synchronisation: the child runs on regardless.
    std::thread::sleep(kill.jitter);
    lines.extend(child.kill());
    lines
}

// ---------------------------------------------------------------------------
// Files.

/// Bytes of a segment header.
pub const SEGMENT_HEADER_BYTES: usize = 32;
/// Bytes of a frame header.
pub const FRAME_HEADER_BYTES: usize = 8;

/// The file name of segment `id`.
pub fn segment_name(id: u64) -> String {
    format!("{id:020}.bpk")
}

/// The segment files of `dir`, by ascending id.
pub fn segments(dir: &Path) -> Vec<(u64, PathBuf)> {
    let mut out: Vec<(u64, PathBuf)> = std::fs::read_dir(dir)
        .expect("list data directory")
        .filter_map(|e| {
            let e = e.ok()?;
            let name = e.file_name().into_string().ok()?;
            let stem = name.strip_suffix(".bpk")?;
            if stem.len() != 20 || !stem.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            Some((stem.parse().ok()?, e.path()))
        })
        .collect();
    out.sort();
    out
}

/// The newest segment of `dir`.
pub fn newest_segment(dir: &Path) -> (u64, PathBuf) {
    segments(dir).pop().expect("at least one segment")
}

pub fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).expect("file metadata").len()
}

/// Copies every regular file of `from` into `to` (created if missing).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create copy directory");
    for entry in std::fs::read_dir(from).expect("list directory") {
        let entry = entry.expect("directory entry");
        if entry.file_type().expect("file type").is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy file");
        }
    }
}

/// One entry of a recursive directory listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub path: PathBuf,
    pub len: u64,
    pub modified: SystemTime,
}

/// Every file and directory under `root` (itself included) with size and mtime.
pub fn listing(root: &Path) -> Vec<Listed> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(path) = stack.pop() {
        let meta = std::fs::symlink_metadata(&path).expect("metadata");
        if meta.is_dir() {
            for entry in std::fs::read_dir(&path).expect("list directory") {
                stack.push(entry.expect("directory entry").path());
            }
        }
        out.push(Listed {
            path,
            len: meta.len(),
            modified: meta.modified().expect("mtime"),
        });
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// The extent (header included) of the frame at the start of `bytes`, from its
/// length word.
pub fn frame_extent(bytes: &[u8]) -> usize {
    let word = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    FRAME_HEADER_BYTES + (word & 0x00FF_FFFF) as usize
}

/// CRC-32 (IEEE), as the format uses for frames and segment headers.
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

/// A valid segment header for segment `id`.
pub fn segment_header(id: u64) -> [u8; SEGMENT_HEADER_BYTES] {
    let mut h = [0u8; SEGMENT_HEADER_BYTES];
    h[..8].copy_from_slice(b"BATPAKSG");
    h[8..12].copy_from_slice(&1u32.to_le_bytes());
    h[16..24].copy_from_slice(&id.to_le_bytes());
    let crc = crc32(&h[..28]);
    h[28..32].copy_from_slice(&crc.to_le_bytes());
    h
}

/// A frame with a valid length word and CRC around `body`.
pub fn frame(body: &[u8]) -> Vec<u8> {
    assert!(!body.is_empty() && body.len() < (1 << 24));
    let b = (body.len() as u32).to_le_bytes();
    let check = b[0] ^ b[1] ^ b[2] ^ 0x5A;
    let word = (body.len() as u32) | (u32::from(check) << 24);
    let mut out = Vec::with_capacity(FRAME_HEADER_BYTES + body.len());
    out.extend_from_slice(&word.to_le_bytes());
    out.extend_from_slice(&crc32(body).to_le_bytes());
    out.extend_from_slice(body);
    out
}

/// Appends a LEB128 varint.
pub fn put_varint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

// ---------------------------------------------------------------------------
// Store helpers.

/// The JSON payload of a visible event, failing the test if it is missing.
pub fn payload<M>(store: &Store<M>, event_id: EventId) -> serde_json::Value {
    store
        .get(event_id)
        .unwrap_or_else(|e| panic!("get {event_id:#x}: {e:?}"))
        .unwrap_or_else(|| panic!("event {event_id:#x} is not visible"))
        .payload
}

/// A projection counting an entity's events of [`KIND_A`] and summing their `n`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Tally {
    pub count: u64,
    pub sum: i64,
}

impl EventSourced for Tally {
    type Input = JsonValueInput;

    fn from_events(events: &[Event<serde_json::Value>]) -> Option<Self> {
        let mut state = Self { count: 0, sum: 0 };
        for e in events {
            state.apply_event(e);
        }
        (state.count > 0).then_some(state)
    }

    fn apply_event(&mut self, event: &Event<serde_json::Value>) {
        self.count += 1;
        self.sum += event.payload["n"].as_i64().unwrap_or(0);
    }

    fn relevant_event_kinds() -> &'static [EventKind] {
        &[KIND_A]
    }
}

/// The bytes of the durable watermark file (docs/format.md, "Durable
/// watermark"). Tests that fake a crash by cutting a closed store's newest
/// segment save it before the write they tear and put it back afterwards:
/// the writer records a mark only after a sync, so a crash before the sync
/// leaves the mark where the previous one put it.
pub fn durable_mark(dir: &Path) -> Vec<u8> {
    std::fs::read(dir.join("durable.mark")).expect("read the durable watermark")
}

/// Puts back a watermark saved by [`durable_mark`].
pub fn restore_durable_mark(dir: &Path, mark: &[u8]) {
    std::fs::write(dir.join("durable.mark"), mark).expect("restore the durable watermark");
}

/// Verifies `store`: every chain holds, no torn tail waits for a cut and no
/// cut was a salvage. Returns the cuts kept in the quarantine (torn tails an
/// earlier open cut), which keep `is_clean` false until an operator removes
/// them.
pub fn verify_intact(store: &Store) -> Vec<batpak::store::QuarantinedCut> {
    let report = store.verify().expect("verify");
    assert!(report.first_break.is_none(), "{report:?}");
    assert!(report.pending_cut.is_none(), "{report:?}");
    assert!(
        report
            .quarantined
            .iter()
            .all(|q| !q.note.contains("Salvage")),
        "{report:?}"
    );
    report.quarantined
}

/// Writes a durable watermark claiming `len` bytes of segment `segment` (the
/// 64-byte file of docs/format.md: one valid slot, generation 1, and an
/// empty one): what a crash leaves when the last sync covered that much.
pub fn set_durable_mark(dir: &Path, segment: u64, len: u64) {
    let mut slot = Vec::with_capacity(32);
    slot.extend_from_slice(&1u64.to_le_bytes());
    slot.extend_from_slice(&segment.to_le_bytes());
    slot.extend_from_slice(&len.to_le_bytes());
    let crc = crc32(&slot);
    slot.extend_from_slice(&crc.to_le_bytes());
    slot.extend_from_slice(&[0; 4]);
    let mut file = vec![0; 32];
    file.extend_from_slice(&slot);
    restore_durable_mark(dir, &file);
}
