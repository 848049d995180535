//! awaitwhat: what waits for what in a paused asyncio program, from its memory alone.
//!
//! Data flow: `target` (memory, modules) → `discover` (version, runtime, layout) →
//! `cpython` (objects, frames, code) → `asyncio` (tasks, chains) → `model` (Snapshot) →
//! `render` (text, json). `ffi` is the C ABI the debugger front ends call.

pub mod asyncio;
pub mod cpython;
pub mod discover;
pub mod error;
pub mod ffi;
pub mod fuzz;
pub mod hash;
pub mod layout;
pub mod limits;
pub mod live;
pub mod model;
pub mod parallel;
pub mod render;
pub mod select;
pub mod snapshot;
pub mod sources;
pub mod target;
pub mod threads;
