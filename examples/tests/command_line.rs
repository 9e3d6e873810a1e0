//! The demo binary as a user starts it: what it prints and how it exits. Every run asks for a
//! free port (`--port 0`): the demo a user started by the README's first command may be on its
//! own port, 3000, while these run.

use std::process::{Command, Output};

fn demo(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sessions-examples"))
        .args(["--port", "0"])
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
        (
            "mysql://ada:hunter2@127.0.0.1:1/app",
            "cannot use MySQL at mysql://ada:***@127.0.0.1:1/app",
        ),
        (
            "mariadb://ada:hunter2@127.0.0.1:1/app",
            "cannot use MySQL at mysql://ada:***@127.0.0.1:1/app",
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

#[test]
fn a_framework_it_does_not_have_is_a_usage_error() {
    let output = demo(&["--framework", "rocket"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--framework rocket: expected `axum` or `actix`"),
        "{stderr}"
    );
}

/// The demo started with `args` on a free port, killed when dropped.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The page at `/` of the demo started with `--framework framework` on a port it picks, once it
/// says where it is.
fn home_page_on(framework: &str) -> (String, String) {
    use std::io::{BufRead as _, BufReader, Read as _, Write as _};
    let mut running = Running(
        Command::new(env!("CARGO_BIN_EXE_sessions-examples"))
            .args(["--port", "0", "--framework", framework])
            .env_remove("SESSION_KEY")
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut stdout = BufReader::new(running.0.stdout.take().unwrap());
    let mut said = String::new();
    while !said.contains("The sessions demo is on") {
        let mut line = String::new();
        assert!(stdout.read_line(&mut line).unwrap() > 0, "the demo ended: {said}");
        said.push_str(&line);
    }
    let address = said
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .expect("the demo says its address");
    let mut connection = std::net::TcpStream::connect(address).unwrap();
    write!(
        connection,
        "GET / HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    connection.read_to_string(&mut response).unwrap();
    (said, response)
}

#[test]
fn the_demo_serves_the_same_app_with_axum_or_actix_web() {
    for (framework, named) in [("axum", "(axum;"), ("actix", "(actix-web;")] {
        let (said, page) = home_page_on(framework);
        assert!(said.contains(named), "{said}");
        assert!(page.starts_with("HTTP/1.1 200"), "{page}");
        assert!(page.contains("Send me a code"), "{page}");
    }
}
