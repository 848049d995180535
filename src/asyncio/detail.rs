//! A task in depth (`awaitwhat task`): its cancellation message, its done-callbacks, and
//! where it was created when asyncio's debug mode recorded it. Read only for the tasks the
//! view shows.

use super::callbacks::callbacks;
use super::tasks::future_kind;
use crate::cpython::Py;
use crate::cpython::callable::Callable;
use crate::error::Result;
use crate::model::{CallbackRef, Frame, Id, TaskDetail};
use crate::target::Addr;

/// Frames of a creation traceback read at most (asyncio keeps the whole stack).
const MAX_CREATED: usize = 256;

/// What `awaitwhat task` adds for the task at `t`; what cannot be read is left out.
pub fn detail(py: &Py<'_>, t: Addr) -> TaskDetail {
    let c_layout = future_kind(py, t).ok().flatten().unwrap_or(false);
    // A C future keeps them in its struct (no attribute to look up); a pure-Python one in
    // its instance dict.
    let field = |c: Result<crate::layout::Off>, attr: &str| -> Option<Addr> {
        let v = if c_layout {
            py.mem.ptr(t + c.ok()?).ok()?
        } else {
            py.attr(t, attr).ok()??
        };
        (v != 0 && !py.is_none(v).unwrap_or(true)).then_some(v)
    };
    let o = py.off();
    let cancel_message = field(o.fut_cancel_msg(), "_cancel_message").map(|m| py.value(m));
    let created = field(o.fut_source_tb(), "_source_traceback")
        .and_then(|tb| created(py, tb).ok())
        .unwrap_or_default();
    let callbacks = (callbacks(py, t).unwrap_or_default().into_iter())
        .map(|cb| callback_ref(py, cb))
        .collect();
    TaskDetail {
        cancel_message,
        callbacks,
        created,
    }
}

/// The frames of a `_source_traceback` (a list of `traceback.FrameSummary`).
fn created(py: &Py<'_>, tb: Addr) -> Result<Vec<Frame>> {
    let mut out = Vec::new();
    for summary in py.list(tb)?.into_iter().take(MAX_CREATED) {
        let text = |name| -> Option<String> { py.str(py.attr(summary, name).ok()??).ok() };
        let line = (py.attr(summary, "lineno").ok().flatten()).and_then(|l| py.int(l).ok());
        let function: std::sync::Arc<str> = text("name").unwrap_or_else(|| "?".into()).into();
        out.push(Frame {
            qualname: function.clone(),
            function,
            file: text("filename").unwrap_or_else(|| "?".into()).into(),
            line: line.and_then(|l| i32::try_from(l).ok()),
            source: None,
            locals: None,
            at: (0, 0),
        });
    }
    Ok(out)
}

pub fn callback_ref(py: &Py<'_>, cb: Addr) -> CallbackRef {
    match py.callable(cb) {
        Ok(c) => callback_ref_of(&c),
        Err(_) => CallbackRef {
            name: format!("<unreadable callable at {}>", Id(cb)),
            module: None,
            receiver: None,
        },
    }
}

fn callback_ref_of(c: &Callable) -> CallbackRef {
    match c {
        Callable::Function {
            qualname, module, ..
        } => CallbackRef {
            name: qualname.clone(),
            module: Some(module.clone()),
            receiver: None,
        },
        Callable::Method {
            qualname,
            module,
            receiver,
        } => CallbackRef {
            name: qualname.clone(),
            module: Some(module.clone()),
            receiver: Some(Id(*receiver)),
        },
        Callable::Builtin { name, receiver } => CallbackRef {
            name: name.clone(),
            module: None,
            receiver: Some(Id(*receiver)),
        },
        Callable::Partial { func, .. } => {
            let inner = callback_ref_of(func);
            CallbackRef {
                name: format!("functools.partial({})", inner.name),
                ..inner
            }
        }
        Callable::Other { type_name, addr } => CallbackRef {
            name: format!("<{type_name} object>"),
            module: None,
            receiver: Some(Id(*addr)),
        },
    }
}
