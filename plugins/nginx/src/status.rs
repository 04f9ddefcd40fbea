//! Parsing nginx's `stub_status` page (ngx_http_stub_status_module):
//!
//! ```text
//! Active connections: 291
//! server accepts handled requests
//!  16630948 16630948 31070465
//! Reading: 6 Writing: 179 Waiting: 106
//! ```
//!
//! Parsed by tokens rather than by line, so extra whitespace or CRLF line ends
//! (some proxies add them) do not matter, and the counter names are read from the
//! `server ...` line instead of being assumed.

/// The counters of one stub_status page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StubStatus {
    pub active: u64,
    pub accepts: u64,
    pub handled: u64,
    pub requests: u64,
    pub reading: u64,
    pub writing: u64,
    pub waiting: u64,
}

impl StubStatus {
    /// The counters as metrics, named as nginx names them. `dropped` (accepted but
    /// not handled) is non-zero when nginx hit `worker_connections`.
    pub fn metrics(&self) -> [(&'static str, u64); 8] {
        [
            ("active", self.active),
            ("accepts", self.accepts),
            ("handled", self.handled),
            ("requests", self.requests),
            ("reading", self.reading),
            ("writing", self.writing),
            ("waiting", self.waiting),
            ("dropped", self.accepts.saturating_sub(self.handled)),
        ]
    }
}

fn number(tok: Option<&str>, field: &str) -> Result<u64, String> {
    let tok = tok.ok_or_else(|| format!("stub_status page ends before the value of {field}"))?;
    tok.parse()
        .map_err(|_| format!("stub_status field {field} has a non-numeric value {tok:?}"))
}

/// Parses a stub_status body. Fails with a message naming the first missing or
/// malformed field; a body that is not stub_status at all (an HTML page, a 404
/// page served with 200) gets a hint about `path`.
pub fn parse(body: &str) -> Result<StubStatus, String> {
    let mut s = StubStatus::default();
    let mut seen = [false; 7];
    let tokens: Vec<&str> = body.split_whitespace().collect();
    let mut i = 0;
    while i < tokens.len() {
        match tokens[i] {
            "Active" if tokens.get(i + 1) == Some(&"connections:") => {
                s.active = number(tokens.get(i + 2).copied(), "Active connections")?;
                seen[0] = true;
                i += 3;
            }
            "server" => {
                // "server accepts handled requests" then as many numbers.
                let names: Vec<&str> = tokens[i + 1..]
                    .iter()
                    .copied()
                    .take_while(|t| t.parse::<u64>().is_err())
                    .collect();
                let values = i + 1 + names.len();
                for (k, name) in names.iter().enumerate() {
                    let v = number(tokens.get(values + k).copied(), name)?;
                    match *name {
                        "accepts" => (s.accepts, seen[1]) = (v, true),
                        "handled" => (s.handled, seen[2]) = (v, true),
                        "requests" => (s.requests, seen[3]) = (v, true),
                        _ => {} // e.g. "request_time" in some builds
                    }
                }
                i = values + names.len();
            }
            "Reading:" => {
                s.reading = number(tokens.get(i + 1).copied(), "Reading")?;
                seen[4] = true;
                i += 2;
            }
            "Writing:" => {
                s.writing = number(tokens.get(i + 1).copied(), "Writing")?;
                seen[5] = true;
                i += 2;
            }
            "Waiting:" => {
                s.waiting = number(tokens.get(i + 1).copied(), "Waiting")?;
                seen[6] = true;
                i += 2;
            }
            _ => i += 1,
        }
    }
    const NAMES: [&str; 7] = [
        "Active connections",
        "accepts",
        "handled",
        "requests",
        "Reading",
        "Writing",
        "Waiting",
    ];
    if seen.iter().all(|&s| !s) {
        let looks_html = body.trim_start().starts_with('<');
        return Err(format!(
            "the page is not an nginx stub_status page{}; point `path` at a location \
             with `stub_status;`",
            if looks_html { " (it is HTML)" } else { "" }
        ));
    }
    if let Some(k) = seen.iter().position(|&s| !s) {
        return Err(format!("stub_status page has no {} field", NAMES[k]));
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    const PAGE: &str = "Active connections: 291 \nserver accepts handled requests\n \
                        16630948 16630940 31070465 \nReading: 6 Writing: 179 Waiting: 106 \n";

    #[test]
    fn parses_documented_example() {
        let s = parse(PAGE).unwrap();
        assert_eq!(
            s,
            StubStatus {
                active: 291,
                accepts: 16630948,
                handled: 16630940,
                requests: 31070465,
                reading: 6,
                writing: 179,
                waiting: 106,
            }
        );
        let m = s.metrics();
        assert_eq!(m[0], ("active", 291));
        assert_eq!(m[7], ("dropped", 8));
    }

    #[test]
    fn tolerates_crlf_and_extra_counters() {
        let page = "Active connections: 1\r\nserver accepts handled requests request_time\r\n \
                    5 5 9 120\r\nReading: 0 Writing: 1 Waiting: 0\r\n";
        let s = parse(page).unwrap();
        assert_eq!((s.active, s.requests, s.writing), (1, 9, 1));
    }

    #[test]
    fn rejects_other_pages() {
        let e = parse("<html><body>Welcome to nginx!</body></html>").unwrap_err();
        assert!(
            e.contains("not an nginx stub_status page (it is HTML)"),
            "{e}"
        );
        let e = parse("").unwrap_err();
        assert!(e.contains("not an nginx stub_status page"), "{e}");
        let e = parse("Active connections: 1\nReading: 0 Writing: 1 Waiting: 0").unwrap_err();
        assert_eq!(e, "stub_status page has no accepts field");
        let e = parse("Active connections: many").unwrap_err();
        assert!(e.contains("non-numeric value \"many\""), "{e}");
        let e = parse("Active connections: 1\nserver accepts handled requests\n 1 2").unwrap_err();
        assert!(e.contains("ends before the value of requests"), "{e}");
    }

    #[test]
    fn never_panics_on_prefixes() {
        for n in 0..PAGE.len() {
            let _ = parse(&PAGE[..n]);
        }
    }
}
