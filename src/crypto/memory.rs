//! Giving freed memory back to the system.
//!
//! glibc's allocator keeps memory freed by a thread in that thread's arena
//! for reuse, so one burst (200 parallel sign-ins, each with ~19 MiB of
//! argon2 blocks; 200 parallel connections) left the process at its peak
//! for good (issue 12 #1). Three settings fix that:
//! - [`tune_allocator`], once at start, before the runtime's threads:
//!   - allocations of 1 MiB and more (argon2's blocks, large bodies) get
//!     their own mapping, returned when freed. glibc's default raises this
//!     threshold to the largest block freed so far (~19 MiB after one
//!     hash), after which each hash's blocks come from a thread arena's
//!     top, which `malloc_trim` does not shrink;
//!   - at most one arena per core (glibc's default is eight per core).
//!     Every thread that allocates under contention gets an arena of its
//!     own, and what a large pass (a sync of 100,000 objects, a busy-cache
//!     rebuild) frees in one arena is reused by no other: with 16 arenas
//!     the 100,000-object sync left 190–230 MiB resident, with 2 about
//!     125–145 (issue 10).
//! - [`trim`]: returns the free parts of the arenas; run after every
//!   password hash and whenever the last open connection closes.

/// Allocations from this size up are mapped on their own.
const MAP_FROM: usize = 1024 * 1024;

/// Fixes the allocator's mapping threshold at [`MAP_FROM`] and its arenas
/// at one per core (process-wide, idempotent; a no-op off glibc). Call it
/// before other threads start: the arena limit binds from the first time
/// a thread needs an arena of its own.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let arenas = libc::c_int::try_from(cores).unwrap_or(libc::c_int::MAX);
        // SAFETY: mallopt only changes allocator tunables; thread-safe.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, MAP_FROM as libc::c_int);
            libc::mallopt(libc::M_ARENA_MAX, arenas);
        }
    }
}

/// Returns free heap memory to the system (a no-op off glibc).
pub fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory of the allocator's
    // arenas; it takes no pointers and is thread-safe.
    unsafe {
        libc::malloc_trim(0);
    }
}
