//! Renderers: pure functions from a `Snapshot` to text.

pub mod cycles;
pub mod dot;
pub mod fold;
pub mod json;
pub mod label;
pub mod loops;
pub mod summary;
pub mod text;
pub mod view;

use crate::model::Snapshot;
use std::io::Write;

/// Render in a named format: `text` (tasks alike folded), `text-all` (every task on its
/// own), `task` (the tasks read in depth), `loops` (the event loops' own
/// state), `json`, `dot`, or `stats` (one line: what the
/// decode cost).
pub fn render(s: &Snapshot, format: &str) -> Result<String, String> {
    render_coloured(s, format, false)
}

/// The same, the text formats in colour when `colour` is set (for a terminal).
fn render_coloured(s: &Snapshot, format: &str, colour: bool) -> Result<String, String> {
    let look = |fold| text::Look { fold, colour };
    match format {
        "text" => Ok(text::render(s, look(true))),
        "text-all" => Ok(text::render(s, look(false))),
        "task" => Ok(text::render_detail(s, colour)),
        "loops" => Ok(loops::render(s, colour)),
        "json" => Ok(json::render(s)),
        "dot" => Ok(dot::render(s)),
        "stats" => Ok(stats(s)),
        other => Err(format!(
            "unknown format '{other}' (expected text, text-all, task, loops, json, dot or stats)"
        )),
    }
}

/// The same, of what `view` shows (every task when it filters nothing).
pub fn render_view(s: &Snapshot, format: &str, view: &view::View) -> Result<String, String> {
    if view.is_everything() {
        return render_coloured(s, format, view.colour);
    }
    render_coloured(&view.apply(s)?, format, view.colour)
}

/// What the decode cost: reads, then the time of each step when it was measured.
fn stats(s: &Snapshot) -> String {
    let st = &s.stats;
    let mut out = format!(
        "awaitwhat: {} read callbacks, {} bytes read, {} failed reads\n",
        st.callbacks, st.bytes_read, st.failed_reads
    );
    if !st.phases.is_empty() {
        let steps: Vec<String> = (st.phases.iter())
            .map(|(name, d)| format!("{name} {:.1} ms", d.as_secs_f64() * 1e3))
            .collect();
        out += &format!("awaitwhat: steps: {}\n", steps.join(", "));
    }
    out
}

/// Render `text` or `json` straight into `w` as it is made (the CLI's standard output):
/// the whole answer is never held in memory; `threads` write the text's task blocks. Other
/// formats are rendered, then written.
pub fn render_into(
    s: &Snapshot,
    format: &str,
    view: &view::View,
    threads: usize,
    w: &mut dyn Write,
) -> Result<(), String> {
    let shown;
    let s = if view.is_everything() {
        s
    } else {
        shown = view.apply(s)?;
        &shown
    };
    let io = |e: std::io::Error| format!("cannot write the output: {e}");
    match format {
        "text" | "text-all" => {
            let mut failed = None;
            let look = text::Look {
                fold: format == "text",
                colour: view.colour,
            };
            text::render_in_parts(s, threads, look, &mut |part| {
                if failed.is_none() {
                    failed = w.write_all(part.as_bytes()).err();
                }
            });
            failed.map_or(Ok(()), |e| Err(io(e)))
        }
        "json" => {
            json::render_into(s, w)?;
            w.write_all(b"\n").map_err(io)
        }
        other => (w.write_all(render_coloured(s, other, view.colour)?.as_bytes())).map_err(io),
    }
}
