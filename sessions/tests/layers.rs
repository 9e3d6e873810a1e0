//! The crate's files import one another in one direction only: no file reaches, through the
//! `crate::` paths it uses, a file that uses it back. CONTRIBUTING.md ("How it fits together") lists the
//! layers this keeps. Re-exports (`pub use`) and `mod` declarations are structure, not use, and
//! `#[cfg(test)] mod tests` may reach anywhere.

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

/// The `crate::` paths a file's code uses: its `use crate::...;` items, braces expanded, and the
/// paths written inline (`crate::codec::seal::open(`), leaving out comments, `pub use` and tests.
fn used_paths(text: &str) -> Vec<String> {
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
    while let Some(at) = rest.find("crate::") {
        let before = &rest[..at];
        let statement_start = before.rfind(['\n', ';', '{', '}']).map_or(0, |i| i + 1);
        let statement = before[statement_start..].trim_start();
        let after = &rest[at + "crate::".len()..];
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

#[test]
fn no_file_uses_a_file_that_uses_it_back() {
    let files = sources();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (name, text) in &files {
        let targets = used_paths(text)
            .iter()
            .filter_map(|path| {
                let segments: Vec<&str> = path
                    .split("::")
                    .filter(|s| !s.is_empty() && *s != "self")
                    .collect();
                file_of(&segments, &files)
            })
            .filter(|target| target != name && target != "lib.rs")
            .collect();
        edges.insert(name.clone(), targets);
    }
    assert!(
        edges["store/cookie.rs"].contains("loaded.rs"),
        "the scan sees `use` items: {:?}",
        edges["store/cookie.rs"]
    );

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
