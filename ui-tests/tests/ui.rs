//! Compile-fail and compile-pass cases for `#[derive(Session)]`.
//!
//! The `.stderr` snapshots hold the compiler's own wording, which changes between releases, so the
//! compile-fail run is pinned to the toolchain they were made with; on another one it is skipped with
//! a message. To regenerate them: `TRYBUILD=overwrite cargo test -p ui-tests`, then read the diff.

#[rustversion::attr(
    not(stable(1.95)),
    ignore = "the .stderr snapshots were made with rustc 1.95; regenerate with `TRYBUILD=overwrite cargo test -p ui-tests`"
)]
#[test]
fn misuse_fails_to_compile_with_a_precise_message() {
    trybuild::TestCases::new().compile_fail("tests/ui/*/*.rs");
}

#[test]
fn documented_uses_compile_and_run() {
    trybuild::TestCases::new().pass("tests/pass/*.rs");
}
