//! Tells the tests which outside programs are on the PATH: `redis-server` and `redis-cli` for the Redis tests (cfg
//! `redis_server`), `chromedriver` and `chromium` for the browser tests (cfg `browser`), `initdb`
//! and `postgres` for the PostgreSQL tests (cfg `postgres_server`; also found where Debian's
//! `postgresql` package puts them), MariaDB's `mariadbd` and `mariadb-install-db` for the MySQL
//! tests (cfg `mysql_server`, also found in `/usr/sbin`). Without them those tests show as
//! ignored, with the reason, in the output of `cargo test`, instead of passing without having
//! tested anything. With `SESSIONS_REQUIRE_REDIS=1`, `SESSIONS_REQUIRE_BROWSER=1`,
//! `SESSIONS_REQUIRE_POSTGRES=1` or `SESSIONS_REQUIRE_MYSQL=1` (CI) a missing program fails the
//! build.

use std::process::{Command, Stdio};

fn main() {
    println!("cargo::rustc-check-cfg=cfg(redis_server)");
    println!("cargo::rustc-check-cfg=cfg(browser)");
    println!("cargo::rustc-check-cfg=cfg(postgres_server)");
    println!("cargo::rustc-check-cfg=cfg(mysql_server)");
    println!("cargo::rerun-if-env-changed=PATH");
    // Installing or removing a program changes the directories it lands in.
    for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
        if dir.is_dir() {
            println!("cargo::rerun-if-changed={}", dir.display());
        }
    }
    require_postgres();
    require_mysql();
    require(
        "redis_server",
        "SESSIONS_REQUIRE_REDIS",
        &["redis-server", "redis-cli"],
    );
    require(
        "browser",
        "SESSIONS_REQUIRE_BROWSER",
        &["chromedriver", "chromium"],
    );
}

/// Sets cfg `postgres_server` when `initdb` and `postgres` are on the PATH or in
/// `/usr/lib/postgresql/<version>/bin`; otherwise fails the build if `SESSIONS_REQUIRE_POSTGRES=1`.
fn require_postgres() {
    println!("cargo::rerun-if-env-changed=SESSIONS_REQUIRE_POSTGRES");
    println!("cargo::rerun-if-changed=/usr/lib/postgresql");
    let mut dirs: Vec<std::path::PathBuf> =
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()).collect();
    if let Ok(versions) = std::fs::read_dir("/usr/lib/postgresql") {
        dirs.extend(versions.filter_map(|entry| Some(entry.ok()?.path().join("bin"))));
    }
    let found = |program: &str| dirs.iter().any(|dir| dir.join(program).is_file());
    if found("initdb") && found("postgres") {
        println!("cargo::rustc-cfg=postgres_server");
    } else if std::env::var("SESSIONS_REQUIRE_POSTGRES").as_deref() == Ok("1") {
        panic!("initdb and postgres not found, and SESSIONS_REQUIRE_POSTGRES=1 requires them");
    }
}

/// Sets cfg `mysql_server` when MariaDB's `mariadbd` and `mariadb-install-db` are on the PATH or in
/// `/usr/sbin` and `/usr/bin`; otherwise fails the build if `SESSIONS_REQUIRE_MYSQL=1`.
fn require_mysql() {
    println!("cargo::rerun-if-env-changed=SESSIONS_REQUIRE_MYSQL");
    println!("cargo::rerun-if-changed=/usr/sbin");
    let mut dirs: Vec<std::path::PathBuf> =
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()).collect();
    dirs.extend(["/usr/sbin".into(), "/usr/bin".into()]);
    let found = |program: &str| dirs.iter().any(|dir| dir.join(program).is_file());
    if found("mariadbd") && found("mariadb-install-db") {
        println!("cargo::rustc-cfg=mysql_server");
    } else if std::env::var("SESSIONS_REQUIRE_MYSQL").as_deref() == Ok("1") {
        panic!("mariadbd and mariadb-install-db not found, and SESSIONS_REQUIRE_MYSQL=1 requires them");
    }
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
