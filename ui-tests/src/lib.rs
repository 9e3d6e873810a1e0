//! Compile-fail and compile-pass cases for `#[derive(Session)]` live in `tests/`.
