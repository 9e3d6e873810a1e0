//! An owner of each kind the runtime takes (an integer, a string, a type of the app's own), spelled
//! with paths too, with listed fields beside it.
mod session {
    use sessions::Session;
    use sessions::owner::OwnerKey;

    #[derive(serde::Serialize, serde::Deserialize, Default)]
    pub struct UserId(pub u64);

    impl OwnerKey for UserId {
        fn write_key(&self, out: &mut Vec<u8>) {
            self.0.write_key(out);
        }
    }

    #[derive(Session, Default)]
    pub struct ById {
        #[owner]
        pub user: ::core::option::Option<UserId>,
        #[listed]
        pub device: Option<String>,
        #[listed]
        #[flash]
        pub note: Option<String>,
    }

    #[derive(Session, Default)]
    pub struct ByEmail {
        #[listed]
        pub device: Option<String>,
        #[owner]
        pub email: std::option::Option<String>,
    }

    #[derive(Session, Default)]
    pub struct Nobody {
        pub cart: Vec<u32>,
    }
}

use session::{ByEmail, ById, Nobody, UserId};
use sessions::Session;
use sessions::owner::Owner;

#[test]
fn compiles_and_runs() {
    let by_id = ById {
        user: Some(UserId(7)),
        ..ById::default()
    };
    assert!(by_id.owner().is_some());
    assert!(ById::default().owner().is_none());
    assert!(Nobody::default().owner().is_none());
    let fields: Vec<(&str, bool, bool)> = ById::FIELDS
        .iter()
        .map(|field| (field.name(), field.is_owner(), field.is_listed()))
        .collect();
    assert_eq!(
        fields,
        [
            ("user", true, false),
            ("device", false, true),
            ("note", false, true)
        ]
    );
    let by_email = ByEmail {
        email: Some("ada@example.com".into()),
        ..ByEmail::default()
    };
    assert!(by_email.owner().is_some());
    // The same key names different owners in two session types: their indexes never mix.
    assert_ne!(Owner::of::<ById>(&UserId(7)), Owner::of::<ByEmail>(&7u64));
    assert_eq!(Owner::of::<ById>(&UserId(7)), Owner::of::<ById>(&7u64));
}
