//! Tells the Redis tests whether `redis-server` is on the PATH (cfg `redis_server`). Without it they
//! show as ignored, with the reason, in the output of `cargo test`, instead of passing without having
//! tested anything. With `SESSIONS_REQUIRE_REDIS=1` (CI) a missing server fails the build.

use std::process::{Command, Stdio};

fn main() {
    println!("cargo::rustc-check-cfg=cfg(redis_server)");
    println!("cargo::rerun-if-env-changed=PATH");
    println!("cargo::rerun-if-env-changed=SESSIONS_REQUIRE_REDIS");
    // Installing or removing a server changes the directories it lands in.
    for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
        if dir.is_dir() {
            println!("cargo::rerun-if-changed={}", dir.display());
        }
    }
    let found = Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if found {
        println!("cargo::rustc-cfg=redis_server");
    } else if std::env::var("SESSIONS_REQUIRE_REDIS").as_deref() == Ok("1") {
        panic!("redis-server is not on the PATH, and SESSIONS_REQUIRE_REDIS=1 requires it");
    }
}
