//! A [`Graph`] as DOT, Mermaid or JSON text, and DOT rendered to SVG by
//! graphviz. Labels carry the kind name, the entity and its sequence, and a
//! short id; every name is quoted, so entities holding `"`, `:`, `#` or `\`
//! cannot break the syntax.

use super::{Focus, Graph, Node};
use crate::kinds::hex;
use crate::{hex_id, Failure};
use serde_json::{json, Value};
use std::fmt::Write as _;
use std::io::Write as _;
use std::process::{Command, Stdio};

/// Bits of an id's counter (the events stamped within one microsecond).
const COUNTER_MASK: u128 = (1 << 62) - 1;

/// A short id: the eight hex digits of the full id that carry its
/// millisecond and microsecond (digits 9 to 16 of what `tail` prints), with
/// `+N` for the N-th event stamped in the same microsecond (a batch).
pub(crate) fn short_id(id: u128) -> String {
    let time = (id >> 64) as u32;
    match id & COUNTER_MASK {
        0 => format!("{time:08x}"),
        n => format!("{time:08x}+{n}"),
    }
}

/// The node's name in both syntaxes: `e` and its full id.
fn node_id(id: u128) -> String {
    format!("e{}", hex_id(id))
}

/// The three label lines of a node.
fn label_lines(node: &Node) -> [String; 3] {
    [
        node.kind_name.clone(),
        format!("{} #{}", node.entity, node.entity_sequence),
        short_id(node.id),
    ]
}

/// A comment line naming what the graph shows.
fn title(graph: &Graph) -> String {
    let about = match graph.focus {
        Focus::Event(id) => format!("event {}", hex_id(id)),
        Focus::Correlation(id) => format!("correlation {}", hex_id(id)),
    };
    format!(
        "batpak graph of {about}: {} events, {} edges (cause -> effect){}",
        graph.nodes.len(),
        graph.edges.len(),
        if graph.truncated {
            ", cut at --limit"
        } else {
            ""
        }
    )
}

/// Text inside a DOT double-quoted string.
pub(crate) fn dot_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// The graph in graphviz DOT.
pub(crate) fn dot(graph: &Graph) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "// {}", title(graph));
    out.push_str("digraph batpak {\n");
    out.push_str("  rankdir=TB;\n");
    out.push_str("  node [shape=box, style=rounded, fontname=\"Helvetica\", fontsize=11];\n");
    out.push_str("  edge [color=\"#555555\"];\n");
    for node in &graph.nodes {
        let label = label_lines(node)
            .iter()
            .map(|l| dot_escape(l))
            .collect::<Vec<_>>()
            .join("\\n");
        let style = if node.focus {
            ", style=\"rounded,filled,bold\", fillcolor=\"#fff3c4\""
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "  \"{}\" [label=\"{label}\", tooltip=\"{}\"{style}];",
            node_id(node.id),
            hex_id(node.id)
        );
    }
    for (cause, effect) in &graph.edges {
        let _ = writeln!(
            out,
            "  \"{}\" -> \"{}\";",
            node_id(*cause),
            node_id(*effect)
        );
    }
    out.push_str("}\n");
    out
}

/// Text inside a Mermaid double-quoted label: the characters its parser
/// would read as syntax become entity codes.
pub(crate) fn mermaid_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("#quot;"),
            '#' => out.push_str("#35;"),
            '&' => out.push_str("#amp;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '`' => out.push_str("#96;"),
            c => out.push(c),
        }
    }
    out
}

/// The graph as a Mermaid flowchart.
pub(crate) fn mermaid(graph: &Graph) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "%% {}", title(graph));
    out.push_str("flowchart TD\n");
    for node in &graph.nodes {
        let label = label_lines(node)
            .iter()
            .map(|l| mermaid_escape(l))
            .collect::<Vec<_>>()
            .join("<br/>");
        let _ = writeln!(out, "  {}[\"{label}\"]", node_id(node.id));
    }
    for (cause, effect) in &graph.edges {
        let _ = writeln!(out, "  {} --> {}", node_id(*cause), node_id(*effect));
    }
    if let Some(focus) = graph.nodes.iter().find(|n| n.focus) {
        out.push_str("  classDef focus fill:#fff3c4,stroke-width:3px\n");
        let _ = writeln!(out, "  class {} focus", node_id(focus.id));
    }
    out
}

/// The graph as one JSON document.
pub(crate) fn json(graph: &Graph) -> Value {
    let focus = match graph.focus {
        Focus::Event(id) => json!({ "event": hex_id(id) }),
        Focus::Correlation(id) => json!({ "correlation": hex_id(id) }),
    };
    let nodes: Vec<Value> = graph
        .nodes
        .iter()
        .map(|n| {
            json!({
                "event_id": hex_id(n.id),
                "short_id": short_id(n.id),
                "sequence": n.sequence,
                "kind": hex(n.kind),
                "kind_name": n.kind_name,
                "entity": n.entity,
                "scope": n.scope,
                "entity_sequence": n.entity_sequence,
                "correlation_id": hex_id(n.correlation_id),
                "focus": n.focus,
            })
        })
        .collect();
    let edges: Vec<Value> = graph
        .edges
        .iter()
        .map(|(cause, effect)| json!({ "cause": hex_id(*cause), "effect": hex_id(*effect) }))
        .collect();
    json!({ "focus": focus, "truncated": graph.truncated, "nodes": nodes, "edges": edges })
}

/// Renders `dot` text to an SVG file with graphviz's `dot -Tsvg`.
pub(crate) fn svg(dot: &str, file: &str) -> Result<(), Failure> {
    let spawned = Command::new("dot")
        .args(["-Tsvg", "-o", file])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Failure::Failed(
                "--svg needs graphviz's `dot` on PATH (install graphviz, e.g. \
                 `apt-get install graphviz`), or print the DOT without --svg and render it elsewhere"
                    .into(),
            ))
        }
        Err(e) => return Err(Failure::Failed(format!("could not run `dot`: {e}"))),
    };
    let fed = child
        .stdin
        .take()
        .map(|mut stdin| stdin.write_all(dot.as_bytes()));
    let output = child
        .wait_with_output()
        .map_err(|e| Failure::Failed(format!("could not run `dot`: {e}")))?;
    if !output.status.success() {
        return Err(Failure::Failed(format!(
            "`dot -Tsvg -o {file}` failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    if let Some(Err(e)) = fed {
        return Err(Failure::Failed(format!("could not feed `dot`: {e}")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cannot_break_out_of_their_quotes() {
        assert_eq!(dot_escape(r#"a"b\c:d"#), r#"a\"b\\c:d"#);
        assert_eq!(
            mermaid_escape("a\"b#1<x>&`"),
            "a#quot;b#35;1#lt;x#gt;#amp;#96;"
        );
    }

    #[test]
    fn short_ids_show_time_and_counter() {
        let id = 0x0193_a1b2_c3d4_7e5f_8000_0000_0000_0000_u128;
        assert_eq!(short_id(id), "c3d47e5f");
        assert_eq!(short_id(id + 2), "c3d47e5f+2");
    }
}
