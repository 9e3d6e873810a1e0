//! Any owned serde type can be a field: std types, nested structs, enums, maps, and a `Cow<'static, _>`
//! (it decodes owned).
use serde::{Deserialize, Serialize};
use sessions::Session;
use std::borrow::Cow;
use std::collections::BTreeMap;

#[derive(Serialize, Deserialize, Default, Clone, PartialEq, Debug)]
enum Theme {
    #[default]
    Light,
    Dark,
}

#[derive(Serialize, Deserialize, Default, Clone, PartialEq, Debug)]
struct Line {
    sku: u32,
    quantity: u16,
}

#[derive(Session, Default)]
struct Shop {
    theme: Theme,
    lines: Vec<Line>,
    seen: BTreeMap<String, u64>,
    pair: (u8, bool),
    ratio: f64,
    label: Cow<'static, str>,
    name: Box<str>,
}

#[test]
fn compiles_and_runs() {
    assert_eq!(Shop::FIELDS.len(), 7);
    let _ = Shop {
        theme: Theme::Dark,
        lines: vec![Line::default()],
        ..Shop::default()
    };
}
