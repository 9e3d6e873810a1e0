//! The crate's files import one another in one direction only: each file uses files of its own
//! layer or of layers below it, as CONTRIBUTING.md ("How it fits together") lists them, and no file
//! reaches a file that uses it back. Uses are the `crate::`, `super::` and `self::` paths a file's
//! code names; re-exports (`pub use`) and `mod` declarations are structure, not use, and
//! `#[cfg(test)]` code may reach anywhere.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Every `.rs` file under `src/`, by its path there (`codec/seal.rs`), with its text.
fn sources() -> BTreeMap<String, String> {
    fn walk(dir: &Path, root: &Path, out: &mut BTreeMap<String, String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, root, out);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                let name = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.insert(name, std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = BTreeMap::new();
    walk(&root, &root, &mut out);
    out
}

/// The file that defines module path `path` (`["codec", "seal", "Binding"]`): the longest prefix
/// that names a file.
fn file_of(path: &[&str], files: &BTreeMap<String, String>) -> Option<String> {
    (1..=path.len()).rev().find_map(|n| {
        let joined = path[..n].join("/");
        [format!("{joined}.rs"), format!("{joined}/mod.rs")]
            .into_iter()
            .find(|candidate| files.contains_key(candidate))
    })
}

/// The module path of the file `name` (`store/server/mod.rs` is `store::server`).
fn module_of(name: &str) -> Vec<String> {
    let mut path: Vec<String> = name
        .trim_end_matches(".rs")
        .split('/')
        .map(str::to_owned)
        .collect();
    if path.last().is_some_and(|last| last == "mod" || last == "lib") {
        path.pop();
    }
    path
}

/// The crate paths the file `name`'s code uses, absolute (without `crate::`): its `crate::`
/// paths, and its `super::` and `self::` paths resolved from where the file is.
fn used_paths(name: &str, text: &str) -> Vec<String> {
    let module = module_of(name);
    let mut paths = prefixed_paths(text, "crate::");
    for (prefix, up) in [("super::", 1), ("self::", 0)] {
        for path in prefixed_paths(text, prefix) {
            // `super::super::x`: one level up per `super`.
            let mut up = up;
            let mut rest = path.as_str();
            while let Some(tail) = rest.strip_prefix("super::") {
                up += 1;
                rest = tail;
            }
            let Some(depth) = module.len().checked_sub(up) else {
                continue;
            };
            let mut absolute = module[..depth].to_vec();
            absolute.push(rest.to_owned());
            paths.push(absolute.join("::"));
        }
    }
    paths
}

/// The paths after `prefix` in `text`'s code: its `use PREFIX...;` items, braces expanded, and the
/// paths written inline (`crate::codec::seal::open(`), leaving out comments, `pub use` and tests.
fn prefixed_paths(text: &str, prefix: &str) -> Vec<String> {
    let code: String = text
        .split("\n#[cfg(test)]\nmod tests")
        .next()
        .unwrap()
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut paths = Vec::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find(prefix) {
        let before = &rest[..at];
        let statement_start = before.rfind(['\n', ';', '{', '}']).map_or(0, |i| i + 1);
        let statement = before[statement_start..].trim_start();
        let after = &rest[at + prefix.len()..];
        if statement.starts_with("use ") {
            let end = after.find(';').unwrap_or(after.len());
            expand(
                "",
                &after[..end].split_whitespace().collect::<String>(),
                &mut paths,
            );
            rest = &after[end..];
        } else if statement.starts_with("pub use ") || statement.starts_with("pub(crate) use ") {
            let end = after.find(';').unwrap_or(after.len());
            rest = &after[end..];
        } else {
            let end = after
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(after.len());
            paths.push(after[..end].trim_end_matches(':').to_owned());
            rest = &after[end..];
        }
    }
    paths
}

/// `a::{b, c::{d, e}}` as `a::b`, `a::c::d`, `a::c::e`.
fn expand(prefix: &str, tree: &str, out: &mut Vec<String>) {
    let Some(open) = tree.find('{') else {
        out.push(format!("{prefix}{}", tree.split(" as ").next().unwrap()));
        return;
    };
    let inner = &tree[open + 1..tree.rfind('}').unwrap()];
    let (mut depth, mut start) = (0, 0);
    for (i, c) in inner.char_indices().chain([(inner.len(), ',')]) {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                let part = &inner[start..i];
                if !part.is_empty() {
                    expand(&format!("{prefix}{}", &tree[..open]), part, out);
                }
                start = i + 1;
            }
            _ => {}
        }
    }
}

/// Files only `#[cfg(test)]` code declares: they may reach anywhere, as tests do.
const TEST_ONLY: &[&str] = &["codec/golden.rs"];

/// The layers of CONTRIBUTING.md ("How it fits together"), one line a layer, bottom up: its number,
/// then its files and folders (ending in `/`). A file's layer is that of the longest path here its
/// path starts with.
const LAYERS: &[&str] = &[
    "0 config.rs key.rs clock.rs random.rs error.rs stats.rs",
    "1 headers.rs",
    "2 codec/",
    "3 field.rs session.rs prepared.rs owner/ codec/reserved.rs",
    "4 codec/snapshot.rs",
    "5 loaded.rs",
    "6 store/",
    "7 web/mod.rs web/request.rs web/caches.rs",
    "8 web/tower.rs web/axum.rs web/actix.rs",
    "9 lib.rs private.rs fuzz.rs",
];

/// The layer of the file `name`, if the table lists it.
fn layer_of(name: &str) -> Option<u8> {
    LAYERS
        .iter()
        .flat_map(|line| {
            let mut words = line.split(' ');
            let layer: u8 = words.next().and_then(|n| n.parse().ok()).expect("a layer number");
            words.map(move |path| (layer, path))
        })
        .filter(|(_, path)| name == *path || (path.ends_with('/') && name.starts_with(path)))
        .max_by_key(|(_, path)| path.len())
        .map(|(layer, _)| layer)
}

/// Which files each file uses, by the paths its code names (see [`used_paths`]).
fn uses(files: &BTreeMap<String, String>) -> BTreeMap<String, BTreeSet<String>> {
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (name, text) in files {
        let targets = used_paths(name, text)
            .iter()
            .filter_map(|path| {
                let segments: Vec<&str> = path
                    .split("::")
                    .filter(|s| !s.is_empty() && *s != "self")
                    .collect();
                file_of(&segments, files)
            })
            .filter(|target| target != name && target != "lib.rs")
            .collect();
        edges.insert(name.clone(), targets);
    }
    edges
}

/// Which files each file of the crate uses, once checked that the scan sees the use of `used` by
/// `user`, made with `how`: a scan that missed it would find no fault, and prove nothing.
fn uses_seen((user, used): (&str, &str), how: &str) -> BTreeMap<String, BTreeSet<String>> {
    let edges = uses(&sources());
    assert!(
        edges[user].contains(used),
        "the scan sees {how}: {:?}",
        edges[user]
    );
    edges
}

#[test]
fn each_file_uses_only_files_of_its_own_layer_or_below() {
    let edges = uses_seen(
        ("store/backends/fs/owners.rs", "store/backends/fs/mod.rs"),
        "`super::` paths",
    );
    let mut upward = Vec::new();
    for (name, targets) in &edges {
        let Some(layer) = layer_of(name) else {
            panic!("`{name}` is in no layer: add it to LAYERS here and to CONTRIBUTING.md");
        };
        if TEST_ONLY.contains(&name.as_str()) {
            continue;
        }
        for target in targets {
            let target_layer = layer_of(target).unwrap_or(u8::MAX);
            if target_layer > layer {
                upward.push(format!(
                    "{name} (layer {layer}) uses {target} (layer {target_layer})"
                ));
            }
        }
    }
    assert!(
        upward.is_empty(),
        "uses of a higher layer:\n{}",
        upward.join("\n")
    );
}

#[test]
fn no_file_uses_a_file_that_uses_it_back() {
    let edges = uses_seen(("store/cookie/mod.rs", "loaded.rs"), "`use` items");

    // Depth-first search; a file met again while still on the path closes a cycle.
    fn visit<'a>(
        file: &'a str,
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|&f| f == file) {
            let mut cycle: Vec<String> = path[at..].iter().map(|f| f.to_string()).collect();
            cycle.push(file.to_owned());
            return Some(cycle);
        }
        if !done.insert(file) {
            return None;
        }
        path.push(file);
        for next in edges.get(file).into_iter().flatten() {
            if let Some(cycle) = visit(next, edges, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    for file in edges.keys() {
        if let Some(cycle) = visit(file, &edges, &mut Vec::new(), &mut done) {
            panic!("an import cycle: {}", cycle.join(" -> "));
        }
    }
}
