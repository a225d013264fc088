//! The dynamic loader, as the plugin host uses it: dlopen or dlmopen with the
//! reference's flags, dlsym, the link-map id of a handle, and dlerror's own text for
//! the messages. Link-map namespaces (dlmopen, dlinfo) and RTLD_DEEPBIND are glibc's; with
//! another C library (musl) only dlopen is there, and a namespace request fails with a message
//! (README.md, "Supported targets").

use std::ffi::{c_void, CStr};
use std::ptr::NonNull;

/// A link-map namespace (`Lmid_t`); 0 is the base namespace.
#[cfg(target_env = "gnu")]
pub type Lmid = libc::Lmid_t;
#[cfg(not(target_env = "gnu"))]
pub type Lmid = libc::c_long;

/// How a plugin is loaded for good: resolved now, its symbols private, its own
/// definitions first, never unloaded (so a handle kept in the parent stays valid).
#[cfg(target_env = "gnu")]
pub const LOAD: libc::c_int =
    libc::RTLD_NOW | libc::RTLD_LOCAL | libc::RTLD_DEEPBIND | libc::RTLD_NODELETE;
#[cfg(not(target_env = "gnu"))]
pub const LOAD: libc::c_int = libc::RTLD_NOW | libc::RTLD_LOCAL | libc::RTLD_NODELETE;
/// Find an object already loaded, without loading it.
pub const FIND: libc::c_int = libc::RTLD_NOW | libc::RTLD_NOLOAD;

/// A handle from dlopen or dlmopen. Objects are loaded with RTLD_NODELETE and never
/// closed, so a handle stays valid for the life of the process and of its forks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Handle(NonNull<c_void>);

// SAFETY: a dl handle is an identifier the loader accepts from any thread.
unsafe impl Send for Handle {}
// SAFETY: as above; nothing is read through the pointer here.
unsafe impl Sync for Handle {}

/// Where to open an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Space {
    /// dlopen: the caller's namespace.
    Caller,
    /// dlmopen into a new namespace.
    New,
    /// dlmopen into this namespace.
    Id(Lmid),
}

/// dlerror's text for the last failure, or a stand-in when it has none.
fn error() -> String {
    // SAFETY: dlerror returns NULL or a NUL-terminated string valid until the next dl
    // call on this thread; it is copied at once.
    unsafe {
        let e = libc::dlerror();
        if e.is_null() {
            "unknown error".into()
        } else {
            CStr::from_ptr(e).to_string_lossy().into_owned()
        }
    }
}

/// Open `path` in `space` with `flags` (LOAD or FIND). The error is dlerror's text.
#[cfg(target_env = "gnu")]
pub fn open(space: Space, path: &CStr, flags: libc::c_int) -> Result<Handle, String> {
    // SAFETY: path is NUL-terminated; the loader copies what it keeps.
    let h = unsafe {
        match space {
            Space::Caller => libc::dlopen(path.as_ptr(), flags),
            Space::New => libc::dlmopen(libc::LM_ID_NEWLM, path.as_ptr(), flags),
            Space::Id(id) => libc::dlmopen(id, path.as_ptr(), flags),
        }
    };
    NonNull::new(h).map(Handle).ok_or_else(error)
}

/// Open `path` with `flags` in the caller's namespace, the only one this C library has.
#[cfg(not(target_env = "gnu"))]
pub fn open(space: Space, path: &CStr, flags: libc::c_int) -> Result<Handle, String> {
    if space != Space::Caller {
        return Err(NO_NAMESPACES.into());
    }
    // SAFETY: path is NUL-terminated; the loader copies what it keeps.
    let h = unsafe { libc::dlopen(path.as_ptr(), flags) };
    NonNull::new(h).map(Handle).ok_or_else(error)
}

#[cfg(not(target_env = "gnu"))]
const NO_NAMESPACES: &str = "link-map namespaces need glibc's dlmopen";

/// The namespace `h` lives in.
#[cfg(not(target_env = "gnu"))]
pub fn namespace(_h: Handle) -> Result<Lmid, String> {
    Err(NO_NAMESPACES.into())
}

/// The namespace `h` lives in.
#[cfg(target_env = "gnu")]
pub fn namespace(h: Handle) -> Result<Lmid, String> {
    let mut id: Lmid = 0;
    // SAFETY: RTLD_DI_LMID writes one Lmid_t through the pointer.
    let r = unsafe {
        libc::dlinfo(
            h.0.as_ptr(),
            libc::RTLD_DI_LMID,
            (&mut id as *mut Lmid).cast(),
        )
    };
    if r == 0 {
        Ok(id)
    } else {
        Err(error())
    }
}

/// The address of `name` in `h`. A symbol that resolves to NULL counts as missing:
/// it could not be called.
pub fn symbol(h: Handle, name: &CStr) -> Result<NonNull<c_void>, String> {
    // SAFETY: clear any stale error, look the name up, read the error at once.
    unsafe {
        libc::dlerror();
        let p = libc::dlsym(h.0.as_ptr(), name.as_ptr());
        match NonNull::new(p) {
            Some(p) => Ok(p),
            None => Err(error()),
        }
    }
}
