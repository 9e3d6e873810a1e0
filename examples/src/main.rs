//! Serves the demo app on 127.0.0.1.
//!
//! ```text
//! cargo run -p sessions-examples -- [--port N] [--store cookie | files:DIR | sqlite:PATH | postgres://... | mysql://... | redis://HOST:PORT | redis+sentinel://HOST:PORT,.../NAME | redis+cluster://HOST:PORT,...] [--framework axum | actix] [--production]
//! ```
//! The demo is the same app on either framework (axum by default).
//! `SESSION_KEY` is the key (base64 of 32 or more random bytes, e.g. `openssl rand -base64 64`).
//! Without it the demo generates a key for the run and says so; with `--production` it refuses to
//! start instead, since a generated key signs every user out at each restart.

use std::net::TcpListener;
use std::process::ExitCode;
use std::time::Duration;

use sessions::store::backend::Backend;
use sessions::store::backend::MemoryRevocations;
use sessions::store::{
    FileStore, MySqlStore, PostgresStore, RedisOptions, RedisStore, ServerStore, SqlStoreError, SqliteStore,
};
use sessions::{CookieStore, Key, KeyError, Keys, Store};

const USAGE: &str = "usage: sessions-examples [--port N] [--store cookie | files:DIR | sqlite:PATH | postgres://... | mysql://... | redis://HOST:PORT | redis+sentinel://HOST:PORT,.../NAME | redis+cluster://HOST:PORT,...] [--framework axum | actix] [--production]";

struct Options {
    port: u16,
    store: StoreChoice,
    framework: Framework,
    production: bool,
}

#[derive(Clone, Copy)]
enum Framework {
    Axum,
    Actix,
}

/// What the command line asks for: the demo, or its usage.
enum Command {
    Serve(Options),
    Help,
}

enum StoreChoice {
    Cookie,
    Files(String),
    Sqlite(String),
    Postgres(String),
    MySql(String),
    Redis(String),
}

fn command(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let mut options = Options {
        port: 3000,
        store: StoreChoice::Cookie,
        framework: Framework::Axum,
        production: false,
    };
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--port" => {
                let port = args.next().ok_or("--port needs a number")?;
                options.port = port
                    .parse()
                    .map_err(|_| format!("--port {port}: not a port number"))?;
            }
            "--store" => {
                options.store = match args.next().as_deref() {
                    Some("cookie") => StoreChoice::Cookie,
                    Some(files) if files.starts_with("files:") && files.len() > "files:".len() => {
                        StoreChoice::Files(files["files:".len()..].to_owned())
                    }
                    Some(path) if path.starts_with("sqlite:") && path.len() > "sqlite:".len() => {
                        StoreChoice::Sqlite(path["sqlite:".len()..].to_owned())
                    }
                    Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                        StoreChoice::Postgres(url.to_owned())
                    }
                    Some(url) if url.starts_with("mysql://") || url.starts_with("mariadb://") => {
                        StoreChoice::MySql(url.to_owned())
                    }
                    Some(url)
                        if ["redis://", "redis+sentinel://", "redis+cluster://"]
                            .iter()
                            .any(|scheme| url.starts_with(scheme)) =>
                    {
                        StoreChoice::Redis(url.to_owned())
                    }
                    other => {
                        let given = other.unwrap_or("");
                        return Err(format!(
                            "--store {given}: expected `cookie`, `files:DIR`, `sqlite:PATH`, `postgres://...`, `mysql://...`, `redis://HOST:PORT`, `redis+sentinel://HOST:PORT,.../NAME` or `redis+cluster://HOST:PORT,...`"
                        ));
                    }
                }
            }
            "--framework" => {
                options.framework = match args.next().as_deref() {
                    Some("axum") => Framework::Axum,
                    Some("actix") => Framework::Actix,
                    other => {
                        let given = other.unwrap_or("");
                        return Err(format!("--framework {given}: expected `axum` or `actix`"));
                    }
                }
            }
            "--production" => options.production = true,
            "--help" | "-h" => return Ok(Command::Help),
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok(Command::Serve(options))
}

fn key(production: bool) -> Result<Key, String> {
    let key = if production {
        Key::from_env("SESSION_KEY")
    } else {
        Key::from_env_or_generate("SESSION_KEY")
    };
    let key = key.map_err(|error| match error {
        KeyError::MissingVar { .. } => {
            format!("{error}. In production the key must be stable, or every restart signs everyone out.")
        }
        error => error.to_string(),
    })?;
    if std::env::var_os("SESSION_KEY").is_none() {
        println!("SESSION_KEY is not set: using a key generated for this run (sessions end when it stops).");
    }
    Ok(key)
}

/// Serves the demo on the chosen store and framework until the server stops; or says why that store
/// cannot be used.
async fn run(options: &Options, keys: Keys, listener: TcpListener) -> Result<(), String> {
    let framework = options.framework;
    match &options.store {
        StoreChoice::Cookie => {
            // Revocations ("sign out everywhere else") in this process's memory: the demo runs as
            // one process. An app of several keeps them in its files, Redis or SQL backend.
            let store = CookieStore::new(keys).with_revocations(MemoryRevocations::new());
            serve(framework, listener, store).await
        }
        StoreChoice::Files(dir) => {
            let store = FileStore::open(dir, keys).map_err(|error| chain(&error))?;
            println!("Sessions are kept in files under {dir}, swept every 10 minutes.");
            serve_swept(framework, listener, store).await
        }
        StoreChoice::Sqlite(path) => {
            let store = SqliteStore::open(path, keys)
                .await
                .map_err(|error| chain(&error))?;
            println!("Sessions are kept in the SQLite database {path}, swept every 10 minutes.");
            serve_swept(framework, listener, store).await
        }
        StoreChoice::Postgres(url) => {
            let store = PostgresStore::connect(url, keys).await;
            serve_on_database(framework, listener, ("PostgreSQL", url), store).await
        }
        StoreChoice::MySql(url) => {
            // sqlx speaks to MariaDB as to MySQL, under `mysql://`.
            let url = url.replacen("mariadb://", "mysql://", 1);
            let store = MySqlStore::connect(&url, keys).await;
            serve_on_database(framework, listener, ("MySQL", &url), store).await
        }
        StoreChoice::Redis(url) => {
            let shown = redacted(url);
            let store = RedisStore::connect(url, RedisOptions::default(), keys)
                .await
                .map_err(|error| format!("cannot use Redis at {shown}: {}", chain(&error)))?;
            println!("Sessions are kept in Redis at {shown}, which expires them by itself.");
            serve_swept(framework, listener, store).await
        }
    }
}

/// [`serve_swept`] on the store of a database (its name, and its URL, shown without the password),
/// or why it could not be used.
async fn serve_on_database<B: Backend>(
    framework: Framework,
    listener: TcpListener,
    (database, url): (&str, &str),
    store: Result<ServerStore<B>, SqlStoreError>,
) -> Result<(), String> {
    let shown = redacted(url);
    let store = store.map_err(|error| format!("cannot use {database} at {shown}: {}", chain(&error)))?;
    println!("Sessions are kept in {database} at {shown}, swept every 10 minutes.");
    serve_swept(framework, listener, store).await
}

/// [`serve`] on a server store, with its sweeper while it serves: the same for every backend (each
/// anonymous visit that starts a sign-in leaves a session, which would otherwise stay for good; a
/// backend that expires sessions by itself, as Redis does, has nothing to sweep).
async fn serve_swept<B: Backend>(
    framework: Framework,
    listener: TcpListener,
    store: ServerStore<B>,
) -> Result<(), String> {
    let _sweeper = store.spawn_sweeper(SWEEP_EVERY).map_err(|error| chain(&error))?;
    serve(framework, listener, store).await
}

/// How often expired sessions are swept from the stores that keep them.
const SWEEP_EVERY: Duration = Duration::from_secs(10 * 60);

/// Serves the demo with `framework` on `listener`, both sessions in `store`.
async fn serve(framework: Framework, listener: TcpListener, store: impl Store + Clone) -> Result<(), String> {
    match framework {
        Framework::Axum => serve_axum(listener, sessions_examples::app(store.clone(), store)).await,
        Framework::Actix => {
            let address = listener.local_addr().map_err(|error| error.to_string())?;
            let server = sessions_examples::actix_app::serve(listener, 2, store.clone(), store)
                .map_err(|error| error.to_string())?;
            println!("The sessions demo is on http://{address}/ (actix-web; Ctrl-C stops it)");
            server
                .await
                .map_err(|error| format!("the server stopped: {error}"))
        }
    }
}

/// Serves `app` with axum on `listener` until the server stops.
async fn serve_axum(listener: TcpListener, app: axum::Router) -> Result<(), String> {
    let address = listener.local_addr().map_err(|error| error.to_string())?;
    let listener = listener
        .set_nonblocking(true)
        .and_then(|()| tokio::net::TcpListener::from_std(listener))
        .map_err(|error| error.to_string())?;
    println!("The sessions demo is on http://{address}/ (axum; Ctrl-C stops it)");
    axum::serve(listener, app)
        .await
        .map_err(|error| format!("the server stopped: {error}"))
}

/// `url` with its password, if any, replaced by `***`: fit to print.
fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(user, _)| user);
            let hidden = if userinfo.contains(':') { ":***" } else { "" };
            format!("{scheme}://{user}{hidden}@{host}{path}")
        }
        None => url.to_owned(),
    }
}

/// An error and its causes, as one line.
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    sessions::ErrorChain(error).to_string()
}

#[tokio::main]
async fn main() -> ExitCode {
    let options = match command(std::env::args().skip(1)) {
        Ok(Command::Serve(options)) => options,
        Ok(Command::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("{message}");
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let keys = match key(options.production) {
        Ok(key) => Keys::new(key),
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let listener = match TcpListener::bind(("127.0.0.1", options.port)) {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("cannot listen on 127.0.0.1:{}: {error}", options.port);
            return ExitCode::FAILURE;
        }
    };
    match run(&options, keys, listener).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacting_hides_only_the_password() {
        assert_eq!(
            redacted("redis://user:hunter2@10.0.0.5:6379/0"),
            "redis://user:***@10.0.0.5:6379/0"
        );
        assert_eq!(redacted("redis://:hunter2@cache:6379"), "redis://:***@cache:6379");
        assert_eq!(redacted("redis://cache:6379/1"), "redis://cache:6379/1");
        assert_eq!(redacted("redis://user@cache"), "redis://user@cache");
        assert_eq!(
            redacted("redis+cluster://:hunter2@10.0.0.1:7000,10.0.0.2:7000"),
            "redis+cluster://:***@10.0.0.1:7000,10.0.0.2:7000"
        );
        assert_eq!(
            redacted("redis+sentinel://app:hunter2@10.0.0.1:26379,10.0.0.2:26379/sessions"),
            "redis+sentinel://app:***@10.0.0.1:26379,10.0.0.2:26379/sessions"
        );
    }
}
