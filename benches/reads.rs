//! `cargo bench --bench reads`: partial reads, counts and the bytes lane's
//! disk use (issue 13); the figures and how they are taken are in
//! `common/reads.rs`.

#[path = "common/mod.rs"]
mod common;

fn main() {
    common::reads::run();
}
