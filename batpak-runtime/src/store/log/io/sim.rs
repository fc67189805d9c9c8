//! A simulated disk for crash tests: [`SimIo`] runs every operation on a real
//! directory (the store's memory maps and directory lock need real files) and
//! keeps, beside it, what the disk is known to hold: per file the content of
//! its last sync, per directory its entries at its last sync (see `model`).
//! Real fsyncs are skipped; the model decides what they made durable.
//!
//! Every operation through the seam, reads included, is counted. A [`Fault`]
//! names an operation by its count: a crash makes it and every later one fail
//! with `EIO` (the operation itself may have written part of its bytes); a
//! one-shot fault makes the first changing operation from there fail once
//! (`ENOSPC` after half of a write, `EIO` from a sync, whose dirty bytes then
//! never reach the disk, as on Linux), and the disk works again afterwards.
//! [`SimIo::power_loss`] then rewrites the real directory to one outcome a
//! real disk may show, chosen by a seeded [`SimRng`].

mod model;
pub(crate) mod rng;

use super::{LogFile, LogIo};
use model::{DirNode, DirOp, FileNode, Ino, Model, Node};
pub(crate) use rng::SimRng;
use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// The `errno` of an I/O error on Linux.
const EIO: i32 = 5;
/// The `errno` of a full disk on Linux.
const ENOSPC: i32 = 28;

/// The operations the simulated disk counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    CreateDirAll,
    List,
    Read,
    Len,
    OpenAppend,
    CreateNew,
    Rename,
    Remove,
    RemoveDirAll,
    Truncate,
    SyncDir,
    WriteAt,
    Write,
    SyncData,
    SyncAll,
}

impl Op {
    /// Whether the operation changes the disk (a one-shot fault hits only these).
    fn changes(self) -> bool {
        !matches!(self, Op::List | Op::Read | Op::Len | Op::OpenAppend)
    }

    /// Whether a one-shot fault answers `EIO` rather than `ENOSPC`.
    fn syncs(self) -> bool {
        matches!(
            self,
            Op::SyncData | Op::SyncAll | Op::SyncDir | Op::Truncate
        )
    }

    /// Whether the operation writes file content (or syncs it).
    pub(crate) fn touches_content(self) -> bool {
        matches!(
            self,
            Op::Write | Op::WriteAt | Op::SyncData | Op::SyncAll | Op::Truncate
        )
    }
}

/// Which operation goes wrong in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    /// None: the counting run.
    None,
    /// Operation `at` and every later one fail with `EIO`.
    Crash { at: u64 },
    /// The first changing operation from `at` on fails once.
    Once { at: u64 },
}

/// The operation a fault hit.
#[derive(Debug, Clone)]
pub(crate) struct Fired {
    /// Its count (0 is the first operation).
    pub(crate) op: u64,
    /// What it was.
    pub(crate) what: Op,
    /// The path it was on.
    pub(crate) path: PathBuf,
    /// The `errno` it failed with.
    pub(crate) errno: i32,
}

/// What the failing operation still did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Effect {
    /// Nothing (the disk was already dead).
    Nothing,
    /// A crash: a write may have written any prefix of its bytes.
    Torn,
    /// A one-shot fault: a write wrote half its bytes; a sync lost its pages.
    Short,
}

/// An operation that fails.
struct Hit {
    error: io::Error,
    effect: Effect,
}

impl Hit {
    /// How many of `len` bytes the failing write still wrote.
    fn prefix(&self, rng: &mut SimRng, len: usize) -> usize {
        match self.effect {
            Effect::Nothing => 0,
            Effect::Torn => rng.index(len + 1),
            Effect::Short => len / 2,
        }
    }
}

/// The model and the fault, behind one lock.
#[derive(Debug)]
struct State {
    model: Model,
    ops: u64,
    fault: Fault,
    fired: Option<Fired>,
    dead: bool,
    rng: SimRng,
    /// Every operation so far, when tracing (for replaying a failure).
    trace: Option<Vec<String>>,
}

impl State {
    /// Counts an operation and decides whether it fails.
    fn gate(&mut self, what: Op, path: &Path) -> Result<(), Hit> {
        let op = self.ops;
        self.ops += 1;
        if let Some(trace) = &mut self.trace {
            trace.push(format!("{op} {what:?} {}", path.display()));
        }
        let eio = || io::Error::from_raw_os_error(EIO);
        if self.dead {
            return Err(Hit {
                error: eio(),
                effect: Effect::Nothing,
            });
        }
        let (errno, effect) = match self.fault {
            Fault::Crash { at } if op >= at => {
                self.dead = true;
                (EIO, Effect::Torn)
            }
            Fault::Once { at } if op >= at && self.fired.is_none() && what.changes() => {
                (if what.syncs() { EIO } else { ENOSPC }, Effect::Short)
            }
            _ => return Ok(()),
        };
        self.fired = Some(Fired {
            op,
            what,
            path: path.to_path_buf(),
            errno,
        });
        Err(Hit {
            error: io::Error::from_raw_os_error(errno),
            effect,
        })
    }
}

/// The shared part of a [`SimIo`] and its files.
#[derive(Debug)]
struct Inner {
    root: PathBuf,
    state: Mutex<State>,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `path` relative to the root; an error outside it.
    fn rel<'a>(&self, path: &'a Path) -> io::Result<&'a Path> {
        path.strip_prefix(&self.root).map_err(|_| {
            io::Error::new(
                io::ErrorKind::Unsupported,
                format!("{} is outside the simulated disk", path.display()),
            )
        })
    }

    /// Counts an operation without partial effects; fails as the fault says.
    fn enter(&self, what: Op, path: &Path) -> io::Result<MutexGuard<'_, State>> {
        let mut st = self.lock();
        st.gate(what, path).map_err(|hit| hit.error)?;
        Ok(st)
    }
}

/// See the module docs.
#[derive(Debug)]
pub(crate) struct SimIo {
    inner: Arc<Inner>,
}

impl SimIo {
    /// A simulated disk over the existing, empty directory `root`, with
    /// `fault`; `seed` decides how much a crashing write writes.
    pub(crate) fn new(root: &Path, fault: Fault, seed: u64) -> Self {
        let state = State {
            model: Model::new(),
            ops: 0,
            fault,
            fired: None,
            dead: false,
            rng: SimRng::new(seed),
            trace: None,
        };
        Self {
            inner: Arc::new(Inner {
                root: root.to_path_buf(),
                state: Mutex::new(state),
            }),
        }
    }

    /// Records every operation from now on, for [`trace`](Self::trace).
    pub(crate) fn start_trace(&self) {
        self.inner.lock().trace = Some(Vec::new());
    }

    /// The operations recorded since [`start_trace`](Self::start_trace).
    pub(crate) fn trace(&self) -> Vec<String> {
        self.inner.lock().trace.clone().unwrap_or_default()
    }

    /// Operations counted so far.
    pub(crate) fn ops(&self) -> u64 {
        self.inner.lock().ops
    }

    /// The operation the fault hit, if it did.
    pub(crate) fn fired(&self) -> Option<Fired> {
        self.inner.lock().fired.clone()
    }

    /// Cuts the power: rewrites the real directory to one outcome of the
    /// model chosen by `rng`. Every later operation fails.
    pub(crate) fn power_loss(&self, rng: &mut SimRng) -> io::Result<()> {
        let mut st = self.inner.lock();
        st.dead = true;
        let survivors = st.model.survivors(rng);
        let root = &self.inner.root;
        for entry in fs::read_dir(root)? {
            let path = entry?.path();
            if path.is_dir() {
                fs::remove_dir_all(&path)?;
            } else {
                fs::remove_file(&path)?;
            }
        }
        for (rel, content) in survivors {
            let path = root.join(rel);
            match content {
                None => fs::create_dir(&path)?,
                Some(bytes) => fs::write(&path, bytes)?,
            }
        }
        Ok(())
    }

    /// A [`SimFile`] over the real `file`, node `ino`.
    fn file(&self, path: &Path, ino: Ino, file: File) -> Box<dyn LogFile> {
        Box::new(SimFile {
            inner: Arc::clone(&self.inner),
            path: path.to_path_buf(),
            ino,
            file,
        })
    }
}

/// Creates the missing directories of `rel` below the root, real and modelled.
fn create_dirs(model: &mut Model, root: &Path, rel: &Path) -> io::Result<()> {
    let mut ino = model::ROOT;
    let mut real = root.to_path_buf();
    for name in rel.iter() {
        real.push(name);
        ino = match model.entry(ino, name)? {
            Some(child) => child,
            None => {
                fs::create_dir(&real)?;
                let child = model.add(Node::Dir(DirNode::default()));
                model
                    .dir(ino)?
                    .change(DirOp::Link(name.to_os_string(), child));
                child
            }
        };
        model.dir(ino)?;
    }
    Ok(())
}

impl LogIo for SimIo {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        let mut st = self.inner.enter(Op::CreateDirAll, dir)?;
        create_dirs(&mut st.model, &self.inner.root, self.inner.rel(dir)?)
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<OsString>> {
        let mut st = self.inner.enter(Op::List, dir)?;
        let ino = st.model.lookup(self.inner.rel(dir)?)?;
        Ok(st.model.dir(ino)?.cur.keys().cloned().collect())
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        self.read_head(path, usize::MAX)
    }

    fn read_head(&self, path: &Path, bytes: usize) -> io::Result<Vec<u8>> {
        let mut st = self.inner.enter(Op::Read, path)?;
        let ino = st.model.lookup(self.inner.rel(path)?)?;
        let cur = &st.model.file(ino)?.cur;
        Ok(cur[..bytes.min(cur.len())].to_vec())
    }

    fn len(&self, path: &Path) -> io::Result<u64> {
        let mut st = self.inner.enter(Op::Len, path)?;
        let ino = st.model.lookup(self.inner.rel(path)?)?;
        Ok(st.model.file(ino)?.cur.len() as u64)
    }

    fn open_append(&self, path: &Path) -> io::Result<Box<dyn LogFile>> {
        let mut st = self.inner.enter(Op::OpenAppend, path)?;
        let ino = st.model.lookup(self.inner.rel(path)?)?;
        st.model.file(ino)?;
        let file = OpenOptions::new().append(true).open(path)?;
        Ok(self.file(path, ino, file))
    }

    fn create_new(&self, path: &Path) -> io::Result<Box<dyn LogFile>> {
        let mut st = self.inner.enter(Op::CreateNew, path)?;
        let (dir, name) = st.model.parent_of(self.inner.rel(path)?)?;
        if st.model.entry(dir, &name)?.is_some() {
            return Err(io::ErrorKind::AlreadyExists.into());
        }
        let file = OpenOptions::new()
            .append(true)
            .create_new(true)
            .open(path)?;
        let ino = st.model.add(Node::File(FileNode::default()));
        st.model.dir(dir)?.change(DirOp::Link(name, ino));
        Ok(self.file(path, ino, file))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut st = self.inner.enter(Op::Rename, to)?;
        let (dir, from_name) = st.model.parent_of(self.inner.rel(from)?)?;
        let (to_dir, to_name) = st.model.parent_of(self.inner.rel(to)?)?;
        if dir != to_dir {
            let msg = "the simulated disk renames within a directory only";
            return Err(io::Error::new(io::ErrorKind::Unsupported, msg));
        }
        let ino = st
            .model
            .entry(dir, &from_name)?
            .ok_or(io::ErrorKind::NotFound)?;
        fs::rename(from, to)?;
        st.model.dir(dir)?.change(DirOp::Rename {
            from: from_name,
            to: to_name,
            ino,
        });
        Ok(())
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        let mut st = self.inner.enter(Op::Remove, path)?;
        let (dir, name) = st.model.parent_of(self.inner.rel(path)?)?;
        let ino = st.model.entry(dir, &name)?.ok_or(io::ErrorKind::NotFound)?;
        fs::remove_file(path)?;
        st.model.dir(dir)?.change(DirOp::Unlink(name, ino));
        Ok(())
    }

    fn remove_dir_all(&self, path: &Path) -> io::Result<()> {
        let mut st = self.inner.enter(Op::RemoveDirAll, path)?;
        let (dir, name) = st.model.parent_of(self.inner.rel(path)?)?;
        let ino = st.model.entry(dir, &name)?.ok_or(io::ErrorKind::NotFound)?;
        fs::remove_dir_all(path)?;
        st.model.dir(dir)?.change(DirOp::Unlink(name, ino));
        Ok(())
    }

    fn truncate(&self, path: &Path, len: u64) -> io::Result<()> {
        let mut st = self.inner.enter(Op::Truncate, path)?;
        let ino = st.model.lookup(self.inner.rel(path)?)?;
        st.model.file(ino)?;
        OpenOptions::new().write(true).open(path)?.set_len(len)?;
        st.model.file(ino)?.truncate(len as usize);
        Ok(())
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let mut st = self.inner.enter(Op::SyncDir, dir)?;
        let ino = st.model.lookup(self.inner.rel(dir)?)?;
        st.model.dir(ino)?.sync();
        Ok(())
    }

    fn write_at(&self, path: &Path, offset: u64, bytes: &[u8], sync: bool) -> io::Result<()> {
        let mut st = self.inner.lock();
        let hit = match st.gate(Op::WriteAt, path) {
            Err(h) if h.effect == Effect::Nothing => return Err(h.error),
            gate => gate.err(),
        };
        let (dir, name) = st.model.parent_of(self.inner.rel(path)?)?;
        let ino = match st.model.entry(dir, &name)? {
            Some(ino) => ino,
            None => {
                let ino = st.model.add(Node::File(FileNode::default()));
                st.model.dir(dir)?.change(DirOp::Link(name, ino));
                ino
            }
        };
        let n = match &hit {
            Some(h) => h.prefix(&mut st.rng, bytes.len()),
            None => bytes.len(),
        };
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        file.seek(SeekFrom::Start(offset))?;
        file.write_all(&bytes[..n])?;
        let node = st.model.file(ino)?;
        node.write_at(offset as usize, &bytes[..n]);
        match hit {
            Some(h) => Err(h.error),
            None if sync => {
                node.commit();
                Ok(())
            }
            None => Ok(()),
        }
    }
}

/// A file of [`SimIo`]: writes go to the real file and the model.
#[derive(Debug)]
struct SimFile {
    inner: Arc<Inner>,
    /// The path it was opened at (for the fault's report).
    path: PathBuf,
    ino: Ino,
    file: File,
}

impl SimFile {
    fn sync(&mut self, what: Op) -> io::Result<()> {
        let mut st = self.inner.lock();
        if let Err(hit) = st.gate(what, &self.path) {
            if hit.effect == Effect::Short {
                st.model.file(self.ino)?.fail_sync();
            }
            return Err(hit.error);
        }
        st.model.file(self.ino)?.commit();
        Ok(())
    }
}

impl LogFile for SimFile {
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        let mut st = self.inner.lock();
        let hit = st.gate(Op::Write, &self.path).err();
        let n = match &hit {
            Some(h) => h.prefix(&mut st.rng, bytes.len()),
            None => bytes.len(),
        };
        self.file.write_all(&bytes[..n])?;
        st.model.file(self.ino)?.append(&bytes[..n]);
        hit.map_or(Ok(()), |h| Err(h.error))
    }

    fn sync_data(&mut self) -> io::Result<()> {
        self.sync(Op::SyncData)
    }

    fn sync_all(&mut self) -> io::Result<()> {
        self.sync(Op::SyncAll)
    }
}

#[cfg(test)]
mod tests;
