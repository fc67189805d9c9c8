//! What the fuzz targets share: a scratch data directory per process, a cursor
//! over the fuzzer's bytes, the structured input of the `recovery` target
//! (parsed by the target, written by the seed generator), and the reads every
//! store a target manages to open goes through. The property everywhere: a
//! typed `Ok` or `Err`, never a panic (libfuzzer-sys aborts on a panic in any
//! thread, the writer's included) and never a hang (`run.sh` sets a timeout).

use batpak_runtime::coordinate::Region;
use batpak_runtime::fuzzing;
use batpak_runtime::store::Store;
use std::path::{Path, PathBuf};

/// Largest input a target looks at: keeps every execution short.
pub const INPUT_BYTES_MAX: usize = 64 * 1024;

/// Events of an opened store whose reads a target exercises.
const READS_MAX: usize = 64;

/// A data directory that is empty at the start of each execution and removed
/// at its end; on tmpfs when the machine has one (fsync is then free).
pub struct Scratch {
    path: PathBuf,
}

impl Scratch {
    /// A fresh, empty directory named after the target and this process.
    pub fn new(target: &str) -> Self {
        let shm = Path::new("/dev/shm");
        let base = if shm.is_dir() {
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        let path = base.join(format!("batpak-fuzz-{target}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("the scratch directory can be created");
        Self { path }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `bytes` as file `name` of the directory.
    pub fn write(&self, name: impl AsRef<Path>, bytes: &[u8]) {
        std::fs::write(self.path.join(name), bytes).expect("the scratch file can be written");
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// A cursor over the fuzzer's bytes that reads zeros once they run out.
pub struct Bytes<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Bytes<'a> {
    /// A cursor at the start of `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Self { data, pos: 0 }
    }

    /// The next byte, or 0.
    pub fn u8(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos = (self.pos + 1).min(self.data.len());
        b
    }

    /// The next two bytes as a little-endian u16 (zeros past the end).
    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }

    /// Up to `n` bytes: fewer when the input ends first.
    pub fn take(&mut self, n: usize) -> &'a [u8] {
        let end = self.pos.saturating_add(n).min(self.data.len());
        let out = &self.data[self.pos..end];
        self.pos = end;
        out
    }

    /// A `u16`-length-prefixed chunk.
    pub fn chunk(&mut self) -> &'a [u8] {
        let n = self.u16();
        self.take(usize::from(n))
    }

    /// Everything not read yet.
    pub fn rest(&mut self) -> &'a [u8] {
        self.take(usize::MAX)
    }

    /// Whether everything was read.
    pub fn is_empty(&self) -> bool {
        self.pos >= self.data.len()
    }
}

/// Appends a `u16`-length-prefixed chunk (the inverse of [`Bytes::chunk`]).
pub fn put_chunk(out: &mut Vec<u8>, chunk: &[u8]) {
    let n = u16::try_from(chunk.len()).expect("a chunk fits a u16 length");
    out.extend_from_slice(&n.to_le_bytes());
    out.extend_from_slice(chunk);
}

/// The `recovery` target's input: up to three segment files and an index
/// snapshot, described by a flag byte followed by `u16`-length-prefixed chunks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryInput {
    /// The bits below.
    pub flags: u8,
    /// Each segment file's content (see [`RecoveryInput::SEALED`]).
    pub segments: Vec<Vec<u8>>,
    /// The snapshot (see [`RecoveryInput::SNAPSHOT_SEALED`]), if any.
    pub snapshot: Option<Vec<u8>>,
}

impl RecoveryInput {
    /// Bits 0-1: one segment file, plus this many more (a 3 counts as 2).
    pub const SEGMENTS_MASK: u8 = 0b11;
    /// A segment's content is a list of `u16`-length-prefixed frame bodies,
    /// each given a valid length word and CRC; a trailing part too short for
    /// its length prefix is appended as it is (a torn tail).
    pub const SEALED: u8 = 1 << 2;
    /// Each segment file starts with its valid 32-byte header.
    pub const HEADERS: u8 = 1 << 3;
    /// An `index.snap` follows the segments.
    pub const SNAPSHOT: u8 = 1 << 4;
    /// The snapshot chunk is a body, given a valid header and CRC.
    pub const SNAPSHOT_SEALED: u8 = 1 << 5;
    /// Segment ids start at 2 instead of 1.
    pub const IDS_FROM_TWO: u8 = 1 << 6;
    /// Opens use the index snapshot (`enable_mmap_index`).
    pub const MMAP_INDEX: u8 = 1 << 7;

    /// Reads an input; the chunks come out truncated where the input ends.
    pub fn parse(data: &[u8]) -> Self {
        let mut b = Bytes::new(data);
        let flags = b.u8();
        let count = 1 + usize::from((flags & Self::SEGMENTS_MASK).min(2));
        let segments = (0..count).map(|_| b.chunk().to_vec()).collect();
        let snapshot = (flags & Self::SNAPSHOT != 0).then(|| b.chunk().to_vec());
        Self {
            flags,
            segments,
            snapshot,
        }
    }

    /// The input's bytes (the inverse of [`RecoveryInput::parse`]).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![self.flags];
        for s in &self.segments {
            put_chunk(&mut out, s);
        }
        if let Some(s) = &self.snapshot {
            put_chunk(&mut out, s);
        }
        out
    }

    /// Whether `flag` is set.
    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }

    /// Writes the files into `dir`: segments, then the snapshot.
    pub fn write_into(&self, dir: &Scratch) {
        let first = if self.has(Self::IDS_FROM_TWO) { 2 } else { 1 };
        for (i, content) in self.segments.iter().enumerate() {
            let id = first + i as u64;
            let mut file = Vec::with_capacity(32 + content.len());
            if self.has(Self::HEADERS) {
                file.extend_from_slice(&fuzzing::segment_header(id));
            }
            if self.has(Self::SEALED) {
                seal_frames(content, &mut file);
            } else {
                file.extend_from_slice(content);
            }
            std::fs::write(fuzzing::segment_path(dir.path(), id), &file)
                .expect("the segment can be written");
        }
        if let Some(snapshot) = &self.snapshot {
            let file = if self.has(Self::SNAPSHOT_SEALED) {
                fuzzing::seal_snapshot(snapshot)
            } else {
                snapshot.clone()
            };
            std::fs::write(fuzzing::snapshot_path(dir.path()), file)
                .expect("the snapshot can be written");
        }
    }
}

/// Seals each `u16`-length-prefixed body of `content` as a frame into `out`;
/// what does not fit its prefix is copied as it is.
pub fn seal_frames(content: &[u8], out: &mut Vec<u8>) {
    let mut b = Bytes::new(content);
    while !b.is_empty() {
        let before = b.pos;
        let n = usize::from(b.u16());
        if b.pos - before < 2 || b.data.len() - b.pos < n {
            out.extend_from_slice(&content[before..]);
            return;
        }
        match fuzzing::seal_frame(b.take(n)) {
            Some(frame) => out.extend_from_slice(&frame),
            // An empty body cannot be sealed: write its bare (zero) prefix.
            None => out.extend_from_slice(&content[before..b.pos]),
        }
    }
}

/// Reads what an opened store shows, each read allowed to fail with a typed
/// error: every query, a point read of the first events, their causal
/// neighbours, the schema ledger, statistics and `verify`. Returns the number
/// of visible events.
pub fn exercise<M>(store: &Store<M>) -> usize {
    let entries = store.query(&Region::all());
    for entry in entries.iter().take(READS_MAX) {
        let _ = store.get(entry.event_id);
        let _ = store.stream(entry.coordinate.entity());
        let _ = store.by_scope(entry.coordinate.scope());
        let _ = store.by_fact(entry.kind);
        let _ = store.correlated(entry.correlation_id);
        let _ = store.walk_ancestors(entry.event_id, 8);
        let _ = store.descendants(entry.event_id, 8);
        let _ = store.entity_generation(entry.coordinate.entity());
    }
    let _ = store.schema_ledger();
    let _ = store.stats();
    let _ = store.verify();
    let _ = store.diagnostics();
    entries.len()
}

/// The `transcoder` target's shapes, one tag byte per node (see [`read_shape`]).
pub mod shape {
    use super::Bytes;
    use batpak_runtime::schema::{EventShape, Field, Fields, Shape, VariantShape};

    /// Nesting at which [`read_shape`] only makes leaves: deeper than the
    /// transcoder follows, so its depth bound is exercised too.
    pub const DEPTH_MAX: usize = 100;
    /// Items of a tuple, fields of a struct, variants of an enum: at most this
    /// many minus one.
    const WIDTH: u8 = 8;

    const LEAVES: [Shape; 18] = [
        Shape::Bool,
        Shape::U8,
        Shape::U16,
        Shape::U32,
        Shape::U64,
        Shape::U128,
        Shape::Usize,
        Shape::I8,
        Shape::I16,
        Shape::I32,
        Shape::I64,
        Shape::I128,
        Shape::Isize,
        Shape::F32,
        Shape::F64,
        Shape::Char,
        Shape::String,
        Shape::Unit,
    ];
    const OPTION: u8 = 18;
    const SEQ: u8 = 19;
    const ARRAY: u8 = 20;
    const TUPLE: u8 = 21;
    const MAP: u8 = 22;
    const STRUCT: u8 = 23;
    const ENUM: u8 = 24;
    const OPAQUE: u8 = 25;
    const TAGS: u8 = 26;

    /// An event shape: a byte whose bit 0 says whether it has a variant
    /// name, then its fields.
    pub fn read_event_shape(b: &mut Bytes<'_>) -> EventShape {
        let variant = (b.u8() & 1 == 1).then(|| "Variant".to_owned());
        EventShape {
            family: "Family".into(),
            variant,
            fields: read_fields(b, 0),
        }
    }

    /// Fields: a tag byte (unit, tuple or named) and, for the last two, a
    /// count byte and that many shapes.
    pub fn read_fields(b: &mut Bytes<'_>, depth: usize) -> Fields {
        match b.u8() % 3 {
            0 => Fields::Unit,
            1 => {
                let n = b.u8() % WIDTH;
                Fields::Tuple((0..n).map(|_| read_shape(b, depth + 1)).collect())
            }
            _ => {
                let n = b.u8() % WIDTH;
                Fields::Named(
                    (0..n)
                        .map(|i| Field {
                            name: format!("f{i}"),
                            shape: read_shape(b, depth + 1),
                        })
                        .collect(),
                )
            }
        }
    }

    /// A shape: a tag byte, then what the tag needs (an array's length is one
    /// byte, before its item).
    pub fn read_shape(b: &mut Bytes<'_>, depth: usize) -> Shape {
        let tag = b.u8() % TAGS;
        if depth >= DEPTH_MAX {
            return LEAVES[usize::from(tag) % LEAVES.len()].clone();
        }
        let d = depth + 1;
        match tag {
            OPTION => Shape::Option(Box::new(read_shape(b, d))),
            SEQ => Shape::Seq(Box::new(read_shape(b, d))),
            ARRAY => {
                let n = usize::from(b.u8());
                Shape::Array(Box::new(read_shape(b, d)), n)
            }
            TUPLE => {
                let n = b.u8() % WIDTH;
                Shape::Tuple((0..n).map(|_| read_shape(b, d)).collect())
            }
            MAP => Shape::Map(Box::new(read_shape(b, d)), Box::new(read_shape(b, d))),
            STRUCT => Shape::Struct {
                name: "Struct".into(),
                fields: read_fields(b, d),
            },
            ENUM => {
                let n = b.u8() % WIDTH;
                Shape::Enum {
                    name: "Enum".into(),
                    variants: (0..n)
                        .map(|i| VariantShape {
                            name: format!("V{i}"),
                            fields: read_fields(b, d),
                        })
                        .collect(),
                }
            }
            OPAQUE => Shape::Opaque("opaque".into()),
            leaf => LEAVES[usize::from(leaf)].clone(),
        }
    }

    /// The bytes [`read_event_shape`] turns back into `shape` (names aside).
    /// `None` for a shape it cannot express (wider than it reads, an array
    /// longer than 255).
    pub fn put_event_shape(shape: &EventShape, out: &mut Vec<u8>) -> Option<()> {
        out.push(u8::from(shape.variant.is_some()));
        put_fields(&shape.fields, out)
    }

    fn put_count(n: usize, out: &mut Vec<u8>) -> Option<()> {
        out.push(u8::try_from(n).ok().filter(|n| *n < WIDTH)?);
        Some(())
    }

    fn put_fields(fields: &Fields, out: &mut Vec<u8>) -> Option<()> {
        match fields {
            Fields::Unit => out.push(0),
            Fields::Tuple(items) => {
                out.push(1);
                put_count(items.len(), out)?;
                items.iter().try_for_each(|s| put_shape(s, out))?;
            }
            Fields::Named(fields) => {
                out.push(2);
                put_count(fields.len(), out)?;
                fields.iter().try_for_each(|f| put_shape(&f.shape, out))?;
            }
        }
        Some(())
    }

    fn put_shape(shape: &Shape, out: &mut Vec<u8>) -> Option<()> {
        if let Some(leaf) = LEAVES.iter().position(|l| l == shape) {
            out.push(leaf as u8);
            return Some(());
        }
        match shape {
            Shape::Option(inner) => {
                out.push(OPTION);
                put_shape(inner, out)
            }
            Shape::Seq(item) => {
                out.push(SEQ);
                put_shape(item, out)
            }
            Shape::Array(item, n) => {
                out.extend([ARRAY, u8::try_from(*n).ok()?]);
                put_shape(item, out)
            }
            Shape::Tuple(items) => {
                out.push(TUPLE);
                put_count(items.len(), out)?;
                items.iter().try_for_each(|s| put_shape(s, out))
            }
            Shape::Map(k, v) => {
                out.push(MAP);
                put_shape(k, out)?;
                put_shape(v, out)
            }
            Shape::Struct { fields, .. } => {
                out.push(STRUCT);
                put_fields(fields, out)
            }
            Shape::Enum { variants, .. } => {
                out.push(ENUM);
                put_count(variants.len(), out)?;
                variants.iter().try_for_each(|v| put_fields(&v.fields, out))
            }
            Shape::Opaque(_) => {
                out.push(OPAQUE);
                Some(())
            }
            _ => None,
        }
    }
}
