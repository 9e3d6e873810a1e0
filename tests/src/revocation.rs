//! The revocation contract: what a store promises about owners ([`sessions::owner`]).
//! [`revocation_contract!`](crate::revocation_contract) runs it over a [`Fleet`], one test per
//! promise: `server` for stores that list and revoke sessions through an owner index, `cookie` for a
//! cookie store with a revocation backend.
//!
//! ```text
//! sessions_tests::revocation_contract!(memory_store: server Shared<MemoryBackend>);
//! sessions_tests::revocation_contract!(cookie_store: cookie CookiesRevoked);
//! ```

use std::future::Future;
use std::time::Duration;

use http::HeaderMap;
use sessions::clock::ManualClock;
use sessions::owner::{Handle, Owner};
use sessions::{Key, Keys, Loaded, Rejection, Store};

use crate::Browser;
use crate::contract::{Fleet, START, one};

/// A signed-in session: its owner indexed, its device shown in listings.
#[derive(sessions::Session, Default, Debug)]
#[session(cookie = "account", max_age = "1d", idle_timeout = "1h")]
pub struct Account {
    /// Who is signed in.
    #[owner]
    pub user_id: Option<u64>,
    /// What the listing shows.
    #[listed]
    pub device: Option<String>,
    /// Something else the session holds.
    pub cart: Vec<u32>,
}

/// Runs the revocation contract over the [`Fleet`] `$fleet`, in a module named `$module`.
#[macro_export]
macro_rules! revocation_contract {
    ($module:ident: server $fleet:ty $(, #[$attr:meta])* $(,)?) => {
        $crate::store_contract!(@tests revocation, $module, $fleet, [$(#[$attr])*],
            revocation_server_one_client_ends_another,
            revocation_server_sign_out_everywhere_else,
            revocation_server_revoke_all_during_concurrent_saves_leaves_nothing,
            revocation_server_revoke_all_racing_a_lone_cycle_id_leaves_nothing,
            revocation_server_a_planted_id_reaches_the_signed_in_session_briefly_and_never_as_owner,
            revocation_server_a_handle_outlives_cycle_id_and_revoke_racing_it_ends_the_session,
            revocation_server_a_listing_is_capped_with_its_total_and_the_current_session,
            revocation_server_an_expired_session_leaves_the_listing,
            revocation_server_the_index_follows_the_owner,
            revocation_server_a_handle_is_no_cookie_and_no_other_owners_key,
            revocation_server_keys_roll_and_every_session_stays_found);
    };
    ($module:ident: cookie $fleet:ty $(, #[$attr:meta])* $(,)?) => {
        $crate::store_contract!(@tests revocation, $module, $fleet, [$(#[$attr])*],
            revocation_cookie_sign_out_everywhere_else,
            revocation_cookie_sign_out_everywhere,
            revocation_cookie_a_request_in_flight_brings_nothing_back,
            revocation_cookie_a_sign_in_after_the_revocation_counts_whenever_it_began,
            revocation_cookie_sign_ins_racing_revocations,
            revocation_cookie_the_kept_session_still_ends_at_its_max_age,
            revocation_cookie_keys_roll_and_revocations_still_reach_every_session);
    };
}

/// A browser signed in as `user` on `device`.
pub async fn signed_in(store: &impl Store, user: u64, device: &str) -> Browser {
    let mut browser = Browser::default();
    let mut session = browser.load::<Account>(store).await;
    session.user_id = Some(user);
    session.device = Some(device.to_owned());
    session.cycle_id();
    browser.save(store, &mut session).await;
    browser
}

/// A browser with a session nobody signed in to, holding `[1]` in its cart.
pub async fn anonymous_with_a_cart(store: &impl Store) -> Browser {
    let mut browser = Browser::default();
    let mut session = browser.load::<Account>(store).await;
    session.cart.push(1);
    browser.save(store, &mut session).await;
    browser
}

/// Who `browser` is signed in as, by a request it makes now (which saves what it loaded).
pub async fn who(store: &impl Store, browser: &mut Browser) -> Option<u64> {
    let mut session = browser.load::<Account>(store).await;
    let user = session.user_id;
    browser.save(store, &mut session).await;
    user
}

fn owner(user: u64) -> Owner {
    Owner::of::<Account>(&user)
}

/// The devices of `user`'s sessions, sorted, and which is current as seen from `current`.
async fn devices(store: &impl Store, user: u64, current: Option<&Loaded<Account>>) -> Vec<(String, bool)> {
    let mut listed: Vec<(String, bool)> = store
        .sessions_of(&owner(user), current)
        .await
        .expect("listing works")
        .into_iter()
        .map(|listed| (listed.fields.device.clone().unwrap_or_default(), listed.current))
        .collect();
    listed.sort();
    listed
}

fn handle_of(listed: &[sessions::owner::Listed<Account>], device: &str) -> Handle {
    listed
        .iter()
        .find(|listed| listed.fields.device.as_deref() == Some(device))
        .map(|listed| listed.handle.clone())
        .expect("the device is listed")
}

/// Two clients signed in as one user: one lists both, with their devices and which is its own, and
/// ends the other, whose next request is signed out; its own goes on.
pub async fn revocation_server_one_client_ends_another<F: Fleet>() {
    let (_fleet, store, _clock) = one::<F>().await;
    let mut laptop = signed_in(&store, 7, "laptop").await;
    let mut phone = signed_in(&store, 7, "phone").await;
    let _other_user = signed_in(&store, 8, "desk").await;

    let session = laptop.load::<Account>(&store).await;
    assert_eq!(
        devices(&store, 7, Some(&session)).await,
        [("laptop".to_owned(), true), ("phone".to_owned(), false)]
    );
    let listed = store.sessions_of(&owner(7), Some(&session)).await.unwrap();
    let first = &listed[0];
    assert!(first.created_at <= first.last_seen && first.last_seen < first.expires_at);
    assert!(
        store
            .revoke::<Account>(&owner(7), &handle_of(&listed, "phone"))
            .await
            .unwrap(),
        "the phone's session is ended"
    );

    assert_eq!(who(&store, &mut phone).await, None, "the phone is signed out");
    assert_eq!(who(&store, &mut laptop).await, Some(7), "the laptop is not");
    assert_eq!(devices(&store, 7, None).await, [("laptop".to_owned(), false)]);
    assert_eq!(devices(&store, 8, None).await, [("desk".to_owned(), false)]);
    assert!(
        !store
            .revoke::<Account>(&owner(7), &handle_of(&listed, "phone"))
            .await
            .unwrap(),
        "a session ended already is not found twice"
    );
}

/// "Sign out everywhere else": every other session of the user ends; this one and other users'
/// stay.
pub async fn revocation_server_sign_out_everywhere_else<F: Fleet>() {
    let (_fleet, store, _clock) = one::<F>().await;
    let mut laptop = signed_in(&store, 7, "laptop").await;
    let mut others = vec![
        signed_in(&store, 7, "phone").await,
        signed_in(&store, 7, "tablet").await,
    ];
    let mut bystander = signed_in(&store, 8, "desk").await;

    let mut session = laptop.load::<Account>(&store).await;
    store.revoke_all(&owner(7), Some(&mut session)).await.unwrap();
    laptop.save(&store, &mut session).await;

    for other in &mut others {
        assert_eq!(who(&store, other).await, None);
    }
    assert_eq!(who(&store, &mut laptop).await, Some(7));
    assert_eq!(who(&store, &mut bystander).await, Some(8));
    assert_eq!(devices(&store, 7, None).await, [("laptop".to_owned(), false)]);

    store.revoke_all::<Account>(&owner(7), None).await.unwrap();
    assert_eq!(who(&store, &mut laptop).await, None, "sign out everywhere");
    assert_eq!(devices(&store, 7, None).await, []);
}

/// Revoking all of a user's sessions while requests in those sessions save (changing a field,
/// moving the session to a new id) leaves nothing behind: no session comes back, none is listed.
pub async fn revocation_server_revoke_all_during_concurrent_saves_leaves_nothing<F: Fleet>() {
    let (_fleet, a, _clock) = one::<F>().await;
    for round in 0..8u32 {
        let mut browsers = Vec::new();
        for device in 0..4 {
            browsers.push(signed_in(&a, 7, &format!("device {device}")).await);
        }
        let mut in_flight = Vec::new();
        for browser in &browsers {
            let mut session = browser.load::<Account>(&a).await;
            session.cart.push(round);
            if in_flight.len() % 2 == 1 {
                session.cycle_id();
            }
            in_flight.push(session);
        }
        // The saves and the revocation run concurrently: on a backend that waits for I/O they
        // interleave as it goes; on one that does not, the revocation comes after the first two.
        let mut jars = browsers.clone();
        let saves = async {
            for (browser, session) in jars.iter_mut().zip(&mut in_flight) {
                let mut response = HeaderMap::new();
                a.save(session, &mut response).await.unwrap();
                browser.receive(&response);
                tokio::task::yield_now().await;
            }
        };
        let revoke = async {
            tokio::task::yield_now().await;
            tokio::task::yield_now().await;
            a.revoke_all::<Account>(&owner(7), None).await.unwrap();
        };
        tokio::join!(saves, revoke);

        assert_ended(&a, round, browsers.into_iter().chain(jars)).await;
    }
}

/// "Sign out everywhere" racing the owner's only session as it moves to a new id (`cycle_id`, at
/// sign-in or a privilege change), 300 rounds with no other session of the owner to keep a
/// store's deletes going: once the revocation returns, the session is gone under both ids, and
/// nothing is listed.
pub async fn revocation_server_revoke_all_racing_a_lone_cycle_id_leaves_nothing<F: Fleet>() {
    let (_fleet, store, _clock) = one::<F>().await;
    for round in 0..300u32 {
        let browser = signed_in(&store, 7, "lone").await;
        let user = owner(7);
        let revoke = store.revoke_all::<Account>(&user, None);
        let (jar, revoked) = race_cycle_id(&store, &browser, round, revoke).await;
        revoked.unwrap();
        assert_ended(&store, round, [jar, browser]).await;
    }
}

/// Races a `cycle_id` of `browser`'s session against `ending`, each first yielding a number of
/// times that varies with `round`, so the rounds try the interleavings a store's awaits allow;
/// the browser that got the new id, and what `ending` answered.
async fn race_cycle_id<T>(
    store: &impl Store,
    browser: &Browser,
    round: u32,
    ending: impl Future<Output = T>,
) -> (Browser, T) {
    let mut moving = browser.load::<Account>(store).await;
    moving.cycle_id();
    let mut jar = browser.clone();
    let save = async {
        yields(round % 3).await;
        let mut response = HeaderMap::new();
        store.save(&mut moving, &mut response).await.unwrap();
        jar.receive(&response);
    };
    let ending = async {
        yields(round % 4).await;
        ending.await
    };
    let ((), answer) = tokio::join!(save, ending);
    (jar, answer)
}

async fn yields(times: u32) {
    for _ in 0..times {
        tokio::task::yield_now().await;
    }
}

/// User 7 has no session left: none is listed, and each of `browsers` is signed out.
async fn assert_ended(store: &impl Store, round: u32, browsers: impl IntoIterator<Item = Browser>) {
    assert_eq!(
        devices(store, 7, None).await,
        [],
        "round {round}: nothing is listed"
    );
    for mut browser in browsers {
        assert_eq!(who(store, &mut browser).await, None, "round {round}: signed out");
    }
}

/// Session fixation: an attacker's id planted in the victim's browser before the victim signs in
/// (`cycle_id` moves the session to a new id, and forwards the old one for saves). A request of
/// the victim's in flight at the sign-in keeps its change; the attacker's requests that loaded the
/// old id before the sign-in reach the signed-in session neither with a change of who is signed in
/// nor once the grace (ten seconds by default) has passed since they loaded, and their responses
/// set no cookie.
pub async fn revocation_server_a_planted_id_reaches_the_signed_in_session_briefly_and_never_as_owner<
    F: Fleet,
>() {
    let (_fleet, store, clock) = one::<F>().await;
    let attacker = anonymous_with_a_cart(&store).await;
    let mut victim = attacker.clone();

    let mut slow = attacker.load::<Account>(&store).await;
    clock.advance(Duration::from_secs(9));
    let mut takeover = attacker.load::<Account>(&store).await;
    let mut own_tab = victim.load::<Account>(&store).await;
    let mut signing_in = victim.load::<Account>(&store).await;
    signing_in.user_id = Some(7);
    signing_in.cycle_id();
    victim.save(&store, &mut signing_in).await;

    let save = async |session: &mut Loaded<Account>| {
        let mut response = HeaderMap::new();
        store.save(session, &mut response).await.unwrap();
        assert!(
            response.is_empty(),
            "a forwarded save sets no cookie: {response:?}"
        );
    };
    takeover.user_id = Some(666);
    takeover.device = Some("the attacker's".to_owned());
    save(&mut takeover).await;
    own_tab.device = Some("the victim's phone".to_owned());
    save(&mut own_tab).await;
    // Within the forward's grace, but the request loaded eleven seconds ago.
    clock.advance(Duration::from_secs(2));
    slow.cart.push(666);
    save(&mut slow).await;

    let session = victim.load::<Account>(&store).await;
    assert_eq!(session.user_id, Some(7), "still the victim's");
    assert_eq!(
        session.device.as_deref(),
        Some("the victim's phone"),
        "the in-flight change is kept"
    );
    assert_eq!(session.cart, [1], "nothing of the late request");
    assert!(
        attacker.load::<Account>(&store).await.is_new(),
        "the old id loads nothing"
    );
}

/// A handle names the session, not its current id: one listed before the device moved to a new id
/// (signed in again, `cycle_id`) still ends it; and `revoke` racing a `cycle_id` of that session,
/// 300 rounds, answers true only once the session is gone under every id.
pub async fn revocation_server_a_handle_outlives_cycle_id_and_revoke_racing_it_ends_the_session<F: Fleet>() {
    let (_fleet, store, _clock) = one::<F>().await;
    let mut phone = signed_in(&store, 7, "phone").await;
    let listed = store.sessions_of::<Account>(&owner(7), None).await.unwrap();
    let handle = handle_of(&listed, "phone");
    let mut again = phone.load::<Account>(&store).await;
    again.cycle_id();
    phone.save(&store, &mut again).await;
    let relisted = store.sessions_of::<Account>(&owner(7), None).await.unwrap();
    assert_eq!(
        handle_of(&relisted, "phone"),
        handle,
        "the same handle after cycle_id"
    );
    assert!(store.revoke::<Account>(&owner(7), &handle).await.unwrap());
    assert_eq!(who(&store, &mut phone).await, None, "ended though it moved");

    for round in 0..300u32 {
        let device = signed_in(&store, 7, "racing").await;
        let listed = store.sessions_of::<Account>(&owner(7), None).await.unwrap();
        let handle = handle_of(&listed, "racing");
        let user = owner(7);
        let revoke = store.revoke::<Account>(&user, &handle);
        let (jar, revoked) = race_cycle_id(&store, &device, round, revoke).await;
        assert!(revoked.unwrap(), "round {round}: the session was there to revoke");
        assert_ended(&store, round, [jar, device]).await;
    }
}

/// An owner with more sessions than a listing holds: it lists the most recently seen, the one of
/// the request asking among them even when it was seen longest ago, with the total; "sign out
/// everywhere else" ends every one, listed or not.
pub async fn revocation_server_a_listing_is_capped_with_its_total_and_the_current_session<F: Fleet>() {
    use sessions::owner::Listing;
    let (_fleet, store, clock) = one::<F>().await;
    let mut oldest = signed_in(&store, 7, "oldest").await;
    let mut others = Vec::new();
    for device in 0..Listing::<Account>::MAX + 20 {
        clock.advance(Duration::from_secs(1));
        others.push(signed_in(&store, 7, &format!("device {device}")).await);
    }
    let session = oldest.load::<Account>(&store).await;
    let listing = store.sessions_of(&owner(7), Some(&session)).await.unwrap();
    assert_eq!(listing.total(), Listing::<Account>::MAX + 21);
    assert_eq!(listing.len(), Listing::<Account>::MAX);
    assert!(
        listing.iter().any(|listed| listed.current),
        "the current one is listed"
    );
    let newest = format!("device {}", Listing::<Account>::MAX + 19);
    assert_eq!(listing[0].fields.device.as_deref(), Some(newest.as_str()));
    assert!(
        listing
            .windows(2)
            .all(|pair| pair[0].last_seen >= pair[1].last_seen || pair[1].current)
    );

    let mut session = oldest.load::<Account>(&store).await;
    store.revoke_all(&owner(7), Some(&mut session)).await.unwrap();
    oldest.save(&store, &mut session).await;
    assert_eq!(
        store
            .sessions_of::<Account>(&owner(7), None)
            .await
            .unwrap()
            .total(),
        1
    );
    assert_eq!(who(&store, &mut others[0]).await, None);
    assert_eq!(who(&store, &mut oldest).await, Some(7));
}

/// A session past its `idle_timeout` is not listed, even before anything sweeps it.
pub async fn revocation_server_an_expired_session_leaves_the_listing<F: Fleet>() {
    let (_fleet, store, clock) = one::<F>().await;
    let _idle = signed_in(&store, 7, "idle").await;
    clock.advance(Duration::from_secs(30 * 60));
    let mut active = signed_in(&store, 7, "active").await;
    assert_eq!(devices(&store, 7, None).await.len(), 2);
    clock.advance(Duration::from_secs(31 * 60));
    assert_eq!(who(&store, &mut active).await, Some(7));
    assert_eq!(devices(&store, 7, None).await, [("active".to_owned(), false)]);
}

/// The index stays exact: through `cycle_id` (the session is listed once, under the handle it had),
/// a concurrent request that did not touch the owner, a change of owner, sign-out, and `destroy`.
pub async fn revocation_server_the_index_follows_the_owner<F: Fleet>() {
    let (_fleet, store, _clock) = one::<F>().await;
    let mut browser = anonymous_with_a_cart(&store).await;

    // A request that loaded the session before sign-in saves after it: the owner stays.
    let mut stale = browser.load::<Account>(&store).await;
    let mut signing_in = browser.load::<Account>(&store).await;
    signing_in.user_id = Some(7);
    signing_in.device = Some("laptop".into());
    browser.save(&store, &mut signing_in).await;
    stale.cart.push(2);
    store.save(&mut stale, &mut HeaderMap::new()).await.unwrap();
    assert_eq!(devices(&store, 7, None).await, [("laptop".to_owned(), false)]);

    let before = store.sessions_of::<Account>(&owner(7), None).await.unwrap();
    let mut session = browser.load::<Account>(&store).await;
    session.cycle_id();
    browser.save(&store, &mut session).await;
    let after = store.sessions_of::<Account>(&owner(7), None).await.unwrap();
    assert_eq!(after.len(), 1, "listed once after cycle_id");
    assert_eq!(after[0].handle, before[0].handle, "under the handle it had");
    assert!(
        !store
            .revoke::<Account>(&owner(8), &before[0].handle)
            .await
            .unwrap()
    );

    let mut session = browser.load::<Account>(&store).await;
    session.user_id = Some(8);
    browser.save(&store, &mut session).await;
    assert_eq!(devices(&store, 7, None).await, []);
    assert_eq!(devices(&store, 8, None).await, [("laptop".to_owned(), false)]);

    let mut session = browser.load::<Account>(&store).await;
    session.user_id = None;
    browser.save(&store, &mut session).await;
    assert_eq!(devices(&store, 8, None).await, []);

    let mut session = browser.load::<Account>(&store).await;
    session.user_id = Some(9);
    browser.save(&store, &mut session).await;
    assert_eq!(devices(&store, 9, None).await.len(), 1);
    let mut session = browser.load::<Account>(&store).await;
    session.destroy();
    browser.save(&store, &mut session).await;
    assert_eq!(devices(&store, 9, None).await, []);
}

/// A handle names a session only to its owner, and is no cookie: sent as one it is refused, and
/// the request goes on with a fresh session.
pub async fn revocation_server_a_handle_is_no_cookie_and_no_other_owners_key<F: Fleet>() {
    let (_fleet, store, _clock) = one::<F>().await;
    let mut victim = signed_in(&store, 7, "laptop").await;
    let listed = store.sessions_of::<Account>(&owner(7), None).await.unwrap();
    let handle = &listed[0].handle;

    let mut attacker = Browser::default();
    attacker.set("account", handle.as_str());
    let session = attacker.load::<Account>(&store).await;
    assert!(session.is_new());
    assert!(
        session
            .rejection()
            .is_some_and(|reason| reason != Rejection::NotFound)
    );

    assert!(!store.revoke::<Account>(&owner(8), handle).await.unwrap());
    assert_eq!(who(&store, &mut victim).await, Some(7));
}

/// On the cookie store with a revocation backend: "sign out everywhere else" refuses every other
/// session of the user as revoked, while this one (issued again) and other users' go on.
pub async fn revocation_cookie_sign_out_everywhere_else<F: Fleet>() {
    let (_fleet, store, clock) = one::<F>().await;
    let mut laptop = signed_in(&store, 7, "laptop").await;
    let phone = signed_in(&store, 7, "phone").await;
    let mut bystander = signed_in(&store, 8, "desk").await;
    clock.advance(Duration::from_secs(5));

    let mut session = laptop.load::<Account>(&store).await;
    store.revoke_all(&owner(7), Some(&mut session)).await.unwrap();
    assert!(
        !laptop.save(&store, &mut session).await.is_empty(),
        "the kept session is issued again"
    );

    let refused = phone.load::<Account>(&store).await;
    assert_eq!(refused.rejection(), Some(Rejection::Revoked));
    assert_eq!(refused.user_id, None);
    assert_eq!(who(&store, &mut laptop).await, Some(7));
    clock.advance(Duration::from_secs(5));
    assert_eq!(who(&store, &mut laptop).await, Some(7), "and stays signed in");
    assert_eq!(who(&store, &mut bystander).await, Some(8));
    assert!(store.rejections().get(Rejection::Revoked) >= 1);
}

/// "Sign out everywhere" ends every session of the user; a sign-in afterwards is not affected.
pub async fn revocation_cookie_sign_out_everywhere<F: Fleet>() {
    let (_fleet, store, clock) = one::<F>().await;
    let mut laptop = signed_in(&store, 7, "laptop").await;
    let anonymous = anonymous_with_a_cart(&store).await;

    store.revoke_all::<Account>(&owner(7), None).await.unwrap();
    assert_eq!(who(&store, &mut laptop).await, None);
    assert_eq!(
        anonymous.load::<Account>(&store).await.cart,
        [1],
        "no owner, no revocation"
    );

    clock.advance(Duration::from_secs(2));
    let mut again = signed_in(&store, 7, "laptop").await;
    assert_eq!(who(&store, &mut again).await, Some(7));
}

/// A request that loaded a cookie session before its owner revoked it, and saves after, issues a
/// cookie that is refused all the same: the session keeps its creation time.
pub async fn revocation_cookie_a_request_in_flight_brings_nothing_back<F: Fleet>() {
    let (_fleet, store, clock) = one::<F>().await;
    let mut phone = signed_in(&store, 7, "phone").await;
    clock.advance(Duration::from_secs(5));
    let mut in_flight = phone.load::<Account>(&store).await;
    store.revoke_all::<Account>(&owner(7), None).await.unwrap();
    in_flight.cart.push(1);
    assert!(!phone.save(&store, &mut in_flight).await.is_empty());
    let refused = phone.load::<Account>(&store).await;
    assert_eq!(refused.rejection(), Some(Rejection::Revoked));
    assert_eq!(who(&store, &mut phone).await, None);
}

/// A sign-in that completes after "sign out everywhere" is never refused, however close the two and
/// whenever its session began: in the same second (the clock stands still here), a session begun
/// before the revocation (its cart goes on), a sign-in whose request loaded before the revocation and
/// saved after it, and one a minute later. A session signed in before it never survives.
pub async fn revocation_cookie_a_sign_in_after_the_revocation_counts_whenever_it_began<F: Fleet>() {
    let (_fleet, store, clock) = one::<F>().await;
    let mut with_a_cart = anonymous_with_a_cart(&store).await;
    let mut later = with_a_cart.clone();
    let mut signing_in = Browser::default();
    let mut in_flight = signing_in.load::<Account>(&store).await;
    let mut laptop = signed_in(&store, 7, "laptop").await;

    store.revoke_all::<Account>(&owner(7), None).await.unwrap();

    // The same second: the session began before the revocation, the sign-in comes after it.
    let mut session = with_a_cart.load::<Account>(&store).await;
    session.user_id = Some(7);
    session.cycle_id();
    with_a_cart.save(&store, &mut session).await;
    let session = with_a_cart.load::<Account>(&store).await;
    assert_eq!((session.user_id, session.cart.as_slice()), (Some(7), &[1][..]));
    in_flight.user_id = Some(7);
    signing_in.save(&store, &mut in_flight).await;
    assert_eq!(
        who(&store, &mut signing_in).await,
        Some(7),
        "loaded before, saved after"
    );
    assert_eq!(who(&store, &mut laptop).await, None, "signed in before");

    clock.advance(Duration::from_secs(60));
    let mut session = later.load::<Account>(&store).await;
    session.user_id = Some(7);
    session.cycle_id();
    later.save(&store, &mut session).await;
    assert_eq!(who(&store, &mut later).await, Some(7), "a minute later");
    assert_eq!(who(&store, &mut with_a_cart).await, Some(7));
}

/// Sign-ins and revocations of one user, 300 rounds: one after the other either way, or racing in
/// the interleavings the store's awaits allow. A session signed in before a revocation began is
/// refused; one whose save began after the revocation returned is not.
pub async fn revocation_cookie_sign_ins_racing_revocations<F: Fleet>() {
    use std::sync::atomic::{AtomicU64, Ordering};
    let (_fleet, store, _clock) = one::<F>().await;
    let step = AtomicU64::new(0);
    let tick = || step.fetch_add(1, Ordering::SeqCst);
    for round in 0..300u32 {
        let mut before = signed_in(&store, 7, "before").await;
        let mut racer = Browser::default();
        let mut session = racer.load::<Account>(&store).await;
        session.user_id = Some(7);
        let sign_in = async {
            for _ in 0..round % 3 {
                tokio::task::yield_now().await;
            }
            let began = tick();
            racer.save(&store, &mut session).await;
            (began, tick())
        };
        let revoke = async {
            for _ in 0..round % 5 {
                tokio::task::yield_now().await;
            }
            let began = tick();
            store.revoke_all::<Account>(&owner(7), None).await.unwrap();
            (began, tick())
        };
        let ((signing_began, signed_in_at), (revoke_began, revoked_at)) = match round % 4 {
            0 => {
                let signing = sign_in.await;
                (signing, revoke.await)
            }
            1 => {
                let revoking = revoke.await;
                (sign_in.await, revoking)
            }
            _ => tokio::join!(sign_in, revoke),
        };
        assert_eq!(
            who(&store, &mut before).await,
            None,
            "round {round}: signed in before"
        );
        let user = who(&store, &mut racer).await;
        if signing_began > revoked_at {
            assert_eq!(user, Some(7), "round {round}: signed in after the revocation");
        } else if signed_in_at < revoke_began {
            assert_eq!(user, None, "round {round}: signed in before the revocation");
        }
    }
}

/// "Sign out everywhere else" keeps this session signed in, not young: its `max_age` (a day) still
/// counts from when it began.
pub async fn revocation_cookie_the_kept_session_still_ends_at_its_max_age<F: Fleet>() {
    let (_fleet, store, clock) = one::<F>().await;
    let mut laptop = signed_in(&store, 7, "laptop").await;
    let half_hour = Duration::from_secs(30 * 60);
    for _ in 0..40 {
        clock.advance(half_hour);
        assert_eq!(who(&store, &mut laptop).await, Some(7));
    }
    let mut session = laptop.load::<Account>(&store).await;
    store.revoke_all(&owner(7), Some(&mut session)).await.unwrap();
    laptop.save(&store, &mut session).await;
    for _ in 40..47 {
        clock.advance(half_hour);
        assert_eq!(who(&store, &mut laptop).await, Some(7));
    }
    clock.advance(half_hour);
    assert_eq!(who(&store, &mut laptop).await, None, "a day after it began");
}

/// Two instances on one storage across a key rotation: `before` seals with the old key, `after`
/// with a new one and the old as fallback.
async fn rotated<F: Fleet>() -> (F, F::Store, F::Store, Key) {
    let fleet = F::storage().await;
    let clock = ManualClock::at_unix(START);
    let (old, new) = (Key::generate(), Key::generate());
    let before = fleet.instance(Keys::new(old.clone()), &clock).await;
    let after = fleet
        .instance(Keys::new(new.clone()).with_fallback(old), &clock)
        .await;
    (fleet, before, after, new)
}

/// The owner index is keyed with the store's key; a rotation hides no session from it. After
/// the key rolls, sessions signed in before are listed (each once, also once a save has moved one
/// under the new key's digest) and revoked by "sign out everywhere else" like the others, and the
/// one kept lives on under the new key alone.
pub async fn revocation_server_keys_roll_and_every_session_stays_found<F: Fleet>() {
    let (fleet, before, after, new) = rotated::<F>().await;
    let mut laptop = signed_in(&before, 7, "laptop").await;
    let mut phone = signed_in(&before, 7, "phone").await;
    let mut bystander = signed_in(&before, 8, "desk").await;
    let mut tablet = signed_in(&after, 7, "tablet").await;

    let devices_of_7 =
        [("laptop", false), ("phone", false), ("tablet", false)].map(|(d, c)| (d.to_owned(), c));
    assert_eq!(devices(&after, 7, None).await, devices_of_7);
    let mut session = laptop.load::<Account>(&after).await;
    session.cart.push(1);
    laptop.save(&after, &mut session).await;
    assert_eq!(
        devices(&after, 7, None).await,
        devices_of_7,
        "a save moved the laptop, listed once"
    );

    let mut session = laptop.load::<Account>(&after).await;
    after.revoke_all(&owner(7), Some(&mut session)).await.unwrap();
    laptop.save(&after, &mut session).await;
    assert_eq!(
        who(&after, &mut phone).await,
        None,
        "signed in before the rotation, never saved since"
    );
    assert_eq!(who(&after, &mut tablet).await, None, "signed in after it");
    assert_eq!(who(&after, &mut bystander).await, Some(8));
    assert_eq!(who(&after, &mut laptop).await, Some(7));

    let clock = ManualClock::at_unix(START);
    let only_new = fleet.instance(Keys::new(new), &clock).await;
    assert_eq!(who(&only_new, &mut laptop).await, Some(7), "the old key is gone");
    assert_eq!(devices(&only_new, 7, None).await, [("laptop".to_owned(), false)]);
}

/// Revocations of cookie sessions across a key rotation: a session signed in before it is refused
/// by a revocation after it, whether or not a request re-sealed it under the new key meanwhile; the
/// kept one, and a sign-in after the revocation, stay signed in, also once the old key is gone.
pub async fn revocation_cookie_keys_roll_and_revocations_still_reach_every_session<F: Fleet>() {
    let (fleet, before, after, new) = rotated::<F>().await;
    let mut laptop = signed_in(&before, 7, "laptop").await;
    let phone = signed_in(&before, 7, "phone").await;
    let mut resealed = signed_in(&before, 7, "resealed").await;
    assert_eq!(
        who(&after, &mut resealed).await,
        Some(7),
        "signed in across the rotation"
    );
    let mut session = resealed.load::<Account>(&after).await;
    session.cart.push(1);
    assert!(
        !resealed.save(&after, &mut session).await.is_empty(),
        "re-sealed under the new key"
    );

    let mut session = laptop.load::<Account>(&after).await;
    after.revoke_all(&owner(7), Some(&mut session)).await.unwrap();
    laptop.save(&after, &mut session).await;
    let refused = phone.load::<Account>(&after).await;
    assert_eq!(refused.rejection(), Some(Rejection::Revoked));
    let refused = resealed.load::<Account>(&after).await;
    assert_eq!(refused.rejection(), Some(Rejection::Revoked));
    assert_eq!(who(&after, &mut laptop).await, Some(7));
    let mut again = signed_in(&after, 7, "again").await;

    let clock = ManualClock::at_unix(START);
    let only_new = fleet.instance(Keys::new(new), &clock).await;
    assert_eq!(who(&only_new, &mut laptop).await, Some(7), "the old key is gone");
    assert_eq!(who(&only_new, &mut again).await, Some(7));
}
