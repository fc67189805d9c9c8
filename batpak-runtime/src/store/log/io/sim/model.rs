//! The simulated disk's bookkeeping: for every file, what the page cache holds
//! and what the disk is known to hold; for every directory, its entries now
//! and at its last sync, with the changes in between. From that, a power loss
//! picks one outcome a real disk may show.
//!
//! Nodes are never freed: a file removed or replaced without a directory sync
//! may come back after the power loss, with the content its node had.

use super::rng::SimRng;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::ffi::{OsStr, OsString};
use std::io;
use std::path::{Component, Path, PathBuf};

/// A node's number: its index in the model.
pub(super) type Ino = usize;

/// The root of the simulated disk. Its own name is outside the simulation,
/// so it is durable.
pub(super) const ROOT: Ino = 0;

/// A power loss keeps unsynced bytes in whole sectors of this size.
const SECTOR: usize = 512;

/// One file.
#[derive(Debug, Default)]
pub(super) struct FileNode {
    /// The content the page cache holds (and the real file too).
    pub(super) cur: Vec<u8>,
    /// The content the disk is known to hold: the last sync's.
    durable: Vec<u8>,
    /// Positioned writes since the last sync, as (offset, length).
    pending: Vec<(usize, usize)>,
    /// Ranges a failed sync dropped from the dirty pages without writing
    /// them (what Linux does): the disk keeps its old bytes there (zeros past
    /// the old end), whatever later syncs say.
    lost: Vec<(usize, usize)>,
}

impl FileNode {
    /// Bytes appended at the end.
    pub(super) fn append(&mut self, bytes: &[u8]) {
        self.cur.extend_from_slice(bytes);
    }

    /// Bytes written at `offset`, not synced; they replace lost ones.
    pub(super) fn write_at(&mut self, offset: usize, bytes: &[u8]) {
        let end = offset + bytes.len();
        if self.cur.len() < end {
            self.cur.resize(end, 0);
        }
        self.cur[offset..end].copy_from_slice(bytes);
        self.pending.push((offset, bytes.len()));
        self.lost = carve(&self.lost, offset, end);
    }

    /// The length set and synced.
    pub(super) fn truncate(&mut self, len: usize) {
        self.cur.resize(len, 0);
        self.lost = carve(&self.lost, len, usize::MAX);
        self.commit();
    }

    /// A sync returned `Ok`: what it could write is durable.
    pub(super) fn commit(&mut self) {
        self.durable = self.disk_view();
        self.pending.clear();
        self.lost.clear();
    }

    /// A sync failed: its dirty bytes are marked clean without reaching the
    /// disk, so no later sync writes them.
    pub(super) fn fail_sync(&mut self) {
        let end = self.durable.len();
        if self.cur.len() > end {
            self.lost.push((end, self.cur.len() - end));
        }
        self.lost.append(&mut self.pending);
    }

    /// What the disk would hold if every dirty byte reached it now.
    fn disk_view(&self) -> Vec<u8> {
        let mut view = self.cur.clone();
        for &(start, len) in &self.lost {
            let end = (start + len).min(view.len());
            for (at, byte) in view.iter_mut().enumerate().take(end).skip(start) {
                *byte = self.durable.get(at).copied().unwrap_or(0);
            }
        }
        view
    }

    /// One content a power loss may leave: the synced bytes intact; each
    /// unsynced positioned write kept, lost or kept up to a sector boundary;
    /// the unsynced tail lost, kept, cut at a sector boundary, or cut and
    /// followed by garbage (or zeros) up to the written length.
    fn after_power_loss(&self, rng: &mut SimRng) -> Vec<u8> {
        let view = self.disk_view();
        let mut out = self.durable.clone();
        for &(offset, len) in &self.pending {
            let end = (offset + len).min(out.len());
            if offset >= end {
                continue;
            }
            let kept = match rng.index(3) {
                0 => offset,
                1 => end,
                _ => sector_cut(rng, offset, end),
            };
            out[offset..kept].copy_from_slice(&view[offset..kept]);
        }
        if view.len() > out.len() {
            torn_tail(rng, &view, &mut out);
        }
        out
    }
}

/// Appends to `out` (the synced part) what a power loss keeps of the rest
/// of `view`.
fn torn_tail(rng: &mut SimRng, view: &[u8], out: &mut Vec<u8>) {
    let (from, to) = (out.len(), view.len());
    match rng.index(4) {
        0 => {}
        1 => out.extend_from_slice(&view[from..]),
        2 => {
            let cut = sector_cut(rng, from, to);
            out.extend_from_slice(&view[from..cut]);
        }
        _ => {
            let cut = sector_cut(rng, from, to);
            out.extend_from_slice(&view[from..cut]);
            let mut junk = vec![0; to - cut];
            if !rng.chance(1, 4) {
                rng.fill(&mut junk);
            }
            out.extend_from_slice(&junk);
        }
    }
}

/// A sector boundary strictly inside `from..to`, or one of the ends when
/// there is none.
fn sector_cut(rng: &mut SimRng, from: usize, to: usize) -> usize {
    let first = from / SECTOR + 1;
    let last = to.saturating_sub(1) / SECTOR;
    if first > last {
        return if rng.chance(1, 2) { from } else { to };
    }
    (first + rng.index(last - first + 1)) * SECTOR
}

/// `ranges` without the part inside `start..end`.
fn carve(ranges: &[(usize, usize)], start: usize, end: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for &(s, len) in ranges {
        let e = s + len;
        if s < start {
            out.push((s, e.min(start) - s));
        }
        if e > end {
            let from = s.max(end);
            out.push((from, e - from));
        }
    }
    out
}

/// A change to a directory's entries.
#[derive(Debug, Clone)]
pub(super) enum DirOp {
    /// A name given to a node (a created file or directory).
    Link(OsString, Ino),
    /// A name removed, if it still names the node.
    Unlink(OsString, Ino),
    /// A rename within the directory, replacing the target: atomic, so a
    /// power loss leaves either name, never neither.
    Rename {
        from: OsString,
        to: OsString,
        ino: Ino,
    },
}

impl DirOp {
    fn apply(&self, entries: &mut BTreeMap<OsString, Ino>) {
        match self {
            DirOp::Link(name, ino) => {
                entries.insert(name.clone(), *ino);
            }
            DirOp::Unlink(name, ino) => {
                if entries.get(name) == Some(ino) {
                    entries.remove(name);
                }
            }
            DirOp::Rename { from, to, ino } => {
                if entries.get(from) == Some(ino) {
                    entries.remove(from);
                }
                entries.insert(to.clone(), *ino);
            }
        }
    }
}

/// One directory.
#[derive(Debug, Default)]
pub(super) struct DirNode {
    /// Its entries now.
    pub(super) cur: BTreeMap<OsString, Ino>,
    /// Its entries at its last sync.
    durable: BTreeMap<OsString, Ino>,
    /// The changes since.
    pending: Vec<DirOp>,
}

impl DirNode {
    /// Applies `op` now; it is durable at the next sync.
    pub(super) fn change(&mut self, op: DirOp) {
        op.apply(&mut self.cur);
        self.pending.push(op);
    }

    /// The directory was synced: every change so far is durable.
    pub(super) fn sync(&mut self) {
        self.durable = self.cur.clone();
        self.pending.clear();
    }

    /// The entries after a power loss: each unsynced change kept or not.
    fn after_power_loss(&self, rng: &mut SimRng) -> BTreeMap<OsString, Ino> {
        let mut entries = self.durable.clone();
        for op in &self.pending {
            if rng.chance(1, 2) {
                op.apply(&mut entries);
            }
        }
        entries
    }
}

/// A file or a directory.
#[derive(Debug)]
pub(super) enum Node {
    File(FileNode),
    Dir(DirNode),
}

/// Every node of the simulated disk; node [`ROOT`] is its root directory.
#[derive(Debug)]
pub(super) struct Model {
    nodes: Vec<Node>,
}

/// The names of a path relative to the root.
fn names(rel: &Path) -> io::Result<Vec<&OsStr>> {
    rel.components()
        .filter(|c| *c != Component::CurDir)
        .map(|c| match c {
            Component::Normal(name) => Ok(name),
            _ => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "path outside the simulated disk",
            )),
        })
        .collect()
}

impl Model {
    /// An empty disk.
    pub(super) fn new() -> Self {
        Self {
            nodes: vec![Node::Dir(DirNode::default())],
        }
    }

    /// Adds a node and returns its number.
    pub(super) fn add(&mut self, node: Node) -> Ino {
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    /// The file `ino`.
    pub(super) fn file(&mut self, ino: Ino) -> io::Result<&mut FileNode> {
        match &mut self.nodes[ino] {
            Node::File(f) => Ok(f),
            Node::Dir(_) => Err(io::ErrorKind::IsADirectory.into()),
        }
    }

    /// The directory `ino`.
    pub(super) fn dir(&mut self, ino: Ino) -> io::Result<&mut DirNode> {
        match &mut self.nodes[ino] {
            Node::Dir(d) => Ok(d),
            Node::File(_) => Err(io::ErrorKind::NotADirectory.into()),
        }
    }

    fn dir_ref(&self, ino: Ino) -> io::Result<&DirNode> {
        match &self.nodes[ino] {
            Node::Dir(d) => Ok(d),
            Node::File(_) => Err(io::ErrorKind::NotADirectory.into()),
        }
    }

    /// The entry `name` of directory `dir`, if any.
    pub(super) fn entry(&self, dir: Ino, name: &OsStr) -> io::Result<Option<Ino>> {
        Ok(self.dir_ref(dir)?.cur.get(name).copied())
    }

    /// The node at `rel` (relative to the root).
    pub(super) fn lookup(&self, rel: &Path) -> io::Result<Ino> {
        let mut ino = ROOT;
        for name in names(rel)? {
            ino = self.entry(ino, name)?.ok_or(io::ErrorKind::NotFound)?;
        }
        Ok(ino)
    }

    /// The directory holding `rel`, and `rel`'s last name.
    pub(super) fn parent_of(&self, rel: &Path) -> io::Result<(Ino, OsString)> {
        let names = names(rel)?;
        let Some((last, init)) = names.split_last() else {
            return Err(io::ErrorKind::InvalidInput.into());
        };
        let mut ino = ROOT;
        for name in init {
            ino = self.entry(ino, name)?.ok_or(io::ErrorKind::NotFound)?;
        }
        self.dir_ref(ino)?;
        Ok((ino, last.to_os_string()))
    }

    /// What a power loss leaves: every path reachable from the root, parents
    /// first, with a file's content (`None` for a directory).
    pub(super) fn survivors(&self, rng: &mut SimRng) -> Vec<(PathBuf, Option<Vec<u8>>)> {
        let mut out = Vec::new();
        let mut seen = HashSet::from([ROOT]);
        let mut contents: HashMap<Ino, Vec<u8>> = HashMap::new();
        let mut queue = vec![(PathBuf::new(), ROOT)];
        while let Some((path, ino)) = queue.pop() {
            let Node::Dir(dir) = &self.nodes[ino] else {
                continue;
            };
            for (name, child) in dir.after_power_loss(rng) {
                let child_path = path.join(&name);
                match &self.nodes[child] {
                    Node::File(f) => {
                        let bytes = contents
                            .entry(child)
                            .or_insert_with(|| f.after_power_loss(rng));
                        out.push((child_path, Some(bytes.clone())));
                    }
                    Node::Dir(_) if seen.insert(child) => {
                        out.push((child_path.clone(), None));
                        queue.push((child_path, child));
                    }
                    Node::Dir(_) => {}
                }
            }
        }
        out
    }
}
