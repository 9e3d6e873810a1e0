//! What the axum load benchmarks add to `support`: the cart route on tower-sessions, and serving an
//! app on a free port.

use std::net::SocketAddr;

use axum::Form;
use axum::Router;
use axum::response::Redirect;
use sessions_examples::{CART_SIZE, CATALOG};

use crate::support::ItemForm;

/// The demo's cart route on tower-sessions: the same rule, through string keys.
pub async fn tower_sessions_cart(session: tower_sessions::Session, Form(form): Form<ItemForm>) -> Redirect {
    let mut items: Vec<String> = session.get("items").await.unwrap().unwrap_or_default();
    if CATALOG.contains(&form.item.as_str()) {
        items.push(form.item);
        if items.len() > CART_SIZE {
            items.remove(0);
        }
    }
    session.insert("items", items).await.unwrap();
    Redirect::to("/")
}

/// Serves `app` on a free loopback port, on the current runtime; its address.
pub async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    address
}
