//! HTML to plain text, laid out the way `elinks -dump` does it (elinks 0.13 with
//! its default style): a 3-column page margin, paragraphs wrapped to the width
//! minus both margins, `h1` centred, `h2`..`h6` stepped in from column 0, bullets
//! and numbers for lists, tables as aligned columns, `[n]` before each link's
//! text and a "References" list at the end. Known differences: README.md.

use crate::html::{tokenize, Token};

/// The rendered page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dump {
    /// The page text, without the references.
    pub text: String,
    /// Link targets, absolute where a base was known; `[n]` in `text` is `links[n-1]`.
    pub links: Vec<String>,
}

impl Dump {
    /// The whole dump as elinks prints it: text, then the "References" section.
    pub fn full(&self) -> String {
        let mut s = self.text.clone();
        if !self.links.is_empty() {
            s.push_str("\nReferences\n\n   Visible links\n");
            for (i, l) in self.links.iter().enumerate() {
                s.push_str(&format!("   {}. {l}\n", i + 1));
            }
        }
        s
    }
}

/// The left (and right) page margin.
const MARGIN: usize = 3;

/// Elements that open a block with a blank line before and after.
const SPACED_BLOCKS: [&str; 16] = [
    "p",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "ul",
    "ol",
    "dl",
    "pre",
    "blockquote",
    "table",
    "form",
    "fieldset",
    "figure",
];

/// Elements that start on a new line, without a blank line.
const LINE_BLOCKS: [&str; 22] = [
    "div",
    "li",
    "dt",
    "dd",
    "tr",
    "address",
    "section",
    "article",
    "header",
    "footer",
    "nav",
    "main",
    "aside",
    "center",
    "caption",
    "figcaption",
    "details",
    "summary",
    "body",
    "html",
    "legend",
    "option",
];

/// Elements whose content is not shown.
const HIDDEN: [&str; 8] = [
    "head", "script", "style", "title", "template", "svg", "select", "iframe",
];

/// Void elements: they never have content or an end tag.
const VOID: [&str; 14] = [
    "br", "hr", "img", "input", "meta", "link", "area", "base", "col", "embed", "param", "source",
    "track", "wbr",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Align {
    Left,
    Center,
}

/// An open element and the layout it gives its content.
#[derive(Debug)]
struct Open {
    name: String,
    /// Column where content lines start.
    margin: usize,
    align: Align,
    /// For lists: next item number (ordered) or None (bullets).
    counter: Option<u64>,
}

#[derive(Debug, Default)]
struct Table {
    /// Cells as (text, is a header cell).
    rows: Vec<Vec<(String, bool)>>,
    cell: Option<String>,
    cell_is_header: bool,
    border: bool,
    /// Tables nested in this one (flattened into its cells).
    depth: usize,
}

/// Renders `html` at `width` columns; relative links are resolved against `base`.
pub fn render(html: &str, base: Option<&str>, width: usize) -> Dump {
    let mut r = Renderer::new(base, width.max(20));
    for tok in tokenize(html) {
        r.token(tok);
    }
    r.finish()
}

struct Renderer {
    width: usize,
    base: Option<String>,
    lines: Vec<String>,
    blank_pending: bool,
    /// Collapsed inline text of the current block (ASCII spaces only; NBSP kept).
    inline: String,
    /// A list-item marker waiting for the item's first line: (column, text).
    marker: Option<(usize, String)>,
    stack: Vec<Open>,
    hidden: usize,
    pre: Option<String>,
    table: Option<Table>,
    /// The href of an open link whose `[n]` is due before its first text.
    link_pending: Option<String>,
    links: Vec<String>,
}

impl Renderer {
    fn new(base: Option<&str>, width: usize) -> Self {
        Renderer {
            width,
            base: base.map(str::to_owned),
            lines: Vec::new(),
            blank_pending: false,
            inline: String::new(),
            marker: None,
            stack: Vec::new(),
            hidden: 0,
            pre: None,
            table: None,
            link_pending: None,
            links: Vec::new(),
        }
    }

    fn margin(&self) -> usize {
        self.stack.last().map_or(MARGIN, |o| o.margin)
    }

    fn align(&self) -> Align {
        self.stack.last().map_or(Align::Left, |o| o.align)
    }

    fn in_stack(&self, name: &str) -> bool {
        self.stack.iter().any(|o| o.name == name)
    }

    // ---- output -------------------------------------------------------------

    fn push_line(&mut self, line: String) {
        if self.blank_pending && self.lines.last().is_some_and(|l| !l.is_empty()) {
            self.lines.push(String::new());
        }
        self.blank_pending = false;
        self.lines.push(line.trim_end().replace('\u{a0}', " "));
    }

    fn blank(&mut self) {
        self.blank_pending = true;
    }

    /// Wraps and emits the pending inline text of the current block.
    fn flush(&mut self) {
        let text = std::mem::take(&mut self.inline);
        let words: Vec<&str> = text.split(' ').filter(|w| !w.is_empty()).collect();
        if words.is_empty() {
            return;
        }
        let margin = self.margin();
        let align = self.align();
        let right = self.width.saturating_sub(MARGIN).max(margin + 10);
        let mut line = String::new();
        let mut len = 0;
        let mut first = true;
        let emit = |r: &mut Self, line: &mut String, len: usize, first: &mut bool| {
            let mut out = String::new();
            match (align, r.marker.take().filter(|_| *first)) {
                (_, Some((col, marker))) => {
                    out.push_str(&" ".repeat(col));
                    out.push_str(&marker);
                    let used = col + marker.chars().count();
                    out.push_str(&" ".repeat(margin.saturating_sub(used).max(1)));
                }
                (Align::Center, None) => out.push_str(&" ".repeat(r.width.saturating_sub(len) / 2)),
                (Align::Left, None) => out.push_str(&" ".repeat(margin)),
            }
            out.push_str(line);
            r.push_line(out);
            line.clear();
            *first = false;
        };
        for w in words {
            let wlen = w.chars().count();
            let limit = right - margin;
            if len > 0 && len + 1 + wlen > limit {
                emit(self, &mut line, len, &mut first);
                len = 0;
            }
            if len > 0 {
                line.push(' ');
                len += 1;
            }
            line.push_str(w);
            len += wlen;
        }
        emit(self, &mut line, len, &mut first);
    }

    /// Ends the current line (`<br>`); an empty line counts as a blank one.
    fn line_break(&mut self) {
        if self.inline.trim_matches(' ').is_empty() {
            if self.marker.is_none() {
                self.push_line(String::new());
            }
        } else {
            self.flush();
        }
    }

    // ---- text ---------------------------------------------------------------

    fn text(&mut self, s: &str) {
        if self.hidden > 0 {
            return;
        }
        if let Some(url) = self.link_pending.take() {
            if s.trim_matches(|c: char| c.is_ascii_whitespace()).is_empty() {
                self.link_pending = Some(url);
            } else {
                self.links.push(url);
                let mark = format!("[{}]", self.links.len());
                // The marker sticks to the link text, after any leading space.
                let lead = s.len()
                    - s.trim_start_matches(|c: char| c.is_ascii_whitespace())
                        .len();
                self.append(&s[..lead]);
                self.append_raw(&mark);
                self.append(&s[lead..]);
                return;
            }
        }
        self.append(s);
    }

    fn append_raw(&mut self, s: &str) {
        if let Some(t) = self.table.as_mut().and_then(|t| t.cell.as_mut()) {
            t.push_str(s);
        } else if let Some(p) = self.pre.as_mut() {
            p.push_str(s);
        } else {
            self.inline.push_str(s);
        }
    }

    fn append(&mut self, s: &str) {
        if let Some(p) = self.pre.as_mut() {
            p.push_str(s);
            return;
        }
        let target = match self.table.as_mut() {
            Some(t) => match t.cell.as_mut() {
                Some(c) => c,
                None => return, // text between cells is dropped, as browsers move it out
            },
            None => &mut self.inline,
        };
        for c in s.chars() {
            if c.is_ascii_whitespace() {
                if !target.is_empty() && !target.ends_with(' ') {
                    target.push(' ');
                }
            } else {
                target.push(c);
            }
        }
    }

    // ---- tags ---------------------------------------------------------------

    fn token(&mut self, tok: Token) {
        match tok {
            Token::Text(t) => self.text(&t),
            Token::Start {
                ref name,
                self_closing,
                ..
            } => {
                let name = name.clone();
                self.start(&name, &tok);
                if self_closing && !VOID.contains(&name.as_str()) {
                    self.end(&name);
                }
            }
            Token::End { name } => self.end(&name),
        }
    }

    fn start(&mut self, name: &str, tok: &Token) {
        if HIDDEN.contains(&name) {
            self.hidden += 1;
            self.stack.push(Open {
                name: name.into(),
                margin: self.margin(),
                align: self.align(),
                counter: None,
            });
            return;
        }
        if self.hidden > 0 {
            if !VOID.contains(&name) {
                self.stack.push(Open {
                    name: name.into(),
                    margin: self.margin(),
                    align: self.align(),
                    counter: None,
                });
            }
            return;
        }
        match name {
            "base" => {
                if let Some(h) = tok.attr("href") {
                    self.base = Some(resolve(self.base.as_deref(), h));
                }
                return;
            }
            "br" => {
                if let Some(c) = self.table.as_mut().and_then(|t| t.cell.as_mut()) {
                    c.push(' ');
                } else if let Some(p) = self.pre.as_mut() {
                    p.push('\n');
                } else {
                    self.line_break();
                }
                return;
            }
            "img" => {
                if let Some(alt) = tok.attr("alt").filter(|a| !a.trim().is_empty()) {
                    let alt = alt.to_owned();
                    self.text(&alt);
                }
                return;
            }
            "hr" => {
                if self.table.is_none() {
                    self.flush();
                    self.blank();
                    let m = self.margin();
                    let len = self.width.saturating_sub(2 * m).max(1);
                    self.push_line(format!("{}{}", " ".repeat(m), "═".repeat(len)));
                    self.blank();
                }
                return;
            }
            _ if VOID.contains(&name) => return,
            _ => {}
        }
        if self.table.is_some() {
            self.table_start(name, tok);
            return;
        }
        // Implied end tags, as HTML parsers do them.
        if name == "li" {
            self.close_until(&["li"], &["ul", "ol"]);
        } else if name == "dt" || name == "dd" {
            self.close_until(&["dt", "dd"], &["dl"]);
        }
        if (SPACED_BLOCKS.contains(&name) || LINE_BLOCKS.contains(&name)) && name != "li" {
            self.close_until(&["p"], &["div", "li", "td", "th", "blockquote", "body"]);
        }
        if name == "p" && self.in_stack("p") {
            self.close_until(&["p"], &[]);
        }
        let margin = self.margin();
        let align = if tok
            .attr("align")
            .is_some_and(|a| a.eq_ignore_ascii_case("center"))
            || name == "center"
        {
            Align::Center
        } else {
            self.align()
        };
        let mut open = Open {
            name: name.into(),
            margin,
            align,
            counter: None,
        };
        match name {
            "a" => {
                if let Some(href) = tok.attr("href") {
                    let href = href.trim();
                    if !href.is_empty() && !href.to_ascii_lowercase().starts_with("javascript:") {
                        self.link_pending = Some(resolve(self.base.as_deref(), href));
                    }
                }
            }
            "h1" => open.align = Align::Center,
            "h2" | "h3" | "h4" | "h5" | "h6" => {
                let level = usize::from(name.as_bytes()[1] - b'0');
                open.margin = margin.saturating_sub(MARGIN) + (level - 2) * 2;
            }
            "ul" | "ol" => {
                // A list inside an item starts one column right of the item's text.
                if self.stack.last().is_some_and(|o| o.name == "li") {
                    open.margin = margin + 1;
                }
                open.counter = (name == "ol").then(|| {
                    tok.attr("start")
                        .and_then(|s| s.trim().parse().ok())
                        .unwrap_or(1)
                });
            }
            "li" => {
                let list = self
                    .stack
                    .iter_mut()
                    .rev()
                    .find(|o| o.name == "ul" || o.name == "ol");
                let (marker, col) = match list {
                    Some(Open {
                        counter: Some(n),
                        margin,
                        ..
                    }) => {
                        let m = format!("{n:>2}.");
                        *n += 1;
                        (m, *margin)
                    }
                    Some(l) => ("•".to_owned(), l.margin + 2),
                    None => ("•".to_owned(), margin + 2),
                };
                let text_col = if col + marker.chars().count() + 1 > margin + 4 {
                    col + marker.chars().count() + 1
                } else {
                    margin + 4
                };
                self.flush();
                self.marker = Some((col, marker));
                open.margin = text_col;
            }
            "blockquote" => open.margin = margin + 2,
            "pre" => open.margin = margin.saturating_sub(2),
            _ => {}
        }
        if SPACED_BLOCKS.contains(&name) || LINE_BLOCKS.contains(&name) {
            self.flush();
            if SPACED_BLOCKS.contains(&name) {
                self.blank();
            }
        }
        match name {
            "pre" => self.pre = Some(String::new()),
            "table" => {
                self.table = Some(Table {
                    border: tok.attr("border").is_some_and(|b| b.trim() != "0"),
                    ..Table::default()
                })
            }
            _ => {}
        }
        self.stack.push(open);
    }

    /// Closes open elements named in `names`, stopping at any in `stop`.
    fn close_until(&mut self, names: &[&str], stop: &[&str]) {
        for o in self.stack.iter().rev() {
            if stop.contains(&o.name.as_str()) {
                return;
            }
            if names.contains(&o.name.as_str()) {
                let n = o.name.clone();
                self.end(&n);
                return;
            }
        }
    }

    fn table_start(&mut self, name: &str, tok: &Token) {
        if name == "a" {
            if let Some(href) = tok.attr("href").map(str::trim).filter(|h| !h.is_empty()) {
                self.link_pending = Some(resolve(self.base.as_deref(), href));
            }
            return;
        }
        let Some(t) = self.table.as_mut() else { return };
        match name {
            "table" => t.depth += 1,
            "tr" if t.depth == 0 => {
                Self::close_cell(t);
                t.rows.push(Vec::new());
            }
            "td" | "th" if t.depth == 0 => {
                Self::close_cell(t);
                if t.rows.is_empty() {
                    t.rows.push(Vec::new());
                }
                t.cell = Some(String::new());
                t.cell_is_header = name == "th";
            }
            // Nested tables, lists, paragraphs: their text joins the cell.
            _ => {
                if let Some(c) = t.cell.as_mut() {
                    if !c.is_empty() && !c.ends_with(' ') {
                        c.push(' ');
                    }
                }
            }
        }
    }

    fn close_cell(t: &mut Table) {
        if let Some(c) = t.cell.take() {
            let c = c.trim().to_owned();
            if let Some(row) = t.rows.last_mut() {
                row.push((c, t.cell_is_header));
            }
        }
    }

    fn end(&mut self, name: &str) {
        if self.hidden == 0 && name == "table" {
            if let Some(t) = self.table.as_mut().filter(|t| t.depth > 0) {
                t.depth -= 1;
                return;
            }
        }
        if self.hidden == 0 && self.table.is_some() && name != "table" {
            if name == "a" {
                self.link_pending = None;
            }
            if let Some(t) = self.table.as_mut().filter(|t| t.depth == 0) {
                if matches!(name, "td" | "th" | "tr") {
                    Self::close_cell(t);
                }
            }
            return;
        }
        let Some(pos) = self.stack.iter().rposition(|o| o.name == name) else {
            return; // a stray end tag
        };
        // Close everything opened inside it, innermost first.
        while self.stack.len() > pos {
            let Some(open) = self.stack.pop() else { break };
            self.close(open);
        }
    }

    fn close(&mut self, open: Open) {
        let name_owned = open.name.clone();
        let name = name_owned.as_str();
        if HIDDEN.contains(&name) {
            self.hidden = self.hidden.saturating_sub(1);
            return;
        }
        if self.hidden > 0 {
            return;
        }
        match name {
            "a" => self.link_pending = None,
            "pre" => {
                let text = self.pre.take().unwrap_or_default();
                let text = text
                    .strip_prefix("\r\n")
                    .or_else(|| text.strip_prefix('\n'))
                    .unwrap_or(&text);
                let indent = " ".repeat(open.margin);
                for line in text.trim_end_matches(['\n', '\r']).lines() {
                    self.push_line(format!("{indent}{}", expand_tabs(line)));
                }
                self.blank();
                return;
            }
            "table" => {
                if let Some(mut t) = self.table.take() {
                    Self::close_cell(&mut t);
                    self.stack.push(open);
                    self.emit_table(&t);
                    self.stack.pop();
                }
                self.blank();
                return;
            }
            _ => {}
        }
        if SPACED_BLOCKS.contains(&name) || LINE_BLOCKS.contains(&name) {
            // Flush with the closing element's layout still in effect.
            self.stack.push(open);
            self.flush();
            self.stack.pop();
            if name == "li" {
                self.marker = None;
            }
            if SPACED_BLOCKS.contains(&name) {
                self.blank();
            }
        }
    }

    /// Columns padded to their widest cell; header cells centred. With a border,
    /// elinks-style box drawing around every cell.
    fn emit_table(&mut self, t: &Table) {
        let rows: Vec<&Vec<(String, bool)>> = t.rows.iter().filter(|r| !r.is_empty()).collect();
        let cols = rows.iter().map(|r| r.len()).max().unwrap_or(0);
        let mut widths = vec![0; cols];
        for row in &rows {
            for (i, (c, _)) in row.iter().enumerate() {
                widths[i] = widths[i].max(c.chars().count());
            }
        }
        let margin = " ".repeat(self.margin());
        let rule = |l: &str, m: &str, r: &str| {
            let segs: Vec<String> = widths.iter().map(|w| "─".repeat(w + 2)).collect();
            format!("{margin}{l}{}{r}", segs.join(m))
        };
        if t.border && !rows.is_empty() {
            self.push_line(rule("┌", "┬", "┐"));
        }
        for (n, row) in rows.iter().enumerate() {
            let cells: Vec<String> = (0..cols)
                .map(|i| {
                    let (c, header) = row.get(i).map_or(("", false), |(c, h)| (c.as_str(), *h));
                    let pad = widths[i] - c.chars().count();
                    let left = if header { pad / 2 } else { 0 };
                    format!("{}{c}{}", " ".repeat(left), " ".repeat(pad - left))
                })
                .collect();
            if t.border {
                if n > 0 {
                    self.push_line(rule("├", "┼", "┤"));
                }
                self.push_line(format!("{margin}│ {} │", cells.join(" │ ")));
            } else {
                self.push_line(format!("{margin}{}", cells.join(" ")));
            }
        }
        if t.border && !rows.is_empty() {
            self.push_line(rule("└", "┴", "┘"));
        }
    }

    fn finish(mut self) -> Dump {
        while let Some(open) = self.stack.pop() {
            self.close(open);
        }
        if let Some(mut t) = self.table.take() {
            Self::close_cell(&mut t);
            self.emit_table(&t);
        }
        self.flush();
        let mut text = self.lines.join("\n");
        if !text.is_empty() {
            text.push('\n');
        }
        Dump {
            text,
            links: self.links,
        }
    }
}

fn expand_tabs(line: &str) -> String {
    let mut out = String::new();
    let mut col = 0;
    for c in line.chars() {
        if c == '\t' {
            let n = 8 - col % 8;
            out.push_str(&" ".repeat(n));
            col += n;
        } else {
            out.push(c);
            col += 1;
        }
    }
    out
}

/// Resolves `href` against `base` (RFC 3986 style, enough for links in a dump).
pub fn resolve(base: Option<&str>, href: &str) -> String {
    let has_scheme = href.find(':').is_some_and(|i| {
        href[..i]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
            && i > 0
    });
    let Some(base) = base else {
        return href.to_owned();
    };
    if has_scheme {
        return href.to_owned();
    }
    let Some((scheme, rest)) = base.split_once("://") else {
        return href.to_owned();
    };
    let auth_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..auth_end];
    let base_path_q = rest[auth_end..].split('#').next().unwrap_or_default();
    let base_path = base_path_q.split('?').next().unwrap_or_default();
    if let Some(net) = href.strip_prefix("//") {
        return format!("{scheme}://{net}");
    }
    if href.starts_with('#') {
        return format!("{scheme}://{authority}{base_path_q}{href}");
    }
    if href.starts_with('?') {
        let p = if base_path.is_empty() { "/" } else { base_path };
        return format!("{scheme}://{authority}{p}{href}");
    }
    let joined = if href.starts_with('/') {
        href.to_owned()
    } else {
        let dir = base_path.rfind('/').map_or("/", |i| &base_path[..=i]);
        format!("{dir}{href}")
    };
    // Remove dot segments from the path part.
    let (path, tail) = match joined.find(['?', '#']) {
        Some(i) => (&joined[..i], &joined[i..]),
        None => (joined.as_str(), ""),
    };
    let mut segs: Vec<&str> = Vec::new();
    let parts: Vec<&str> = path.split('/').collect();
    for (i, s) in parts.iter().enumerate() {
        match *s {
            "." => {
                if i == parts.len() - 1 {
                    segs.push("");
                }
            }
            ".." => {
                if segs.len() > 1 {
                    segs.pop();
                }
                if i == parts.len() - 1 {
                    segs.push("");
                }
            }
            s => segs.push(s),
        }
    }
    let mut path = segs.join("/");
    if !path.starts_with('/') {
        path.insert(0, '/');
    }
    format!("{scheme}://{authority}{path}{tail}")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn resolves_links() {
        let b = Some("http://h:8/a/b.html?q=1#f");
        assert_eq!(resolve(b, "c.html"), "http://h:8/a/c.html");
        assert_eq!(resolve(b, "../c"), "http://h:8/c");
        assert_eq!(resolve(b, "./x/../y/"), "http://h:8/a/y/");
        assert_eq!(resolve(b, "/z?k"), "http://h:8/z?k");
        assert_eq!(resolve(b, "#top"), "http://h:8/a/b.html?q=1#top");
        assert_eq!(resolve(b, "?p"), "http://h:8/a/b.html?p");
        assert_eq!(resolve(b, "//cdn/x"), "http://cdn/x");
        assert_eq!(resolve(b, "mailto:a@b"), "mailto:a@b");
        assert_eq!(resolve(None, "x.html"), "x.html");
    }

    #[test]
    fn paragraphs_wrap_at_the_margin() {
        let words = "word ".repeat(40);
        let d = render(&format!("<p>{words}</p>"), None, 80);
        for l in d.text.lines() {
            assert!(l.len() <= 77, "{l:?}");
            assert!(l.starts_with("   word"), "{l:?}");
        }
        assert_eq!(d.text.split_whitespace().count(), 40);
    }

    #[test]
    fn headings_lists_links() {
        let d = render(
            "<h1>Title</h1><h2>Sub</h2><ul><li>a <a href='/x'>link</a><li>b</ul><ol start=9><li>nine<li>ten</ol>",
            Some("http://h/p"),
            80,
        );
        assert_eq!(
            d.text,
            format!(
                "{}Title\n\nSub\n\n     • a [1]link\n     • b\n\n    9. nine\n   10. ten\n",
                " ".repeat(37)
            )
        );
        assert_eq!(d.links, vec!["http://h/x"]);
        assert!(d
            .full()
            .ends_with("References\n\n   Visible links\n   1. http://h/x\n"));
    }

    #[test]
    fn hidden_content_and_tables() {
        let d = render(
            "<head><title>T</title><style>p{}</style></head><script>x()</script><p>shown</p>\
             <table><tr><th>Name<th>State<tr><td>web1<td>UP</table>",
            None,
            80,
        );
        assert_eq!(d.text, "   shown\n\n   Name State\n   web1 UP\n");
    }

    #[test]
    fn pre_keeps_lines() {
        let d = render("<p>a</p><pre>\n x  y\n\tz\n</pre><p>b</p>", None, 80);
        assert_eq!(d.text, "   a\n\n  x  y\n         z\n\n   b\n");
    }
}
