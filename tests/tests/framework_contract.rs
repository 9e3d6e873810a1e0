//! The framework contract (`tests/src/framework.rs`) over every integration: axum (through the tower
//! layer) and actix-web. Each harness writes the contract's routes with its framework's handlers
//! and responses, and calls them in process.

use std::rc::Rc;

use sessions::Store;
use sessions::layer::SessionLayer;
use sessions::owner::{Owner, OwnersError};
use sessions_tests::framework::{Account, Answer, Cart, Framework, OWN_ANSWER};

/// The number of sessions of owner 7 `store` lists.
async fn count_devices<St: Store>(store: &St) -> Result<String, OwnersError> {
    let listed = store
        .sessions_of::<Account>(&Owner::of::<Account>(&7u64), None)
        .await?;
    Ok(listed.len().to_string())
}

/// What `/whoami` answers.
fn who(account: &mut sessions::Loaded<Account>) -> String {
    let notice = account.take_notice();
    format!("{:?} {notice:?}", account.user)
}

/// What `/sign-in` does.
fn sign_in(account: &mut sessions::Loaded<Account>, cart: &mut sessions::Loaded<Cart>) {
    account.user = Some(7);
    account.cycle_id(); // a new id at sign-in
    account.flash_notice("welcome".into());
    cart.items.push(1);
}

mod axum_harness {
    use axum::Router;
    use axum::body::Body;
    use axum::extract::State;
    use axum::response::IntoResponse;
    use axum::routing::get;
    use http::{HeaderValue, Request, StatusCode, header};
    use sessions::axum::{SessionError, TypedSession};
    use tower::ServiceExt;

    use super::*;

    /// The contract's routes on axum, behind the tower layer.
    pub struct Axum(Router);

    async fn sign_in_route(mut account: TypedSession<Account>, mut cart: TypedSession<Cart>) -> &'static str {
        sign_in(&mut account, &mut cart);
        "ok"
    }

    async fn sign_in_cart_first(
        mut cart: TypedSession<Cart>,
        mut account: TypedSession<Account>,
    ) -> &'static str {
        sign_in(&mut account, &mut cart);
        "ok"
    }

    async fn fail_after_change(mut account: TypedSession<Account>) -> StatusCode {
        account.user = Some(7);
        StatusCode::INTERNAL_SERVER_ERROR
    }

    async fn no_session() -> &'static str {
        "no session here"
    }

    async fn twice(_first: TypedSession<Account>, _second: TypedSession<Account>) -> &'static str {
        "unreachable"
    }

    async fn whoami(mut account: TypedSession<Account>) -> String {
        who(&mut account)
    }

    async fn sign_out(mut account: TypedSession<Account>) -> StatusCode {
        account.destroy();
        StatusCode::OK
    }

    async fn own_answer(account: Result<TypedSession<Account>, SessionError>) -> (StatusCode, &'static str) {
        match account {
            Ok(_) => (StatusCode::OK, ""),
            Err(error) => (error.status(), OWN_ANSWER),
        }
    }

    async fn own_cache_headers(mut cart: TypedSession<Cart>) -> impl IntoResponse {
        cart.items.push(2);
        (
            [
                (header::CACHE_CONTROL, "no-cache"),
                (header::VARY, "Accept-Encoding"),
            ],
            "mine",
        )
    }

    async fn devices<St: Store + Clone>(State(store): State<St>) -> Result<String, OwnersError> {
        count_devices(&store).await
    }

    impl Framework for Axum {
        async fn serve(layer: Option<SessionLayer>) -> Self {
            let router = Router::new()
                .route("/sign-in", get(sign_in_route))
                .route("/sign-in-cart-first", get(sign_in_cart_first))
                .route("/fail", get(fail_after_change))
                .route("/plain", get(no_session))
                .route("/twice", get(twice))
                .route("/whoami", get(whoami))
                .route("/sign-out", get(sign_out))
                .route("/own-answer", get(own_answer))
                .route("/own-cache", get(own_cache_headers));
            Axum(match layer {
                Some(layer) => router.layer(layer),
                None => router,
            })
        }

        async fn devices<St: Store + Clone>(store: St) -> Self {
            Axum(
                Router::new()
                    .route("/devices", get(devices::<St>))
                    .with_state(store),
            )
        }

        async fn get(&self, path: &str, cookie: Option<&[u8]>) -> Answer {
            let mut request = Request::builder().uri(path);
            if let Some(cookie) = cookie {
                request = request.header(header::COOKIE, HeaderValue::from_bytes(cookie).unwrap());
            }
            let request = request.body(Body::empty()).unwrap();
            let response = self.0.clone().oneshot(request).await.unwrap();
            let headers = response.headers();
            let text = |value: &HeaderValue| value.to_str().unwrap().to_owned();
            let one = |name| headers.get(name).map(text);
            Answer {
                status: response.status(),
                cookies: (headers.get_all(header::SET_COOKIE).iter())
                    .map(|line| text(line).split(';').next().unwrap().to_owned())
                    .collect(),
                retry_after: one(header::RETRY_AFTER),
                location: one(header::LOCATION),
                vary: headers.get_all(header::VARY).iter().map(text).collect(),
                cache_control: one(header::CACHE_CONTROL),
                body: {
                    let body = axum::body::to_bytes(response.into_body(), 64 * 1024).await;
                    String::from_utf8(body.unwrap().to_vec()).unwrap()
                },
            }
        }
    }
}

mod actix_harness {
    use std::future::Future;
    use std::pin::Pin;

    use actix_web::body::{BoxBody, MessageBody};
    use actix_web::dev::{Service, ServiceResponse};
    use actix_web::http::header::{self, HeaderValue};
    use actix_web::{App, HttpResponse, test, web};
    use http::StatusCode;
    use sessions::actix::{SessionError, TypedSession};

    use super::*;

    type Call = Box<dyn Fn(actix_http::Request) -> Pin<Box<dyn Future<Output = ServiceResponse<BoxBody>>>>>;

    /// The contract's routes on actix-web, behind the layer as its middleware.
    pub struct Actix(Call);

    /// `service`, called through a box (its type cannot be named).
    fn boxed<S, B>(service: S) -> Actix
    where
        S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
        B: MessageBody + 'static,
    {
        let service = Rc::new(service);
        Actix(Box::new(move |request| {
            let service = Rc::clone(&service);
            Box::pin(async move { test::call_service(&*service, request).await.map_into_boxed_body() })
        }))
    }

    async fn sign_in_route(mut account: TypedSession<Account>, mut cart: TypedSession<Cart>) -> HttpResponse {
        sign_in(&mut account, &mut cart);
        HttpResponse::Ok().body("ok")
    }

    async fn sign_in_cart_first(
        mut cart: TypedSession<Cart>,
        mut account: TypedSession<Account>,
    ) -> HttpResponse {
        sign_in(&mut account, &mut cart);
        HttpResponse::Ok().body("ok")
    }

    async fn fail_after_change(mut account: TypedSession<Account>) -> HttpResponse {
        account.user = Some(7);
        HttpResponse::InternalServerError().finish()
    }

    async fn no_session() -> HttpResponse {
        HttpResponse::Ok().body("no session here")
    }

    async fn twice(_first: TypedSession<Account>, _second: TypedSession<Account>) -> HttpResponse {
        HttpResponse::Ok().body("unreachable")
    }

    async fn whoami(mut account: TypedSession<Account>) -> HttpResponse {
        HttpResponse::Ok().body(who(&mut account))
    }

    async fn sign_out(mut account: TypedSession<Account>) -> HttpResponse {
        account.destroy();
        HttpResponse::Ok().finish()
    }

    async fn own_answer(account: Result<TypedSession<Account>, SessionError>) -> HttpResponse {
        match account {
            Ok(_) => HttpResponse::Ok().finish(),
            Err(error) => {
                let status = actix_web::http::StatusCode::from_u16(error.status().as_u16()).unwrap();
                HttpResponse::build(status).body(OWN_ANSWER)
            }
        }
    }

    async fn own_cache_headers(mut cart: TypedSession<Cart>) -> HttpResponse {
        cart.items.push(2);
        HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-cache"))
            .insert_header((header::VARY, "Accept-Encoding"))
            .body("mine")
    }

    async fn devices<St: Store>(store: web::Data<St>) -> Result<String, OwnersError> {
        count_devices(&**store).await
    }

    fn routes(config: &mut web::ServiceConfig) {
        config
            .route("/sign-in", web::get().to(sign_in_route))
            .route("/sign-in-cart-first", web::get().to(sign_in_cart_first))
            .route("/fail", web::get().to(fail_after_change))
            .route("/plain", web::get().to(no_session))
            .route("/twice", web::get().to(twice))
            .route("/whoami", web::get().to(whoami))
            .route("/sign-out", web::get().to(sign_out))
            .route("/own-answer", web::get().to(own_answer))
            .route("/own-cache", web::get().to(own_cache_headers));
    }

    impl Framework for Actix {
        async fn serve(layer: Option<SessionLayer>) -> Self {
            match layer {
                Some(layer) => boxed(test::init_service(App::new().wrap(layer).configure(routes)).await),
                None => boxed(test::init_service(App::new().configure(routes)).await),
            }
        }

        async fn devices<St: Store + Clone>(store: St) -> Self {
            let app = App::new()
                .app_data(web::Data::new(store))
                .route("/devices", web::get().to(devices::<St>));
            boxed(test::init_service(app).await)
        }

        async fn get(&self, path: &str, cookie: Option<&[u8]>) -> Answer {
            let mut request = test::TestRequest::get().uri(path);
            if let Some(cookie) = cookie {
                request = request.insert_header((header::COOKIE, HeaderValue::from_bytes(cookie).unwrap()));
            }
            let response = (self.0)(request.to_request()).await;
            let headers = response.headers();
            let text = |value: &HeaderValue| value.to_str().unwrap().to_owned();
            let one = |name| headers.get(name).map(text);
            let (retry_after, location) = (one(header::RETRY_AFTER), one(header::LOCATION));
            let cache_control = one(header::CACHE_CONTROL);
            let vary = headers.get_all(header::VARY).map(text).collect();
            let cookies = (headers.get_all(header::SET_COOKIE))
                .map(|line| text(line).split(';').next().unwrap().to_owned())
                .collect();
            let status = StatusCode::from_u16(response.status().as_u16()).unwrap();
            let body = test::read_body(response).await;
            Answer {
                status,
                cookies,
                retry_after,
                location,
                vary,
                cache_control,
                body: String::from_utf8(body.to_vec()).unwrap(),
            }
        }
    }
}

use actix_harness::Actix;
use axum_harness::Axum;

sessions_tests::framework_contract!(on_axum: Axum, #[tokio::test]);
sessions_tests::framework_contract!(on_actix: Actix, #[actix_web::test]);
