//! Compile-fail cases: one file per diagnostic under `tests/ui/<macro>/`, each
//! with the exact compiler output it must produce beside it. Regenerate the
//! `.stderr` files with `TRYBUILD=overwrite cargo test --test macros` when the
//! compiler's wording changes, then read every changed span.

#[test]
fn every_diagnostic_points_at_the_offending_token() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/**/*.rs");
}
