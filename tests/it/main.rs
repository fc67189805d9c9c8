//! Integration tests of the store, one module per behaviour. Crash tests re-run
//! this binary as a child process (see `support::Child`) and SIGKILL it.

mod aggregates;
mod backups;
mod batches;
mod bytes_lane;
mod chains;
mod corruption;
mod downstream;
mod erasure;
mod fences;
mod format2;
mod idempotency;
mod lock;
mod mapped;
mod mapped_appends;
mod matrix;
mod model;
mod names;
mod read_only;
mod readers;
mod reads;
mod recovery;
mod repair;
mod retention;
mod segments;
mod snapshot_resume;
mod support;
mod tickets;
mod tidy;
mod workers;
