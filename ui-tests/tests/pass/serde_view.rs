//! A session struct may also derive serde, for a JSON view, with serde attributes that only shape that
//! view.
use serde::Serialize;
use sessions::Session;

#[derive(Session, Serialize, Default)]
#[serde(rename_all = "camelCase")]
struct AppSession {
    user_id: Option<u64>,
    #[serde(serialize_with = "count")]
    cart_items: Vec<u32>,
}

fn count<S: serde::Serializer>(items: &[u32], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_u64(items.len() as u64)
}

#[test]
fn compiles_and_runs() {
    let session = AppSession {
        user_id: Some(7),
        cart_items: vec![4, 2],
    };
    assert_eq!(
        serde_json::to_string(&session).unwrap(),
        r#"{"userId":7,"cartItems":2}"#
    );
}
