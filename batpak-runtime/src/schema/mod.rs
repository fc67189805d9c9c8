//! Schemas of typed payloads: the [`Shape`] data model and its fingerprint, the
//! traits the derives implement ([`Schema`], [`Upcast`], [`EventFamily`],
//! [`Apply`]), the postcard helpers, and the transcoder that renders any typed
//! payload as JSON from its shape alone.

pub mod catalog;
mod check;
pub mod compare;
pub mod diff;
mod family;
mod impls;
pub mod json;
mod log_check;
pub mod personal;
mod release;
pub mod sample;
mod shape;
mod system;
#[cfg(test)]
pub(crate) mod test_family;

pub use catalog::{snapshot_of, Catalog, FamilySnapshot, KindSnapshot, VersionSnapshot};
pub use check::{check, Finding, Report};
pub use compare::Verdict;
pub use family::{
    decode, decode_older, encode, family_shapes, variant_history, Apply, EventFamily, KindInfo,
    NoUpcast, Schema, SchemaError, Upcast,
};
pub use impls::fields_of;
pub use log_check::{check_log, Coverage, LoggedKind};
pub use personal::Personal;
pub use release::{
    BlessCommands, BlessMode, BlessReport, CheckOutcome, CheckReport, FixtureFailure,
    SnapshotError, Snapshots, BLESS_ENV,
};
pub use shape::{EventShape, Field, Fields, KnownShape, Shape, VariantShape};
pub use system::system_families;

#[cfg(test)]
mod tests;
