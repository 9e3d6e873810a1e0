//! Compile-pass cases for `#[derive(Session)]`: each module is a small program a user could
//! write, built by cargo like any test, and its `compiles_and_runs` test checks what the derive
//! generated. The compile-fail cases are in `tests/ui/`, run by trybuild.

mod cookie_prefixes;
mod declared_by_a_macro;
mod defaults;
mod durations;
mod every_option;
mod field_types;
mod flash_fields;
mod framework_imports;
mod hygiene;
mod owners;
mod plain_http_development;
mod serde_view;
mod stored_names;
mod strict_lints;
