//! The quarantine (`quarantine/` in the data directory): a repair never
//! destroys bytes. Before recovery cuts a segment, it copies the bytes it is
//! about to cut to `quarantine/<segment>-<offset>.cut` (the raw bytes, so an
//! operator can inspect or splice them back) with a one-line description
//! beside it in `.txt`, both fsynced with their directory before the cut.
//! Cuts of nothing but zero bytes (what an OS crash leaves past the end of a
//! write) keep no file: zeros hold nothing to recover.
//!
//! Quarantined cuts are reported by `Store::verify` (which is not clean
//! while any is present) and by `batpak verify`; once reviewed, an operator
//! removes them with `Store::discard_quarantined` (or deletes the files).

use super::io::{LogFile, LogIo};
use crate::store::error::{IoOp, LogPosition, StoreError};
use std::path::{Path, PathBuf};

/// Name of the quarantine directory in the data directory.
pub const QUARANTINE_DIR: &str = "quarantine";

/// Bytes a repair cut from the log and kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuarantinedCut {
    /// The file holding the cut bytes.
    pub file: PathBuf,
    /// Where they were cut from.
    pub at: LogPosition,
    /// How many bytes were cut.
    pub bytes: u64,
    /// What the repair knew about them (what it cut and which unfinished
    /// batches or fences the cut affected).
    pub note: String,
}

pub(crate) fn dir_of(data_dir: &Path) -> PathBuf {
    data_dir.join(QUARANTINE_DIR)
}

fn stem(at: LogPosition, n: u32) -> String {
    match n {
        0 => format!("{:020}-{:010}", at.segment, at.offset),
        n => format!("{:020}-{:010}-{n}", at.segment, at.offset),
    }
}

/// Keeps `bytes` cut at `at`, durably, and returns the file; `None` when
/// every byte is zero.
pub(crate) fn keep(
    io: &dyn LogIo,
    data_dir: &Path,
    at: LogPosition,
    bytes: &[u8],
    note: &str,
) -> Result<Option<PathBuf>, StoreError> {
    if bytes.iter().all(|&b| b == 0) {
        return Ok(None);
    }
    let qdir = dir_of(data_dir);
    io.create_dir_all(&qdir)
        .map_err(|e| StoreError::io(IoOp::CreateDir, &qdir, e))?;
    // The same position can be cut twice (a crash right after a repair, at the
    // same offset): never overwrite an earlier cut.
    let mut n = 0;
    let (cut, file) = loop {
        let cut = qdir.join(format!("{}.cut", stem(at, n)));
        match io.create_new(&cut) {
            Ok(file) => break (cut, file),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => n += 1,
            Err(e) => return Err(StoreError::io(IoOp::Open, &cut, e)),
        }
    };
    write_synced(file, bytes, &cut)?;
    let txt = cut.with_extension("txt");
    let note_file = io
        .create_new(&txt)
        .map_err(|e| StoreError::io(IoOp::Open, &txt, e))?;
    write_synced(note_file, format!("{note}\n").as_bytes(), &txt)?;
    io.sync_dir(&qdir)
        .map_err(|e| StoreError::io(IoOp::Sync, &qdir, e))?;
    io.sync_dir(data_dir)
        .map_err(|e| StoreError::io(IoOp::Sync, data_dir, e))?;
    Ok(Some(cut))
}

fn write_synced(mut file: Box<dyn LogFile>, bytes: &[u8], path: &Path) -> Result<(), StoreError> {
    file.write_all(bytes)
        .map_err(|e| StoreError::io(IoOp::Write, path, e))?;
    file.sync_all()
        .map_err(|e| StoreError::io(IoOp::Sync, path, e))
}

/// The cuts kept in `data_dir`'s quarantine, in position order.
pub(crate) fn list(io: &dyn LogIo, data_dir: &Path) -> Result<Vec<QuarantinedCut>, StoreError> {
    let qdir = dir_of(data_dir);
    let names = match io.list(&qdir) {
        Ok(names) => names,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(StoreError::io(IoOp::List, &qdir, e)),
    };
    let mut cuts = Vec::new();
    for name in names {
        let Some(name) = name.to_str() else { continue };
        let Some(stem) = name.strip_suffix(".cut") else {
            continue;
        };
        let mut parts = stem.split('-');
        let (Some(segment), Some(offset)) = (
            parts.next().and_then(|s| s.parse().ok()),
            parts.next().and_then(|s| s.parse().ok()),
        ) else {
            continue;
        };
        let file = qdir.join(name);
        let bytes = io
            .len(&file)
            .map_err(|e| StoreError::io(IoOp::Read, &file, e))?;
        let note = io
            .read(&file.with_extension("txt"))
            .map(|b| String::from_utf8_lossy(&b).trim_end().to_owned())
            .unwrap_or_default();
        cuts.push(QuarantinedCut {
            file,
            at: LogPosition { segment, offset },
            bytes,
            note,
        });
    }
    cuts.sort_by(|a, b| (a.at, &a.file).cmp(&(b.at, &b.file)));
    Ok(cuts)
}

/// Removes a reviewed cut (its `.cut` and `.txt` files) from the quarantine.
pub(crate) fn discard(
    io: &dyn LogIo,
    data_dir: &Path,
    cut: &QuarantinedCut,
) -> Result<(), StoreError> {
    let qdir = dir_of(data_dir);
    if cut.file.parent() != Some(qdir.as_path()) {
        let e = std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a quarantined cut");
        return Err(StoreError::io(IoOp::Remove, &cut.file, e));
    }
    for path in [cut.file.clone(), cut.file.with_extension("txt")] {
        match io.remove(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(StoreError::io(IoOp::Remove, &path, e))
            }
            _ => {}
        }
    }
    io.sync_dir(&qdir)
        .map_err(|e| StoreError::io(IoOp::Sync, &qdir, e))
}
