//! The store contract ([`sessions_tests::contract`]) over every store: the built-in ones, and two
//! written outside the `sessions` crate with its public API alone (a backend, and a store around a
//! store, from `sessions-examples`).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use sessions::clock::ManualClock;
use sessions::store::backend::{Backend, Revocations};
use sessions::store::backend::{MemoryBackend, MemoryRevocations};
use sessions::store::{FileStore, PostgresStore, RedisOptions, RedisStore, ServerStore, SqliteStore};
use sessions::{CookieStore, Keys};
use sessions_examples::counted::Counted;
use sessions_examples::entry_backend::EntryBackend;
use sessions_tests::contract::Fleet;
use sessions_tests::{PostgresServer, RedisServer};

/// Cookie stores share nothing: the browser carries the session.
struct Cookies;

impl Fleet for Cookies {
    type Store = CookieStore;
    async fn storage() -> Self {
        Cookies
    }
    async fn instance(&self, keys: Keys, clock: &ManualClock) -> CookieStore {
        CookieStore::new(keys).with_clock(clock.clone())
    }
}

sessions_tests::store_contract!(cookie_store: Cookies);

/// Cookie stores with a revocation backend in memory, shared by the instances.
struct CookiesRevokedInMemory(Arc<MemoryRevocations>);

impl Fleet for CookiesRevokedInMemory {
    type Store = CookieStore;
    async fn storage() -> Self {
        CookiesRevokedInMemory(Arc::default())
    }
    async fn instance(&self, keys: Keys, clock: &ManualClock) -> CookieStore {
        CookieStore::new(keys)
            .with_clock(clock.clone())
            .with_revocations(Arc::clone(&self.0))
    }
}

sessions_tests::revocation_contract!(cookie_store_revoked_in_memory: cookie CookiesRevokedInMemory);

/// Cookie stores whose revocations are kept by the backend of a server-side store's fleet `F`
/// (files, Redis, SQL), shared by the instances.
struct CookiesRevokedIn<F>(F);

impl<F, B> Fleet for CookiesRevokedIn<F>
where
    F: Fleet<Store = ServerStore<B>>,
    B: Backend + Revocations + Clone,
{
    type Store = CookieStore;
    async fn storage() -> Self {
        CookiesRevokedIn(F::storage().await)
    }
    async fn instance(&self, keys: Keys, clock: &ManualClock) -> CookieStore {
        let server = self.0.instance(keys.clone(), clock).await;
        CookieStore::new(keys)
            .with_clock(clock.clone())
            .with_revocations(server.backend().clone())
    }
}

/// A backend in this process's memory, shared by the instances.
struct Shared<B>(Arc<B>);

impl<B: Backend + Default> Fleet for Shared<B> {
    type Store = ServerStore<Arc<B>>;
    async fn storage() -> Self {
        Shared(Arc::default())
    }
    async fn instance(&self, keys: Keys, clock: &ManualClock) -> Self::Store {
        ServerStore::with_backend(Arc::clone(&self.0), keys).with_clock(clock.clone())
    }
}

sessions_tests::store_contract!(memory_store: server Shared<MemoryBackend>);
sessions_tests::revocation_contract!(memory_store_owners: server Shared<MemoryBackend>);

/// A directory of its own per test, removed after it.
struct Files(PathBuf);

impl Fleet for Files {
    type Store = FileStore;
    async fn storage() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        Files(std::env::temp_dir().join(format!("sessions-contract-{}-{n}", std::process::id())))
    }
    async fn instance(&self, keys: Keys, clock: &ManualClock) -> FileStore {
        FileStore::open(&self.0, keys).unwrap().with_clock(clock.clone())
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

sessions_tests::store_contract!(file_store: server Files);
sessions_tests::revocation_contract!(file_store_owners: server Files);

sessions_tests::revocation_contract!(cookie_store_revoked_in_files: cookie CookiesRevokedIn<Files>);

/// An SQLite database file of its own per test; each instance opens it with a pool of its own, as
/// the processes of one app would.
struct Sqlite(Files);

impl Fleet for Sqlite {
    type Store = SqliteStore;
    async fn storage() -> Self {
        let dir = Files::storage().await;
        std::fs::create_dir_all(&dir.0).unwrap();
        Sqlite(dir)
    }
    async fn instance(&self, keys: Keys, clock: &ManualClock) -> SqliteStore {
        SqliteStore::open(self.0.0.join("sessions.db"), keys)
            .await
            .unwrap()
            .with_clock(clock.clone())
    }
}

sessions_tests::store_contract!(sqlite_store: server Sqlite);
sessions_tests::revocation_contract!(sqlite_store_owners: server Sqlite);

sessions_tests::revocation_contract!(cookie_store_revoked_in_sqlite: cookie CookiesRevokedIn<Sqlite>);

/// A PostgreSQL server of its own per test.
struct Postgres(PostgresServer);

impl Fleet for Postgres {
    type Store = PostgresStore;
    async fn storage() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        Postgres(PostgresServer::start(&format!("contract-{n}")))
    }
    async fn instance(&self, keys: Keys, clock: &ManualClock) -> PostgresStore {
        PostgresStore::connect(&self.0.url(), keys)
            .await
            .unwrap()
            .with_clock(clock.clone())
    }
}

sessions_tests::store_contract!(
    postgres_store: server Postgres,
    #[cfg_attr(not(postgres_server), ignore = "initdb and postgres were not found")]
);
sessions_tests::revocation_contract!(
    postgres_store_owners: server Postgres,
    #[cfg_attr(not(postgres_server), ignore = "initdb and postgres were not found")]
);

sessions_tests::revocation_contract!(
    cookie_store_revoked_in_postgres: cookie CookiesRevokedIn<Postgres>,
    #[cfg_attr(not(postgres_server), ignore = "initdb and postgres were not found")]
);

/// A `redis-server` of its own per test.
struct Redis(RedisServer);

impl Fleet for Redis {
    type Store = RedisStore;
    async fn storage() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        Redis(RedisServer::start(&format!(
            "contract-{}",
            NEXT.fetch_add(1, Ordering::Relaxed)
        )))
    }
    async fn instance(&self, keys: Keys, clock: &ManualClock) -> RedisStore {
        RedisStore::connect(&self.0.url(), RedisOptions::default(), keys)
            .await
            .unwrap()
            .with_clock(clock.clone())
    }
}

sessions_tests::store_contract!(
    redis_store: server Redis,
    #[cfg_attr(not(redis_server), ignore = "redis-server is not on the PATH")]
);
sessions_tests::revocation_contract!(
    redis_store_owners: server Redis,
    #[cfg_attr(not(redis_server), ignore = "redis-server is not on the PATH")]
);

sessions_tests::revocation_contract!(
    cookie_store_revoked_in_redis: cookie CookiesRevokedIn<Redis>,
    #[cfg_attr(not(redis_server), ignore = "redis-server is not on the PATH")]
);

// The backend of `sessions-examples`, written with the public API alone.
sessions_tests::store_contract!(outside_backend: server Shared<EntryBackend>);
sessions_tests::revocation_contract!(outside_backend_owners: server Shared<EntryBackend>);

/// The store around a store of `sessions-examples`, around the memory store.
struct CountedMemory(Shared<MemoryBackend>);

impl Fleet for CountedMemory {
    type Store = Counted<ServerStore<Arc<MemoryBackend>>>;
    async fn storage() -> Self {
        CountedMemory(Shared::storage().await)
    }
    async fn instance(&self, keys: Keys, clock: &ManualClock) -> Self::Store {
        Counted::new(self.0.instance(keys, clock).await)
    }
}

sessions_tests::store_contract!(outside_store: server CountedMemory);
sessions_tests::revocation_contract!(outside_store_owners: server CountedMemory);
