//! Derive macros for batpak. The event, schema and projection derives arrive
//! with the macros work; this crate is wired into the facade already so the
//! workspace layout is final.

#![warn(missing_docs)]
