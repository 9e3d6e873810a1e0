//! The Redis store against a real `redis-server` started on a free loopback port: two app instances
//! sharing sessions, the per-field merge on the server, TTLs, `cycle_id`, Redis going away and coming
//! back, and corrupt values.
//!
//! Without `redis-server` on the PATH these tests are listed as ignored, with the reason, unless
//! `SESSIONS_REQUIRE_REDIS=1` (set by `.ci/run`), which fails the build instead.

use std::process::{Command, Stdio};
use std::time::Duration;

use http::HeaderMap;
use sessions::clock::ManualClock;
use sessions::session::Origin;
use sessions::store::{RedisOptions, RedisStore};
use sessions::{Key, Keys, Rejection, Store};
use sessions_tests::{AppSession, Browser, RedisCluster, RedisDeployment, RedisSentinels, RedisServer};

const START: u64 = 1_700_000_000;

async fn instance(server: &RedisServer, keys: &Keys, clock: &ManualClock) -> RedisStore {
    RedisStore::connect(&server.url(), RedisOptions::default(), keys.clone())
        .await
        .unwrap()
        .with_clock(clock.clone())
}

/// One app instance on a Redis of its own, with a new key.
async fn one_instance(name: &str) -> (RedisServer, Keys, RedisStore) {
    let server = RedisServer::start(name);
    let keys = Keys::new(Key::generate());
    let store = instance(&server, &keys, &ManualClock::at_unix(START)).await;
    (server, keys, store)
}

/// Two app instances on one Redis, with one key and one clock.
async fn two_instances(name: &str) -> (RedisServer, RedisStore, RedisStore, ManualClock) {
    let server = RedisServer::start(name);
    let (keys, clock) = (Keys::new(Key::generate()), ManualClock::at_unix(START));
    let a = instance(&server, &keys, &clock).await;
    let b = instance(&server, &keys, &clock).await;
    (server, a, b, clock)
}

async fn session_keys(server: &RedisServer) -> Vec<String> {
    server.query(("KEYS", "session:*")).await
}

#[tokio::test]
#[cfg_attr(not(redis_server), ignore = "redis-server is not on the PATH")]
async fn a_session_made_on_one_instance_is_read_and_changed_on_the_other() {
    let (_server, a, b, _) = two_instances("share").await;
    let mut browser = Browser::signed_in(&a, 7).await;

    let mut on_b = browser.load::<AppSession>(&b).await;
    assert_eq!(on_b.origin(), Origin::Restored);
    assert_eq!(on_b.user_id, Some(7));
    on_b.cart.push(3);
    browser.save(&b, &mut on_b).await;
    assert_eq!(browser.load::<AppSession>(&a).await.cart, [3]);
}

#[tokio::test]
#[cfg_attr(not(redis_server), ignore = "redis-server is not on the PATH")]
async fn the_ttl_is_the_remaining_lifetime_and_a_refresh_rewrites_only_the_times() {
    let (server, a, _, clock) = two_instances("ttl").await;
    let mut browser = Browser::signed_in(&a, 7).await;
    let key = session_keys(&server).await.remove(0);
    let ttl: i64 = server.query(("PTTL", &key)).await;
    assert!(
        (3_590_000..=3_600_000).contains(&ttl),
        "the idle window, 1h: {ttl} ms"
    );
    let before: Vec<(String, Vec<u8>)> = server.query(("HGETALL", &key)).await;

    // Active after half the idle window: the session is refreshed, its data is not rewritten.
    clock.advance(Duration::from_secs(30 * 60));
    let mut session = browser.load::<AppSession>(&a).await;
    browser.save(&a, &mut session).await;
    let after: Vec<(String, Vec<u8>)> = server.query(("HGETALL", &key)).await;
    let entry =
        |all: &[(String, Vec<u8>)], name: &str| all.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    assert_ne!(
        entry(&before, "m"),
        entry(&after, "m"),
        "the times were rewritten"
    );
    for (name, value) in before.iter().filter(|(name, _)| name != "m") {
        assert_eq!(
            entry(&after, name).as_ref(),
            Some(value),
            "field entry {name} was rewritten"
        );
    }
    let ttl: i64 = server.query(("PTTL", &key)).await;
    assert!(ttl > 3_590_000, "the TTL was renewed: {ttl} ms");

    // Past the idle timeout, by the app's clock: refused, whatever Redis still holds.
    clock.advance(Duration::from_secs(3600));
    assert_eq!(
        browser.rejection::<AppSession>(&a).await,
        Some(Rejection::Expired)
    );
}

#[tokio::test]
#[cfg_attr(not(redis_server), ignore = "redis-server is not on the PATH")]
async fn cycle_id_renames_the_session_and_destroy_deletes_it() {
    let (server, a, _, _) = two_instances("cycle").await;
    // Without a grace period, nothing is left under the old id.
    let a = a.with_cycle_grace(Duration::ZERO);
    let mut browser = Browser::default();
    let mut session = browser.load::<AppSession>(&a).await;
    session.theme = "dark".into();
    browser.save(&a, &mut session).await;
    let before = session_keys(&server).await;

    let mut session = browser.load::<AppSession>(&a).await;
    session.cycle_id();
    browser.save(&a, &mut session).await;
    let after = session_keys(&server).await;
    assert_eq!(after.len(), 1);
    assert_ne!(before, after, "a new key");
    assert_eq!(
        browser.load::<AppSession>(&a).await.theme,
        "dark",
        "with the same data"
    );

    let mut session = browser.load::<AppSession>(&a).await;
    session.destroy();
    browser.save(&a, &mut session).await;
    assert!(session_keys(&server).await.is_empty());
}

#[tokio::test]
#[cfg_attr(not(redis_server), ignore = "redis-server is not on the PATH")]
async fn redis_going_away_is_an_error_and_coming_back_needs_no_restart() {
    let (mut server, a, _, _) = two_instances("outage").await;
    let browser = Browser::signed_in(&a, 7).await;

    server.stop();
    let request = browser.request();
    assert!(
        a.load::<AppSession>(&request).await.is_err(),
        "an error, not a signed-out fresh session"
    );
    let mut fresh = a.load::<AppSession>(&HeaderMap::new()).await.unwrap();
    fresh.user_id = Some(8);
    assert!(a.save(&mut fresh, &mut HeaderMap::new()).await.is_err());

    server.run();
    // The connection comes back by itself; allow it a few attempts.
    let mut recovered = None;
    for _ in 0..100 {
        if let Ok(session) = a.load::<AppSession>(&request).await {
            recovered = Some(session);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let session = recovered.expect("the store did not recover");
    assert_eq!(session.user_id, Some(7), "still signed in after the outage");
}

#[tokio::test]
#[cfg_attr(not(redis_server), ignore = "redis-server is not on the PATH")]
async fn a_slow_redis_is_a_timeout_error_after_the_configured_time() {
    let server = RedisServer::start("slow");
    let options = RedisOptions {
        timeout: Duration::from_millis(200),
        ..RedisOptions::default()
    };
    let store = RedisStore::connect(&server.url(), options, Keys::new(Key::generate()))
        .await
        .unwrap();
    let browser = Browser::signed_in(&store, 7).await;

    // Redis stalls for two seconds, from another process. When the stall takes effect is up to the
    // OS: loads before it succeed; the first that fails must be a timeout, back by the 200 ms.
    let stall = Command::new("redis-cli")
        .args(["-p", &server.port().to_string(), "debug", "sleep", "2"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("redis-cli runs");
    let request = browser.request();
    let deadline = std::time::Instant::now() + Duration::from_millis(1500);
    let (error, waited) = loop {
        let started = std::time::Instant::now();
        match store.load::<AppSession>(&request).await {
            Err(error) => break (error, started.elapsed()),
            Ok(_) => assert!(std::time::Instant::now() < deadline, "Redis never stalled"),
        }
    };
    let cause = std::error::Error::source(&error).unwrap();
    assert!(
        cause.to_string().contains("did not answer within 200ms"),
        "{cause}"
    );
    assert!(
        waited < Duration::from_millis(900),
        "the call waited {waited:?}, not the 200 ms configured"
    );
    let answer = stall.wait_with_output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&answer.stdout).trim(),
        "OK",
        "Redis did not stall"
    );
    // Once Redis answers again, so does the store.
    assert_eq!(
        store
            .load::<AppSession>(&browser.request())
            .await
            .unwrap()
            .user_id,
        Some(7)
    );
}

/// A session's key holding something else than the store wrote (another type, a garbage entry)
/// gives a fresh session, counted as unreadable, and the key is removed: on one node, a Cluster
/// (whose hashes carry a version and whose saves take other steps) and a Sentinel primary.
async fn a_corrupt_value_gives_a_fresh_session_and_is_removed<Redis: RedisDeployment>() {
    let redis = tokio::task::spawn_blocking(|| Redis::start("corrupt"))
        .await
        .unwrap();
    let store = RedisStore::connect(&redis.url(), RedisOptions::default(), Keys::new(Key::generate()))
        .await
        .unwrap();
    for corrupt in ["a string", "a hash with garbage", "a hash with a garbage version"] {
        let browser = Browser::signed_in(&store, 7).await;
        let keys: Vec<String> = redis.query(("KEYS", "session:*")).await;
        let key = keys.iter().find(|key| !key.contains(":index:")).unwrap();
        match corrupt {
            "a string" => redis.query::<()>(("SET", key, "garbage")).await,
            "a hash with garbage" => redis.query::<()>(("HSET", key, "m", "garbage")).await,
            _ => {
                redis
                    .query::<()>(("HSET", key, "v", "garbage", "m", "garbage"))
                    .await
            }
        }
        let session = browser.load::<AppSession>(&store).await;
        assert_eq!(session.rejection(), Some(Rejection::Unreadable), "{corrupt}");
        let left: Vec<String> = redis.query(("KEYS", "session:*")).await;
        assert!(!left.contains(key), "{corrupt} was not removed: {left:?}");
    }
}

#[tokio::test]
#[cfg_attr(not(redis_server), ignore = "redis-server is not on the PATH")]
async fn a_corrupt_value_on_one_node_gives_a_fresh_session_and_is_removed() {
    a_corrupt_value_gives_a_fresh_session_and_is_removed::<RedisServer>().await;
}

#[tokio::test]
#[cfg_attr(not(redis_server), ignore = "redis-server is not on the PATH")]
async fn a_corrupt_value_on_a_cluster_gives_a_fresh_session_and_is_removed() {
    a_corrupt_value_gives_a_fresh_session_and_is_removed::<RedisCluster>().await;
}

#[tokio::test]
#[cfg_attr(not(redis_server), ignore = "redis-server is not on the PATH")]
async fn a_corrupt_value_behind_sentinel_gives_a_fresh_session_and_is_removed() {
    a_corrupt_value_gives_a_fresh_session_and_is_removed::<RedisSentinels>().await;
}

/// On a Cluster the owner index is its own key: an entry whose session is gone (its TTL, a crash
/// between the index and the record) is never listed, is kept while it is young (it may be a save
/// under way), and goes at the first listing once it is older than ten minutes. Entries that are
/// not session ids, read back from Redis, are dropped the same way, never a panic.
#[tokio::test]
#[cfg_attr(not(redis_server), ignore = "redis-server is not on the PATH")]
async fn a_cluster_index_skips_entries_without_a_session_and_drops_them_once_old() {
    use sessions::owner::Owner;
    use sessions_tests::revocation::{Account, signed_in};

    let redis = tokio::task::spawn_blocking(|| RedisCluster::start("index-age"))
        .await
        .unwrap();
    let keys = Keys::new(Key::generate());
    let store = RedisStore::connect(&redis.url(), RedisOptions::default(), keys.clone())
        .await
        .unwrap();
    let _laptop = signed_in(&store, 7, "laptop").await;
    let _phone = signed_in(&store, 7, "phone").await;
    let owner = Owner::of::<Account>(&7u64);
    let index = format!("session:index:{}", owner.digest(&keys).to_text());
    let members: Vec<String> = redis.query(("ZRANGE", &index, 0, -1)).await;
    assert_eq!(members.len(), 2);
    let ttl: i64 = redis.query(("PTTL", &index)).await;
    assert!(ttl > 0, "the index expires: {ttl}");

    // The laptop's session expires by its TTL (deleted here as Redis would), and two entries that
    // name no session are written: one young, one eleven minutes old (by the server's clock).
    let _: i64 = redis.query(("DEL", format!("session:{}", members[0]))).await;
    let (now, _): (i64, i64) = redis.query("TIME").await;
    let old = (now - 11 * 60) * 1000;
    let _: i64 = redis.query(("ZADD", &index, old, "not an id")).await;
    let _: i64 = redis.query(("ZADD", &index, old, &members[0])).await;
    let _: i64 = redis
        .query(("ZADD", &index, now * 1000, "a save under way"))
        .await;

    let listed = store.sessions_of::<Account>(&owner, None).await.unwrap();
    assert_eq!(listed.len(), 1, "only the phone is listed");
    let mut left: Vec<String> = redis.query(("ZRANGE", &index, 0, -1)).await;
    left.sort();
    let mut expected = vec!["a save under way".to_owned(), members[1].clone()];
    expected.sort();
    assert_eq!(left, expected, "the old entries went, the young one stays");
}

#[tokio::test]
#[cfg_attr(not(redis_server), ignore = "redis-server is not on the PATH")]
async fn a_rolling_key_change_signs_nobody_out_and_deletes_nothing() {
    let server = RedisServer::start("rolling-keys");
    let clock = ManualClock::at_unix(START);
    sessions_tests::contract::keys_roll(async |keys| instance(&server, &keys, &clock).await).await;
    assert_eq!(
        session_keys(&server).await.len(),
        1,
        "the session is still in Redis"
    );
}

/// A session whose key Redis expired (its TTL: here deleted as Redis would) leaves the listing and
/// its owner's set, at the next listing; the set itself expires with the longest-lived session.
#[tokio::test]
#[cfg_attr(not(redis_server), ignore = "redis-server is not on the PATH")]
async fn a_session_expired_by_its_ttl_leaves_the_owner_index() {
    use sessions::owner::Owner;
    use sessions_tests::revocation::{Account, signed_in};

    let (server, keys, store) = one_instance("owner-ttl").await;
    let _laptop = signed_in(&store, 7, "laptop").await;
    let _phone = signed_in(&store, 7, "phone").await;
    let owner = Owner::of::<Account>(&7u64);
    let set = format!("session:owner:{}", owner.digest(&keys).to_text());
    let members: Vec<String> = server.query(("SMEMBERS", &set)).await;
    assert_eq!(members.len(), 2);
    let set_ttl: i64 = server.query(("PTTL", &set)).await;
    assert!(set_ttl > 0, "the set expires: {set_ttl}");

    let _: i64 = server.query(("DEL", format!("session:{}", members[0]))).await;
    let listed = store.sessions_of::<Account>(&owner, None).await.unwrap();
    assert_eq!(listed.len(), 1);
    let members: Vec<String> = server.query(("SMEMBERS", &set)).await;
    assert_eq!(members.len(), 1, "the listing took the expired id out of the set");
}

/// Revocations read back from Redis are input too: a time past what `SystemTime` holds refuses the
/// owner's sessions, never a panic; a value that is no time revokes nothing and fails no request.
#[tokio::test]
#[cfg_attr(not(redis_server), ignore = "redis-server is not on the PATH")]
async fn corrupt_revocations_neither_panic_nor_fail_requests() {
    use sessions::CookieStore;
    use sessions::owner::Owner;
    use sessions::store::backend::RedisBackend;
    use sessions_tests::revocation::{Account, signed_in, who};

    let server = RedisServer::start("corrupt-revoked");
    let backend = RedisBackend::connect(&server.url(), RedisOptions::default())
        .await
        .unwrap();
    let keys = Keys::new(Key::generate());
    let cookies = CookieStore::new(keys.clone()).with_revocations(backend);
    let mut laptop = signed_in(&cookies, 7, "laptop").await;
    let key = format!(
        "session:revoked:{}",
        Owner::of::<Account>(&7u64).digest(&keys).to_text()
    );
    for (value, user) in [("not a time", Some(7)), ("18446744073709551615", None)] {
        let _: () = server.query(("SET", &key, value)).await;
        assert_eq!(who(&cookies, &mut laptop).await, user, "{value}");
    }
}

/// Redis holds owners under digests keyed with the store's key (the owner sets, the sessions' `o`
/// field, the revocations), never the unkeyed digest anyone with a list of user ids can compute,
/// which a `redis-cli --scan` or a dump would show. An index a build before keyed digests wrote is
/// listed and revoked all the same, and a save re-indexes its session under the keyed digest.
#[tokio::test]
#[cfg_attr(not(redis_server), ignore = "redis-server is not on the PATH")]
async fn the_owner_index_is_keyed_and_an_unkeyed_one_is_read_until_rewritten() {
    use sessions::CookieStore;
    use sessions::owner::Owner;
    use sessions_tests::revocation::{Account, signed_in, who};

    let (server, keys, store) = one_instance("keyed-index").await;
    let owner = Owner::of::<Account>(&7u64);
    let (keyed, unkeyed) = (owner.digest(&keys).to_text(), owner.unkeyed().to_text());
    let mut laptop = signed_in(&store, 7, "laptop").await;
    let mut phone = signed_in(&store, 7, "phone").await;
    let cookies = CookieStore::new(keys.clone()).with_revocations(store.backend().clone());
    cookies.revoke_all::<Account>(&owner, None).await.unwrap();
    let mut names = session_keys(&server).await;
    names.sort();
    assert!(names.contains(&format!("session:owner:{keyed}")), "{names:?}");
    assert!(names.contains(&format!("session:revoked:{keyed}")), "{names:?}");
    assert!(!names.iter().any(|name| name.contains(&unkeyed)), "{names:?}");
    let ids: Vec<String> = server.query(("SMEMBERS", format!("session:owner:{keyed}"))).await;
    for id in &ids {
        let stored: String = server.query(("HGET", format!("session:{id}"), "o")).await;
        assert_eq!(stored, keyed);
    }

    // As a build before keyed digests left it:
    let _: () = server
        .query((
            "RENAME",
            format!("session:owner:{keyed}"),
            format!("session:owner:{unkeyed}"),
        ))
        .await;
    for id in &ids {
        let _: i64 = server
            .query(("HSET", format!("session:{id}"), "o", &unkeyed))
            .await;
    }
    assert_eq!(store.sessions_of::<Account>(&owner, None).await.unwrap().len(), 2);
    let mut session = laptop.load::<Account>(&store).await;
    session.cart.push(1);
    laptop.save(&store, &mut session).await;
    let members = async |digest: &str| -> usize {
        let ids: Vec<String> = server
            .query(("SMEMBERS", format!("session:owner:{digest}")))
            .await;
        ids.len()
    };
    assert_eq!(members(&keyed).await, 1, "the laptop's save re-indexed it");
    assert_eq!(members(&unkeyed).await, 1, "the phone stays until its own");
    assert_eq!(
        store.sessions_of::<Account>(&owner, None).await.unwrap().len(),
        2,
        "each once"
    );
    store.revoke_all::<Account>(&owner, None).await.unwrap();
    assert_eq!(who(&store, &mut laptop).await, None);
    assert_eq!(who(&store, &mut phone).await, None);
}

/// Redis expires sessions by itself (their TTLs): its backend has nothing to sweep, says so, and a
/// sweeper started on it ends after its first round instead of asking again forever.
#[tokio::test]
#[cfg_attr(not(redis_server), ignore = "redis-server is not on the PATH")]
async fn redis_has_nothing_to_sweep_and_its_sweeper_ends() {
    let (_server, store, _, clock) = two_instances("sweep").await;
    let _browser = Browser::signed_in(&store, 7).await;
    clock.advance(Duration::from_secs(3 * 3600));
    assert_eq!(store.sweep().await.unwrap(), None);

    let sweeper = store.spawn_sweeper(Duration::from_millis(10)).unwrap();
    // The store's clock is manual; the sweeper's interval is the runtime's, which this test waits on.
    let mut ended = false;
    for _ in 0..500 {
        if sweeper.is_finished() {
            ended = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(ended, "the sweeper of a backend with nothing to sweep still runs");
}
