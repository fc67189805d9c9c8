//! Writes the committed seed corpora (`fuzz/corpus/<target>/`) and the
//! `snapshot` target's fixture segments (`fuzz/fixtures/snapshot/`) from real
//! logs: a reference log with typed events (and so a schema ledger), raw
//! events, an idempotency key, a reaction, a batch, a committed and a
//! cancelled fence, over two segments, closed with an index snapshot; and a
//! tiny log of one typed event. Event ids come from the clock, so every run
//! writes different bytes; run it once and commit what it wrote:
//!
//! ```sh
//! cargo run --manifest-path fuzz/Cargo.toml --example seeds
//! ```

use batpak::event::RawBytesInput;
use batpak::prelude::*;
use batpak::schema::{sample, EventShape};
use batpak::store::{AppendOptions, BatchAppendItem, CausationRef};
use batpak_fuzz::{put_chunk, shape::put_event_shape, RecoveryInput};
use batpak_runtime::fuzzing::{decode_frame, segment_path, snapshot_body, snapshot_path, Decoded};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Schema)]
enum Channel {
    Web,
    Phone(u32),
    Branch { code: String, staffed: bool },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
#[batpak(category = 0x1)]
enum Account {
    #[batpak(id = 1)]
    Opened {
        owner: String,
        tags: Vec<String>,
        limit: Option<u64>,
        via: Channel,
    },
    #[batpak(id = 2)]
    Moved {
        cents: i64,
        rate: f64,
        note: (u8, char),
        flags: [bool; 3],
        split: BTreeMap<String, i32>,
    },
}

const RAW: EventKind = EventKind::custom(0x2, 1);

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn opened() -> Account {
    Account::Opened {
        owner: "alice".into(),
        tags: vec!["gold".into(), "ünïcode".into()],
        limit: Some(1 << 40),
        via: Channel::Branch {
            code: "B-7".into(),
            staffed: true,
        },
    }
}

fn moved(cents: i64) -> Account {
    Account::Moved {
        cents,
        rate: -0.125,
        note: (9, 'é'),
        flags: [true, false, true],
        split: BTreeMap::from([("rent".into(), -40), ("food".into(), 12)]),
    }
}

/// The reference log: two segments and an index snapshot in `dir`.
fn reference_log(dir: &Path) -> Result<()> {
    let config = StoreConfig::new(dir)
        .with_enable_mmap_index(true)
        .with_segment_max_bytes(4096);
    let store = Store::open(config)?;
    let alice = Coordinate::new("account:alice", "bank")?;
    let bob = Coordinate::new("account:bob", "bank")?;
    let first = store.append_typed(&alice, &opened())?;
    store.append_with_options(
        &bob,
        RAW,
        &serde_json::json!({ "note": "hello", "n": [1, 2.5, null, true] }),
        AppendOptions::new().with_idempotency(0x1D3A),
    )?;
    store.append_with_options(
        &bob,
        RAW,
        &"a reaction",
        AppendOptions::new().with_reaction(first.event_id, first.event_id),
    )?;
    store.append_typed(&alice, &moved(-250))?;
    let batch = ["one", "two"].map(|p| {
        BatchAppendItem::new(
            bob.clone(),
            RAW,
            &p,
            AppendOptions::new(),
            CausationRef::None,
        )
    });
    store.append_batch(batch.into_iter().collect::<std::result::Result<_, _>>()?)?;
    let fence = store.begin_visibility_fence()?;
    let ticket = fence.submit(&bob, RAW, &"fenced, committed")?;
    fence.commit()?;
    ticket.wait()?;
    let fence = store.begin_visibility_fence()?;
    let ticket = fence.submit(&bob, RAW, &"fenced, cancelled")?;
    fence.cancel()?;
    assert!(
        ticket.wait().is_err(),
        "a cancelled fence's event is refused"
    );
    let padding = "x".repeat(300);
    while store.stats()?.segments < 2 {
        store.append(&bob, RAW, &padding)?;
    }
    store.append_typed(&alice, &moved(7))?;
    store.append(&bob, RAW, &serde_json::json!({ "last": true }))?;
    store.close()?;
    Ok(())
}

/// The tiny log: one typed event (with its ledger entry) in one segment.
fn tiny_log(dir: &Path) -> Result<()> {
    let store = Store::open(StoreConfig::new(dir))?;
    store.append_typed(&Coordinate::new("account:carol", "bank")?, &opened())?;
    store.close()?;
    Ok(())
}

/// The frame bodies of a segment file, in order.
fn bodies(file: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = &file[32..];
    while let Decoded::Frame(_, extent) = decode_frame(rest) {
        out.push(rest[8..extent].to_vec());
        rest = &rest[extent..];
    }
    assert!(rest.is_empty(), "a seed log has only valid frames");
    out
}

fn frames(file: &[u8]) -> Vec<Vec<u8>> {
    bodies(file)
        .into_iter()
        .map(|b| batpak_runtime::fuzzing::seal_frame(&b).expect("a body seals"))
        .collect()
}

fn chunks(bodies: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for b in bodies {
        put_chunk(&mut out, b);
    }
    out
}

struct Corpus {
    root: PathBuf,
}

impl Corpus {
    fn put(&self, target: &str, name: &str, bytes: &[u8]) -> Result<()> {
        let dir = self.root.join("corpus").join(target);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(name), bytes)?;
        Ok(())
    }
}

fn read_segments(dir: &Path) -> Result<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    for id in 1.. {
        match std::fs::read(segment_path(dir, id)) {
            Ok(bytes) => out.push(bytes),
            Err(_) => break,
        }
    }
    Ok(out)
}

fn main() -> Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf();
    let corpus = Corpus { root: root.clone() };
    let scratch = std::env::temp_dir().join(format!("batpak-seeds-{}", std::process::id()));
    let (reference, tiny) = (scratch.join("reference"), scratch.join("tiny"));
    reference_log(&reference)?;
    tiny_log(&tiny)?;
    let segments = read_segments(&reference)?;
    assert_eq!(
        segments.len(),
        2,
        "the snapshot target expects two segments"
    );
    let snap_file = std::fs::read(snapshot_path(&reference))?;
    let snap_body = snapshot_body(&snap_file).expect("a snapshot has a header");
    let tiny_segment = read_segments(&tiny)?.remove(0);

    // The snapshot target's fixture: the reference log's segments.
    let fixtures = root.join("fixtures").join("snapshot");
    std::fs::create_dir_all(&fixtures)?;
    for (i, s) in segments.iter().enumerate() {
        std::fs::write(segment_path(&fixtures, i as u64 + 1), s)?;
    }
    for (name, mode, bytes) in [
        ("sealed-body", 0b01, snap_body),
        ("sealed-body-reopen", 0b11, snap_body),
        ("file", 0b00, &snap_file[..]),
        ("file-reopen", 0b10, &snap_file[..]),
    ] {
        corpus.put("snapshot", name, &[&[mode][..], bytes].concat())?;
    }

    // Recovery: whole files, frame bodies to seal, damaged variants.
    let bodied: Vec<Vec<Vec<u8>>> = segments.iter().map(|s| bodies(s)).collect();
    let two = 1;
    let structured = RecoveryInput::SEALED | RecoveryInput::HEADERS;
    let mut inputs = vec![
        (
            "raw-files",
            RecoveryInput {
                flags: two,
                segments: segments.clone(),
                snapshot: None,
            },
        ),
        (
            "sealed-bodies",
            RecoveryInput {
                flags: two | structured,
                segments: bodied.iter().map(|b| chunks(b)).collect(),
                snapshot: None,
            },
        ),
        (
            "sealed-with-snapshot",
            RecoveryInput {
                flags: two
                    | structured
                    | RecoveryInput::SNAPSHOT
                    | RecoveryInput::SNAPSHOT_SEALED
                    | RecoveryInput::MMAP_INDEX,
                segments: bodied.iter().map(|b| chunks(b)).collect(),
                snapshot: Some(snap_body.to_vec()),
            },
        ),
        (
            "raw-torn-tail",
            RecoveryInput {
                flags: two,
                segments: vec![
                    segments[0].clone(),
                    segments[1][..segments[1].len() - 5].to_vec(),
                ],
                snapshot: None,
            },
        ),
        (
            "tiny-sealed",
            RecoveryInput {
                flags: structured,
                segments: vec![chunks(&bodies(&tiny_segment))],
                snapshot: None,
            },
        ),
    ];
    // The tiny log is a batch (ledger entry + event): without its commit
    // marker it is an unfinished batch; the reference log's first segment
    // without its committed fence's marker ends inside a fence.
    let tiny_bodies = bodies(&tiny_segment);
    inputs.push((
        "tiny-unfinished-batch",
        RecoveryInput {
            flags: structured,
            segments: vec![chunks(&tiny_bodies[..tiny_bodies.len() - 1])],
            snapshot: None,
        },
    ));
    let fence_commit = bodied[0]
        .iter()
        .position(|b| b[0] == 6)
        .expect("a fence commit");
    inputs.push((
        "open-fence",
        RecoveryInput {
            flags: structured,
            segments: vec![chunks(&bodied[0][..fence_commit])],
            snapshot: None,
        },
    ));
    for (name, input) in &inputs {
        corpus.put("recovery", name, &input.to_bytes())?;
    }

    // Frames: each frame of the tiny log and the reference log's first
    // segment, as bytes (mode 0) and as bodies to seal (mode 1).
    let mut all_frames = frames(&tiny_segment);
    all_frames.extend(frames(&segments[0]).into_iter().take(12));
    for (i, f) in all_frames.iter().enumerate() {
        let (mode, bytes) = if i % 2 == 0 {
            (0, &f[..])
        } else {
            (1, &f[8..])
        };
        corpus.put(
            "frame",
            &format!("frame-{i:02}"),
            &[&[mode][..], bytes].concat(),
        )?;
    }

    // JSON: texts to append; raw payloads per codec; a ledger entry with a
    // postcard payload of its kind.
    for (i, text) in [
        r#"{"a":1,"b":[true,false,null],"c":{"d":"e"}}"#,
        r#"[1,-2,3.5e10,18446744073709551615,-9223372036854775808,1e-300]"#,
        r#""escapes \" \\ \n \u00e9 \ud83d\ude00""#,
        r#"[[[[[[[[[[{"deep":[[[[]]]]}]]]]]]]]]]"#,
        "0",
    ]
    .iter()
    .enumerate()
    {
        corpus.put(
            "json_render",
            &format!("append-{i}"),
            &[b"\x00", text.as_bytes()].concat(),
        )?;
    }
    for (name, codec, payload) in [
        ("raw-json", 0u8, &br#"{"note":"hello","n":[1,2.5]}"#[..]),
        ("raw-json-invalid", 0, b"{\"unterminated\": [1, 2"),
        ("raw-postcard", 1, b"\x05alice"),
        ("raw-bytes", 2, b"\x00\x01\xfe\xff"),
    ] {
        corpus.put("json_render", name, &[&[1, codec][..], payload].concat())?;
    }
    let ro = Store::open_read_only(StoreConfig::new(&tiny))?;
    let ledger_entry = ro.by_fact(batpak::store::ledger::LEDGER_KIND)[0].clone();
    let entry_json = ro
        .get_as::<RawBytesInput>(ledger_entry.event_id)?
        .expect("ledger entry")
        .payload;
    let typed = ro
        .query(&Region::all())
        .into_iter()
        .find(|e| e.kind.category() == 0x1)
        .expect("a typed event");
    let typed_payload = ro
        .get_as::<RawBytesInput>(typed.event_id)?
        .expect("typed event")
        .payload;
    let mut ledger_seed = vec![2];
    put_chunk(&mut ledger_seed, &entry_json);
    ledger_seed.extend_from_slice(&typed_payload);
    corpus.put("json_render", "ledger-typed", &ledger_seed)?;

    // Transcoder: the ledger's shapes with their sample and a real payload.
    let reference_ro = Store::open_read_only(StoreConfig::new(&reference))?;
    let shapes: Vec<EventShape> = reference_ro
        .schema_ledger()
        .into_iter()
        .map(|(_, _, known)| known.shape)
        .chain(batpak::schema::system_families().into_iter().flat_map(|f| {
            f.kinds
                .into_iter()
                .flat_map(|k| k.versions.into_iter().map(|v| v.shape))
        }))
        .collect();
    let mut n = 0;
    for shape in &shapes {
        let mut encoded = Vec::new();
        if put_event_shape(shape, &mut encoded).is_none() {
            continue;
        }
        let payloads = [sample::sample(&shape.fields), typed_payload.clone()];
        for payload in payloads {
            corpus.put(
                "transcoder",
                &format!("shape-{n:02}"),
                &[&encoded[..], &payload].concat(),
            )?;
            n += 1;
        }
    }
    drop((ro, reference_ro));
    std::fs::remove_dir_all(&scratch)?;
    println!("seeds written under {}", root.display());
    Ok(())
}
