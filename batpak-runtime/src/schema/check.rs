//! The release check: compare the committed snapshot (`old`) with today's
//! types (`new`) and report every finding with its row of the rules table in
//! `docs/schema-evolution.md`. The rule is backward and transitive: every (kind, version) any snapshot held must
//! stay readable by today's code, through its upcast chain.

use super::catalog::{Catalog, FamilySnapshot, KindSnapshot, VersionSnapshot};
use super::compare::{compare_fields, wire_fields, Change, Verdict};
use std::collections::BTreeMap;
use std::fmt;

/// One finding of the check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// How bad.
    pub verdict: Verdict,
    /// The family.
    pub family: String,
    /// The variant (or the family for family-wide findings).
    pub variant: String,
    /// The version concerned, if one.
    pub version: Option<u16>,
    /// Field path.
    pub path: String,
    /// The row of the rules table in docs/schema-evolution.md (0 for findings
    /// no row covers, like a new variant).
    pub rule: u8,
    /// What changed.
    pub message: String,
    /// How to fix it.
    pub fix: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = format!("{:?}", self.verdict).to_uppercase();
        let version = self.version.map_or_else(String::new, |v| format!(" v{v}"));
        write!(
            f,
            "{verdict:<6} {}::{}{version} {} rule {}: {}; fix: {}",
            self.family, self.variant, self.path, self.rule, self.message, self.fix
        )
    }
}

/// Every finding of one check.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Findings in family, variant, version order.
    pub findings: Vec<Finding>,
}

impl Report {
    /// Whether nothing breaks.
    pub fn passes(&self) -> bool {
        !self.findings.iter().any(|f| f.verdict.fails())
    }

    /// Findings that fail the check.
    pub fn failures(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.verdict.fails())
    }

    /// Whether some finding has this rule and verdict.
    pub fn has(&self, rule: u8, verdict: Verdict) -> bool {
        self.findings
            .iter()
            .any(|f| f.rule == rule && f.verdict == verdict)
    }
}

const FIX_BLESS: &str =
    "run `cargo xtask schema bless --allow-break` if this change is intended and no data was ever written";

struct Ctx<'a> {
    report: &'a mut Report,
    family: &'a str,
}

impl Ctx<'_> {
    /// Records a finding at `(variant, version, path)`.
    fn add(
        &mut self,
        verdict: Verdict,
        at: (&str, Option<u16>, &str),
        rule: u8,
        message: String,
        fix: String,
    ) {
        let (variant, version, path) = at;
        self.report.findings.push(Finding {
            verdict,
            family: self.family.to_owned(),
            variant: variant.to_owned(),
            version,
            path: path.to_owned(),
            rule,
            message,
            fix,
        });
    }
}

fn bump_fix(k: &KindSnapshot) -> String {
    format!(
        "add `version = {}, upcast_from = {}V{}` (the old shape as its own `Schema` type)",
        k.version + 1,
        k.variant,
        k.version
    )
}

/// Compares the committed snapshot `old` with today's `new`.
pub fn check(old: &Catalog, new: &Catalog) -> Report {
    let mut report = Report::default();
    let renamed = family_renames(old, new);
    for o in old.families() {
        let target = new
            .family(&o.family)
            .or_else(|| renamed.get(&o.family).and_then(|n| new.family(n)));
        let mut ctx = Ctx {
            report: &mut report,
            family: &o.family,
        };
        match target {
            Some(n) => {
                if n.family != o.family {
                    // The log names the family by its stable name: a store that
                    // wrote `o` refuses a type called otherwise.
                    let msg = format!("family renamed to `{}`", n.family);
                    let fix = format!(
                        "keep the stable name: add `#[batpak(name = \"{}\")]` to `{}`",
                        o.family, n.family
                    );
                    ctx.add(Verdict::Break, (&o.family, None, ""), 24, msg, fix);
                }
                check_family(o, n, &mut ctx);
            }
            None => {
                for k in o.kinds.iter().filter(|k| !k.removed) {
                    let msg = "family removed: its events can no longer be read".to_owned();
                    let fix = "keep the family; mark variants `retired` instead".to_owned();
                    ctx.add(Verdict::Break, (&k.variant, None, ""), 22, msg, fix);
                }
            }
        }
    }
    for n in new.families() {
        if old.family(&n.family).is_none() && !renamed.values().any(|r| r == &n.family) {
            let mut ctx = Ctx {
                report: &mut report,
                family: &n.family,
            };
            ctx.add(
                Verdict::Ok,
                (&n.family, None, ""),
                0,
                "new family".into(),
                "none needed".into(),
            );
        }
    }
    check_kind_claims(old, new, &renamed, &mut report);
    report
}

/// Old families missing by name whose category and ids reappear under another
/// name with the same wire shapes: Rust type renames (rule 24).
fn family_renames(old: &Catalog, new: &Catalog) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for o in old.families().filter(|o| new.family(&o.family).is_none()) {
        let candidate = new.families().find(|n| {
            old.family(&n.family).is_none()
                && n.category == o.category
                && o.kinds.iter().all(|k| {
                    n.kinds.iter().any(|nk| {
                        nk.id == k.id
                            && k.versions.iter().all(|v| {
                                nk.versions.iter().any(|nv| {
                                    nv.version == v.version
                                        && wire_fields(&nv.shape.fields)
                                            == wire_fields(&v.shape.fields)
                                })
                            })
                    })
                })
        });
        if let Some(n) = candidate {
            out.insert(o.family.clone(), n.family.clone());
        }
    }
    out
}

fn check_family(o: &FamilySnapshot, n: &FamilySnapshot, ctx: &mut Ctx<'_>) {
    if o.category != n.category {
        let msg = format!("category {:#x} became {:#x}", o.category, n.category);
        ctx.add(
            Verdict::Break,
            (&o.family, None, ""),
            23,
            msg,
            format!("restore category {:#x}", o.category),
        );
    }
    for k in &o.kinds {
        let Some(nk) = n.kinds.iter().find(|nk| nk.id == k.id) else {
            if k.removed {
                continue;
            }
            if let Some(moved) = n
                .kinds
                .iter()
                .find(|nk| recorded_name(nk) == recorded_name(k))
            {
                let msg = format!("id {} became {}", k.id, moved.id);
                ctx.add(
                    Verdict::Break,
                    (&k.variant, None, ""),
                    18,
                    msg,
                    format!("restore id {}", k.id),
                );
            } else {
                let msg = "variant removed: its events can no longer be read".to_owned();
                ctx.add(
                    Verdict::Break,
                    (&k.variant, None, ""),
                    22,
                    msg,
                    "mark the variant `retired` instead of removing it".into(),
                );
            }
            continue;
        };
        if k.removed {
            let msg = format!(
                "id {} belonged to the removed variant `{}`",
                k.id, k.variant
            );
            ctx.add(
                Verdict::Break,
                (&nk.variant, None, ""),
                19,
                msg,
                "choose an unused id".into(),
            );
            continue;
        }
        check_kind(k, nk, n, ctx);
    }
    for nk in n
        .kinds
        .iter()
        .filter(|nk| !o.kinds.iter().any(|k| k.id == nk.id))
    {
        ctx.add(
            Verdict::Ok,
            (&nk.variant, Some(nk.version), ""),
            0,
            "new variant".into(),
            "none needed".into(),
        );
    }
}

fn check_kind(k: &KindSnapshot, nk: &KindSnapshot, n: &FamilySnapshot, ctx: &mut Ctx<'_>) {
    if recorded_name(nk) != recorded_name(k) {
        if let Some(moved) = n
            .kinds
            .iter()
            .find(|m| recorded_name(m) == recorded_name(k) && m.id != k.id)
        {
            // Old events of this id would be read as another variant.
            let msg = format!(
                "`{}` was recorded under id {}, is now under id {}",
                k.variant, k.id, moved.id
            );
            let fix = format!("give `{}` back id {}", k.variant, k.id);
            ctx.add(Verdict::Break, (&k.variant, None, ""), 26, msg, fix);
            return;
        }
        if !check_renamed_variant(k, nk, ctx) {
            return;
        }
    } else if nk.variant != k.variant {
        let msg = format!(
            "id {} was `{}`, is now `{}` in Rust; the log keeps the name `{}`",
            k.id,
            k.variant,
            nk.variant,
            recorded_name(k).unwrap_or(&k.variant)
        );
        ctx.add(
            Verdict::Info,
            (&nk.variant, None, ""),
            13,
            msg,
            "none needed".into(),
        );
    }
    check_version_number(k, nk, ctx);
    for ov in &k.versions {
        check_old_version(k, nk, ov, ctx);
    }
}

/// The name the log records for a kind: the variant's serde name, which its
/// shape carries (none for a struct family). Identity is judged by this name,
/// as the store judges it against the log, not by the Rust name: the two
/// differ under `#[serde(rename)]` and `rename_all`.
pub(crate) fn recorded_name(k: &KindSnapshot) -> Option<&str> {
    k.versions
        .iter()
        .find(|v| v.version == k.version)
        .or(k.versions.first())
        .and_then(|v| v.shape.variant.as_deref())
}

/// An id whose variant has another name today: a rename when every version
/// keeps its wire shape (rule 13), otherwise the id was reused (rule 19).
/// Returns whether the kind is a rename, the only case worth comparing further.
fn check_renamed_variant(k: &KindSnapshot, nk: &KindSnapshot, ctx: &mut Ctx<'_>) -> bool {
    let same = k.versions.iter().all(|v| {
        nk.versions.iter().any(|nv| {
            nv.version == v.version && wire_fields(&nv.shape.fields) == wire_fields(&v.shape.fields)
        })
    });
    let (verdict, rule, fix) = if same {
        (Verdict::Info, 13, "none needed".to_owned())
    } else {
        (
            Verdict::Break,
            19,
            "choose an unused id for the new event".to_owned(),
        )
    };
    let msg = format!(
        "id {} was `{}`, is now `{}`",
        k.id,
        recorded_name(k).unwrap_or(&k.variant),
        recorded_name(nk).unwrap_or(&nk.variant)
    );
    ctx.add(verdict, (&nk.variant, None, ""), rule, msg, fix);
    same
}

/// The version a kind writes today may rise but never fall (rule 21).
fn check_version_number(k: &KindSnapshot, nk: &KindSnapshot, ctx: &mut Ctx<'_>) {
    if nk.version < k.version {
        let msg = format!("version lowered from {} to {}", k.version, nk.version);
        ctx.add(
            Verdict::Break,
            (&nk.variant, Some(nk.version), ""),
            21,
            msg,
            format!("use version {} or higher", k.version + 1),
        );
    } else if nk.version > k.version {
        let msg = format!("new version {} over {}", nk.version, k.version);
        ctx.add(
            Verdict::Ok,
            (&nk.variant, Some(nk.version), ""),
            0,
            msg,
            "none needed".into(),
        );
    }
}

/// One version the snapshot held: today's chain must still reach it (rule 21),
/// with a shape that reads the bytes written under it.
fn check_old_version(k: &KindSnapshot, nk: &KindSnapshot, ov: &VersionSnapshot, ctx: &mut Ctx<'_>) {
    let Some(nv) = nk.versions.iter().find(|nv| nv.version == ov.version) else {
        let msg = format!(
            "version {} is no longer readable: no upcast chain reaches it",
            ov.version
        );
        let fix = format!(
            "give the version after it `upcast_from = ` a type with the v{} shape",
            ov.version
        );
        ctx.add(
            Verdict::Break,
            (&nk.variant, Some(ov.version), ""),
            21,
            msg,
            fix,
        );
        return;
    };
    if nv.fingerprint == ov.fingerprint {
        return;
    }
    let mut changes: Vec<Change> = Vec::new();
    compare_fields(
        &ov.shape.fields,
        &nv.shape.fields,
        &nk.variant,
        &mut changes,
    );
    for c in changes {
        add_shape_change(c, k, nk, ov.version, ctx);
    }
}

/// Records one change to the shape of old `version` with the fix that fits it:
/// a version bump when today's version changed shape without one, otherwise the
/// old shape restored in the upcast chain.
fn add_shape_change(
    c: Change,
    k: &KindSnapshot,
    nk: &KindSnapshot,
    version: u16,
    ctx: &mut Ctx<'_>,
) {
    let unbumped = version == k.version && nk.version == k.version;
    let fix = if !c.verdict.fails() {
        "none needed".to_owned()
    } else if unbumped {
        format!("{}, or {FIX_BLESS}", bump_fix(k))
    } else {
        format!("restore the v{version} shape in the upcast chain, or {FIX_BLESS}")
    };
    let message = if unbumped && c.verdict.fails() {
        format!(
            "{} (shape changed without a version bump, rule 21)",
            c.message
        )
    } else {
        c.message
    };
    ctx.add(
        c.verdict,
        (&nk.variant, Some(version), &c.path),
        c.rule,
        message,
        fix,
    );
}

/// Two families may not claim one kind (rule 20), and no family may take over a
/// kind another family had in the snapshot (rule 19).
fn check_kind_claims(
    old: &Catalog,
    new: &Catalog,
    renamed: &BTreeMap<String, String>,
    report: &mut Report,
) {
    let mut claims: BTreeMap<(u8, u16), Vec<&str>> = BTreeMap::new();
    for n in new.families() {
        for k in &n.kinds {
            claims
                .entry((n.category, k.id))
                .or_default()
                .push(&n.family);
        }
    }
    for ((category, id), families) in &claims {
        if families.len() > 1 {
            report.findings.push(Finding {
                verdict: Verdict::Break,
                family: families.join(", "),
                variant: String::new(),
                version: None,
                path: String::new(),
                rule: 20,
                message: format!(
                    "kind {category:#x}:{id:#x} is claimed by {}",
                    families.join(" and ")
                ),
                fix: "give each family its own category or ids".into(),
            });
        }
        for o in old.families() {
            let owner = renamed
                .get(&o.family)
                .map_or(o.family.as_str(), String::as_str);
            if o.category == *category
                && o.kinds.iter().any(|k| k.id == *id)
                && !families.contains(&owner)
            {
                report.findings.push(Finding {
                    verdict: Verdict::Break,
                    family: families.join(", "),
                    variant: String::new(),
                    version: None,
                    path: String::new(),
                    rule: 19,
                    message: format!(
                        "kind {category:#x}:{id:#x} belonged to `{}` in the snapshot",
                        o.family
                    ),
                    fix: "choose an unused id".into(),
                });
            }
        }
    }
}

#[cfg(test)]
#[path = "check_tests.rs"]
mod tests;
