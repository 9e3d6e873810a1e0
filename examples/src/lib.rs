//! The demo app: sign in with a one-time code, flash messages after redirects, "remember me", a cart,
//! and sign-out, on two typed sessions. `src/main.rs` serves it; the end-to-end tests drive it.
//!
//! - `Account` keeps who is signed in, a flash notice, and a pending sign-in whose code expires by
//!   itself ten minutes after it was sent (`#[max_age("10m")]`).
//! - `Cart` keeps the cart in its own cookie, so signing out leaves it alone.

use axum::Form;
use axum::Router;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use sessions::Store;
use sessions::axum::{Session, SessionLayer};
use subtle::ConstantTimeEq;

/// Who is signed in.
#[derive(sessions::Session, Default, Debug)]
#[session(cookie = "demo", max_age = "30d", idle_timeout = "7d", session_only)]
pub struct Account {
    /// The signed-in user.
    pub user: Option<String>,
    /// A message for the next page.
    #[flash]
    pub notice: Option<String>,
    /// A sign-in waiting for its code; gone ten minutes after the code was sent.
    #[max_age("10m")]
    pub pending: Option<PendingSignIn>,
}

/// A sign-in waiting for its one-time code.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct PendingSignIn {
    user: String,
    code: String,
    remember: bool,
    wrong_tries: u8,
}

/// The cart: the [`CART_SIZE`] most recently added items.
#[derive(sessions::Session, Default, Debug)]
#[session(cookie = "cart", max_age = "30d")]
pub struct Cart {
    /// What is in it, in the order it was added.
    pub items: Vec<String>,
}

/// What the shop sells.
pub const CATALOG: [&str; 3] = ["tea", "coffee", "cake"];

/// A cart keeps this many of the most recently added items.
pub const CART_SIZE: usize = 10;

/// Wrong codes allowed before a sign-in must start over.
const MAX_WRONG_CODES: u8 = 3;

/// The app, keeping accounts in `accounts` and carts in `carts`.
pub fn app(accounts: impl Store, carts: impl Store) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/sign-in", post(sign_in))
        .route("/code", get(code_page).post(check_code))
        .route("/sign-out", post(sign_out))
        .route("/cart", post(add_to_cart))
        .route("/cart/clear", post(clear_cart))
        .layer(SessionLayer::new().with::<Account>(accounts).with::<Cart>(carts))
}

async fn home(mut account: Session<Account>, cart: Session<Cart>) -> Html<String> {
    let notice = account.take_notice();
    let body = match &account.user {
        Some(user) => format!(
            r#"<p>Signed in as <b>{}</b>.</p>
<form method="post" action="/sign-out"><button>Sign out</button></form>"#,
            escape(user)
        ),
        None => r#"<form method="post" action="/sign-in">
<label>Name <input name="user" required maxlength="40"></label>
<label><input type="checkbox" name="remember" value="yes"> Remember me</label>
<button>Send me a code</button></form>"#
            .to_owned(),
    };
    Html(page("Home", notice.as_deref(), &(body + &cart_section(&cart))))
}

fn cart_section(cart: &Cart) -> String {
    let items: String = cart
        .items
        .iter()
        .map(|item| format!("<li>{}</li>", escape(item)))
        .collect();
    let buttons: String = CATALOG
        .iter()
        .map(|item| format!(r#"<button name="item" value="{item}">Add {item}</button> "#))
        .collect();
    format!(
        r#"<h2>Cart ({})</h2><ul>{items}</ul>
<form method="post" action="/cart">{buttons}</form>
<form method="post" action="/cart/clear"><button>Empty the cart</button></form>"#,
        cart.items.len()
    )
}

#[derive(Deserialize)]
struct SignInForm {
    user: String,
    remember: Option<String>,
}

async fn sign_in(mut account: Session<Account>, Form(form): Form<SignInForm>) -> Redirect {
    let user = form.user.trim();
    if user.is_empty() || user.chars().count() > 40 {
        account.flash_notice("Names are 1 to 40 characters.".into());
        return Redirect::to("/");
    }
    account.pending = Some(PendingSignIn {
        user: user.to_owned(),
        code: format!("{:06}", rand::random_range(0..1_000_000)),
        remember: form.remember.is_some(),
        wrong_tries: 0,
    });
    account.flash_notice("We sent you a code. It is valid for 10 minutes.".into());
    Redirect::to("/code")
}

async fn code_page(mut account: Session<Account>) -> Response {
    let notice = account.take_notice();
    let Some(pending) = &account.pending else {
        account.flash_notice("That code expired; please sign in again.".into());
        return Redirect::to("/").into_response();
    };
    let body = format!(
        r#"<p>This demo sends no email: your code is <code id="code">{}</code>.</p>
<form method="post" action="/code"><label>Code <input name="code" required></label>
<button>Sign in</button></form>"#,
        pending.code
    );
    Html(page("Enter your code", notice.as_deref(), &body)).into_response()
}

#[derive(Deserialize)]
struct CodeForm {
    code: String,
}

async fn check_code(mut account: Session<Account>, Form(form): Form<CodeForm>) -> Redirect {
    let Some(mut pending) = account.pending.take() else {
        account.flash_notice("That code expired; please sign in again.".into());
        return Redirect::to("/");
    };
    if !bool::from(form.code.trim().as_bytes().ct_eq(pending.code.as_bytes())) {
        pending.wrong_tries += 1;
        if pending.wrong_tries >= MAX_WRONG_CODES {
            account.flash_notice("Too many wrong codes; please sign in again.".into());
            return Redirect::to("/");
        }
        account.pending = Some(pending);
        account.flash_notice("Wrong code; try again.".into());
        return Redirect::to("/code");
    }
    account.flash_notice(format!("Welcome, {}!", pending.user));
    account.user = Some(pending.user);
    account.set_persistent(pending.remember);
    account.cycle_id(); // a new session identity for the new privilege
    Redirect::to("/")
}

async fn sign_out(mut account: Session<Account>) -> Redirect {
    account.destroy();
    Redirect::to("/")
}

#[derive(Deserialize)]
struct ItemForm {
    item: String,
}

async fn add_to_cart(mut cart: Session<Cart>, Form(form): Form<ItemForm>) -> Redirect {
    if CATALOG.contains(&form.item.as_str()) {
        cart.items.push(form.item);
        if cart.items.len() > CART_SIZE {
            cart.items.remove(0);
        }
    }
    Redirect::to("/")
}

async fn clear_cart(mut cart: Session<Cart>) -> Redirect {
    cart.destroy();
    Redirect::to("/")
}

fn page(title: &str, notice: Option<&str>, body: &str) -> String {
    let notice = notice.map_or(String::new(), |notice| {
        format!(r#"<p class="notice">{}</p>"#, escape(notice))
    });
    format!(
        r#"<!doctype html><html><head><meta charset="utf-8"><title>{title} · sessions demo</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{STYLE}</style></head>
<body><main><p class="brand">sessions demo</p><h1>{title}</h1>{notice}{body}</main></body></html>"#
    )
}

const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;background:#f4f4f6;color:#222;margin:0}\
main{max-width:34rem;margin:3rem auto;background:#fff;padding:2rem 2.5rem;border-radius:12px;\
box-shadow:0 2px 12px #0001}.brand{color:#888;font-size:.85rem;margin:0;text-transform:uppercase;\
letter-spacing:.08em}h1{margin:.2rem 0 1rem}h2{font-size:1.1rem;margin-top:2rem}\
.notice{background:#e8f4ea;border-left:4px solid #3a8f4a;padding:.6rem .9rem;border-radius:4px}\
form{margin:.6rem 0}label{display:block;margin:.4rem 0}input[name]{padding:.35rem .5rem;\
border:1px solid #bbb;border-radius:6px}button{padding:.4rem .9rem;border:0;border-radius:6px;\
background:#2f5bd3;color:#fff;cursor:pointer;margin:.2rem .3rem .2rem 0}code{font-size:1.2rem;\
background:#f0f0f4;padding:.1rem .4rem;border-radius:4px}ul{padding-left:1.2rem}";

fn escape(text: &str) -> std::borrow::Cow<'_, str> {
    html_escape::encode_text(text)
}
