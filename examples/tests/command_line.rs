//! The demo binary as a user starts it: what it prints and how it exits.

use std::process::{Command, Output};

fn demo(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sessions-examples"))
        .args(args)
        .env_remove("SESSION_KEY")
        .output()
        .expect("the demo binary runs")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn help_prints_the_usage_and_succeeds() {
    for flag in ["--help", "-h"] {
        let output = demo(&[flag]);
        assert!(output.status.success(), "{flag}: {:?}", output.status);
        assert!(String::from_utf8_lossy(&output.stdout).starts_with("usage: sessions-examples"));
    }
}

#[test]
fn a_mistaken_argument_is_a_usage_error() {
    let output = demo(&["--sotre", "cookie"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("unknown argument `--sotre`"), "{stderr}");
    assert!(stderr.contains("usage: sessions-examples"), "{stderr}");
}

#[test]
fn a_database_password_is_never_printed() {
    // Nothing listens on port 1: the demo says which store it could not use, without the password.
    for (url, said) in [
        (
            "redis://ada:hunter2@127.0.0.1:1/0",
            "cannot use Redis at redis://ada:***@127.0.0.1:1/0",
        ),
        (
            "postgres://ada:hunter2@127.0.0.1:1/app",
            "cannot use PostgreSQL at postgres://ada:***@127.0.0.1:1/app",
        ),
    ] {
        let output = demo(&["--store", url]);
        assert!(!output.status.success(), "{url}");
        let printed = text(&output);
        assert!(printed.contains(said), "{printed}");
        assert!(!printed.contains("hunter2"), "{printed}");
    }
}

#[test]
fn production_refuses_to_start_without_a_key() {
    let output = demo(&["--production"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("SESSION_KEY"), "{stderr}");
}
