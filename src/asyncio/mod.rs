//! asyncio: finding tasks, decoding each task and its await chain.

pub mod chain;
pub mod tasks;
