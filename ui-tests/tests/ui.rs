//! Compile-fail cases for `#[derive(Session)]`: each misuse the derive rejects, with the message
//! it gives in a `.stderr` snapshot beside it. The compile-pass cases are in `tests/pass/`.
//!
//! This runs without libtest (`harness = false` in `Cargo.toml`): the cases are the tests, and
//! trybuild reports each one. Cargo's own progress lines for the dependencies trybuild checks are
//! silenced, so the output is the results. Run some cases only with
//! `cargo test -p ui-tests --test ui -- trybuild=durations/`.
//!
//! The `.stderr` snapshots hold the compiler's own wording, which changes between releases, so the
//! compile-fail cases are pinned to the toolchain they were made with; on another one they are
//! skipped with a message. To regenerate them: `TRYBUILD=overwrite cargo test -p ui-tests`, then
//! read the diff.

use std::env;

fn main() {
    quiet_dependency_builds();

    no_error_names_the_hidden_module();
    if snapshots_match_this_compiler() {
        trybuild::TestCases::new().compile_fail("tests/ui/*/*.rs");
    } else {
        println!(
            "compile-fail cases SKIPPED: the .stderr snapshots were made with rustc 1.95; \
             regenerate with `TRYBUILD=overwrite cargo test -p ui-tests`"
        );
    }
}

/// What the derive generates goes through `sessions::__private`, which a user never wrote and
/// cannot look up: no error may send them there (a help line naming a trait of it, a "required by a
/// bound in" note), only to the public trait or option to change.
fn no_error_names_the_hidden_module() {
    let mut naming = Vec::new();
    for group in std::fs::read_dir("tests/ui").expect("the cases' directory") {
        for case in std::fs::read_dir(group.expect("a group").path()).expect("a group's cases") {
            let path = case.expect("a case").path();
            let is_snapshot = path.extension().is_some_and(|ext| ext == "stderr");
            if is_snapshot
                && std::fs::read_to_string(&path)
                    .expect("a snapshot")
                    .contains("__private")
            {
                naming.push(path.display().to_string());
            }
        }
    }
    assert!(
        naming.is_empty(),
        "errors that name `sessions::__private`: {naming:?}"
    );
    println!("no error names `sessions::__private` ... ok");
}

/// The cargo runs trybuild starts inherit this process's environment: quiet mode keeps
/// "Compiling serde ..." out of the results; errors still show.
fn quiet_dependency_builds() {
    // SAFETY: called first in `main`, before trybuild or anything else starts a thread, so no
    // other thread can read the environment while it changes.
    #[allow(unsafe_code)]
    unsafe {
        env::set_var("CARGO_TERM_QUIET", "true");
    }
}

#[rustversion::stable(1.95)]
fn snapshots_match_this_compiler() -> bool {
    true
}

#[rustversion::not(stable(1.95))]
fn snapshots_match_this_compiler() -> bool {
    false
}
