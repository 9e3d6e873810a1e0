//! Tells the tests which outside programs are on the PATH: `redis-server` for the Redis tests (cfg
//! `redis_server`), `chromedriver` and `chromium` for the browser tests (cfg `browser`). Without them
//! those tests show as ignored, with the reason, in the output of `cargo test`, instead of passing
//! without having tested anything. With `SESSIONS_REQUIRE_REDIS=1` or `SESSIONS_REQUIRE_BROWSER=1`
//! (CI) a missing program fails the build.

use std::process::{Command, Stdio};

fn main() {
    println!("cargo::rustc-check-cfg=cfg(redis_server)");
    println!("cargo::rustc-check-cfg=cfg(browser)");
    println!("cargo::rerun-if-env-changed=PATH");
    // Installing or removing a program changes the directories it lands in.
    for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
        if dir.is_dir() {
            println!("cargo::rerun-if-changed={}", dir.display());
        }
    }
    require("redis_server", "SESSIONS_REQUIRE_REDIS", &["redis-server"]);
    require(
        "browser",
        "SESSIONS_REQUIRE_BROWSER",
        &["chromedriver", "chromium"],
    );
}

/// Sets cfg `name` when every program in `programs` runs; otherwise fails the build if `required` is
/// set to 1.
fn require(name: &str, required: &str, programs: &[&str]) {
    println!("cargo::rerun-if-env-changed={required}");
    let missing: Vec<&str> = programs
        .iter()
        .copied()
        .filter(|program| {
            !Command::new(program)
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|status| status.success())
        })
        .collect();
    if missing.is_empty() {
        println!("cargo::rustc-cfg={name}");
    } else if std::env::var(required).as_deref() == Ok("1") {
        panic!(
            "{} not on the PATH, and {required}=1 requires it",
            missing.join(" and ")
        );
    }
}
