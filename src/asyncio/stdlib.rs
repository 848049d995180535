//! Where asyncio's own code lives in the target. A frame is asyncio's when its file is in
//! the directory of the `asyncio` package the target imported: a library's own
//! `redis/asyncio/connection.py` or `websockets/asyncio/messages.py` is not.

use crate::cpython::Py;
use crate::target::Addr;
use std::sync::Arc;

/// asyncio's package directory, with its trailing `/`.
#[derive(Debug, Clone)]
pub struct Stdlib {
    dir: Option<Arc<str>>,
}

impl Stdlib {
    /// From `sys.modules['asyncio'].__file__` (`…/asyncio/__init__.py`); None when it
    /// cannot be read.
    pub fn of(py: &Py<'_>, sys_modules: Addr) -> Option<Stdlib> {
        let module = py.dict_get(sys_modules, "asyncio").ok()??;
        let dict = py.mem.ptr(module + py.off().md_dict().ok()?).ok()?;
        let file = py.str(py.dict_get(dict, "__file__").ok()??).ok()?;
        let dir = file.strip_suffix("__init__.py")?;
        dir.ends_with('/').then(|| Stdlib {
            dir: Some(dir.into()),
        })
    }

    /// Unknown: any path with an `asyncio` directory counts (the caller warns).
    pub fn guessed() -> Stdlib {
        Stdlib { dir: None }
    }

    /// Is this code file one of asyncio's own?
    pub fn contains(&self, file: &str) -> bool {
        match &self.dir {
            Some(dir) => file.starts_with(&**dir),
            None => file.contains("/asyncio/"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_package_itself_is_asyncio() {
        let lib = Stdlib {
            dir: Some("/usr/lib/python3.12/asyncio/".into()),
        };
        assert!(lib.contains("/usr/lib/python3.12/asyncio/locks.py"));
        assert!(!lib.contains("/usr/lib/python3/dist-packages/redis/asyncio/connection.py"));
        assert!(!lib.contains("/opt/other/lib/python3.12/asyncio/locks.py"));
        assert!(Stdlib::guessed().contains("/x/asyncio/locks.py"));
    }
}
