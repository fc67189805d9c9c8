//! The schema registry: the shapes the log's ledger recorded for each
//! (kind, version), as revisions in log order, and the one judgement of
//! whether today's type of a family may read and write them.
//!
//! The judgement is the release check's (`schema::compare`): identity is the
//! family's stable name, the variant's id and version; compatibility is the
//! wire shape. A rename with a stable id, a widened integer or a unit variant
//! that became an empty struct is read as it is; what the release check calls a
//! break is refused here with the same rule number and field path, before
//! anything is written and before any value is decoded.

use super::error::StoreError;
use super::locking;
use crate::event::EventKind;
use crate::schema::{
    check_log, family_shapes, Catalog, Coverage, EventFamily, KnownShape, LoggedKind,
};
use std::any::TypeId;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

type Key = (u16, u16);
/// A family's cached refusals (one per logged kind it cannot use) and the
/// ledger generation they were judged at.
type Verdict = (u64, Vec<(EventKind, Refusal)>);

/// Why today's type of a family may not use the log: a clonable description
/// of the [`StoreError`] it becomes, so a verdict can be cached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// A rules-table break (docs/schema-evolution.md) on (kind, version).
    Drift {
        kind: EventKind,
        version: u16,
        rule: u8,
        path: String,
        change: String,
    },
    /// Another family owns the kind in the log.
    Conflict {
        kind: EventKind,
        logged_family: String,
        family: String,
    },
}

impl From<Refusal> for StoreError {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::Drift {
                kind,
                version,
                rule,
                path,
                change,
            } => StoreError::SchemaDrift {
                kind,
                version,
                rule,
                path,
                change,
            },
            Refusal::Conflict {
                kind,
                logged_family,
                family,
            } => StoreError::KindConflict {
                kind,
                logged_family,
                family,
            },
        }
    }
}

/// The judgement of one family, as a value the read and write paths carry
/// (a typed payload, a typed replay input) without naming the family's type.
#[derive(Clone, Copy)]
pub struct FamilyCheck {
    family: fn() -> TypeId,
    judge: fn(&SchemaRegistry) -> Vec<(EventKind, Refusal)>,
}

impl std::fmt::Debug for FamilyCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FamilyCheck")
    }
}

impl FamilyCheck {
    /// The check of family `F`.
    pub const fn of<F: EventFamily>() -> Self {
        Self {
            family: TypeId::of::<F>,
            judge: judge::<F>,
        }
    }

    /// Whether the family may use the log as the registry knows it; the verdict
    /// is cached until the ledger changes. Of several refusals, the one about
    /// `kind` (the kind being read or written) is named first.
    pub(crate) fn run(
        &self,
        registry: &SchemaRegistry,
        kind: Option<EventKind>,
    ) -> Result<(), StoreError> {
        let id = (self.family)();
        let generation = registry.generation.load(Ordering::Acquire);
        let pick = |refusals: &[(EventKind, Refusal)]| -> Result<(), StoreError> {
            let first = refusals
                .iter()
                .find(|(k, _)| Some(*k) == kind)
                .or(refusals.first());
            match first {
                Some((_, refusal)) => Err(refusal.clone().into()),
                None => Ok(()),
            }
        };
        if let Some((g, refusals)) = locking::read(&registry.verdicts).get(&id) {
            if *g == generation {
                return pick(refusals);
            }
        }
        let refusals = (self.judge)(registry);
        let verdict = pick(&refusals);
        locking::write(&registry.verdicts).insert(id, (generation, refusals));
        verdict
    }
}

/// Shapes the store knows: those recorded in the log (authoritative, every
/// revision) and those of families registered by this process.
#[derive(Debug, Default)]
pub(crate) struct SchemaRegistry {
    /// The shape to render each (kind, version) with: the log's newest
    /// revision, else a registered family's.
    shapes: RwLock<HashMap<Key, Arc<KnownShape>>>,
    /// Every revision the log recorded, in log order.
    ledger: RwLock<HashMap<Key, Vec<Arc<KnownShape>>>>,
    families: RwLock<HashSet<TypeId>>,
    /// Bumped on every change of `ledger`, so cached verdicts expire.
    generation: AtomicU64,
    verdicts: RwLock<HashMap<TypeId, Verdict>>,
}

impl SchemaRegistry {
    /// The shape to render (kind, version) with.
    pub(crate) fn shape(&self, kind: EventKind, version: u16) -> Option<Arc<KnownShape>> {
        locking::read(&self.shapes)
            .get(&(kind.raw(), version))
            .cloned()
    }

    /// Whether the log recorded exactly this shape for (kind, version).
    pub(crate) fn has_revision(
        &self,
        kind: EventKind,
        version: u16,
        fingerprint: [u8; 16],
    ) -> bool {
        locking::read(&self.ledger)
            .get(&(kind.raw(), version))
            .is_some_and(|revs| revs.iter().any(|r| r.fingerprint == fingerprint))
    }

    /// The family the log says owns `kind`, if any.
    pub(crate) fn logged_family(&self, kind: EventKind) -> Option<String> {
        let ledger = locking::read(&self.ledger);
        ledger
            .iter()
            .find(|((k, _), _)| *k == kind.raw())
            .and_then(|(_, revs)| revs.first())
            .map(|s| s.shape.family.clone())
    }

    /// Records a revision of (kind, version) (from the log, or being written).
    pub(crate) fn record(&self, kind: EventKind, version: u16, shape: Arc<KnownShape>) {
        let key = (kind.raw(), version);
        let mut ledger = locking::write(&self.ledger);
        let revisions = ledger.entry(key).or_default();
        if !revisions.iter().any(|r| r.fingerprint == shape.fingerprint) {
            revisions.push(Arc::clone(&shape));
        }
        drop(ledger);
        locking::write(&self.shapes).insert(key, shape);
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// Forgets a revision whose write was discarded (a cancelled fence).
    pub(crate) fn forget(&self, kind: EventKind, version: u16, fingerprint: [u8; 16]) {
        let key = (kind.raw(), version);
        let mut ledger = locking::write(&self.ledger);
        if let Some(revisions) = ledger.get_mut(&key) {
            revisions.retain(|r| r.fingerprint != fingerprint);
            match revisions.last() {
                Some(newest) => {
                    locking::write(&self.shapes).insert(key, Arc::clone(newest));
                }
                None => {
                    ledger.remove(&key);
                }
            }
        }
        drop(ledger);
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// Learns family `F`'s shapes once (never overriding what the log says).
    pub(crate) fn register<F: EventFamily>(&self) {
        let id = TypeId::of::<F>();
        if locking::read(&self.families).contains(&id) {
            return;
        }
        let table = family_shapes::<F>();
        let mut shapes = locking::write(&self.shapes);
        for (key, shape) in table.iter() {
            shapes.entry(*key).or_insert_with(|| Arc::clone(shape));
        }
        drop(shapes);
        locking::write(&self.families).insert(id);
    }

    /// Every revision of every (kind, version) the log describes, by kind and
    /// version, oldest revision first.
    pub(crate) fn logged_entries(&self) -> Vec<(EventKind, u16, Arc<KnownShape>)> {
        let ledger = locking::read(&self.ledger);
        let mut keys: Vec<&Key> = ledger.keys().collect();
        keys.sort();
        keys.into_iter()
            .flat_map(|key| {
                ledger[key]
                    .iter()
                    .map(move |s| (EventKind::from_raw(key.0), key.1, Arc::clone(s)))
            })
            .collect()
    }

    /// The ledger as the schema layer's check reads it, by kind and version.
    fn logged_kinds(&self) -> Vec<LoggedKind> {
        let ledger = locking::read(&self.ledger);
        let mut log: Vec<LoggedKind> = ledger
            .iter()
            .map(|((kind, version), revisions)| LoggedKind {
                kind: EventKind::from_raw(*kind),
                version: *version,
                revisions: revisions.iter().map(|r| r.shape.clone()).collect(),
            })
            .collect();
        log.sort_by_key(|l| (l.kind.raw(), l.version));
        log
    }
}

/// Judges family `F` against every revision the log recorded, with the same
/// engine as the release check (`schema::check_log`): one refusal per logged
/// kind it cannot use.
fn judge<F: EventFamily>(registry: &SchemaRegistry) -> Vec<(EventKind, Refusal)> {
    let release = Catalog::new().with::<F>();
    let log = registry.logged_kinds();
    check_log(&log, &release, Coverage::Families)
        .into_iter()
        .map(|(kind, finding)| {
            let refusal = if finding.rule == 20 {
                Refusal::Conflict {
                    kind,
                    logged_family: finding.family,
                    family: F::NAME.to_owned(),
                }
            } else {
                Refusal::Drift {
                    kind,
                    version: finding.version.unwrap_or(0),
                    rule: finding.rule,
                    path: finding.path,
                    change: format!("{}; fix: {}", finding.message, finding.fix),
                }
            };
            (kind, refusal)
        })
        .collect()
}
