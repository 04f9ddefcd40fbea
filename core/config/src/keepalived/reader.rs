//! keepalived's configuration language, read as keepalived reads it
//! (`lib/parser.c`): comments start at `#` or `!` outside double quotes,
//! `{` and `}` are tokens of their own even when glued to a word, `"..."`
//! makes one token, `include` splices files in (glob, braces, relative to
//! the including file), `@id` lines are conditional, and `$NAME=value`
//! definitions are substituted.
//!
//! The output is a tree of [`Node`]s (keyword, arguments, optional block),
//! each with the file and line it came from.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::glob;
use super::{ImportError, ImportOptions, Problem, Unsupported};

/// Where a token came from: an index into [`Reader::files`] and a 1-based line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Loc {
    pub file: usize,
    pub line: usize,
}

/// A statement: `keyword args...` and, if a `{` followed, its block.
#[derive(Debug)]
pub(crate) struct Node {
    pub loc: Loc,
    pub words: Vec<String>,
    pub block: Option<Vec<Node>>,
}

impl Node {
    pub fn keyword(&self) -> &str {
        self.words.first().map_or("", String::as_str)
    }
    pub fn arg(&self, i: usize) -> Option<&str> {
        self.words.get(i + 1).map(String::as_str)
    }
}

#[derive(Debug)]
enum Piece {
    Words(Vec<String>),
    Open,
    Close,
}

/// Files deeper than this are refused: an include chain that long is a loop
/// the canonical-path check could not see (e.g. through /proc).
const MAX_INCLUDE_DEPTH: usize = 32;
/// Blocks nested deeper than this are refused rather than recursed into.
const MAX_BLOCK_DEPTH: usize = 64;
/// Substitution passes per line, and nesting of multi-line definitions:
/// `$A=$A` must not spin forever.
const MAX_SUBSTITUTIONS: usize = 16;
/// Lines processed in all, counting includes and expansions: definitions
/// that use each other several times would otherwise grow exponentially.
const MAX_LINES: usize = 200_000;

pub(crate) struct Reader<'o> {
    opts: &'o ImportOptions,
    /// Every file read, as named (the top file as given, includes as resolved).
    pub files: Vec<PathBuf>,
    pieces: Vec<(Loc, Piece)>,
    pub problems: Vec<Problem>,
    pub unsupported: Vec<Unsupported>,
    defs: HashMap<String, String>,
    /// Canonical paths of the files being read, for loop detection.
    stack: Vec<PathBuf>,
    /// Multi-line definitions: their lines, expanded where `$NAME` stands
    /// alone on a line.
    multi: HashMap<String, Vec<String>>,
    /// The multi-line definition whose body is being read.
    collecting: Option<String>,
    /// Nesting of multi-line expansions.
    expanding: usize,
    /// Lines processed so far (see [`MAX_LINES`]).
    lines: usize,
}

impl<'o> Reader<'o> {
    pub fn new(opts: &'o ImportOptions) -> Self {
        Reader {
            opts,
            files: Vec::new(),
            pieces: Vec::new(),
            problems: Vec::new(),
            unsupported: Vec::new(),
            defs: HashMap::new(),
            stack: Vec::new(),
            multi: HashMap::new(),
            collecting: None,
            expanding: 0,
            lines: 0,
        }
    }

    pub fn problem(&mut self, loc: Loc, message: impl Into<String>) {
        self.problems.push(Problem {
            file: self.files.get(loc.file).cloned().unwrap_or_default(),
            line: loc.line,
            message: message.into(),
        });
    }

    fn unsupported(&mut self, loc: Loc, keyword: &str, note: impl Into<String>) {
        self.unsupported.push(Unsupported {
            file: self.files.get(loc.file).cloned().unwrap_or_default(),
            line: loc.line,
            keyword: keyword.to_string(),
            note: note.into(),
        });
    }

    /// Read the top-level file.
    pub fn read_top(&mut self, path: &Path) -> Result<(), ImportError> {
        let bytes = std::fs::read(path).map_err(|source| ImportError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        self.read_bytes(path, &bytes);
        Ok(())
    }

    /// Read `text` as if it were the file `path` (includes still resolve
    /// relative to `path`'s directory).
    pub fn read_text(&mut self, path: &Path, text: &str) {
        self.read_bytes(path, text.as_bytes());
    }

    fn read_bytes(&mut self, path: &Path, bytes: &[u8]) {
        let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        self.stack.push(canonical);
        let file = self.files.len();
        self.files.push(path.to_path_buf());
        // keepalived reads bytes; comments are often not UTF-8 (GBK, Latin-1).
        let text = String::from_utf8_lossy(bytes);
        for (i, raw) in text.split('\n').enumerate() {
            let loc = Loc { file, line: i + 1 };
            self.line(loc, raw.trim_end_matches('\r'));
        }
        self.stack.pop();
    }

    fn line(&mut self, loc: Loc, raw: &str) {
        self.lines += 1;
        if self.lines > MAX_LINES {
            if self.lines == MAX_LINES + 1 {
                self.problem(
                    loc,
                    format!("more than {MAX_LINES} lines after includes and definitions"),
                );
            }
            return;
        }
        let (mut buf, cont) = decomment(raw);
        if let Some(name) = self.collecting.clone() {
            // The body of a multi-line definition. As in keepalived, a blank
            // line or a line without a final `\` ends it; a comment-only
            // line does not.
            if raw.trim().is_empty() {
                self.collecting = None;
            } else if !buf.is_empty() {
                let body = buf.trim_end_matches('\\').trim_end_matches([' ', '\t']);
                if !body.is_empty() {
                    self.multi.entry(name).or_default().push(body.to_string());
                }
                if !cont {
                    self.collecting = None;
                }
            }
            return;
        }
        if buf.is_empty() {
            return;
        }
        let mut passes = 0;
        loop {
            if let Some(rest) = buf.strip_prefix('@') {
                let (reverse, rest) = match rest.strip_prefix('^') {
                    Some(r) => (true, r),
                    None => (false, rest),
                };
                let Some((id, body)) = rest.split_once([' ', '\t']) else {
                    return; // keepalived drops an `@id` with nothing after it
                };
                let selected = self.opts.config_id.as_deref() == Some(id);
                if selected == reverse {
                    if self.opts.config_id.is_none() && !reverse {
                        self.unsupported(
                            loc,
                            &format!("@{id}"),
                            "conditional line skipped: no config id was given \
                             (keepalived would use the host name); choose one to include these lines",
                        );
                    }
                    return;
                }
                buf = body.trim_start().to_string();
            }
            if let Some((name, value)) = definition(&buf) {
                if let Some(first) = value.strip_suffix('\\') {
                    let first = first.trim_end_matches([' ', '\t']);
                    self.defs.remove(&name);
                    let body = self.multi.entry(name.clone()).or_default();
                    body.clear();
                    if !first.is_empty() {
                        body.push(first.to_string());
                    }
                    self.collecting = Some(name);
                } else {
                    self.multi.remove(&name);
                    self.defs.insert(name, value);
                }
                return;
            }
            if let Some(body) = self.multi_use(&buf) {
                if self.expanding >= MAX_SUBSTITUTIONS {
                    self.problem(
                        loc,
                        "multi-line definitions expand into themselves without end",
                    );
                    return;
                }
                self.expanding += 1;
                for l in body {
                    self.line(loc, &l);
                }
                self.expanding -= 1;
                return;
            }
            if buf.starts_with("~SEQ") || buf.starts_with("~LST") {
                self.unsupported(
                    loc,
                    &buf[..4],
                    "generated lines (~SEQ/~LST) are not supported; write them out",
                );
                return;
            }
            if !buf.contains('$') {
                break;
            }
            let pwd = self.pwd_of(loc.file);
            let (out, changed, undefined) = substitute(&buf, &self.defs, &pwd);
            if !changed {
                for name in undefined {
                    self.unsupported(
                        loc,
                        &format!("${name}"),
                        "undefined definition, left as literal text",
                    );
                }
                break;
            }
            passes += 1;
            if passes > MAX_SUBSTITUTIONS {
                self.problem(loc, "definitions expand into themselves without end");
                return;
            }
            buf = decomment(&out).0;
            if buf.is_empty() {
                return;
            }
        }
        if let Some(pattern) = include_pattern(&buf) {
            self.include(loc, pattern);
            return;
        }
        self.split(loc, &buf);
    }

    /// The body of a multi-line definition used alone on the line.
    fn multi_use(&self, buf: &str) -> Option<Vec<String>> {
        let name = buf.strip_prefix('$')?;
        let name = name
            .strip_prefix('{')
            .and_then(|n| n.strip_suffix('}'))
            .unwrap_or(name);
        self.multi.get(name).cloned()
    }

    fn dir_of(&self, file: usize) -> PathBuf {
        self.files
            .get(file)
            .and_then(|f| f.parent())
            .map_or_else(PathBuf::new, Path::to_path_buf)
    }

    /// keepalived's `${_PWD}`: the absolute directory of the current file.
    fn pwd_of(&self, file: usize) -> PathBuf {
        let dir = self.dir_of(file);
        let dir = if dir.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            dir
        };
        std::fs::canonicalize(&dir).unwrap_or(dir)
    }

    fn include(&mut self, loc: Loc, pattern: &str) {
        let pattern = pattern.trim();
        if pattern.is_empty() {
            self.problem(loc, "include: no file named");
            return;
        }
        let full = if pattern.starts_with('/') {
            pattern.to_string()
        } else {
            let dir = self.dir_of(loc.file);
            if dir.as_os_str().is_empty() {
                pattern.to_string()
            } else {
                format!("{}/{pattern}", dir.display())
            }
        };
        for alt in glob::expand_braces(&full) {
            let found = glob::glob(&alt);
            if found.is_empty() {
                if glob::has_wildcard(&alt) {
                    self.unsupported(loc, "include", format!("{alt}: no file matches"));
                } else {
                    self.problem(loc, format!("include {alt}: no such file"));
                }
            }
            for path in found {
                self.include_file(loc, &path);
            }
        }
    }

    fn include_file(&mut self, loc: Loc, path: &Path) {
        if path.is_dir() {
            self.problem(loc, format!("include {}: is a directory", path.display()));
            return;
        }
        let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        if self.stack.contains(&canonical) {
            self.problem(
                loc,
                format!(
                    "include {}: include loop (the file is already being read)",
                    path.display()
                ),
            );
            return;
        }
        if self.stack.len() >= MAX_INCLUDE_DEPTH {
            self.problem(
                loc,
                format!(
                    "include {}: includes nested deeper than {MAX_INCLUDE_DEPTH}",
                    path.display()
                ),
            );
            return;
        }
        match std::fs::read(path) {
            Ok(bytes) => self.read_bytes(path, &bytes),
            Err(e) => self.problem(loc, format!("include {}: {e}", path.display())),
        }
    }

    /// Split a line at braces outside quotes, then into words.
    fn split(&mut self, loc: Loc, line: &str) {
        let mut seg = String::new();
        let mut quoted = false;
        for c in line.chars() {
            match c {
                '"' => {
                    quoted = !quoted;
                    seg.push(c);
                }
                '{' | '}' if !quoted => {
                    self.push_words(loc, &seg);
                    seg.clear();
                    let p = if c == '{' { Piece::Open } else { Piece::Close };
                    self.pieces.push((loc, p));
                }
                _ => seg.push(c),
            }
        }
        self.push_words(loc, &seg);
    }

    fn push_words(&mut self, loc: Loc, seg: &str) {
        let words = tokenize(seg);
        if !words.is_empty() {
            self.pieces.push((loc, Piece::Words(words)));
        }
    }

    /// Build the statement tree from everything read.
    pub fn into_tree(mut self) -> (Vec<Node>, Vec<PathBuf>, Vec<Problem>, Vec<Unsupported>) {
        let pieces = std::mem::take(&mut self.pieces);
        let mut it = pieces.into_iter().peekable();
        let mut problems = Vec::new();
        let (nodes, _) = block(&mut it, 0, &mut problems);
        for (loc, message) in problems {
            self.problem(loc, message);
        }
        (nodes, self.files, self.problems, self.unsupported)
    }
}

type Pieces = std::iter::Peekable<std::vec::IntoIter<(Loc, Piece)>>;

/// Statements until the `}` closing this block (consumed) or the end of
/// input; the flag says which.
fn block(it: &mut Pieces, depth: usize, problems: &mut Vec<(Loc, String)>) -> (Vec<Node>, bool) {
    let mut out = Vec::new();
    while let Some((loc, piece)) = it.next() {
        match piece {
            Piece::Words(words) => {
                let mut node = Node {
                    loc,
                    words,
                    block: None,
                };
                if matches!(it.peek(), Some((_, Piece::Open))) {
                    let _ = it.next();
                    node.block = Some(sub_block(it, loc, depth, problems));
                }
                out.push(node);
            }
            Piece::Open => {
                problems.push((loc, "'{' without a keyword before it".into()));
                let _ = sub_block(it, loc, depth, problems);
            }
            Piece::Close => {
                if depth > 0 {
                    return (out, true);
                }
                problems.push((loc, "'}' without a matching '{'".into()));
            }
        }
    }
    (out, false)
}

/// The block after a `{` at `open`.
fn sub_block(
    it: &mut Pieces,
    open: Loc,
    depth: usize,
    problems: &mut Vec<(Loc, String)>,
) -> Vec<Node> {
    if depth + 1 > MAX_BLOCK_DEPTH {
        problems.push((open, format!("blocks nested deeper than {MAX_BLOCK_DEPTH}")));
        // Skip to the matching brace without recursing.
        let mut level = 1usize;
        for (_, p) in it.by_ref() {
            match p {
                Piece::Open => level += 1,
                Piece::Close => {
                    level -= 1;
                    if level == 0 {
                        break;
                    }
                }
                Piece::Words(_) => {}
            }
        }
        return Vec::new();
    }
    let (nodes, closed) = block(it, depth + 1, problems);
    if !closed {
        problems.push((open, "'{' is never closed".into()));
    }
    nodes
}

/// keepalived's `decomment`: strip leading blanks, cut at `#`/`!` outside
/// quotes (`\#`, `\!` are literal), strip trailing blanks. A final `\`
/// marks a continuation (only definitions use it).
pub(crate) fn decomment(raw: &str) -> (String, bool) {
    let s = raw.trim_start_matches([' ', '\t']);
    let mut out = String::with_capacity(s.len());
    let mut quote = false;
    let mut cont = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                quote = !quote;
                out.push(c);
            }
            '\\' => match chars.peek() {
                None => {
                    cont = true;
                    break;
                }
                Some(&n) if !quote && (n == '#' || n == '!') => {
                    out.push(n);
                    chars.next();
                }
                Some(&n) => {
                    out.push('\\');
                    out.push(n);
                    chars.next();
                }
            },
            '#' | '!' if !quote => break,
            _ => out.push(c),
        }
    }
    let trimmed = out.trim_end_matches([' ', '\t']).len();
    out.truncate(trimmed);
    if cont {
        out.push('\\');
    }
    (out, cont)
}

/// `$NAME=value` (spaces allowed before `=`): (name, value).
fn definition(buf: &str) -> Option<(String, String)> {
    let rest = buf.strip_prefix('$')?;
    let first = rest.chars().next()?;
    if !(first.is_ascii_alphabetic() || first == '_') {
        return None;
    }
    let name_len = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    let (name, after) = rest.split_at(name_len);
    let value = after.trim_start_matches([' ', '\t']).strip_prefix('=')?;
    Some((
        name.to_string(),
        value.trim_start_matches([' ', '\t']).to_string(),
    ))
}

/// Replace `$NAME` and `${NAME}`. Returns the new text, whether anything was
/// replaced, and the names referenced but not defined.
fn substitute(
    buf: &str,
    defs: &HashMap<String, String>,
    dir: &Path,
) -> (String, bool, Vec<String>) {
    let mut out = String::with_capacity(buf.len());
    let mut changed = false;
    let mut undefined = Vec::new();
    let mut rest = buf;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let (name, consumed) = if let Some(inner) = after.strip_prefix('{') {
            match inner.find('}') {
                Some(end) if is_name(&inner[..end]) => (&inner[..end], end + 2),
                _ => ("", 0),
            }
        } else {
            let len = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            let end_ok = after[len..]
                .chars()
                .next()
                .is_none_or(|c| matches!(c, ' ' | '\t' | ',' | ')'));
            if len > 0 && is_name(&after[..len]) && end_ok {
                (&after[..len], len)
            } else {
                ("", 0)
            }
        };
        if name.is_empty() {
            out.push('$');
            rest = after;
            continue;
        }
        let value = match defs.get(name) {
            Some(v) => Some(v.clone()),
            None => match name {
                "_PWD" => Some(dir.display().to_string()),
                "_HASH" => Some("#".into()),
                "_BANG" => Some("!".into()),
                _ => None,
            },
        };
        match value {
            Some(v) => {
                out.push_str(&v);
                changed = true;
            }
            None => {
                out.push('$');
                out.push_str(&after[..consumed]);
                if !undefined.iter().any(|u| u == name) {
                    undefined.push(name.to_string());
                }
            }
        }
        rest = &after[consumed..];
    }
    out.push_str(rest);
    (out, changed, undefined)
}

fn is_name(s: &str) -> bool {
    let mut c = s.chars();
    c.next()
        .is_some_and(|f| f.is_ascii_alphabetic() || f == '_')
        && c.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `include PATTERN` (and keepalived's `includer`/`includem`/... variants).
fn include_pattern(buf: &str) -> Option<&str> {
    let rest = buf.strip_prefix("include")?;
    let mut chars = rest.chars();
    match chars.next()? {
        c if c.is_whitespace() => Some(rest.trim_start()),
        'r' | 'm' | 'w' | 'b' | 'a' if chars.next().is_some_and(char::is_whitespace) => {
            Some(rest[1..].trim_start())
        }
        _ => None,
    }
}

/// keepalived's `alloc_strvec`: words split at blanks; `"..."` is one word
/// without its quotes (no escapes); an unterminated quote runs to the end.
pub(crate) fn tokenize(seg: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut rest = seg;
    loop {
        rest = rest.trim_start_matches([' ', '\t', '\r', '\n', '\x0b', '\x0c']);
        if rest.is_empty() {
            break;
        }
        if let Some(q) = rest.strip_prefix('"') {
            match q.find('"') {
                Some(end) => {
                    words.push(q[..end].to_string());
                    rest = &q[end + 1..];
                }
                None => {
                    words.push(q.to_string());
                    break;
                }
            }
        } else {
            let end = rest
                .find([' ', '\t', '\r', '\n', '\x0b', '\x0c', '"'])
                .unwrap_or(rest.len());
            words.push(rest[..end].to_string());
            rest = &rest[end..];
        }
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decomment_like_keepalived() {
        assert_eq!(decomment("  a b # c").0, "a b");
        assert_eq!(decomment("a!b").0, "a");
        assert_eq!(decomment("x \"a # b\" # c").0, "x \"a # b\"");
        assert_eq!(decomment("pass\\#word").0, "pass#word");
        assert!(decomment("a \\").1);
        assert_eq!(decomment("\t\t").0, "");
    }

    #[test]
    fn tokens() {
        assert_eq!(tokenize("a  b\t\"c d\" e"), ["a", "b", "c d", "e"]);
        assert_eq!(tokenize("ab\"cd\""), ["ab", "cd"]);
        assert_eq!(tokenize("\"open"), ["open"]);
        assert!(tokenize("   ").is_empty());
    }

    #[test]
    fn definitions() {
        assert_eq!(
            definition("$IF=eth0"),
            Some(("IF".to_string(), "eth0".to_string()))
        );
        assert_eq!(
            definition("$IF = eth0"),
            Some(("IF".to_string(), "eth0".to_string()))
        );
        assert_eq!(definition("$1=x"), None);
        assert_eq!(definition("interface $IF"), None);
        let defs: HashMap<String, String> = [("IF".to_string(), "eth0".to_string())].into();
        let (out, changed, undef) =
            substitute("interface $IF ${IF} $NOPE x$", &defs, Path::new("/d"));
        assert_eq!(out, "interface eth0 eth0 $NOPE x$");
        assert!(changed);
        assert_eq!(undef, ["NOPE"]);
        let (out, _, _) = substitute("script ${_PWD}/x.sh", &defs, Path::new("/etc/k"));
        assert_eq!(out, "script /etc/k/x.sh");
    }

    #[test]
    fn includes() {
        assert_eq!(include_pattern("include /a/*.conf"), Some("/a/*.conf"));
        assert_eq!(include_pattern("includer x"), Some("x"));
        assert_eq!(include_pattern("include_foo"), None);
        assert_eq!(include_pattern("include"), None);
    }
}
