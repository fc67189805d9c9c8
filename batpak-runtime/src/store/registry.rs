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
use crate::schema::compare::{first_break, wire_fields};
use crate::schema::{family_shapes, EventFamily, KindInfo, KnownShape};
use std::any::TypeId;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

type Key = (u16, u16);
/// A family's shapes by (kind, version), as `family_shapes` computes them.
type Shapes = HashMap<Key, Arc<KnownShape>>;
/// A family's cached verdict and the ledger generation it was judged at.
type Verdict = (u64, Result<(), Refusal>);

/// Why today's type of a family may not use the log: a clonable description
/// of the [`StoreError`] it becomes, so a verdict can be cached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// A SCHEMA_RULES break on (kind, version).
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
    judge: fn(&SchemaRegistry) -> Result<(), Refusal>,
}

impl std::fmt::Debug for FamilyCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FamilyCheck")
    }
}

impl FamilyCheck {
    /// The check of family `F`.
    pub(crate) fn of<F: EventFamily>() -> Self {
        Self {
            family: TypeId::of::<F>,
            judge: judge::<F>,
        }
    }

    /// Whether the family may use the log as the registry knows it; the verdict
    /// is cached until the ledger changes.
    pub(crate) fn run(&self, registry: &SchemaRegistry) -> Result<(), StoreError> {
        let id = (self.family)();
        let generation = registry.generation.load(Ordering::Acquire);
        if let Some((g, verdict)) = locking::read(&registry.verdicts).get(&id) {
            if *g == generation {
                return verdict.clone().map_err(StoreError::from);
            }
        }
        let verdict = (self.judge)(registry);
        locking::write(&registry.verdicts).insert(id, (generation, verdict.clone()));
        verdict.map_err(StoreError::from)
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

    /// A copy of the ledger by kind and version, for judging without holding
    /// its lock. The order is fixed so that a family with several problems is
    /// always refused for the same one, not for whichever the map yields first.
    fn revisions(&self) -> Vec<(Key, Vec<Arc<KnownShape>>)> {
        let mut out: Vec<_> = locking::read(&self.ledger)
            .iter()
            .map(|(k, v)| (*k, v.clone()))
            .collect();
        out.sort_by_key(|(k, _)| *k);
        out
    }
}

/// Judges family `F` against every revision the log recorded.
fn judge<F: EventFamily>(registry: &SchemaRegistry) -> Result<(), Refusal> {
    let ours = family_shapes::<F>();
    for ((raw, version), revisions) in registry.revisions() {
        let kind = EventKind::from_raw(raw);
        let Some(first) = revisions.first() else {
            continue;
        };
        let logged_family = &first.shape.family;
        if logged_family != F::NAME {
            if F::kind_info(kind).is_some() {
                return Err(claimed_elsewhere::<F>(registry, kind, logged_family));
            }
            continue;
        }
        let logged_name = first.shape.variant.as_deref();
        let variant = logged_name.unwrap_or(F::NAME).to_owned();
        let drift = |rule, path: String, change: String| Refusal::Drift {
            kind,
            version,
            rule,
            path,
            change,
        };
        let Some(info) = F::kind_info(kind) else {
            return Err(undeclared::<F>(kind, logged_name, drift));
        };
        if recorded_name(&ours, info) != logged_name {
            if let Some(moved) = F::KINDS
                .iter()
                .find(|k| recorded_name(&ours, k) == logged_name)
            {
                let change = format!(
                    "`{variant}` was recorded under kind {kind:?}, is now under kind {:?}",
                    moved.kind
                );
                return Err(drift(26, variant, change));
            }
        }
        let Some(our) = ours.get(&(raw, version)) else {
            let change =
                format!("version {version} is no longer readable: no upcast chain reaches it");
            return Err(drift(21, variant, change));
        };
        for logged in revisions
            .iter()
            .filter(|r| r.fingerprint != our.fingerprint)
        {
            if let Some(refusal) = reused_id(logged, our, drift) {
                return Err(refusal);
            }
            let path = info.variant;
            if let Some(c) = first_break(&logged.shape.fields, &our.shape.fields, path) {
                return Err(drift(c.rule, c.path, c.message));
            }
        }
    }
    Ok(())
}

/// The name the ledger records for kind `k` of `F`: the variant's serde name
/// (its shape's), none for a struct family. Names are compared as the log
/// recorded them, never as Rust spells them: under `rename_all` the two never
/// match, and a variant moved to another id would go unnoticed.
fn recorded_name<'a>(ours: &'a Shapes, k: &KindInfo) -> Option<&'a str> {
    ours.get(&(k.kind.raw(), k.version))
        .and_then(|s| s.shape.variant.as_deref())
}

/// A revision recorded under another variant name than today's: a rename
/// (rule 13) only when the wire shape is the same, as the release check
/// decides; otherwise the id now means another event (rule 19), and comparing
/// the two variants' fields would report a change that is not one.
fn reused_id(
    logged: &KnownShape,
    our: &KnownShape,
    drift: impl Fn(u8, String, String) -> Refusal,
) -> Option<Refusal> {
    let was = logged.shape.variant.as_deref().unwrap_or_default();
    let is = our.shape.variant.as_deref().unwrap_or_default();
    if was == is || wire_fields(&logged.shape.fields) == wire_fields(&our.shape.fields) {
        return None;
    }
    Some(drift(
        19,
        is.to_owned(),
        format!("the log records this kind as `{was}`, today it is `{is}` with another shape; choose an unused id for the new event"),
    ))
}

/// A kind the log holds for `F`'s family that `F` no longer declares: its id
/// or category changed (the variant's name lives on under another kind), or
/// the variant was removed instead of retired.
fn undeclared<F: EventFamily>(
    kind: EventKind,
    logged_name: Option<&str>,
    drift: impl Fn(u8, String, String) -> Refusal,
) -> Refusal {
    let ours = family_shapes::<F>();
    let variant = logged_name.unwrap_or(F::NAME);
    match F::KINDS
        .iter()
        .find(|k| recorded_name(&ours, k) == logged_name)
    {
        Some(moved) if moved.kind.category() != kind.category() => drift(
            23,
            variant.to_owned(),
            format!(
                "category {:#x} became {:#x}; restore category {:#x}",
                kind.category(),
                moved.kind.category(),
                kind.category()
            ),
        ),
        Some(moved) => drift(
            18,
            variant.to_owned(),
            format!(
                "id {:#x} became {:#x}; restore id {:#x}",
                kind.type_id(),
                moved.kind.type_id(),
                kind.type_id()
            ),
        ),
        None => drift(
            22,
            variant.to_owned(),
            format!(
                "the log holds `{}::{variant}` but `{}` no longer declares it; mark the variant `retired` instead of removing it",
                F::NAME,
                F::NAME
            ),
        ),
    }
}

/// A kind of `F` that the log gives to `logged_family`. When every kind of that
/// family is one of `F`'s under the same variant name, `F` is the same family
/// under a new Rust name (rule 24); otherwise two families claim one kind.
fn claimed_elsewhere<F: EventFamily>(
    registry: &SchemaRegistry,
    kind: EventKind,
    logged_family: &str,
) -> Refusal {
    let ours = family_shapes::<F>();
    let renamed = registry.revisions().iter().all(|((raw, _), revs)| {
        revs.first().is_none_or(|s| {
            s.shape.family != logged_family
                || F::kind_info(EventKind::from_raw(*raw))
                    .is_some_and(|k| recorded_name(&ours, k) == s.shape.variant.as_deref())
        })
    });
    if renamed {
        return Refusal::Drift {
            kind,
            version: F::kind_info(kind).map_or(0, |k| k.version),
            rule: 24,
            path: F::NAME.to_owned(),
            change: format!(
                "the log names this family `{logged_family}`; keep the stable name: add `#[batpak(name = \"{logged_family}\")]` to `{}`",
                F::NAME
            ),
        };
    }
    Refusal::Conflict {
        kind,
        logged_family: logged_family.to_owned(),
        family: F::NAME.to_owned(),
    }
}
