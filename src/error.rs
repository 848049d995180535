//! One error type for the whole decoder; every variant says what was expected and what was found.

use std::fmt;

/// Why a read, a lookup or a decode failed. Low layers return these; callers
/// degrade per item (a task, a frame) and keep the rest of the snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The target has no readable memory at `addr..addr+len`.
    Unreadable { addr: u64, len: usize },
    /// A value read from the target is not what a sane object would hold.
    Implausible {
        what: &'static str,
        addr: u64,
        value: u64,
    },
    /// The target's CPython version is outside what we can decode.
    Unsupported { version: String, supported: String },
    /// A layout field this version needs is missing from every layout source.
    MissingField {
        field: &'static str,
        version: String,
    },
    /// A bound (depth, count, size) was hit; the answer is truncated.
    Limit { what: &'static str, limit: u64 },
    /// The process runs Python but has not imported asyncio.
    NoAsyncio { threads: usize },
    /// Not a Python process, mismatched core, bad file...: a sentence for the user.
    Target(String),
}

pub type Result<T> = std::result::Result<T, Error>;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Unreadable { addr, len } => {
                write!(f, "cannot read {len} bytes of target memory at {addr:#x}")
            }
            Error::Implausible { what, addr, value } => {
                write!(f, "implausible {what} at {addr:#x}: {value:#x}")
            }
            Error::Unsupported { version, supported } => write!(
                f,
                "Python {version} is not supported (supported: {supported})"
            ),
            Error::MissingField { field, version } => write!(
                f,
                "layout field {field} is unknown for Python {version} (no DWARF, table or debug offsets describe it)"
            ),
            Error::Limit { what, limit } => write!(f, "{what} exceeds the limit of {limit}"),
            Error::NoAsyncio { threads } => write!(
                f,
                "asyncio is not imported in this process: sys.modules has no '_asyncio' ({threads} thread{})",
                if *threads == 1 { "" } else { "s" }
            ),
            Error::Target(msg) => f.write_str(msg),
        }
    }
}

impl std::error::Error for Error {}
