//! The process's allocator, and handing its free memory back.
//!
//! mimalloc replaced glibc's allocator because under load the receiver spent about a sixth of
//! its async workers' time in glibc's `malloc`, `free` and `malloc_consolidate` (BENCHMARKS.md).
//! It is built without transparent huge pages (`no_thp`): with them, the kernel backed each
//! touched 2 MiB of its arenas with a whole huge page, and an idle `vizhook serve` held 12 MiB
//! more than it used. mimalloc returns freed memory to the OS lazily, on later allocator
//! activity, so a large block freed just before the process goes quiet (argon2's 19 MiB while
//! the first administrator's credentials are hashed) stays resident; [`release_free_memory`]
//! hands it back at once. It also takes the C library's `malloc` (`override`), so that SQLite's
//! allocations, which glibc served at about 4 % of `serve`'s samples, go through it too.

/// The global allocator the binary installs.
pub use mimalloc::MiMalloc as Allocator;

/// Returns the calling thread's free memory, and the abandoned pages of threads that ended, to
/// the OS now, rather than at some later allocation (mimalloc collects per thread; other live
/// threads' heaps, such as SQLite's worker threads', are left as they are). Costs a walk of the
/// heap: call it after a large, rare free, not per request.
pub fn release_free_memory() {
    // SAFETY: `mi_collect` takes a plain bool and touches only mimalloc's own state, which it
    // guards itself; it is safe to call from any thread at any time.
    #[allow(unsafe_code)]
    unsafe {
        libmimalloc_sys::mi_collect(true);
    }
}
