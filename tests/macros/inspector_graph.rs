//! `batpak graph`: a small causal chain (a withdrawal, a deposit and an alert
//! reacting to it, a transfer onwards, its deposit) drawn as DOT and Mermaid,
//! node for node and edge for edge, rendered by graphviz when it is on PATH.

use crate::domain;

use crate::cli::{batpak, stdout};
use batpak::event::EventId;
use batpak::prelude::*;
use batpak::store::BatchAppendItem;
use serde_json::Value;
use std::collections::BTreeSet;
use std::process::{Command, Stdio};

/// The chain's events: the root, then the reactions; `other` is outside it.
struct Chain {
    _dir: tempfile::TempDir,
    path: String,
    root: EventId,
    paid: EventId,
    alert: EventId,
    forward: EventId,
    leaf: EventId,
    other: EventId,
}

fn chain() -> Chain {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_str().unwrap().to_owned();
    let store = Store::open(StoreConfig::new(dir.path())).unwrap();
    let account = |name: &str| Coordinate::new(format!("account:{name}"), "bank").unwrap();
    let (alice, bob, carol) = (account("alice"), account("bob"), account("carol"));
    // An entity name with a quote, a colon, a hash and a backslash: labels must stay quoted.
    let desk = Coordinate::new(r#"desk:"fraud" #1\x"#, "bank").unwrap();
    let cents = 250_000;
    let root = store
        .append_typed(&alice, &domain::Account::Withdrawn { cents })
        .unwrap()
        .event_id;
    let react = |at: &Coordinate, event: &domain::Account, parent: EventId| {
        let options = AppendOptions::new().with_reaction(root, parent);
        let item = BatchAppendItem::typed(at.clone(), event, options).unwrap();
        store.append_item(item).unwrap().event_id
    };
    let paid = react(&bob, &domain::Account::Deposited { cents }, root);
    // A raw reaction, through the ticket API.
    let alert = store
        .submit_reaction(
            &desk,
            EventKind::custom(0x3, 0x7),
            &serde_json::json!({"account": "account:alice", "cents": cents}),
            root,
            root,
        )
        .unwrap()
        .wait()
        .unwrap()
        .event_id;
    let forward = react(&bob, &domain::Account::Withdrawn { cents: 40_000 }, paid);
    let leaf = react(
        &carol,
        &domain::Account::Deposited { cents: 40_000 },
        forward,
    );
    let other = store
        .append_typed(&carol, &domain::Account::Deposited { cents: 1_000 })
        .unwrap()
        .event_id;
    store.close().unwrap();
    Chain {
        _dir: dir,
        path,
        root,
        paid,
        alert,
        forward,
        leaf,
        other,
    }
}

fn hex(id: EventId) -> String {
    format!("{id:032x}")
}

/// The short id the inspector labels nodes with (`docs/inspector.md`).
fn short(id: EventId) -> String {
    let time = (id.get() >> 64) as u32;
    match id.get() & ((1 << 62) - 1) {
        0 => format!("{time:08x}"),
        n => format!("{time:08x}+{n}"),
    }
}

/// The node lines and edge lines of DOT output, each kind sorted as printed.
fn dot_parts(dot: &str) -> (Vec<String>, Vec<String>) {
    let body: Vec<&str> = dot.lines().filter(|l| l.starts_with("  \"e")).collect();
    let nodes = body.iter().filter(|l| !l.contains(" -> "));
    let edges = body.iter().filter(|l| l.contains(" -> "));
    (
        nodes.map(|l| l.to_string()).collect(),
        edges.map(|l| l.to_string()).collect(),
    )
}

fn dot_node(id: EventId, kind: &str, entity: &str, seq: u64, focus: bool) -> String {
    let style = if focus {
        ", style=\"rounded,filled,bold\", fillcolor=\"#fff3c4\""
    } else {
        ""
    };
    format!(
        "  \"e{}\" [label=\"{kind}\\n{entity} #{seq}\\n{}\", tooltip=\"{}\"{style}];",
        hex(id),
        short(id),
        hex(id)
    )
}

fn dot_edge(cause: EventId, effect: EventId) -> String {
    format!("  \"e{}\" -> \"e{}\";", hex(cause), hex(effect))
}

#[test]
fn graph_of_a_correlation_is_the_whole_tree_in_dot() {
    let c = chain();
    let out = stdout(&batpak(&["graph", &c.path, "--correlation", &hex(c.root)]));
    assert!(out.contains("digraph batpak {"), "{out}");
    assert!(out.trim_end().ends_with('}'), "{out}");
    let (nodes, edges) = dot_parts(&out);
    assert_eq!(
        nodes,
        [
            dot_node(c.root, "Account::Withdrawn", "account:alice", 1, false),
            dot_node(c.paid, "Account::Deposited", "account:bob", 1, false),
            dot_node(c.alert, "0x3007", r#"desk:\"fraud\" #1\\x"#, 1, false),
            dot_node(c.forward, "Account::Withdrawn", "account:bob", 2, false),
            dot_node(c.leaf, "Account::Deposited", "account:carol", 1, false),
        ]
    );
    assert_eq!(
        edges,
        [
            dot_edge(c.root, c.paid),
            dot_edge(c.root, c.alert),
            dot_edge(c.paid, c.forward),
            dot_edge(c.forward, c.leaf),
        ]
    );
    assert!(!out.contains(&hex(c.other)), "{out}");
    // The same output every time.
    assert_eq!(
        stdout(&batpak(&["graph", &c.path, "--correlation", &hex(c.root)])),
        out
    );
    // Any event of the tree finds the tree.
    let via_leaf = stdout(&batpak(&["graph", &c.path, "--correlation", &hex(c.leaf)]));
    assert_eq!(dot_parts(&via_leaf), (nodes, edges));
    render_with_dot(&out);
}

#[test]
fn graph_of_an_event_is_its_ancestors_and_descendants() {
    let c = chain();
    let out = stdout(&batpak(&[
        "graph",
        &c.path,
        "--event",
        &format!("0x{}", hex(c.forward)),
        "--format",
        "dot",
    ]));
    let (nodes, edges) = dot_parts(&out);
    assert_eq!(
        nodes,
        [
            dot_node(c.root, "Account::Withdrawn", "account:alice", 1, false),
            dot_node(c.paid, "Account::Deposited", "account:bob", 1, false),
            dot_node(c.forward, "Account::Withdrawn", "account:bob", 2, true),
            dot_node(c.leaf, "Account::Deposited", "account:carol", 1, false),
        ]
    );
    assert_eq!(
        edges,
        [
            dot_edge(c.root, c.paid),
            dot_edge(c.paid, c.forward),
            dot_edge(c.forward, c.leaf),
        ]
    );
    render_with_dot(&out);

    let graph: Value = serde_json::from_str(&stdout(&batpak(&[
        "graph",
        &c.path,
        "--event",
        &hex(c.forward),
        "--json",
    ])))
    .expect("one JSON document");
    assert_eq!(graph["focus"]["event"], hex(c.forward));
    let ids: Vec<&str> = graph["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["event_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [c.root, c.paid, c.forward, c.leaf].map(hex));
    assert_eq!(graph["edges"][2]["cause"], hex(c.forward));
    assert_eq!(graph["edges"][2]["effect"], hex(c.leaf));
    assert_eq!(graph["nodes"][2]["kind_name"], "Account::Withdrawn");
    assert_eq!(graph["nodes"][2]["focus"], true);
}

#[test]
fn graph_in_mermaid() {
    let c = chain();
    let out = stdout(&batpak(&[
        "graph",
        &c.path,
        "--event",
        &hex(c.paid),
        "--format",
        "mermaid",
    ]));
    let lines: Vec<&str> = out.lines().filter(|l| !l.starts_with("%%")).collect();
    let node = |id: EventId, kind: &str, entity: &str, seq: u64| {
        format!(
            "  e{}[\"{kind}<br/>{entity} #35;{seq}<br/>{}\"]",
            hex(id),
            short(id)
        )
    };
    let edge = |a: EventId, b: EventId| format!("  e{} --> e{}", hex(a), hex(b));
    let expected = [
        "flowchart TD".to_owned(),
        node(c.root, "Account::Withdrawn", "account:alice", 1),
        node(c.paid, "Account::Deposited", "account:bob", 1),
        node(c.forward, "Account::Withdrawn", "account:bob", 2),
        node(c.leaf, "Account::Deposited", "account:carol", 1),
        edge(c.root, c.paid),
        edge(c.paid, c.forward),
        edge(c.forward, c.leaf),
        "  classDef focus fill:#fff3c4,stroke-width:3px".to_owned(),
        format!("  class e{} focus", hex(c.paid)),
    ];
    assert_eq!(lines, expected);

    // The quoted entity stays inside its label.
    let tree = stdout(&batpak(&[
        "graph",
        &c.path,
        "--correlation",
        &hex(c.root),
        "--format",
        "mermaid",
    ]));
    assert!(
        tree.contains(&format!(
            "  e{}[\"0x3007<br/>desk:#quot;fraud#quot; #35;1\\x #35;1<br/>",
            hex(c.alert)
        )),
        "{tree}"
    );
}

#[test]
fn graph_refuses_bad_ids_and_says_what_is_missing() {
    let c = chain();
    let code = |args: &[&str]| batpak(args).status.code();
    assert_eq!(code(&["graph", &c.path, "--event", "xyz"]), Some(2));
    assert_eq!(code(&["graph", &c.path]), Some(2));
    assert_eq!(
        code(&[
            "graph",
            &c.path,
            "--event",
            &hex(c.root),
            "--correlation",
            &hex(c.root)
        ]),
        Some(2)
    );
    assert_eq!(
        code(&["graph", &c.path, "--event", &hex(c.root), "--format", "png"]),
        Some(2)
    );
    let absent = "0".repeat(32);
    let missing = batpak(&["graph", &c.path, "--event", &absent]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no event"));
    assert_eq!(
        code(&["graph", "/nonexistent/batpak-data", "--event", &absent]),
        Some(1)
    );

    // --svg without graphviz on PATH: a clear error, exit code 1.
    let out = tempfile::tempdir().unwrap();
    let svg = out.path().join("graph.svg");
    let no_dot = Command::new(env!("CARGO_BIN_EXE_batpak"))
        .args(["graph", &c.path, "--event", &hex(c.root)])
        .arg("--svg")
        .arg(&svg)
        .env("PATH", out.path())
        .output()
        .unwrap();
    assert_eq!(no_dot.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&no_dot.stderr);
    assert!(stderr.contains("graphviz"), "{stderr}");
    assert!(!svg.exists());
}

#[test]
fn graph_svg_is_rendered_by_graphviz() {
    if !dot_on_path() {
        eprintln!("graphviz `dot` is not on PATH: skipping the --svg rendering");
        return;
    }
    let c = chain();
    let out = tempfile::tempdir().unwrap();
    let svg = out.path().join("graph.svg");
    stdout(&batpak(&[
        "graph",
        &c.path,
        "--correlation",
        &hex(c.root),
        "--svg",
        svg.to_str().unwrap(),
    ]));
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.contains("<svg"), "{text}");
    let titles: BTreeSet<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("<title>")?.strip_suffix("</title>"))
        .collect();
    assert!(
        titles.contains(format!("e{}", hex(c.leaf)).as_str()),
        "{titles:?}"
    );
}

fn dot_on_path() -> bool {
    Command::new("dot")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Feeds DOT text to `dot -Tsvg` (when graphviz is installed): it must parse.
fn render_with_dot(text: &str) {
    if !dot_on_path() {
        return;
    }
    use std::io::Write;
    let mut child = Command::new("dot")
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("<svg"));
}
