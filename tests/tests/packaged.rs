//! The first hour, from outside: the README's first example, pasted into a new crate whose
//! `sessions` and `sessions-derive` are the packages `cargo package` makes (not the workspace's
//! sources), builds and runs. What the packages leave out, or a README example that needs a line
//! it hides, fails here.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace's root.
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate sits in the workspace")
        .to_owned()
}

/// Runs `command`, failing the test with what it printed unless it succeeds; its standard output.
fn run(command: &mut Command) -> String {
    let output = command.output().expect("cargo runs");
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The first fenced Rust block of `markdown`, as a reader would copy it.
fn first_rust_block(markdown: &str) -> &str {
    let start = markdown.find("```rust\n").expect("a Rust example") + "```rust\n".len();
    let len = markdown[start..].find("```\n").expect("the example ends");
    &markdown[start..start + len]
}

#[test]
fn the_readme_example_runs_in_a_new_crate_on_the_packaged_crates() {
    let workspace = workspace();
    // Its own target directory, kept between runs: the dependencies build once.
    let target = workspace.join("target").join("first-hour");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    run(Command::new(&cargo)
        .current_dir(&workspace)
        .args([
            "package",
            "--no-verify",
            "--allow-dirty",
            "--offline",
            "-p",
            "sessions-derive",
            "-p",
            "sessions",
        ])
        .env("CARGO_TARGET_DIR", &target));

    let unpacked = target.join("unpacked");
    let _ = std::fs::remove_dir_all(&unpacked);
    std::fs::create_dir_all(&unpacked).unwrap();
    for package in ["sessions-derive", "sessions"] {
        let archive = target.join("package").join(format!("{package}-0.1.0.crate"));
        run(Command::new("tar")
            .arg("xzf")
            .arg(&archive)
            .arg("-C")
            .arg(&unpacked));
    }

    let app = target.join("app");
    std::fs::create_dir_all(app.join("src")).unwrap();
    let readme = std::fs::read_to_string(workspace.join("README.md")).unwrap();
    let example = first_rust_block(&readme);
    assert!(
        !example.lines().any(|line| line.starts_with("# ")),
        "the README's first example hides lines a reader would not paste"
    );
    std::fs::write(app.join("src").join("main.rs"), example).unwrap();
    std::fs::write(
        app.join("Cargo.toml"),
        format!(
            r#"[package]
name = "first-hour"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
sessions = {{ path = "{sessions}" }}
tokio = {{ version = "1", features = ["macros", "rt-multi-thread"] }}

[patch.crates-io]
sessions-derive = {{ path = "{derive}" }}

[workspace]
"#,
            sessions = unpacked.join("sessions-0.1.0").display(),
            derive = unpacked.join("sessions-derive-0.1.0").display(),
        ),
    )
    .unwrap();
    // The workspace's versions of everything else, so the build needs no network.
    std::fs::copy(workspace.join("Cargo.lock"), app.join("Cargo.lock")).unwrap();

    let printed = run(Command::new(&cargo)
        .current_dir(&app)
        .args(["run", "--quiet", "--offline"])
        .env("CARGO_TARGET_DIR", target.join("build"))
        .env_remove("RUSTFLAGS"));
    assert!(
        printed.contains("\"app="),
        "the example sets its cookie: {printed}"
    );
}
