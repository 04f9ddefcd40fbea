//! HAProxy's stats CSV (the `;csv` variant of the stats page, same as `show stat`)
//! and judging a backend or frontend from it.
//!
//! The first line names the columns (`# pxname,svname,qcur,...`); columns are looked
//! up by name because HAProxy appends new ones in every release. One row per
//! frontend (`svname` = `FRONTEND`), backend (`BACKEND`) and server.

/// One row, reduced to what the checks use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Row {
    pub pxname: String,
    pub svname: String,
    pub status: String,
    /// Current sessions.
    pub scur: Option<u64>,
    /// Session limit (`maxconn`).
    pub slim: Option<u64>,
    /// Current queued requests.
    pub qcur: Option<u64>,
    /// Whether the server is a backup server.
    pub backup: bool,
}

impl Row {
    fn is_frontend(&self) -> bool {
        self.svname == "FRONTEND"
    }
    fn is_backend(&self) -> bool {
        self.svname == "BACKEND"
    }
    fn is_server(&self) -> bool {
        !self.is_frontend() && !self.is_backend()
    }
}

/// Splits one CSV line; HAProxy quotes fields containing commas or quotes
/// (doubling the quotes inside), e.g. in `check_desc` or `last_chk`.
fn split_csv(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', false) if field.is_empty() => quoted = true,
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            ('"', true) => quoted = false,
            (',', false) => out.push(std::mem::take(&mut field)),
            (c, _) => field.push(c),
        }
    }
    out.push(field);
    out
}

/// Parses the CSV. Fails when the header is missing (the page is HTML, or `path`
/// lacks `;csv`) or lacks a needed column.
pub fn parse(body: &str) -> Result<Vec<Row>, String> {
    let mut lines = body.lines().filter(|l| !l.trim().is_empty());
    let header = lines.next().unwrap_or_default();
    let Some(header) = header.strip_prefix("# ") else {
        let hint = if header.trim_start().starts_with('<') {
            " (got HTML; add `;csv` to the stats path)"
        } else {
            ""
        };
        return Err(format!(
            "not HAProxy stats CSV: the first line does not start with \"# \"{hint}"
        ));
    };
    let names = split_csv(header);
    let col = |name: &str| names.iter().position(|n| n == name);
    let need = |name: &str| col(name).ok_or_else(|| format!("stats CSV has no `{name}` column"));
    let (px, sv, st) = (need("pxname")?, need("svname")?, need("status")?);
    let (scur, slim, qcur, bck) = (col("scur"), col("slim"), col("qcur"), col("bck"));
    let mut rows = Vec::new();
    for line in lines {
        let f = split_csv(line);
        let get = |i: usize| f.get(i).map(String::as_str).unwrap_or_default();
        let num = |i: Option<usize>| i.and_then(|i| get(i).parse::<u64>().ok());
        if f.len() <= px.max(sv).max(st) {
            return Err(format!(
                "stats CSV row has {} fields, fewer than the header promises: {line:?}",
                f.len()
            ));
        }
        rows.push(Row {
            pxname: get(px).to_string(),
            svname: get(sv).to_string(),
            status: get(st).to_string(),
            scur: num(scur),
            slim: num(slim),
            qcur: num(qcur),
            backup: num(bck) == Some(1),
        });
    }
    Ok(rows)
}

/// Whether a server status means the server takes traffic. "UP 1/3" is a server
/// failing checks but still up; "no check" is a server without health checks,
/// which HAProxy treats as up. DOWN, "DOWN 1/2" (recovering), NOLB, DRAIN and
/// MAINT take no new traffic.
pub fn server_is_up(status: &str) -> bool {
    status == "UP" || status.starts_with("UP ") || status == "no check"
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verdict {
    Up,
    Degraded,
    Down,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Judgement {
    pub verdict: Verdict,
    pub message: String,
    pub metrics: Vec<(String, f64)>,
}

fn names_of(rows: &[Row], pick: impl Fn(&Row) -> bool) -> String {
    let mut names: Vec<&str> = rows
        .iter()
        .filter(|r| pick(r))
        .map(|r| r.pxname.as_str())
        .collect();
    names.dedup();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

/// Judges backend `name`: down when HAProxy marks it DOWN or fewer than `min_up`
/// servers are up, degraded when some servers are not up, else up.
pub fn judge_backend(rows: &[Row], name: &str, min_up: usize) -> Judgement {
    let Some(be) = rows.iter().find(|r| r.pxname == name && r.is_backend()) else {
        return Judgement {
            verdict: Verdict::Down,
            message: format!(
                "backend '{name}' is not in the stats (backends: {})",
                names_of(rows, Row::is_backend)
            ),
            metrics: Vec::new(),
        };
    };
    let servers: Vec<&Row> = rows
        .iter()
        .filter(|r| r.pxname == name && r.is_server())
        .collect();
    let up = servers.iter().filter(|s| server_is_up(&s.status)).count();
    let total = servers.len();
    let mut metrics = vec![
        ("servers_up".to_string(), up as f64),
        ("servers_total".to_string(), total as f64),
    ];
    if let Some(scur) = be.scur {
        metrics.push(("sessions".into(), scur as f64));
    }
    if let Some(qcur) = be.qcur {
        metrics.push(("queue".into(), qcur as f64));
    }
    let not_up: Vec<String> = servers
        .iter()
        .filter(|s| !server_is_up(&s.status))
        .map(|s| format!("{} ({})", s.svname, s.status))
        .collect();
    // Name a few; a large backend's status line must stay one readable line.
    const NAMED: usize = 5;
    let not_up = match not_up.len() {
        0 => String::new(),
        n if n <= NAMED => format!("; not up: {}", not_up.join(", ")),
        n => format!(
            "; not up: {} and {} more",
            not_up[..NAMED].join(", "),
            n - NAMED
        ),
    };
    let (verdict, message) = if !server_is_up(&be.status) {
        (
            Verdict::Down,
            format!(
                "backend '{name}' is {}: {up}/{total} servers up{not_up}",
                be.status
            ),
        )
    } else if up < min_up {
        (
            Verdict::Down,
            format!(
                "backend '{name}': {up}/{total} servers up, fewer than min_up {min_up}{not_up}"
            ),
        )
    } else if !not_up.is_empty() {
        (
            Verdict::Degraded,
            format!("backend '{name}': {up}/{total} servers up{not_up}"),
        )
    } else {
        (
            Verdict::Up,
            format!("backend '{name}': {up}/{total} servers up"),
        )
    };
    Judgement {
        verdict,
        message,
        metrics,
    }
}

/// Judges frontend `name`: OPEN is up, but degraded at its session limit
/// (`maxconn`: new connections wait in the kernel's backlog); FULL (older
/// HAProxy's word for that) is degraded too; anything else (STOP, PAUSED after
/// `disable frontend` or during a soft stop) is down.
pub fn judge_frontend(rows: &[Row], name: &str) -> Judgement {
    let Some(fe) = rows.iter().find(|r| r.pxname == name && r.is_frontend()) else {
        return Judgement {
            verdict: Verdict::Down,
            message: format!(
                "frontend '{name}' is not in the stats (frontends: {})",
                names_of(rows, Row::is_frontend)
            ),
            metrics: Vec::new(),
        };
    };
    let at_limit = match (fe.scur, fe.slim) {
        (Some(cur), Some(lim)) if lim > 0 && cur >= lim => Some((cur, lim)),
        _ => None,
    };
    let (verdict, message) = match (fe.status.as_str(), at_limit) {
        ("OPEN", Some((cur, lim))) => (
            Verdict::Degraded,
            format!("frontend '{name}' is OPEN but at its session limit ({cur}/{lim})"),
        ),
        ("OPEN", None) => (Verdict::Up, format!("frontend '{name}' is OPEN")),
        ("FULL", _) => (Verdict::Degraded, format!("frontend '{name}' is FULL")),
        (status, _) => (Verdict::Down, format!("frontend '{name}' is {status}")),
    };
    let mut metrics = Vec::new();
    if let Some(cur) = fe.scur {
        metrics.push(("frontend_sessions".to_string(), cur as f64));
    }
    if let Some(lim) = fe.slim {
        metrics.push(("frontend_session_limit".to_string(), lim as f64));
    }
    Judgement {
        verdict,
        message,
        metrics,
    }
}

/// Combines judgements: the worst verdict wins, messages are joined.
pub fn combine(parts: Vec<Judgement>) -> Option<Judgement> {
    let verdict = parts.iter().map(|j| j.verdict).max()?;
    let message = parts
        .iter()
        .map(|j| j.message.as_str())
        .collect::<Vec<_>>()
        .join("; ");
    let metrics = parts.into_iter().flat_map(|j| j.metrics).collect();
    Some(Judgement {
        verdict,
        message,
        metrics,
    })
}

/// RFC 4648 base64 with padding, for the `Authorization: Basic` header.
pub fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * k) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    /// Trimmed from a real HAProxy 2.6 `;csv` page (columns after `type` cut).
    const CSV: &str = "\
# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,
stats,FRONTEND,,,1,1,262120,3,450,10000,0,0,0,,,,,OPEN,,,,,,,,,1,2,0,,,,0,
web,FRONTEND,,,0,0,262120,0,0,0,0,0,0,,,,,OPEN,,,,,,,,,1,3,0,,,,0,
app,web1,0,0,2,3,,10,100,200,,0,,0,0,0,0,UP,1,1,0,0,0,30,0,,1,4,1,,10,,2,
app,web2,0,0,0,0,,0,0,0,,0,,5,0,0,0,DOWN,1,1,0,3,1,30,30,,1,4,2,,0,,2,
app,spare,0,0,0,0,,0,0,0,,0,,0,0,0,0,\"UP 1/3\",1,0,1,0,0,30,0,,1,4,3,,0,,2,
app,BACKEND,1,1,2,3,26212,10,100,200,0,0,,5,0,0,0,UP,2,1,1,,1,30,0,,1,4,0,,10,,1,
dead,web1,0,0,0,0,,0,0,0,,0,,0,0,0,0,MAINT,1,1,0,0,0,30,0,,1,5,1,,0,,2,
dead,BACKEND,0,0,0,0,26212,0,0,0,0,0,,0,0,0,0,DOWN,0,0,0,,1,30,30,,1,5,0,,0,,1,
";

    #[test]
    fn parses_rows() {
        let rows = parse(CSV).unwrap();
        assert_eq!(rows.len(), 8);
        assert_eq!(rows[2].pxname, "app");
        assert_eq!(rows[2].svname, "web1");
        assert_eq!(rows[2].status, "UP");
        assert_eq!(rows[2].scur, Some(2));
        assert_eq!(rows[4].status, "UP 1/3");
        assert!(rows[4].backup);
        assert_eq!(rows[5].qcur, Some(1));
    }

    #[test]
    fn splits_quoted_fields() {
        assert_eq!(
            split_csv(r#"a,"b,c","d ""e""",,f"#),
            vec!["a", "b,c", "d \"e\"", "", "f"]
        );
    }

    #[test]
    fn rejects_non_csv() {
        let e = parse("<html><head><title>Statistics Report</title>").unwrap_err();
        assert!(e.contains("add `;csv`"), "{e}");
        assert!(parse("").is_err());
        assert!(parse("# a,b,c\n1,2,3\n").unwrap_err().contains("`pxname`"));
        let e = parse("# pxname,svname,status\nonly,two\n").unwrap_err();
        assert!(e.contains("fewer than the header"), "{e}");
    }

    #[test]
    fn classifies_server_status() {
        for up in ["UP", "UP 1/3", "UP 2/3", "no check"] {
            assert!(server_is_up(up), "{up}");
        }
        for down in [
            "DOWN",
            "DOWN 1/2",
            "NOLB",
            "MAINT",
            "MAINT(via)",
            "DRAIN",
            "UPPER",
            "",
        ] {
            assert!(!server_is_up(down), "{down}");
        }
    }

    #[test]
    fn judges_backends() {
        let rows = parse(CSV).unwrap();
        let j = judge_backend(&rows, "app", 1);
        assert_eq!(j.verdict, Verdict::Degraded);
        assert_eq!(
            j.message,
            "backend 'app': 2/3 servers up; not up: web2 (DOWN)"
        );
        assert!(j.metrics.contains(&("servers_up".into(), 2.0)));
        assert!(j.metrics.contains(&("servers_total".into(), 3.0)));
        assert!(j.metrics.contains(&("sessions".into(), 2.0)));
        let j = judge_backend(&rows, "app", 3);
        assert_eq!(j.verdict, Verdict::Down);
        assert!(j.message.contains("fewer than min_up 3"), "{}", j.message);
        let j = judge_backend(&rows, "dead", 1);
        assert_eq!(j.verdict, Verdict::Down);
        assert_eq!(
            j.message,
            "backend 'dead' is DOWN: 0/1 servers up; not up: web1 (MAINT)"
        );
        let j = judge_backend(&rows, "nope", 1);
        assert_eq!(j.verdict, Verdict::Down);
        assert_eq!(
            j.message,
            "backend 'nope' is not in the stats (backends: app, dead)"
        );
        // Many servers down: a few are named.
        let mut many = rows.clone();
        for i in 0..8 {
            many.push(Row {
                pxname: "app".into(),
                svname: format!("extra{i}"),
                status: "DOWN".into(),
                ..Row::default()
            });
        }
        let j = judge_backend(&many, "app", 1);
        assert!(
            j.message.ends_with("extra3 (DOWN) and 4 more"),
            "{}",
            j.message
        );
        // All up.
        let all_up: Vec<Row> = rows
            .iter()
            .filter(|r| r.svname != "web2")
            .cloned()
            .collect();
        assert_eq!(judge_backend(&all_up, "app", 2).verdict, Verdict::Up);
    }

    #[test]
    fn judges_frontends_and_combines() {
        let mut rows = parse(CSV).unwrap();
        let j = judge_frontend(&rows, "web");
        assert_eq!(j.verdict, Verdict::Up);
        assert_eq!(j.message, "frontend 'web' is OPEN");
        rows[1].status = "PAUSED".into();
        let j = judge_frontend(&rows, "web");
        assert_eq!(j.verdict, Verdict::Down);
        assert_eq!(j.message, "frontend 'web' is PAUSED");
        rows[1].status = "FULL".into();
        assert_eq!(judge_frontend(&rows, "web").verdict, Verdict::Degraded);
        rows[1].status = "OPEN".into();
        rows[1].scur = Some(262120);
        let j = judge_frontend(&rows, "web");
        assert_eq!(j.verdict, Verdict::Degraded);
        assert_eq!(
            j.message,
            "frontend 'web' is OPEN but at its session limit (262120/262120)"
        );
        assert!(j
            .metrics
            .contains(&("frontend_session_limit".into(), 262120.0)));
        assert_eq!(judge_frontend(&rows, "app").verdict, Verdict::Down);
        let c = combine(vec![
            judge_frontend(&rows, "stats"),
            judge_backend(&rows, "dead", 1),
        ])
        .unwrap();
        assert_eq!(c.verdict, Verdict::Down);
        assert_eq!(
            c.message,
            "frontend 'stats' is OPEN; backend 'dead' is DOWN: 0/1 servers up; not up: web1 (MAINT)"
        );
        assert!(combine(Vec::new()).is_none());
    }

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (i, o) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
            ("admin:s3cret", "YWRtaW46czNjcmV0"),
        ] {
            assert_eq!(base64(i.as_bytes()), o, "{i}");
        }
    }
}
