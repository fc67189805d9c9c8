//! The release check on disk, over hand-written one-kind families: a first
//! bless, a break refused then allowed, tombstones for removed kinds and
//! families, fixtures written once, and typed errors naming their file.

use super::*;
use crate::schema::test_family::one_kind_family;
use crate::schema::{system_families, Shape, Verdict};

const ADDED: EventKind = EventKind::custom(0x3, 1);
const OPENED: EventKind = EventKind::custom(0x3, 2);

one_kind_family!(Cart, name = "Cart", variant = Some("Added"), kind = ADDED, {
    qty: u8 => Shape::U8,
});

// `Cart` with `qty` widened from a raw byte to a varint: a break (rule 6) whose
// old bytes still decode, so only the rules catch it.
one_kind_family!(CartWide, name = "Cart", variant = Some("Added"), kind = ADDED, {
    qty: u16 => Shape::U16,
});

// `Cart` with a field added: a break (rule 1) that its fixture shows too.
one_kind_family!(CartNoted, name = "Cart", variant = Some("Added"), kind = ADDED, {
    qty: u8 => Shape::U8,
    note: String => Shape::String,
});

// `Cart` whose only kind is another one: `Added` was removed.
one_kind_family!(CartOpened, name = "Cart", variant = Some("Opened"), kind = OPENED, {
    by: String => Shape::String,
});

// `Cart` handing `Added`'s id to a new variant.
one_kind_family!(CartReused, name = "Cart", variant = Some("Reused"), kind = ADDED, {
    qty: u8 => Shape::U8,
});

// Another family in `Cart`'s category, claiming `Added`'s id.
one_kind_family!(Basket, name = "Basket", variant = Some("Added"), kind = ADDED, {
    qty: u8 => Shape::U8,
});

one_kind_family!(Stock, name = "Stock", variant = None, kind = EventKind::custom(0x4, 1), {
    units: u32 => Shape::U32,
});

fn blessed(snapshots: &Snapshots, mode: BlessMode) -> BlessReport {
    let report = snapshots.bless(mode).unwrap();
    assert!(!report.refused, "{report}");
    report
}

fn bless(snapshots: &Snapshots, mode: BlessMode) {
    let _written = blessed(snapshots, mode);
}

#[test]
fn an_empty_or_missing_directory_is_no_snapshots_not_a_pass() {
    let tmp = tempfile::tempdir().unwrap();
    for dir in [tmp.path().to_owned(), tmp.path().join("missing")] {
        let report = Snapshots::new(&dir).family::<Cart>().check().unwrap();
        assert_eq!(report.outcome(), CheckOutcome::NoSnapshots);
        assert!(!report.passes());
        let text = report.to_string();
        assert!(
            text.contains("run `cargo xtask schema bless` to create them"),
            "{text}"
        );
    }
}

#[test]
fn a_first_bless_writes_snapshots_and_fixtures_once() {
    let tmp = tempfile::tempdir().unwrap();
    let snapshots = Snapshots::new(tmp.path())
        .family::<Cart>()
        .family::<Stock>();
    let first = blessed(&snapshots, BlessMode::RefuseBreaks);
    assert_eq!(
        first.snapshots,
        [tmp.path().join("Cart.json"), tmp.path().join("Stock.json")]
    );
    let fixture = tmp.path().join("Cart/Added.v1.bin");
    assert_eq!(
        first.fixtures,
        [fixture.clone(), tmp.path().join("Stock/Stock.v1.bin")]
    );
    assert_eq!(snapshots.check().unwrap().outcome(), CheckOutcome::Pass);

    // A fixture is never rewritten, even when it holds other (decodable) bytes.
    fs::write(&fixture, [9]).unwrap();
    let again = blessed(&snapshots, BlessMode::RefuseBreaks);
    assert!(again.snapshots.is_empty() && again.fixtures.is_empty());
    assert_eq!(fs::read(&fixture).unwrap(), [9]);
}

#[test]
fn a_break_is_refused_and_its_fix_names_the_allow_break_command() {
    let tmp = tempfile::tempdir().unwrap();
    bless(
        &Snapshots::new(tmp.path()).family::<Cart>(),
        BlessMode::RefuseBreaks,
    );
    let before = fs::read(tmp.path().join("Cart.json")).unwrap();

    let wide = Snapshots::new(tmp.path()).family::<CartWide>();
    let report = wide.check().unwrap();
    assert_eq!(report.outcome(), CheckOutcome::Fail);
    assert!(report.has(6, Verdict::Break), "{report}");
    let fix = &report.findings()[0].fix;
    assert!(
        fix.contains("`cargo xtask schema bless --allow-break`"),
        "{fix}"
    );

    let env = wide.clone().commands(BlessCommands::env("shop"));
    let fix = &env.check().unwrap().findings()[0].fix;
    assert!(
        fix.contains("`BATPAK_BLESS=allow-break cargo test -p shop`") && !fix.contains("xtask"),
        "{fix}"
    );

    let refused = wide.bless(BlessMode::RefuseBreaks).unwrap();
    assert!(refused.refused);
    assert_eq!(fs::read(tmp.path().join("Cart.json")).unwrap(), before);

    bless(&wide, BlessMode::AllowBreaks);
    assert!(wide.check().unwrap().passes());
}

#[test]
fn an_allowed_break_replaces_the_fixtures_it_made_undecodable() {
    let tmp = tempfile::tempdir().unwrap();
    bless(
        &Snapshots::new(tmp.path()).family::<Cart>(),
        BlessMode::RefuseBreaks,
    );
    let noted = Snapshots::new(tmp.path()).family::<CartNoted>();
    let report = noted.check().unwrap();
    assert!(report.has(1, Verdict::Break));
    assert_eq!(report.fixtures().len(), 1, "{report}");

    let allowed = blessed(&noted, BlessMode::AllowBreaks);
    assert_eq!(allowed.replaced, [tmp.path().join("Cart/Added.v1.bin")]);
    assert!(noted.check().unwrap().passes());
}

#[test]
fn a_removed_kind_stays_reserved_across_blesses() {
    let tmp = tempfile::tempdir().unwrap();
    bless(
        &Snapshots::new(tmp.path()).family::<Cart>(),
        BlessMode::RefuseBreaks,
    );
    let opened = Snapshots::new(tmp.path()).family::<CartOpened>();
    assert!(opened.check().unwrap().has(22, Verdict::Break));
    bless(&opened, BlessMode::AllowBreaks);
    // The tombstone's fixture is no longer checked: its kind is gone on purpose.
    assert!(opened.check().unwrap().passes());
    // A later bless without the break keeps the tombstone.
    bless(&opened, BlessMode::RefuseBreaks);

    let reused = Snapshots::new(tmp.path()).family::<CartReused>();
    let report = reused.check().unwrap();
    assert!(report.has(19, Verdict::Break), "{report}");
}

#[test]
fn a_removed_family_stays_reserved() {
    let tmp = tempfile::tempdir().unwrap();
    let both = Snapshots::new(tmp.path())
        .family::<Cart>()
        .family::<Stock>();
    bless(&both, BlessMode::RefuseBreaks);
    let stock = Snapshots::new(tmp.path()).family::<Stock>();
    assert!(stock.check().unwrap().has(22, Verdict::Break));
    bless(&stock, BlessMode::AllowBreaks);
    assert!(stock.check().unwrap().passes());

    let basket = stock.family::<Basket>();
    assert!(basket.check().unwrap().has(19, Verdict::Break));
}

#[test]
fn raw_snapshots_are_compared_without_fixtures() {
    let tmp = tempfile::tempdir().unwrap();
    let system = system_families()
        .into_iter()
        .fold(Snapshots::new(tmp.path()), Snapshots::family_snapshot);
    let report = blessed(&system, BlessMode::RefuseBreaks);
    assert!(!report.snapshots.is_empty());
    assert!(report.fixtures.is_empty());
    assert!(system.check().unwrap().passes());
    assert!(system.dump().contains("\"family\": \"batpak.Ledger\""));
}

#[test]
fn unreadable_snapshots_are_typed_errors_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let snapshots = Snapshots::new(tmp.path()).family::<Cart>();
    bless(&snapshots, BlessMode::RefuseBreaks);

    let copy = tmp.path().join("Cart2.json");
    fs::copy(tmp.path().join("Cart.json"), &copy).unwrap();
    match snapshots.check() {
        Err(SnapshotError::Duplicate { path, family }) => {
            assert_eq!((path, family.as_str()), (copy.clone(), "Cart"));
        }
        other => panic!("expected a duplicate, got {other:?}"),
    }

    fs::write(&copy, "{").unwrap();
    match snapshots.check() {
        Err(e @ SnapshotError::Parse { .. }) => {
            assert!(matches!(&e, SnapshotError::Parse { path, .. } if *path == copy));
            assert!(std::error::Error::source(&e).is_some());
        }
        other => panic!("expected a parse error, got {other:?}"),
    }
}

#[test]
fn a_renamed_family_moves_its_snapshot_and_fixtures() {
    let tmp = tempfile::tempdir().unwrap();
    bless(
        &Snapshots::new(tmp.path()).family::<Cart>(),
        BlessMode::RefuseBreaks,
    );
    // `Basket` is `Cart` under another Rust name, without `Cart` as its stable
    // name: same category, id and shape.
    let basket = Snapshots::new(tmp.path()).family::<Basket>();
    let report = basket.check().unwrap();
    assert!(report.has(24, Verdict::Break), "{report}");

    let moved = blessed(&basket, BlessMode::AllowBreaks);
    assert!(moved.fixtures.is_empty(), "{moved}");
    assert!(!tmp.path().join("Cart.json").exists());
    assert!(tmp.path().join("Basket/Added.v1.bin").exists());
    let report = basket.check().unwrap();
    assert!(
        report.passes() && !report.has(24, Verdict::Info),
        "{report}"
    );
}
