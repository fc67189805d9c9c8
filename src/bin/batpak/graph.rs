//! `batpak graph DIR --event ID | --correlation ID`: the causal graph around
//! one event (its causes back to the root, `walk_ancestors`, and everything it
//! set off, `descendants`) or of one causal tree (`correlated`), as DOT,
//! Mermaid or JSON, or rendered to SVG by graphviz. Edges run cause -> effect;
//! nodes and edges are sorted by commit order, so the output is deterministic.

mod render;

use crate::kinds::Kinds;
use crate::progress::Progress;
use crate::{cli, print_json, Failure};
use batpak::event::EventKind;
use batpak::store::{IndexEntry, ReadOnly, Store};
use std::collections::BTreeMap;

/// Events drawn at most, unless `--limit` says otherwise.
const DEFAULT_LIMIT: usize = 10_000;

/// What the graph is drawn around.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Focus {
    /// One event: its ancestors and descendants.
    Event(u128),
    /// One causal tree, by its correlation id (the root's event id).
    Correlation(u128),
}

/// One event of the graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Node {
    pub id: u128,
    pub sequence: u64,
    pub kind: EventKind,
    /// The kind's name (or hex).
    pub kind_name: String,
    pub entity: String,
    pub scope: String,
    pub entity_sequence: u64,
    pub correlation_id: u128,
    /// The event the graph was asked about (`--event`).
    pub focus: bool,
}

/// The events and their cause -> effect edges, in commit order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Graph {
    pub focus: Focus,
    pub nodes: Vec<Node>,
    /// (cause, effect), both nodes of the graph.
    pub edges: Vec<(u128, u128)>,
    /// `--limit` cut the graph short.
    pub truncated: bool,
}

enum Output {
    Dot,
    Mermaid,
    Json,
    Svg(String),
}

pub(crate) fn run(args: &[String], progress: &Progress) -> Result<(), Failure> {
    let parsed = cli::parse(
        args,
        &["--event", "--correlation", "--format", "--svg", "--limit"],
    )?;
    let focus = match (parsed.value("--event"), parsed.value("--correlation")) {
        (Some(id), None) => Focus::Event(parse_id(id)?),
        (None, Some(id)) => Focus::Correlation(parse_id(id)?),
        _ => {
            return Err(Failure::Usage(
                "graph needs one of --event ID and --correlation ID".into(),
            ))
        }
    };
    let output = match (parsed.value("--format"), parsed.value("--svg"), parsed.json) {
        (None | Some("dot"), None, false) => Output::Dot,
        (Some("mermaid"), None, false) => Output::Mermaid,
        (None, None, true) => Output::Json,
        (None | Some("dot"), Some(file), false) => Output::Svg(file.to_owned()),
        (Some(other), _, _) if other != "dot" && other != "mermaid" => {
            return Err(Failure::Usage(format!(
                "unknown format `{other}`: expected dot or mermaid"
            )))
        }
        _ => {
            return Err(Failure::Usage(
                "--json, --format mermaid and --svg exclude one another".into(),
            ))
        }
    };
    let limit = parsed.count("--limit", DEFAULT_LIMIT)?;
    if limit == 0 {
        return Err(Failure::Usage("--limit must be at least 1".into()));
    }
    let store = cli::open(&parsed.dir, progress)?;
    progress.phase("following causation ids");
    let graph = collect(&store, focus, limit)?;
    if graph.truncated {
        eprintln!(
            "batpak: the graph stops at --limit {limit} events; raise the limit to see the rest"
        );
    }
    match output {
        Output::Dot => print!("{}", render::dot(&graph)),
        Output::Mermaid => print!("{}", render::mermaid(&graph)),
        Output::Json => print_json(&render::json(&graph)),
        Output::Svg(file) => {
            progress.phase(&format!("rendering {file} with graphviz dot"));
            render::svg(&render::dot(&graph), &file)?;
            println!(
                "wrote {file}: {} events, {} edges",
                graph.nodes.len(),
                graph.edges.len()
            );
        }
    }
    Ok(())
}

/// An event id as `tail` prints it: 32 hex digits, optionally after `0x`.
pub(crate) fn parse_id(s: &str) -> Result<u128, Failure> {
    let digits = s.strip_prefix("0x").unwrap_or(s);
    if digits.len() != 32 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Failure::Usage(format!(
            "bad event id `{s}`: expected the 32 hex digits `batpak tail` prints"
        )));
    }
    u128::from_str_radix(digits, 16).map_err(|e| Failure::Usage(format!("bad event id `{s}`: {e}")))
}

/// The graph's events, read from the index.
fn collect(store: &Store<ReadOnly>, focus: Focus, limit: usize) -> Result<Graph, Failure> {
    let (entries, truncated) = match focus {
        Focus::Event(id) => {
            let ancestors = store.walk_ancestors(id, limit);
            let Some(root) = ancestors.last() else {
                return Err(Failure::Failed(format!(
                    "no event {} in this store",
                    crate::hex_id(id)
                )));
            };
            let cut_above = ancestors.len() == limit && root.causation_id.is_some();
            let descendants = store.descendants(id, limit);
            let cut_below = descendants.len() == limit;
            let mut all = ancestors;
            all.extend(descendants);
            (all, cut_above || cut_below)
        }
        Focus::Correlation(id) => {
            let mut tree = store.correlated(id);
            if tree.is_empty() {
                // An id of any event in the tree finds the tree too.
                if let Some(event) = store.walk_ancestors(id, 1).first() {
                    tree = store.correlated(event.correlation_id);
                }
            }
            if tree.is_empty() {
                return Err(Failure::Failed(format!(
                    "no event {} in this store",
                    crate::hex_id(id)
                )));
            }
            let truncated = tree.len() > limit;
            tree.truncate(limit);
            (tree, truncated)
        }
    };
    Ok(build(&Kinds::of(store), focus, entries, truncated))
}

/// Nodes (deduplicated, in commit order) and the edges among them.
pub(crate) fn build(
    kinds: &Kinds,
    focus: Focus,
    entries: Vec<IndexEntry>,
    truncated: bool,
) -> Graph {
    let mut by_id: BTreeMap<u128, IndexEntry> = BTreeMap::new();
    for entry in entries {
        by_id.insert(entry.event_id.get(), entry);
    }
    let mut nodes: Vec<Node> = by_id
        .values()
        .map(|e| Node {
            id: e.event_id.get(),
            sequence: e.sequence,
            kind: e.kind,
            kind_name: kinds.label(e.kind),
            entity: e.coordinate.entity().to_owned(),
            scope: e.coordinate.scope().to_owned(),
            entity_sequence: e.entity_sequence,
            correlation_id: e.correlation_id.get(),
            focus: focus == Focus::Event(e.event_id.get()),
        })
        .collect();
    nodes.sort_by_key(|n| (n.sequence, n.id));
    let sequence_of = |id: &u128| by_id.get(id).map(|e| e.sequence);
    let mut edges: Vec<(u128, u128)> = by_id
        .values()
        .filter_map(|e| {
            let cause = e.causation_id?.get();
            by_id
                .contains_key(&cause)
                .then_some((cause, e.event_id.get()))
        })
        .collect();
    edges.sort_by_key(|(cause, effect)| (sequence_of(cause), sequence_of(effect)));
    Graph {
        focus,
        nodes,
        edges,
        truncated,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_the_32_hex_digits_tail_prints() {
        let id = "0193a1b2c3d47e5f8000000000000001";
        assert_eq!(parse_id(id).unwrap(), 0x0193a1b2c3d47e5f8000000000000001);
        assert_eq!(parse_id(&format!("0x{id}")).unwrap(), parse_id(id).unwrap());
        for bad in [
            "",
            "0x",
            "123",
            "zz93a1b2c3d47e5f8000000000000001",
            &format!("{id}0"),
        ] {
            assert!(matches!(parse_id(bad), Err(Failure::Usage(_))), "{bad}");
        }
    }
}
