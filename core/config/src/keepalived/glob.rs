//! The subset of glob(3) that keepalived's `include` uses: `*`, `?`,
//! `[...]` and `{a,b}` (GLOB_BRACE), results sorted per brace alternative.
//! Written here rather than pulled in because the common crates do not
//! expand braces.

use std::path::{Path, PathBuf};

/// At most this many brace alternatives: a hostile pattern cannot blow up.
const MAX_ALTERNATIVES: usize = 256;

/// Whether `s` has a wildcard (`*`, `?`, `[`) outside braces' syntax.
pub(crate) fn has_wildcard(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Expand `{a,b}` alternatives, left to right, as GLOB_BRACE does.
pub(crate) fn expand_braces(p: &str) -> Vec<String> {
    let mut out = Vec::new();
    expand_into(p, &mut out);
    out
}

fn expand_into(p: &str, out: &mut Vec<String>) {
    if out.len() >= MAX_ALTERNATIVES {
        return;
    }
    let Some((open, close, parts)) = first_group(p) else {
        out.push(p.to_string());
        return;
    };
    let (pre, post) = (&p[..open], &p[close + 1..]);
    for part in parts {
        expand_into(&format!("{pre}{part}{post}"), out);
    }
}

/// The first `{...}` holding a top-level comma: (open, close, alternatives).
fn first_group(p: &str) -> Option<(usize, usize, Vec<&str>)> {
    let b = p.as_bytes();
    let mut start = 0;
    while let Some(rel) = p.get(start..)?.find('{') {
        let open = start + rel;
        let mut depth = 0usize;
        let mut commas = Vec::new();
        let mut close = None;
        for (i, &c) in b.iter().enumerate().skip(open) {
            match c {
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        close = Some(i);
                        break;
                    }
                }
                b',' if depth == 1 => commas.push(i),
                _ => {}
            }
        }
        let close = close?;
        if !commas.is_empty() {
            let mut parts = Vec::new();
            let mut from = open + 1;
            for c in commas {
                parts.push(&p[from..c]);
                from = c + 1;
            }
            parts.push(&p[from..close]);
            return Some((open, close, parts));
        }
        start = open + 1;
    }
    None
}

/// Paths matching `pattern` (already joined to a directory if relative).
/// Entries starting with `.` match only a pattern that starts with `.`.
pub(crate) fn glob(pattern: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for alt in expand_braces(pattern) {
        let absolute = alt.starts_with('/');
        let mut current: Vec<PathBuf> = vec![if absolute {
            PathBuf::from("/")
        } else {
            PathBuf::new()
        }];
        for comp in alt.split('/').filter(|c| !c.is_empty()) {
            let mut next = Vec::new();
            for base in &current {
                if !has_wildcard(comp) {
                    next.push(base.join(comp));
                    continue;
                }
                let dir: &Path = if base.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    base
                };
                let Ok(entries) = std::fs::read_dir(dir) else {
                    continue;
                };
                let mut names: Vec<String> = entries
                    .filter_map(|e| e.ok())
                    .filter_map(|e| e.file_name().into_string().ok())
                    .filter(|n| (!n.starts_with('.') || comp.starts_with('.')) && fnmatch(comp, n))
                    .collect();
                names.sort();
                next.extend(names.into_iter().map(|n| base.join(n)));
            }
            current = next;
        }
        out.extend(current.into_iter().filter(|p| p.exists()));
    }
    out
}

/// fnmatch(3) without flags on one path component.
pub(crate) fn fnmatch(pat: &str, name: &str) -> bool {
    let p: Vec<char> = pat.chars().collect();
    let n: Vec<char> = name.chars().collect();
    matches(&p, &n)
}

fn matches(p: &[char], n: &[char]) -> bool {
    // Iterative with one backtrack point for `*`: linear-ish, no recursion blowup.
    let (mut pi, mut ni) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        let step = match p.get(pi) {
            Some('*') => {
                star = Some((pi, ni));
                pi += 1;
                continue;
            }
            Some('?') => Some(1),
            Some('[') => class(&p[pi..], n[ni]).and_then(|(ok, len)| ok.then_some(len)),
            Some('\\') if pi + 1 < p.len() => (p[pi + 1] == n[ni]).then_some(2),
            Some(c) => (*c == n[ni]).then_some(1),
            None => None,
        };
        match step {
            Some(len) => {
                pi += len;
                ni += 1;
            }
            None => match star {
                Some((sp, sn)) => {
                    pi = sp + 1;
                    ni = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    p[pi.min(p.len())..].iter().all(|c| *c == '*')
}

/// Match a `[...]` class at the start of `p`: (matched, length of the class).
/// An unterminated `[` is a literal.
fn class(p: &[char], c: char) -> Option<(bool, usize)> {
    scan_class(p, c).or(Some((c == '[', 1)))
}

fn scan_class(p: &[char], c: char) -> Option<(bool, usize)> {
    let mut i = 1;
    let negate = matches!(p.get(1), Some('!') | Some('^'));
    if negate {
        i += 1;
    }
    let mut hit = false;
    let mut first = true;
    loop {
        let ch = *p.get(i)?;
        if ch == ']' && !first {
            return Some((hit != negate, i + 1));
        }
        first = false;
        if p.get(i + 1) == Some(&'-') && p.get(i + 2).is_some_and(|e| *e != ']') {
            let end = *p.get(i + 2)?;
            if ch <= c && c <= end {
                hit = true;
            }
            i += 3;
        } else {
            if ch == c {
                hit = true;
            }
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn braces() {
        assert_eq!(expand_braces("a/{b,c}.conf"), ["a/b.conf", "a/c.conf"]);
        assert_eq!(
            expand_braces("/{x,y}/{1,2}"),
            ["/x/1", "/x/2", "/y/1", "/y/2"]
        );
        assert_eq!(expand_braces("{a,{b,c}}"), ["a", "b", "c"]);
        assert_eq!(expand_braces("no{brace}s"), ["no{brace}s"]);
        assert_eq!(expand_braces("open{a,b"), ["open{a,b"]);
        assert!(expand_braces(&"{a,b}".repeat(20)).len() <= MAX_ALTERNATIVES);
    }

    #[test]
    fn wildcards() {
        assert!(fnmatch("*.conf", "a.conf"));
        assert!(!fnmatch("*.conf", "a.cnf"));
        assert!(fnmatch("a?c", "abc"));
        assert!(fnmatch("[a-c]x", "bx"));
        assert!(!fnmatch("[!a-c]x", "bx"));
        assert!(fnmatch("*", ""));
        assert!(fnmatch("a*b*c", "aXXbYYc"));
        assert!(!fnmatch("a*b*c", "aXXbYY"));
        assert!(fnmatch("[", "["));
        assert!(fnmatch("\\*", "*"));
        assert!(!fnmatch("\\*", "x"));
    }
}
