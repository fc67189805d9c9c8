//! Checking a log's schema ledger against a release: can the release's event
//! types read every (kind, version) the log holds? The same engine serves the
//! store (which judges today's type of a family against its own ledger before
//! reading or writing it) and the inspector (`batpak schema check DIR
//! --against schemas/`, which judges a production log against committed
//! snapshots without the application's types).
//!
//! Identity is the family's stable name, the kind (category and id), the
//! version and the variant's name as the log records it (its serde name, which
//! differs from the Rust name under `#[serde(rename)]` or `rename_all`);
//! compatibility is the wire shape, judged by
//! [`compare`](super::compare) exactly as the release check judges two
//! snapshots, with the same rule numbers and paths.

use super::catalog::{Catalog, FamilySnapshot, KindSnapshot};
use super::check::{recorded_name, Finding};
use super::compare::{first_break, wire_fields, Verdict};
use super::EventShape;
use crate::event::EventKind;

/// Every shape the log's ledger recorded for one (kind, version): its
/// revisions, oldest first (all of one family).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedKind {
    /// The kind.
    pub kind: EventKind,
    /// The version.
    pub version: u16,
    /// The recorded shapes, oldest first.
    pub revisions: Vec<EventShape>,
}

/// What the release is expected to cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coverage {
    /// The whole release: a family of the log the release does not know is a
    /// failure (its events could not be read).
    Release,
    /// Only the families in the release catalog (a store judging one family):
    /// other families of the log matter only where they claim its kinds.
    Families,
}

/// Judges every (kind, version) of `log` against `release`: one breaking
/// finding for each the release cannot read, with the logged kind it is about
/// (an empty list: the release reads the whole log).
pub fn check_log(
    log: &[LoggedKind],
    release: &Catalog,
    coverage: Coverage,
) -> Vec<(EventKind, Finding)> {
    log.iter()
        .filter_map(|logged| Some((logged.kind, judge(logged, log, release, coverage)?)))
        .collect()
}

/// The finding for one logged (kind, version), if the release cannot read it
/// as it is (`None` when it reads it unchanged or with safe changes only).
fn judge(
    logged: &LoggedKind,
    log: &[LoggedKind],
    release: &Catalog,
    coverage: Coverage,
) -> Option<Finding> {
    let first = logged.revisions.first()?;
    let variant = first
        .variant
        .clone()
        .unwrap_or_else(|| first.family.clone());
    let at = Site {
        family: &first.family,
        variant: &variant,
        recorded: first.variant.as_deref(),
        logged,
    };
    let Some(family) = release.family(&first.family) else {
        return claimed(&at, log, release, coverage);
    };
    if family.category != logged.kind.category() {
        let fix = format!("restore category {:#x}", logged.kind.category());
        let msg = format!(
            "category {:#x} became {:#x}",
            logged.kind.category(),
            family.category
        );
        return Some(at.finding(23, &variant, msg, fix));
    }
    let Some(ks) = family
        .kinds
        .iter()
        .find(|k| k.id == logged.kind.type_id() && !k.removed)
    else {
        return Some(undeclared(&at, family));
    };
    if recorded_name(ks) != at.recorded {
        if let Some(moved) = family
            .kinds
            .iter()
            .find(|k| recorded_name(k) == at.recorded)
        {
            let msg = format!(
                "`{variant}` was recorded under id {:#x}, is now under id {:#x}",
                logged.kind.type_id(),
                moved.id
            );
            let fix = format!("give `{variant}` back id {:#x}", logged.kind.type_id());
            return Some(at.finding(26, &variant, msg, fix));
        }
    }
    readable(&at, ks)
}

/// Where a finding is: the logged family, variant and (kind, version).
struct Site<'a> {
    family: &'a str,
    /// The variant's name for messages (the family's for a struct family).
    variant: &'a str,
    /// The variant's name as the log records it (`None` for a struct family).
    recorded: Option<&'a str>,
    logged: &'a LoggedKind,
}

impl Site<'_> {
    fn finding(&self, rule: u8, path: &str, message: String, fix: String) -> Finding {
        Finding {
            verdict: Verdict::Break,
            family: self.family.to_owned(),
            variant: self.variant.to_owned(),
            version: Some(self.logged.version),
            path: path.to_owned(),
            rule,
            message: format!("kind {:#06x}: {message}", self.logged.kind.raw()),
            fix,
        }
    }
}

/// Whether the release's `ks` reads every revision the log holds.
fn readable(at: &Site<'_>, ks: &KindSnapshot) -> Option<Finding> {
    let version = at.logged.version;
    let Some(ours) = ks.versions.iter().find(|v| v.version == version) else {
        let msg = format!("version {version} is no longer readable: no upcast chain reaches it");
        let fix =
            format!("give the version after it `upcast_from` a type with the v{version} shape");
        return Some(at.finding(21, &ks.variant, msg, fix));
    };
    for revision in &at.logged.revisions {
        // Another recorded name with another wire shape: the id now means
        // another event, and comparing the two variants' fields would report
        // a change that is not one.
        let renamed = revision.variant != ours.shape.variant;
        if renamed && wire_fields(&revision.fields) != wire_fields(&ours.shape.fields) {
            let msg = format!(
                "the log records this kind as `{}`, the release as `{}` with another shape",
                at.variant, ks.variant
            );
            let fix = "choose an unused id for the new event".to_owned();
            return Some(at.finding(19, &ks.variant, msg, fix));
        }
        if let Some(c) = first_break(&revision.fields, &ours.shape.fields, &ks.variant) {
            let fix = format!(
                "bump `{}` to `version = {}` with `upcast_from` the v{version} shape",
                ks.variant,
                ks.version + 1
            );
            return Some(at.finding(c.rule, &c.path, c.message, fix));
        }
    }
    None
}

/// A kind the log gives to `family` that the release no longer declares: its
/// id or category changed (the variant's name lives on elsewhere), or the
/// variant was removed instead of retired.
fn undeclared(at: &Site<'_>, family: &FamilySnapshot) -> Finding {
    let kind = at.logged.kind;
    match family
        .kinds
        .iter()
        .find(|k| recorded_name(k) == at.recorded && !k.removed)
    {
        Some(moved) => {
            let msg = format!("id {:#x} became {:#x}", kind.type_id(), moved.id);
            at.finding(
                18,
                at.variant,
                msg,
                format!("restore id {:#x}", kind.type_id()),
            )
        }
        None => {
            let msg = format!(
                "the log holds `{}::{}` but the release no longer declares it",
                at.family, at.variant
            );
            let fix = "mark the variant `retired` instead of removing it".to_owned();
            at.finding(22, at.variant, msg, fix)
        }
    }
}

/// A logged family the release does not have by name: when a release family
/// holds every one of its kinds under the same variant names, it is the same
/// family under a new name (rule 24); when one claims some of them, two
/// families claim one kind (rule 20); otherwise the release lacks the family.
fn claimed(
    at: &Site<'_>,
    log: &[LoggedKind],
    release: &Catalog,
    coverage: Coverage,
) -> Option<Finding> {
    let kind = at.logged.kind;
    let declares = |f: &FamilySnapshot, k: EventKind| {
        f.category == k.category() && f.kinds.iter().any(|x| x.id == k.type_id() && !x.removed)
    };
    let Some(owner) = release.families().find(|f| declares(f, kind)) else {
        return (coverage == Coverage::Release).then(|| {
            let msg = format!("the release has no family `{}`", at.family);
            let fix = format!("keep `{}` in the release (retire its variants)", at.family);
            at.finding(22, at.variant, msg, fix)
        });
    };
    let renamed = log
        .iter()
        .filter(|l| l.revisions.first().is_some_and(|s| s.family == at.family))
        .all(|l| {
            let recorded = l.revisions.first().and_then(|s| s.variant.as_deref());
            owner.kinds.iter().any(|k| {
                owner.category == l.kind.category()
                    && k.id == l.kind.type_id()
                    && recorded_name(k) == recorded
            })
        });
    if renamed {
        let msg = format!(
            "the log names this family `{}`, the release `{}`",
            at.family, owner.family
        );
        let fix = format!(
            "keep the stable name: add `#[batpak(name = \"{}\")]` to `{}`",
            at.family, owner.family
        );
        return Some(at.finding(24, &owner.family, msg, fix));
    }
    let msg = format!(
        "`{}` claims a kind the log gives to `{}`",
        owner.family, at.family
    );
    let fix = "give each family its own category or ids".to_owned();
    Some(at.finding(20, at.variant, msg, fix))
}
