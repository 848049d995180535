//! asyncio: finding tasks, decoding each task and its await chain.

pub mod callbacks;
pub mod chain;
pub mod detail;
pub mod graph;
pub mod loop_state;
pub mod loops;
pub mod referrers;
pub mod stdlib;
pub mod tasks;
pub mod uvloop;
pub mod waits;
