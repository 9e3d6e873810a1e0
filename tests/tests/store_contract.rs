//! The store contract ([`sessions_tests::contract`]) over every store: the built-in ones, and two
//! written outside the `sessions` crate with its public API alone (a backend, and a store around a
//! store, from `sessions-examples`).

use std::sync::Arc;

use sessions::clock::ManualClock;
use sessions::store::backend::{Backend, MemoryBackend, MemoryRevocations};
use sessions::store::{
    FileStore, MySqlStore, PostgresStore, RedisOptions, RedisStore, ServerStore, SqliteStore,
};
use sessions::{CookieStore, Keys};
use sessions_examples::counted::Counted;
use sessions_examples::entry_backend::EntryBackend;
use sessions_tests::contract::{Fleet, unique};
use sessions_tests::{
    MySqlServer, PostgresServer, RedisCluster, RedisDeployment, RedisSentinels, RedisServer, TempDir,
};

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
struct Files(TempDir);

impl Fleet for Files {
    type Store = FileStore;
    async fn storage() -> Self {
        Files(TempDir::new(&unique("contract-files")))
    }
    async fn instance(&self, keys: Keys, clock: &ManualClock) -> FileStore {
        FileStore::open(&self.0.0, keys)
            .unwrap()
            .with_clock(clock.clone())
    }
}

sessions_tests::server_store_contracts!(file_store: Files);

/// An SQLite database file of its own per test; each instance opens it with a pool of its own, as
/// the processes of one app would.
struct Sqlite(TempDir);

impl Fleet for Sqlite {
    type Store = SqliteStore;
    async fn storage() -> Self {
        Sqlite(TempDir::made(&unique("contract-sqlite")))
    }
    async fn instance(&self, keys: Keys, clock: &ManualClock) -> SqliteStore {
        let store = SqliteStore::open(self.0.0.join("sessions.db"), keys).await;
        store.unwrap().with_clock(clock.clone())
    }
}

sessions_tests::server_store_contracts!(sqlite_store: Sqlite);

/// A PostgreSQL server of its own per test.
struct Postgres(PostgresServer);

impl Fleet for Postgres {
    type Store = PostgresStore;
    async fn storage() -> Self {
        Postgres(PostgresServer::start(&unique("contract")))
    }
    async fn instance(&self, keys: Keys, clock: &ManualClock) -> PostgresStore {
        let store = PostgresStore::connect(&self.0.url(), keys).await;
        store.unwrap().with_clock(clock.clone())
    }
}

sessions_tests::server_store_contracts!(
    postgres_store: Postgres,
    #[cfg_attr(not(postgres_server), ignore = "initdb and postgres were not found")]
);

/// A MariaDB server of its own per test.
struct MySql(MySqlServer);

impl Fleet for MySql {
    type Store = MySqlStore;
    async fn storage() -> Self {
        MySql(MySqlServer::start(&unique("contract")))
    }
    async fn instance(&self, keys: Keys, clock: &ManualClock) -> MySqlStore {
        let store = MySqlStore::connect(&self.0.url(), keys).await;
        store.unwrap().with_clock(clock.clone())
    }
}

sessions_tests::server_store_contracts!(
    mysql_store: MySql,
    #[cfg_attr(not(mysql_server), ignore = "mariadbd and mariadb-install-db not found")]
);

/// Redis of its own per test: one node, a Cluster (three primaries, three replicas), or a primary,
/// its replica and three sentinels.
struct Redis<Deployment>(Deployment);

impl<Deployment: RedisDeployment> Fleet for Redis<Deployment> {
    type Store = RedisStore;
    async fn storage() -> Self {
        let name = unique("contract");
        Redis(
            tokio::task::spawn_blocking(move || Deployment::start(&name))
                .await
                .unwrap(),
        )
    }
    async fn instance(&self, keys: Keys, clock: &ManualClock) -> RedisStore {
        let store = RedisStore::connect(&self.0.url(), RedisOptions::default(), keys).await;
        store.unwrap().with_clock(clock.clone())
    }
}

sessions_tests::server_store_contracts!(
    redis_store: Redis<RedisServer>,
    #[cfg_attr(not(redis_server), ignore = "redis-server is not on the PATH")]
);

sessions_tests::server_store_contracts!(
    redis_cluster_store: Redis<RedisCluster>,
    #[cfg_attr(not(redis_server), ignore = "redis-server is not on the PATH")]
);

sessions_tests::server_store_contracts!(
    redis_sentinel_store: Redis<RedisSentinels>,
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
