//! The imports of the README's axum and actix-web examples, each with the crate root's: the
//! `Session` trait and derive, and the `TypedSession` extractor, go together without renaming.
mod with_axum {
    use axum::{Router, routing::post};
    use sessions::axum::{SessionLayer, TypedSession};
    use sessions::{CookieStore, Key, Loaded, Session, Store};

    #[derive(Session, Default)]
    #[session(cookie = "cart")]
    pub struct Cart {
        pub items: Vec<u32>,
    }

    async fn add(mut cart: TypedSession<Cart>) -> String {
        cart.items.push(42);
        format!("{} items", cart.items.len())
    }

    /// Code over the store, beside the handlers: the trait bound and `Loaded` are in scope too.
    pub async fn items<S: Session>(store: &impl Store, request: &http::HeaderMap) -> Loaded<S> {
        store.load::<S>(request).await.expect("a cookie store loads")
    }

    pub fn app() -> Router {
        let store = CookieStore::new(Key::generate());
        Router::new()
            .route("/cart", post(add))
            .layer(SessionLayer::new().with::<Cart>(store))
    }
}

mod with_actix {
    use actix_web::{App, HttpResponse, web};
    use sessions::actix::{SessionLayer, TypedSession};
    use sessions::{CookieStore, Key, Session};

    #[derive(Session, Default)]
    #[session(cookie = "cart")]
    pub struct Cart {
        pub items: Vec<u32>,
    }

    async fn add(mut cart: TypedSession<Cart>) -> HttpResponse {
        cart.items.push(42);
        HttpResponse::Ok().body(format!("{} items", cart.items.len()))
    }

    pub fn app() {
        let store = CookieStore::new(Key::generate());
        let _app = App::new()
            .wrap(SessionLayer::new().with::<Cart>(store))
            .route("/cart", web::post().to(add));
    }
}

#[tokio::test]
async fn compiles_and_runs() {
    use tower::ServiceExt as _;

    let response = with_axum::app()
        .oneshot(
            http::Request::post("/cart")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers().contains_key("set-cookie"),
        "the cart was saved"
    );
    let store = sessions::CookieStore::new(sessions::Key::generate());
    let cart = with_axum::items::<with_axum::Cart>(&store, &http::HeaderMap::new()).await;
    assert!(cart.items.is_empty());
    with_actix::app();
}
