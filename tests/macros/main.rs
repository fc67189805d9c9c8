//! Tests of the derive macros: compile-fail diagnostics (trybuild over
//! `tests/ui`), a compile-pass suite of awkward shapes, and the behaviour of
//! derived families, schemas and projections through the store.

/// The example families (shared with the examples and the xtask snapshot).
#[path = "../../examples/domain/mod.rs"]
mod domain;

mod cli;
mod compile_pass;
mod families;
mod fixtures;
mod inspector;
mod inspector_follow;
mod inspector_graph;
mod inspector_ops;
mod projections;
mod replay_kinds;
mod roundtrip;
mod schema_check;
mod ui;
mod versions;
