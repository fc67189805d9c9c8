//! The acceptance matrix of schema evolution. Each row is one edit of an event
//! family, declared as the family before and after it (one family name in two
//! modules). For every row a child process writes events with the old type; a
//! second child process opens the same directory with the new type, reads every
//! event typed and through a projection, and appends a new event; the parent
//! runs the release check on the two types. The store and the check must agree:
//! what the check passes, the store reads as the values the row expects and
//! extends; what the check fails, the store refuses with one of the check's
//! rule numbers, writing nothing. A store never hands back a wrong value.
//!
//! Separate processes, because an upgrade is one: the new binary knows only
//! the new type, and nothing the old one kept in memory can help it. The
//! matrix lives in this binary because it already re-executes itself for the
//! crash tests (`support::Child`) and orders those spawns against the tests
//! that hold stores open (`support::spawn_gate`).
//!
//! Every row writes a directory of its own, and every row's kinds have ids no
//! other row uses (fourteen user categories cannot give forty rows one each).

/// Declares a row's `Edit` when the old family wrote the log and both
/// families are `Cart`: variants and nested types of `before` in the samples,
/// of `after` in the expected values and the fresh event.
macro_rules! edit {
    (
        edit: $edit:expr,
        want: $want:expr,
        samples: [$($sample:expr),* $(,)?],
        expected: [$($expected:expr),* $(,)?],
        fresh: $fresh:expr $(,)?
    ) => {
        pub struct Edit;

        impl $crate::matrix::Case for Edit {
            const EDIT: &'static str = $edit;
            const WANT: $crate::matrix::Want = $want;
            type Writer = before::Cart;
            type Old = before::Cart;
            type New = after::Cart;

            fn samples() -> Vec<before::Cart> {
                #[allow(unused_imports)]
                use before::{Cart::*, *};
                vec![$($sample),*]
            }

            fn expected() -> Vec<after::Cart> {
                #[allow(unused_imports)]
                use after::{Cart::*, *};
                vec![$($expected),*]
            }

            fn fresh() -> after::Cart {
                #[allow(unused_imports)]
                use after::{Cart::*, *};
                $fresh
            }
        }
    };
}

mod enums;
mod fields;
mod kinds;
mod names;
mod personal;

use crate::support::{say, spawn_gate, tempdir, Child};
use batpak::coordinate::Coordinate;
use batpak::event::{Event, EventKind, EventSourced, TypedInput};
use batpak::schema::{check, Catalog, EventFamily, Report};
use batpak::store::{Store, StoreConfig, StoreError};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt::{Debug, Write as _};
use std::path::Path;
use std::time::Instant;

/// Set in a child: `<row>:write` or `<row>:read`.
const STEP_ENV: &str = "BATPAK_MATRIX_STEP";
/// When set, the matrix is also written there as a markdown table.
const OUT_ENV: &str = "BATPAK_MATRIX_OUT";
/// This test, as the children run it.
const TEST: &str = "matrix::store_and_check_agree";
/// The one entity every row writes.
const ENTITY: &str = "cart:1";

/// What docs/schema-evolution.md says the release check makes of an edit.
#[derive(Debug, Clone, Copy)]
pub enum Want {
    /// The check passes; when rules are named, a finding carries one of them.
    Pass(&'static [u8]),
    /// The check fails with a failing finding of one of these rules.
    Fail(&'static [u8]),
}

/// One row: an edit, the families around it, and what old events must read as.
pub trait Case {
    /// The edit, as the printed matrix names it.
    const EDIT: &'static str;
    /// The check's verdict by docs/schema-evolution.md.
    const WANT: Want;
    /// The family that wrote the log: `Old`, or a declaration older still when
    /// `Old` can no longer write what the log holds (a retired variant).
    type Writer: EventFamily + Debug;
    /// The family as the last release declared it.
    type Old: EventFamily;
    /// The family after the edit.
    type New: EventFamily + Debug + PartialEq + Clone + Serialize + DeserializeOwned;
    /// The events the old code writes: a few of every kind it can write.
    fn samples() -> Vec<Self::Writer>;
    /// What each sample reads back as with the new type. Empty when the old
    /// events have no right value under the new type, so any read is wrong.
    fn expected() -> Vec<Self::New>;
    /// An event the new code appends.
    fn fresh() -> Self::New;
}

/// A row as the parent and the children run it, its types erased.
struct Row {
    name: &'static str,
    edit: &'static str,
    want: Want,
    samples: usize,
    expected: usize,
    write: fn(&Path),
    read: fn(&Path),
    check: fn() -> Report,
}

impl Row {
    fn of<C: Case>(name: &'static str) -> Self {
        Self {
            name,
            edit: C::EDIT,
            want: C::WANT,
            samples: C::samples().len(),
            expected: C::expected().len(),
            write: write::<C>,
            read: read::<C>,
            check: || {
                check(
                    &Catalog::new().with::<C::Old>(),
                    &Catalog::new().with::<C::New>(),
                )
            },
        }
    }
}

macro_rules! rows {
    ($($file:ident :: $row:ident),* $(,)?) => {
        vec![$(Row::of::<$file::$row::Edit>(stringify!($row))),*]
    };
}

fn rows() -> Vec<Row> {
    rows![
        fields::r1_add_field,
        fields::r2_remove_middle_field,
        fields::r2_remove_last_field,
        fields::r3_swap_same_type,
        fields::r3_swap_other_types,
        fields::r4_rename_field,
        fields::r5_widen_nested,
        fields::r6_u8_to_u16,
        fields::r6_narrow_u64_to_u32,
        fields::r6_sign_u32_to_i32,
        fields::r6_f32_to_f64,
        fields::r6_i32_to_f64,
        fields::r7_string_to_bytes,
        fields::r8_vec_to_vecdeque,
        fields::r8_box,
        fields::r8_newtype_wrap,
        fields::r9_array_to_vec,
        fields::r9_vec_to_array,
        fields::r10_option_wrap,
        enums::r11_payload_variant_appended,
        enums::r12_payload_variant_inserted,
        enums::r12_payload_variants_swapped,
        enums::r13_payload_variant_renamed,
        enums::r13_event_variant_renamed,
        enums::r14_nested_field_added,
        enums::r14_nested_type_renamed,
        enums::r27_unit_to_empty_struct,
        enums::r27_unit_to_empty_tuple,
        kinds::r18_id_changed,
        kinds::r19_id_reused_after_removal,
        kinds::r19_id_reused_after_retirement,
        kinds::r21_bump_with_upcast,
        kinds::r21_bump_nested_renamed_v1,
        kinds::r21_type_changed_without_bump,
        kinds::r21_version_skipped,
        kinds::r21_version_lowered,
        kinds::r22_variant_removed,
        kinds::r22_variant_retired,
        kinds::r23_category_changed,
        kinds::r24_family_renamed,
        kinds::r24_family_renamed_stable_name,
        kinds::r26_ids_exchanged,
        names::r26_ids_exchanged_rename_all,
        names::r18_id_changed_rename_all,
        names::r24_family_renamed_rename_all,
        names::r13_variant_renamed_rename_all,
        names::r18_struct_family_id_changed,
        names::r5_struct_family_widened,
        names::r13_rust_rename_wire_name_kept,
        names::r5_widen_rust_rename_wire_name_kept,
        names::r19_widen_wire_rename_only,
        personal::r28_field_made_personal,
        personal::r28_field_no_longer_personal,
        personal::r28_made_personal_with_upcast,
    ]
}

fn coordinate() -> Coordinate {
    Coordinate::new(ENTITY, "matrix").expect("valid coordinate")
}

fn open(dir: &Path) -> Store {
    Store::open(StoreConfig::new(dir)).unwrap_or_else(|e| panic!("open store: {e:?}"))
}

// ---------------------------------------------------------------------------
// The children.

/// Child 1: a fresh store written by the old code.
fn write<C: Case>(dir: &Path) {
    let store = open(dir);
    let samples = C::samples();
    for event in &samples {
        if let Err(e) = store.append_typed(&coordinate(), event) {
            panic!("the old code could not append {event:?}: {e:?}");
        }
    }
    store.close().expect("close store");
    say(&format!("wrote {}", samples.len()));
}

/// How one operation of child 2 went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Outcome {
    /// Read or written, and the value is the expected one.
    Right,
    /// A value came back, and it is not the expected one (or none is right).
    Wrong { got: String, want: String },
    /// The projection folded nothing.
    Nothing,
    /// The store refused, naming this rule (or none).
    Refused { rule: Option<u8>, error: String },
}

impl Outcome {
    fn of_value<T: PartialEq + Debug>(got: &T, want: Option<&T>) -> Self {
        match want {
            Some(want) if want == got => Self::Right,
            _ => Self::Wrong {
                got: format!("{got:?}"),
                want: want.map_or_else(|| "no value".to_owned(), |w| format!("{w:?}")),
            },
        }
    }

    fn refused(e: &StoreError) -> Self {
        Self::Refused {
            rule: e.schema_rule(),
            error: e.to_string(),
        }
    }
}

/// What child 2 saw.
#[derive(Debug, Serialize, Deserialize)]
struct Observed {
    /// Every old event read typed, in log order.
    reads: Vec<Outcome>,
    /// The old events folded by a projection of the new type.
    projection: Outcome,
    /// The new event appended, then read back.
    append: Outcome,
    /// Events in the store before and after the append.
    events: [u64; 2],
    /// Segment bytes before and after the append.
    bytes: [u64; 2],
}

impl Observed {
    /// Every operation with how it went, in the order child 2 ran them.
    fn operations(&self) -> Vec<(String, &Outcome)> {
        let reads = self.reads.iter().enumerate();
        reads
            .map(|(i, r)| (format!("read of old event {i}"), r))
            .chain([
                ("projection".to_owned(), &self.projection),
                ("append".to_owned(), &self.append),
            ])
            .collect()
    }
}

/// A projection that keeps every event of family `F` it is handed.
#[derive(Debug, Serialize, Deserialize)]
struct Collected<F> {
    events: Vec<F>,
}

impl<F: EventFamily + Clone> EventSourced for Collected<F> {
    type Input = TypedInput<F>;

    fn from_events(events: &[Event<F>]) -> Option<Self> {
        (!events.is_empty()).then(|| Self {
            events: events.iter().map(|e| e.payload.clone()).collect(),
        })
    }

    fn apply_event(&mut self, event: &Event<F>) {
        self.events.push(event.payload.clone());
    }

    fn relevant_event_kinds() -> &'static [EventKind] {
        F::KIND_LIST
    }
}

/// Child 2: the new code opens the old directory, reads and appends.
fn read<C: Case>(dir: &Path) {
    let store = open(dir);
    let expected = C::expected();
    let reads = match store.read_typed::<C::New>(ENTITY) {
        Ok(reads) => reads
            .iter()
            .enumerate()
            .map(|(i, r)| match r {
                Ok((_, value)) => Outcome::of_value(value, expected.get(i)),
                Err(e) => Outcome::refused(e),
            })
            .collect(),
        Err(e) => vec![Outcome::refused(&e)],
    };
    let projection = match store.project_typed::<Collected<C::New>>(ENTITY) {
        Ok(Some(state)) => {
            Outcome::of_value(&state.events, (!expected.is_empty()).then_some(&expected))
        }
        Ok(None) => Outcome::Nothing,
        Err(e) => Outcome::refused(&e),
    };
    let stats = |store: &Store| {
        let s = store.stats().expect("stats");
        (s.events, s.segment_bytes)
    };
    let before = stats(&store);
    let fresh = C::fresh();
    let append = match store.append_typed(&coordinate(), &fresh) {
        Ok(_) => {
            let last = store
                .read_typed::<C::New>(ENTITY)
                .ok()
                .and_then(|mut reads| reads.pop());
            match last {
                Some(Ok((_, value))) => Outcome::of_value(&value, Some(&fresh)),
                Some(Err(e)) => Outcome::refused(&e),
                None => Outcome::Nothing,
            }
        }
        Err(e) => Outcome::refused(&e),
    };
    let after = stats(&store);
    store.close().expect("close store");
    let observed = Observed {
        reads,
        projection,
        append,
        events: [before.0, after.0],
        bytes: [before.1, after.1],
    };
    say(&serde_json::to_string(&observed).expect("observation as JSON"));
}

fn run_child(rows: &[Row], step: &str) {
    let dir = std::env::var_os(crate::support::CHILD_DIR_ENV).expect("child data directory");
    let (name, what) = step.split_once(':').expect("step is `<row>:<step>`");
    let row = rows
        .iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("no row {name}"));
    match what {
        "write" => (row.write)(Path::new(&dir)),
        "read" => (row.read)(Path::new(&dir)),
        other => panic!("no step {other}"),
    }
}

// ---------------------------------------------------------------------------
// The parent.

/// One line of the printed matrix.
struct Line {
    name: &'static str,
    edit: &'static str,
    check: String,
    store: String,
    problems: Vec<String>,
}

/// Runs one step of `row` in a child process; its last protocol line.
fn spawn(row: &Row, dir: &Path, step: &str) -> Result<String, String> {
    let child = {
        // A child forked while another test holds a store open would inherit
        // its lock until it execs: spawn under the exclusive side of the gate.
        let _gate = spawn_gate();
        let step = format!("{}:{step}", row.name);
        Child::spawn_with_env(TEST, dir, 0, &[(STEP_ENV, &step)])
    };
    let (status, lines) = child.finish();
    match lines.last() {
        Some(line) if status.success() => Ok(line.clone()),
        _ => Err(format!("child `{step}` exited with {status}: {lines:?}")),
    }
}

fn verdict_text(report: &Report) -> String {
    let mut seen = BTreeSet::new();
    for f in report.findings.iter().filter(|f| f.rule != 0) {
        seen.insert((std::cmp::Reverse(f.verdict.fails()), f.rule, f.verdict));
    }
    let findings: Vec<String> = seen
        .iter()
        .map(|(_, rule, v)| format!("{} {rule}", format!("{v:?}").to_lowercase()))
        .collect();
    let head = if report.passes() { "pass" } else { "FAIL" };
    if findings.is_empty() {
        head.to_owned()
    } else {
        format!("{head}: {}", findings.join(", "))
    }
}

fn store_text(o: &Observed) -> String {
    let right = o.reads.iter().filter(|r| **r == Outcome::Right).count();
    let mut refused: BTreeSet<String> = BTreeSet::new();
    for r in o.reads.iter().chain([&o.projection, &o.append]) {
        if let Outcome::Refused { rule, .. } = r {
            refused.insert(rule.map_or_else(|| "no rule".to_owned(), |r| r.to_string()));
        }
    }
    let append = match &o.append {
        Outcome::Right => "appended",
        Outcome::Refused { .. } if o.events[0] == o.events[1] && o.bytes[0] == o.bytes[1] => {
            "append refused, nothing written"
        }
        Outcome::Refused { .. } => "append refused, BUT WROTE",
        _ => "append WRONG",
    };
    let projection = match &o.projection {
        Outcome::Right => "projection right",
        Outcome::Refused { .. } => "projection refused",
        Outcome::Nothing => "projection EMPTY",
        Outcome::Wrong { .. } => "projection WRONG",
    };
    let rules = if refused.is_empty() {
        String::new()
    } else {
        let list: Vec<String> = refused.into_iter().collect();
        format!("refused rule {}: ", list.join(", "))
    };
    format!(
        "{rules}read {right}/{} right, {projection}, {append}",
        o.reads.len()
    )
}

/// Whether the check says what docs/schema-evolution.md says.
fn judge_check(row: &Row, report: &Report, problems: &mut Vec<String>) {
    let has = |rules: &[u8], failing: bool| {
        report
            .findings
            .iter()
            .any(|f| rules.contains(&f.rule) && f.verdict.fails() == failing)
    };
    match row.want {
        Want::Pass(_) if !report.passes() => {
            problems.push("the check fails an edit the schema rules call safe".into())
        }
        Want::Pass(rules) if !rules.is_empty() && !has(rules, false) => {
            problems.push(format!("the check reports none of rules {rules:?}"))
        }
        Want::Fail(_) if report.passes() => {
            problems.push("the check passes an edit the schema rules call a break".into())
        }
        Want::Fail(rules) if !has(rules, true) => {
            problems.push(format!("the check fails with none of rules {rules:?}"))
        }
        _ => {}
    }
}

/// Whether the store did what the check's verdict promises.
fn judge_store(row: &Row, report: &Report, o: &Observed, problems: &mut Vec<String>) {
    for (what, r) in o.operations() {
        if let Outcome::Wrong { got, want } = r {
            problems.push(format!("the {what} returned {got}, expected {want}"));
        }
    }
    if report.passes() {
        judge_passed(row, o, problems);
    } else {
        judge_failed(report, o, problems);
    }
}

/// The check passes: every old event reads as expected, the new one is added.
fn judge_passed(row: &Row, o: &Observed, problems: &mut Vec<String>) {
    if row.expected != row.samples {
        problems.push("the check passes but the row expects no values".into());
    }
    if o.reads.len() != row.samples {
        let (reads, samples) = (o.reads.len(), row.samples);
        problems.push(format!("{reads} typed reads for {samples} old events"));
    }
    for (what, r) in o.operations() {
        match r {
            Outcome::Refused { error, .. } => problems.push(format!(
                "the check passes, yet the store refused the {what}: {error}"
            )),
            Outcome::Nothing => {
                problems.push(format!("the check passes, yet the {what} saw nothing"))
            }
            Outcome::Right | Outcome::Wrong { .. } => {}
        }
    }
}

/// The check fails: the store refuses with one of its failing rules, and the
/// refused append writes nothing.
fn judge_failed(report: &Report, o: &Observed, problems: &mut Vec<String>) {
    let failing: BTreeSet<u8> = report.failures().map(|f| f.rule).collect();
    for (what, r) in o.operations() {
        match r {
            Outcome::Refused { rule, error } if !rule.is_some_and(|n| failing.contains(&n)) => {
                problems.push(format!(
                    "the {what} was refused with rule {rule:?}, the check fails with {failing:?}: {error}"
                ))
            }
            Outcome::Nothing => problems.push(format!(
                "the check fails with {failing:?}, yet the {what} returned nothing instead of refusing"
            )),
            _ => {}
        }
    }
    if o.append == Outcome::Right {
        problems.push(format!(
            "the check fails with {failing:?}, yet the store appended"
        ));
    } else if o.events[0] != o.events[1] || o.bytes[0] != o.bytes[1] {
        problems.push(format!(
            "the refused append wrote: events {:?}, segment bytes {:?}",
            o.events, o.bytes
        ));
    }
}

fn run_row(row: &Row) -> Line {
    let report = (row.check)();
    let mut problems = Vec::new();
    judge_check(row, &report, &mut problems);
    let dir = tempdir();
    let observed = spawn(row, dir.path(), "write")
        .and_then(|_| spawn(row, dir.path(), "read"))
        .and_then(|line| {
            serde_json::from_str::<Observed>(&line).map_err(|e| format!("{e}: {line}"))
        });
    let store = match observed {
        Ok(o) => {
            judge_store(row, &report, &o, &mut problems);
            store_text(&o)
        }
        Err(e) => {
            problems.push(e);
            "child failed".to_owned()
        }
    };
    if !problems.is_empty() {
        let findings: String = report
            .findings
            .iter()
            .map(|f| format!("\n    {f}"))
            .collect();
        problems.push(format!("check findings:{findings}"));
    }
    Line {
        name: row.name,
        edit: row.edit,
        check: verdict_text(&report),
        store,
        problems,
    }
}

fn markdown(lines: &[Line]) -> String {
    let mut out = String::from("| # | row | edit | check | store |\n|---|---|---|---|---|\n");
    for (i, l) in lines.iter().enumerate() {
        let store = if l.problems.is_empty() {
            l.store.clone()
        } else {
            format!("**DISAGREES**: {}", l.store)
        };
        let _ = writeln!(
            out,
            "| {} | `{}` | {} | {} | {} |",
            i + 1,
            l.name,
            l.edit.replace('|', "\\|"),
            l.check,
            store
        );
    }
    out
}

#[test]
fn store_and_check_agree() {
    let rows = rows();
    if let Ok(step) = std::env::var(STEP_ENV) {
        return run_child(&rows, &step);
    }
    let started = Instant::now();
    let lines: Vec<Line> = rows.iter().map(run_row).collect();
    let table = markdown(&lines);
    println!("{table}");
    println!(
        "{} rows in {:.1} s",
        lines.len(),
        started.elapsed().as_secs_f64()
    );
    if let Some(path) = std::env::var_os(OUT_ENV) {
        std::fs::write(&path, &table).expect("write the matrix");
    }
    let disagreements: String = lines
        .iter()
        .filter(|l| !l.problems.is_empty())
        .map(|l| {
            let problems: String = l.problems.iter().map(|p| format!("\n  {p}")).collect();
            format!("\nrow `{}` ({}):{problems}", l.name, l.edit)
        })
        .collect();
    assert!(
        disagreements.is_empty(),
        "the store and the check disagree:{disagreements}"
    );
    assert!(lines.len() >= 30, "the matrix has {} rows", lines.len());
}
