//! docs/configuration.md stays true: every ```toml block parses, the two
//! nodes of each example agree on what VRRP needs them to agree on, and the
//! error output shown is what the parser prints.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use vigil_config::Config;

struct Block {
    lang: String,
    text: String,
    /// The nearest `### ` heading above, within "## Examples".
    section: String,
    /// 1-based line of the opening fence.
    line: usize,
}

fn blocks() -> Vec<Block> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/configuration.md");
    let md = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = Vec::new();
    let mut section = String::new();
    let mut in_examples = false;
    let mut open: Option<Block> = None;
    for (i, line) in md.lines().enumerate() {
        match &mut open {
            Some(b) if line.trim_end() == "```" => {
                out.push(std::mem::replace(
                    b,
                    Block {
                        lang: String::new(),
                        text: String::new(),
                        section: String::new(),
                        line: 0,
                    },
                ));
                open = None;
            }
            Some(b) => {
                b.text.push_str(line);
                b.text.push('\n');
            }
            None => {
                if let Some(h) = line.strip_prefix("### ") {
                    section = if in_examples {
                        h.to_string()
                    } else {
                        String::new()
                    };
                } else if let Some(h) = line.strip_prefix("## ") {
                    in_examples = h == "Examples";
                    section.clear();
                }
                if let Some(lang) = line.strip_prefix("```") {
                    open = Some(Block {
                        lang: lang.trim().to_string(),
                        text: String::new(),
                        section: section.clone(),
                        line: i + 1,
                    });
                }
            }
        }
    }
    assert!(open.is_none(), "unterminated code block");
    out
}

#[test]
fn every_toml_block_parses() {
    let all = blocks();
    let toml: Vec<&Block> = all.iter().filter(|b| b.lang == "toml").collect();
    assert!(
        toml.len() >= 9,
        "expected the reference and three example pairs, found {}",
        toml.len()
    );
    for b in toml {
        let name = format!("configuration.md (block at line {})", b.line);
        if let Err(e) = Config::parse(&b.text, &name) {
            panic!("{e}\n--- block ---\n{}", b.text);
        }
    }
}

#[test]
fn example_pairs_agree() {
    let all = blocks();
    let mut sections: Vec<&str> = all
        .iter()
        .filter(|b| b.lang == "toml" && !b.section.is_empty())
        .map(|b| b.section.as_str())
        .collect();
    sections.dedup();
    for want in ["Nginx", "HAProxy", "MySQL"] {
        assert!(
            sections.iter().any(|s| s.starts_with(want)),
            "no {want} example: {sections:?}"
        );
    }
    for s in sections {
        let nodes: Vec<Config> = all
            .iter()
            .filter(|b| b.lang == "toml" && b.section == s)
            .map(|b| Config::parse(&b.text, "example.toml").unwrap())
            .collect();
        assert_eq!(nodes.len(), 2, "{s}: two nodes");
        let (a, b) = (&nodes[0], &nodes[1]);
        assert_eq!(a.instances.len(), b.instances.len(), "{s}");
        for (x, y) in a.instances.iter().zip(&b.instances) {
            assert_eq!(
                (
                    &x.name,
                    x.vrid,
                    x.version,
                    x.advert_interval,
                    &x.authentication
                ),
                (
                    &y.name,
                    y.vrid,
                    y.version,
                    y.advert_interval,
                    &y.authentication
                ),
                "{s}"
            );
            let addrs =
                |i: &vigil_config::InstanceSpec| i.vips.iter().map(|v| v.addr).collect::<Vec<_>>();
            assert_eq!(addrs(x), addrs(y), "{s}: virtual addresses");
            assert_ne!(x.priority, y.priority, "{s}: priorities must differ");
            // Unicast: each node's peer is the other's source.
            if let (Some(xs), Some(ys)) = (x.unicast_source, y.unicast_source) {
                assert_eq!(
                    (x.unicast_peers.as_slice(), y.unicast_peers.as_slice()),
                    (&[ys][..], &[xs][..]),
                    "{s}"
                );
            }
            for node in [x, y] {
                node.engine_config(node.unicast_source.unwrap_or(match node.family() {
                    vigil_vrrp::Family::V4 => "192.0.2.250".parse().unwrap(),
                    vigil_vrrp::Family::V6 => "fe80::250".parse().unwrap(),
                }))
                .validate()
                .unwrap();
            }
        }
        assert_eq!(a.sync_groups, b.sync_groups, "{s}");
    }
}

#[test]
fn the_error_example_is_real_output() {
    let all = blocks();
    let i = all
        .iter()
        .position(|b| b.lang == "text" && b.text.starts_with("[[instance]]"))
        .expect("the bad file");
    let (bad, shown) = (&all[i], &all[i + 1]);
    let errors = Config::parse(&bad.text, "vigil.toml")
        .unwrap_err()
        .to_string();
    let actual: Vec<&str> = errors.lines().collect();
    let expected: Vec<&str> = shown.text.lines().collect();
    assert_eq!(actual.len(), expected.len(), "{errors}");
    for (a, e) in actual.iter().zip(&expected) {
        match e.strip_suffix(", ...") {
            Some(prefix) => assert!(a.starts_with(prefix), "{a}\n  vs\n{e}"),
            None => assert_eq!(a, e),
        }
    }
}

/// The TOML snippets in the plugin READMEs and docs/plugins.md are real Vigil configuration.
#[test]
fn plugin_docs_snippets_parse() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files = vec![
        root.join("README.md"),
        root.join("docs/plugins.md"),
        root.join("sdk/rust/README.md"),
    ];
    if let Ok(dir) = std::fs::read_dir(root.join("plugins")) {
        for e in dir.flatten() {
            let readme = e.path().join("README.md");
            if readme.is_file() {
                files.push(readme);
            }
        }
    }
    let mut checked = 0;
    for f in files.iter().filter(|f| f.is_file()) {
        let md = std::fs::read_to_string(f).unwrap();
        let mut block: Option<(usize, String)> = None;
        for (i, line) in md.lines().enumerate() {
            match &mut block {
                Some((start, text)) if line.trim_end() == "```" => {
                    let name = format!("{}:{}", f.display(), start);
                    if let Err(e) = Config::parse(text, &name) {
                        panic!("{e}\n--- block ---\n{text}");
                    }
                    checked += 1;
                    block = None;
                }
                Some((_, text)) => {
                    text.push_str(line);
                    text.push('\n');
                }
                None if line.trim_end() == "```toml" => block = Some((i + 1, String::new())),
                None => {}
            }
        }
    }
    eprintln!("{checked} TOML snippets parsed");
}
