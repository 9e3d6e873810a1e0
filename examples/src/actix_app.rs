//! The demo served with actix-web: the same routes as [`app`](crate::app), each handing its
//! sessions to the app's function and turning the [`Answer`] into a response.

use std::net::{SocketAddr, TcpListener};

use actix_web::body::BoxBody;
use actix_web::dev::Server;
use actix_web::dev::ServiceResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_LENGTH, CONTENT_TYPE, HOST, HeaderValue, LOCATION, USER_AGENT};
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use sessions::Store;
use sessions::actix::{SessionLayer, TypedSession};

use crate::{Account, Answer, Attempts, Cart, CodeForm, EndForm, ItemForm, Origin, SignInForm};

/// The demo on actix-web, keeping accounts in `accounts` and carts in `carts`, on `listener`, with
/// `workers` threads. Run it with `.await` inside a tokio or actix runtime.
pub fn serve<A: Store + Clone>(
    listener: TcpListener,
    workers: usize,
    accounts: A,
    carts: impl Store,
) -> std::io::Result<Server> {
    let layer = SessionLayer::new()
        .with::<Account>(accounts.clone())
        .with::<Cart>(carts);
    let attempts = web::Data::new(Attempts::default());
    let accounts = web::Data::new(accounts);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(attempts.clone())
            .app_data(accounts.clone())
            .wrap(layer.clone())
            .wrap(ErrorHandlers::new().handler(StatusCode::SERVICE_UNAVAILABLE, store_fault_page))
            .configure(routes::<A>)
            .default_service(web::to(async || crate::not_found()))
    })
    .workers(workers)
    .listen(listener)?
    .run();
    Ok(server)
}

/// Outside the session layer: its plain-text 503 (a session the store could not load or save)
/// becomes the demo's page, its headers (`Retry-After`, other sessions' cookies) kept.
fn store_fault_page<B>(response: ServiceResponse<B>) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let html =
        (response.headers().get(CONTENT_TYPE)).is_some_and(|kind| kind.as_bytes().starts_with(b"text/html"));
    if html {
        return Ok(ErrorHandlerResponse::Response(response.map_into_left_body()));
    }
    let get = response.request().method() == actix_web::http::Method::GET;
    let page = crate::store_unavailable(get, response.request().path());
    let response = response.map_body(|head, _| {
        head.headers_mut().remove(CONTENT_LENGTH);
        head.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
        BoxBody::new(page)
    });
    Ok(ErrorHandlerResponse::Response(response.map_into_right_body()))
}

/// The demo on actix-web on a free loopback port, on a thread and runtime of its own with one
/// worker, for tests and benchmarks; its address. The server runs until the process ends.
pub fn spawn(accounts: impl Store + Clone, carts: impl Store) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let address = listener.local_addr()?;
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            match serve(listener, 1, accounts, carts) {
                Ok(server) => {
                    if let Err(error) = server.await {
                        eprintln!("the actix-web demo stopped: {error}");
                    }
                }
                Err(error) => eprintln!("the actix-web demo did not start: {error}"),
            }
        });
    });
    Ok(address)
}

/// The demo's routes, with the accounts kept in a store of type `A` (in the app's data); a path
/// answers a method it does not take with the demo's own page.
pub fn routes<A: Store>(config: &mut web::ServiceConfig) {
    let resource = |path| web::resource(path).default_service(web::to(async || crate::method_not_allowed()));
    config
        .service(resource("/").route(web::get().to(home)))
        .service(resource("/sign-in").route(web::post().to(sign_in)))
        .service(
            resource("/code")
                .route(web::get().to(code_page))
                .route(web::post().to(check_code)),
        )
        .service(resource("/sign-out").route(web::post().to(sign_out)))
        .service(resource("/sessions").route(web::get().to(sessions_page::<A>)))
        .service(resource("/sessions/end").route(web::post().to(end_session::<A>)))
        .service(resource("/sessions/end-others").route(web::post().to(end_other_sessions::<A>)))
        .service(resource("/cart").route(web::post().to(add_to_cart)))
        .service(resource("/cart/clear").route(web::post().to(clear_cart)));
}

impl actix_web::Responder for Answer {
    type Body = BoxBody;

    fn respond_to(self, _request: &HttpRequest) -> HttpResponse {
        match self {
            Answer::Page { status, html } => {
                let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                HttpResponse::build(status)
                    .content_type("text/html; charset=utf-8")
                    .body(html)
            }
            Answer::Redirect(to) => HttpResponse::SeeOther().insert_header((LOCATION, to)).finish(),
        }
    }
}

async fn home(request: HttpRequest, mut account: TypedSession<Account>, cart: TypedSession<Cart>) -> Answer {
    let headers = request.headers();
    let origin = Origin::from_headers(
        headers.get(HOST).map(|host| host.as_bytes()),
        headers.get("x-forwarded-proto").map(|proto| proto.as_bytes()),
    );
    crate::home(origin, &mut account, &cart)
}

async fn sign_in(
    attempts: web::Data<Attempts>,
    mut account: TypedSession<Account>,
    form: web::Form<SignInForm>,
) -> Answer {
    crate::sign_in(&attempts, &mut account, form.into_inner())
}

async fn code_page(mut account: TypedSession<Account>) -> Answer {
    crate::code_page(&mut account)
}

async fn check_code(
    request: HttpRequest,
    attempts: web::Data<Attempts>,
    mut account: TypedSession<Account>,
    form: web::Form<CodeForm>,
) -> Answer {
    let user_agent = request.headers().get(USER_AGENT).map(|agent| agent.as_bytes());
    crate::check_code(&attempts, &mut account, form.into_inner(), user_agent)
}

async fn sessions_page<A: Store>(accounts: web::Data<A>, mut account: TypedSession<Account>) -> Answer {
    crate::sessions_page(&**accounts, &mut account).await
}

async fn end_session<A: Store>(
    accounts: web::Data<A>,
    mut account: TypedSession<Account>,
    form: web::Form<EndForm>,
) -> Answer {
    crate::end_session(&**accounts, &mut account, form.into_inner()).await
}

async fn end_other_sessions<A: Store>(accounts: web::Data<A>, mut account: TypedSession<Account>) -> Answer {
    crate::end_other_sessions(&**accounts, &mut account).await
}

async fn sign_out(mut account: TypedSession<Account>) -> Answer {
    crate::sign_out(&mut account)
}

async fn add_to_cart(mut cart: TypedSession<Cart>, form: web::Form<ItemForm>) -> Answer {
    crate::add_to_cart(&mut cart, form.into_inner())
}

async fn clear_cart(mut cart: TypedSession<Cart>) -> Answer {
    crate::clear_cart(&mut cart)
}
