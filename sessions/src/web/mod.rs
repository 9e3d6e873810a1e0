//! Sessions per request, for web frameworks: `request.rs`, the framework-neutral core; `caches.rs`,
//! what a response that used a session tells shared caches; and one adapter per framework
//! (`tower.rs`, public as `sessions::layer`; `axum.rs`; `actix.rs`), each only translating.

pub(crate) mod caches;
pub(crate) mod request;
