//! `#[derive(Session)]` for the `sessions` crate. Use it through `sessions`, which re-exports it and
//! documents the options; this crate only reads the input, checks it, and generates code that calls
//! `::sessions::__private`.
//!
//! Reading is `attr.rs` (attributes to values, each checked alone) and `ast.rs` (the struct's model,
//! each field checked alone), rules spanning several attributes or fields are `check.rs`, generation
//! is `expand.rs`, and `fallback.rs` is the impl emitted beside errors. Every mistake is collected in a
//! `Ctxt` and reported in one build.

mod ast;
mod attr;
mod check;
mod ctxt;
mod duration;
mod expand;
mod fallback;
mod suggest;
mod symbol;
mod tag;

use proc_macro::TokenStream;
use syn::{DeriveInput, parse_macro_input};

/// Derives `sessions::Session`; see the `sessions` crate for the attributes.
#[proc_macro_derive(Session, attributes(session, flash, max_age, owner, listed))]
pub fn derive_session(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::derive(&input).into()
}
