//! The part of a WGSL module one entry point needs.
//!
//! A shader file holds many kernels (the convolution files hold dozens, most of them large
//! unrolled ones), and a pipeline needs one. Parsing, validating and translating the whole
//! file for each pipeline, or once for all of them, costs time in proportion to the file; the
//! slice of [`slice`] holds only the module-scope declarations the entry point reaches, so each
//! pipeline's module is small and the modules of a model's pipelines are made in parallel.
//!
//! This is a scanner, not a parser: it splits the source into module-scope declarations by
//! their punctuation (an `fn` or `struct` ends at its closing brace, anything else at its
//! semicolon; comments skipped) and follows identifiers. A local variable named like a
//! module-scope declaration only makes the slice larger; anything it cannot split makes it
//! return `None`, and the caller uses the whole source.

use std::collections::HashMap;

/// One module-scope declaration.
struct Item<'a> {
    text: &'a str,
    /// The declared name (`None` for directives such as `enable f16;`).
    name: Option<&'a str>,
    /// A `@compute` entry point.
    entry: bool,
}

/// The declarations of `source` that `entries` reach, in source order, with every directive
/// (`enable`, `requires`, `diagnostic`). `None` when an entry point is missing or the source
/// has a declaration the scanner does not know.
pub(crate) fn slice(source: &str, entries: &[&str]) -> Option<String> {
    let items = split(source)?;
    let by_name: HashMap<&str, usize> = items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| item.name.map(|n| (n, i)))
        .collect();
    let mut keep = vec![false; items.len()];
    let mut pending = Vec::new();
    for entry in entries {
        let i = *by_name.get(entry)?;
        if !items[i].entry {
            return None;
        }
        pending.push(i);
    }
    for (i, item) in items.iter().enumerate() {
        if item.name.is_none() {
            pending.push(i);
        }
    }
    while let Some(i) = pending.pop() {
        if std::mem::replace(&mut keep[i], true) {
            continue;
        }
        for word in identifiers(items[i].text) {
            if let Some(&j) = by_name.get(word) {
                if !keep[j] {
                    pending.push(j);
                }
            }
        }
    }
    let mut out = String::with_capacity(source.len() / 4);
    for (item, _) in items.iter().zip(&keep).filter(|(_, &k)| k) {
        out.push_str(item.text);
        out.push('\n');
    }
    Some(out)
}

/// Splits `source` into its module-scope declarations.
fn split(source: &str) -> Option<Vec<Item<'_>>> {
    let bytes = source.as_bytes();
    let mut items = Vec::new();
    let mut pos = skip_blank(bytes, 0)?;
    while pos < bytes.len() {
        let start = pos;
        let mut entry = false;
        while bytes.get(pos) == Some(&b'@') {
            let (attribute, after) = identifier_at(source, pos + 1)?;
            entry |= attribute == "compute";
            pos = skip_blank(bytes, after)?;
            if bytes.get(pos) == Some(&b'(') {
                pos = skip_blank(bytes, matching(bytes, pos)?)?;
            }
        }
        let (keyword, after) = identifier_at(source, pos)?;
        let (name, end) = match keyword {
            "fn" | "struct" => {
                let (name, after_name) = identifier_at(source, skip_blank(bytes, after)?)?;
                let open = find_top_level(bytes, after_name, b'{')?;
                let mut end = matching(bytes, open)?;
                let next = skip_blank(bytes, end)?;
                if bytes.get(next) == Some(&b';') {
                    end = next + 1;
                }
                (Some(name), end)
            }
            "var" => {
                let mut at = skip_blank(bytes, after)?;
                if bytes.get(at) == Some(&b'<') {
                    at = skip_blank(bytes, matching(bytes, at)?)?;
                }
                let (name, after_name) = identifier_at(source, at)?;
                (Some(name), find_top_level(bytes, after_name, b';')? + 1)
            }
            "const" | "override" | "alias" => {
                let (name, after_name) = identifier_at(source, skip_blank(bytes, after)?)?;
                (Some(name), find_top_level(bytes, after_name, b';')? + 1)
            }
            "enable" | "requires" | "diagnostic" | "const_assert" => {
                (None, find_top_level(bytes, after, b';')? + 1)
            }
            _ => return None,
        };
        items.push(Item {
            text: &source[start..end],
            name,
            entry,
        });
        pos = skip_blank(bytes, end)?;
    }
    Some(items)
}

/// The position after whitespace and comments from `pos` (`None`: an unclosed comment).
fn skip_blank(bytes: &[u8], mut pos: usize) -> Option<usize> {
    loop {
        pos = skip_comments(bytes, pos)?;
        match bytes.get(pos) {
            Some(b) if b.is_ascii_whitespace() => pos += 1,
            _ => return Some(pos),
        }
    }
}

/// The position after the (nested) block comment opening at `pos`.
fn block_comment_end(bytes: &[u8], mut pos: usize) -> Option<usize> {
    let mut depth = 0usize;
    while pos < bytes.len() {
        match bytes.get(pos..pos + 2) {
            Some(b"/*") => {
                depth += 1;
                pos += 2;
            }
            Some(b"*/") => {
                depth -= 1;
                pos += 2;
                if depth == 0 {
                    return Some(pos);
                }
            }
            _ => pos += 1,
        }
    }
    None
}

fn is_identifier_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The identifier starting at `pos` and the position after it.
fn identifier_at(source: &str, pos: usize) -> Option<(&str, usize)> {
    let bytes = source.as_bytes();
    let first = *bytes.get(pos)?;
    if !(first.is_ascii_alphabetic() || first == b'_') {
        return None;
    }
    let len = bytes[pos..]
        .iter()
        .position(|&b| !is_identifier_byte(b))
        .unwrap_or(bytes.len() - pos);
    Some((&source[pos..pos + len], pos + len))
}

/// The position after the bracket matching the one at `open` (`(`, `{`, `[` or `<`), skipping
/// comments. Inside `<...>` (a `var`'s address space) only `>` closes.
fn matching(bytes: &[u8], open: usize) -> Option<usize> {
    let close = match bytes.get(open)? {
        b'(' => b')',
        b'{' => b'}',
        b'[' => b']',
        b'<' => b'>',
        _ => return None,
    };
    let opener = bytes[open];
    let mut depth = 0usize;
    let mut pos = open;
    while pos < bytes.len() {
        pos = skip_comments(bytes, pos)?;
        let Some(&b) = bytes.get(pos) else { break };
        if b == opener {
            depth += 1;
        } else if b == close {
            depth -= 1;
            if depth == 0 {
                return Some(pos + 1);
            }
        }
        pos += 1;
    }
    None
}

/// The position of the first `target` from `pos` outside parentheses, brackets and comments.
fn find_top_level(bytes: &[u8], mut pos: usize, target: u8) -> Option<usize> {
    let mut depth = 0usize;
    while pos < bytes.len() {
        pos = skip_comments(bytes, pos)?;
        let b = *bytes.get(pos)?;
        if depth == 0 && b == target {
            return Some(pos);
        }
        match b {
            b'(' | b'[' => depth += 1,
            b')' | b']' => depth = depth.checked_sub(1)?,
            _ => {}
        }
        pos += 1;
    }
    None
}

/// `pos`, or the position after the comments starting there.
fn skip_comments(bytes: &[u8], mut pos: usize) -> Option<usize> {
    loop {
        match bytes.get(pos..pos + 2) {
            Some(b"//") => {
                pos = bytes[pos..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(bytes.len(), |n| pos + n);
            }
            Some(b"/*") => pos = block_comment_end(bytes, pos)?,
            _ => return Some(pos),
        }
    }
}

/// The identifiers in `text`, outside comments (with repeats).
fn identifiers(text: &str) -> impl Iterator<Item = &str> {
    let bytes = text.as_bytes();
    let mut pos = 0;
    std::iter::from_fn(move || {
        while pos < bytes.len() {
            pos = skip_comments(bytes, pos)?;
            let b = *bytes.get(pos)?;
            if b.is_ascii_alphabetic() || b == b'_' {
                let (word, after) = identifier_at(text, pos)?;
                pos = after;
                return Some(word);
            }
            if b.is_ascii_digit() {
                // A number's suffix (`1u`, `0x7fu`, `2.5e3f`) is not an identifier.
                while bytes
                    .get(pos)
                    .is_some_and(|&b| is_identifier_byte(b) || b == b'.')
                {
                    pos += 1;
                }
                continue;
            }
            pos += 1;
        }
        None
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = "enable f16;
alias T = f32;
// helpers { with a brace in a comment
const SCALE: f32 = 2.0;
const TABLE = array<u32, 2>(1u, 2u);
struct Params { n: u32, /* } */ scale: f32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> data: array<T>;
@group(0) @binding(2) var<storage, read_write> unused_buffer: array<T>;
fn twice(x: T) -> T { return x * T(SCALE); }
fn never_called() -> u32 { return TABLE[0]; }
@compute @workgroup_size(64)
fn first(@builtin(global_invocation_id) gid: vec3<u32>) {
    if gid.x < params.n { data[gid.x] = twice(data[gid.x]); } // never_called
}
@compute @workgroup_size(64) fn second() { _ = TABLE[1]; _ = unused_buffer[0]; }
";

    #[test]
    fn keeps_what_the_entry_reaches_and_every_directive() {
        let s = slice(SOURCE, &["first"]).expect("slices");
        for kept in [
            "enable f16;",
            "alias T",
            "SCALE",
            "struct Params",
            "var<uniform> params",
        ] {
            assert!(s.contains(kept), "{kept} missing from\n{s}");
        }
        for dropped in ["unused_buffer", "fn never_called", "TABLE", "fn second"] {
            assert!(!s.contains(dropped), "{dropped} kept in\n{s}");
        }
        // What is kept still parses, and has exactly the one entry point.
        let module = naga::front::wgsl::parse_str(&s).expect("the slice parses");
        assert_eq!(module.entry_points.len(), 1);
        let second = slice(SOURCE, &["second"]).expect("slices");
        assert!(second.contains("const TABLE") && second.contains("unused_buffer"));
        assert!(!second.contains("fn twice") && !second.contains("var<uniform>"));
    }

    #[test]
    fn refuses_missing_entries_and_unknown_declarations() {
        assert!(slice(SOURCE, &["third"]).is_none());
        assert!(slice(SOURCE, &["twice"]).is_none(), "not an entry point");
        assert!(slice("fn f() { ", &[]).is_none(), "unclosed body");
        assert!(slice("/* open comment", &[]).is_none());
        assert!(slice("something f;", &[]).is_none());
        assert_eq!(slice("", &[]).as_deref(), Some(""));
    }
}
