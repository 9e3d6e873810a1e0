//! A session type changed between two deploys: a cookie or record stored by the first deploy is read
//! by the second. Each test names one kind of change and asserts exactly which fields keep their value,
//! which reset, and the reason given. No change makes a stored value open as a different value.

use serde::{Deserialize, Serialize};
use sessions::session::{Origin, ResetField, ResetReason};
use sessions::store::MemoryStore;
use sessions::{CookieStore, Key, Keys, Loaded, Session, Store};
use sessions_tests::Browser;

/// Stores a session of type `A` filled by `fill`, then reads it back as `B`, on the cookie store and
/// on a server-side store.
async fn redeploy<A: Session, B: Session>(fill: impl Fn(&mut A)) -> [Loaded<B>; 2] {
    let key = Key::generate();
    let cookie = read_back::<A, B>(&CookieStore::new(Keys::new(key.clone())), &fill).await;
    let server = read_back::<A, B>(&MemoryStore::new(Keys::new(key)), &fill).await;
    [cookie, server]
}

async fn read_back<A: Session, B: Session>(store: &impl Store, fill: &impl Fn(&mut A)) -> Loaded<B> {
    let mut browser = Browser::default();
    let mut before = browser.load::<A>(store).await;
    fill(&mut before);
    browser.save(store, &mut before).await;
    let after = browser.load::<B>(store).await;
    assert!(!after.is_new(), "the stored session is found");
    after
}

fn retyped(field: &'static str) -> Vec<ResetField> {
    vec![ResetField {
        field,
        reason: ResetReason::TypeChanged,
    }]
}

/// One deploy of the session type `App`, in a module of its own; `use` lines let two deploys spell a
/// changed type the same way, as a real deploy does.
macro_rules! deploy {
    ($name:ident $(use $path:path;)* { $($fields:tt)* }) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            $(use $path;)*
            #[derive(sessions::Session, Default)]
            #[session(cookie = "app")]
            pub struct App { $($fields)* }
        }
    };
}

/// Two deploys of one session type, before and after a change.
macro_rules! deploys {
    ($before:ident $(use $a:path;)* { $($a_fields:tt)* } => $after:ident $(use $b:path;)* { $($b_fields:tt)* }) => {
        deploy!($before $(use $a;)* { $($a_fields)* });
        deploy!($after $(use $b;)* { $($b_fields)* });
    };
}

deploys!(added_a { pub user_id: Option<u64> } => added_b { pub user_id: Option<u64>, pub locale: String });

#[tokio::test]
async fn a_field_added_starts_at_its_default_and_every_other_field_survives() {
    for after in redeploy::<added_a::App, added_b::App>(|s| s.user_id = Some(7)).await {
        assert_eq!(after.user_id, Some(7));
        assert_eq!(after.locale, "");
        assert!(after.reset_fields().is_empty());
    }
}

deploys!(removed_a { pub user_id: Option<u64>, pub theme: String } => removed_b { pub user_id: Option<u64> });

#[tokio::test]
async fn a_field_removed_leaves_the_others_as_they_were() {
    let fill = |s: &mut removed_a::App| {
        s.user_id = Some(7);
        s.theme = "dark".into();
    };
    for after in redeploy::<removed_a::App, removed_b::App>(fill).await {
        assert_eq!(after.user_id, Some(7));
        assert!(after.reset_fields().is_empty());
    }
}

deploys!(renamed_a { pub cart: Vec<u32> } => renamed_b { pub basket: Vec<u32> });
deploys!(renamed_kept_a { pub cart: Vec<u32> } => renamed_kept_b {
    #[session(rename = "cart")]
    pub basket: Vec<u32>
});

#[tokio::test]
async fn a_field_renamed_is_a_new_field_unless_it_keeps_its_stored_name() {
    for after in redeploy::<renamed_a::App, renamed_b::App>(|s| s.cart = vec![1, 2]).await {
        assert!(after.basket.is_empty(), "another name: another field");
        assert!(after.reset_fields().is_empty());
    }
    for after in redeploy::<renamed_kept_a::App, renamed_kept_b::App>(|s| s.cart = vec![1, 2]).await {
        assert_eq!(after.basket, [1, 2]);
    }
}

deploys!(retyped_a { pub user_id: Option<u64>, pub cart: Vec<u32> } => retyped_b { pub user_id: Option<u64>, pub cart: Vec<i32> });

#[tokio::test]
async fn a_field_retyped_resets_alone() {
    let fill = |s: &mut retyped_a::App| {
        s.user_id = Some(7);
        s.cart = vec![3];
    };
    for after in redeploy::<retyped_a::App, retyped_b::App>(fill).await {
        assert_eq!(after.user_id, Some(7));
        assert!(after.cart.is_empty());
        assert_eq!(after.reset_fields(), retyped("cart"));
    }
}

deploys!(reordered_a { pub a: u32, pub b: u32 } => reordered_b { pub b: u32, pub a: u32 });

#[tokio::test]
async fn fields_reordered_keep_their_values_by_name() {
    let fill = |s: &mut reordered_a::App| {
        s.a = 1;
        s.b = 2;
    };
    for after in redeploy::<reordered_a::App, reordered_b::App>(fill).await {
        assert_eq!((after.a, after.b), (1, 2));
        assert!(after.reset_fields().is_empty());
    }
}

/// `Role` as each deploy defines it: the type keeps its name, its variants change.
mod roles {
    use super::*;

    pub mod before {
        use super::*;
        #[derive(Serialize, Deserialize, Default, Debug, PartialEq)]
        pub enum Role {
            #[default]
            User,
            Admin,
        }
    }
    pub mod reordered {
        use super::*;
        #[derive(Serialize, Deserialize, Default, Debug, PartialEq)]
        pub enum Role {
            Admin,
            #[default]
            User,
        }
    }
    pub mod added {
        use super::*;
        #[derive(Serialize, Deserialize, Default, Debug, PartialEq)]
        pub enum Role {
            #[default]
            User,
            Admin,
            Owner,
        }
    }
    pub mod renamed {
        use super::*;
        #[derive(Serialize, Deserialize, Default, Debug, PartialEq)]
        pub enum Role {
            #[default]
            Member,
            Admin,
        }
    }
}

deploys!(role_a use roles::before::Role; { pub user_id: Option<u64>, pub role: Role }
    => role_reordered use roles::reordered::Role; { pub user_id: Option<u64>, pub role: Role });
deploys!(role_b use roles::before::Role; { pub role: Role } => role_added use roles::added::Role; { pub role: Role });
deploys!(role_c use roles::before::Role; { pub role: Role } => role_renamed use roles::renamed::Role; { pub role: Role });

#[tokio::test]
async fn enum_variants_reordered_never_turn_a_user_into_an_admin() {
    let fill = |s: &mut role_a::App| {
        s.user_id = Some(7);
        s.role = roles::before::Role::User;
    };
    for after in redeploy::<role_a::App, role_reordered::App>(fill).await {
        assert_eq!(after.user_id, Some(7));
        assert_eq!(
            after.role,
            roles::reordered::Role::User,
            "the default, not the stored index"
        );
        assert_eq!(after.reset_fields(), retyped("role"));
    }
}

#[tokio::test]
async fn enum_variants_added_or_renamed_reset_the_field() {
    let fill_b = |s: &mut role_b::App| s.role = roles::before::Role::Admin;
    for after in redeploy::<role_b::App, role_added::App>(fill_b).await {
        assert_eq!(after.role, roles::added::Role::User);
        assert_eq!(after.reset_fields(), retyped("role"));
    }
    let fill_c = |s: &mut role_c::App| s.role = roles::before::Role::Admin;
    for after in redeploy::<role_c::App, role_renamed::App>(fill_c).await {
        assert_eq!(after.role, roles::renamed::Role::Member);
        assert_eq!(after.reset_fields(), retyped("role"));
    }
}

/// `Prefs` as each deploy defines it.
mod prefs {
    use super::*;

    pub mod before {
        use super::*;
        #[derive(Serialize, Deserialize, Default, Debug, PartialEq)]
        pub struct Prefs {
            pub width: u32,
            pub height: u32,
        }

        impl Prefs {
            /// What the tests store.
            pub const SCREEN: Self = Self {
                width: 800,
                height: 600,
            };
        }
    }
    pub mod reordered {
        use super::*;
        #[derive(Serialize, Deserialize, Default, Debug, PartialEq)]
        pub struct Prefs {
            pub height: u32,
            pub width: u32,
        }
    }
    pub mod retyped {
        use super::*;
        #[derive(Serialize, Deserialize, Default, Debug, PartialEq)]
        pub struct Prefs {
            pub width: u64,
            pub height: u32,
        }
    }
    /// The same shape under another name: nothing a stored value means has changed.
    #[derive(Serialize, Deserialize, Default, Debug, PartialEq)]
    pub struct Preferences {
        pub width: u32,
        pub height: u32,
    }
}

deploys!(prefs_a use prefs::before::Prefs; { pub prefs: Prefs } => prefs_reordered use prefs::reordered::Prefs; { pub prefs: Prefs });
deploys!(prefs_b use prefs::before::Prefs; { pub prefs: Prefs } => prefs_retyped use prefs::retyped::Prefs; { pub prefs: Prefs });
deploys!(prefs_c use prefs::before::Prefs; { pub prefs: Prefs, pub ids: Vec<u32> } => prefs_respelled {
    pub prefs: prefs::Preferences,
    pub ids: ::std::vec::Vec<u32>
});

#[tokio::test]
async fn nested_struct_fields_reordered_or_retyped_reset_the_field() {
    let fill = |s: &mut prefs_a::App| s.prefs = prefs::before::Prefs::SCREEN;
    for after in redeploy::<prefs_a::App, prefs_reordered::App>(fill).await {
        assert_eq!(
            after.prefs,
            prefs::reordered::Prefs::default(),
            "never width and height swapped"
        );
        assert_eq!(after.reset_fields(), retyped("prefs"));
    }
    let fill = |s: &mut prefs_b::App| s.prefs = prefs::before::Prefs::SCREEN;
    for after in redeploy::<prefs_b::App, prefs_retyped::App>(fill).await {
        assert_eq!(after.prefs, prefs::retyped::Prefs::default());
        assert_eq!(after.reset_fields(), retyped("prefs"));
    }
}

#[tokio::test]
async fn a_type_respelled_or_renamed_with_the_same_shape_keeps_its_value() {
    let fill = |s: &mut prefs_c::App| {
        s.prefs = prefs::before::Prefs::SCREEN;
        s.ids = vec![4, 5];
    };
    for after in redeploy::<prefs_c::App, prefs_respelled::App>(fill).await {
        assert_eq!(
            after.prefs,
            prefs::Preferences {
                width: 800,
                height: 600
            }
        );
        assert_eq!(after.ids, [4, 5]);
        assert!(after.reset_fields().is_empty());
    }
}

// Two deploys serving one user side by side, as in a rolling deploy; B's `Default` is its own.
deploy!(shared_a { pub user_id: Option<u64>, pub cart: Vec<u32>, pub theme: String, pub legacy: bool });

mod shared_b {
    use sessions::Session;

    /// Deploy B: `legacy` removed, `cart` retyped, `locale` added. The type keeps its name, since the
    /// type's name is part of what a cookie is bound to.
    #[derive(Session)]
    #[session(cookie = "app")]
    pub struct App {
        pub user_id: Option<u64>,
        pub cart: Vec<String>,
        pub theme: String,
        pub locale: String,
    }

    impl Default for App {
        fn default() -> Self {
            Self {
                user_id: None,
                cart: Vec::new(),
                theme: String::new(),
                locale: "en".into(),
            }
        }
    }
}

#[tokio::test]
async fn a_cookie_from_the_previous_deploy_keeps_every_unchanged_field() {
    let (store, mut browser) = (CookieStore::new(Keys::new(Key::generate())), Browser::default());
    let mut a = browser.load::<shared_a::App>(&store).await;
    a.user_id = Some(7);
    a.cart = vec![1, 2];
    a.theme = "dark".into();
    a.legacy = true;
    browser.save(&store, &mut a).await;

    let b = browser.load::<shared_b::App>(&store).await;
    assert_eq!(b.origin(), Origin::Restored);
    assert_eq!(b.user_id, Some(7));
    assert_eq!(b.theme, "dark");
    assert!(b.cart.is_empty(), "retyped field falls back to its default");
    assert_eq!(b.locale, "en", "added field takes the struct's default");
    assert_eq!(
        b.reset_fields(),
        [ResetField {
            field: "cart",
            reason: ResetReason::TypeChanged
        }]
    );
}

#[tokio::test]
async fn two_deploys_serving_one_user_keep_each_others_fields() {
    let (store, mut browser) = (CookieStore::new(Keys::new(Key::generate())), Browser::default());
    let mut b = browser.load::<shared_b::App>(&store).await;
    b.locale = "fr".into();
    b.theme = "dark".into();
    browser.save(&store, &mut b).await;

    // The next request lands on a server still running deploy A, which changes a field it knows.
    let mut a = browser.load::<shared_a::App>(&store).await;
    assert_eq!(a.theme, "dark");
    a.user_id = Some(9);
    browser.save(&store, &mut a).await;

    // Back on deploy B: A's change is there, and so is B's field that A does not know.
    let b = browser.load::<shared_b::App>(&store).await;
    assert_eq!(b.user_id, Some(9));
    assert_eq!(b.locale, "fr");
}
