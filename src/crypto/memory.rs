//! Giving freed memory back to the system.
//!
//! glibc's allocator keeps memory freed by a thread in that thread's arena
//! for reuse, so one burst (200 parallel sign-ins, each with ~19 MiB of
//! argon2 blocks; 200 parallel connections) left the process at its peak
//! for good (issue 12 #1). Two settings fix that:
//! - [`map_large_allocations`]: allocations of 1 MiB and more (argon2's
//!   blocks, large bodies) get their own mapping, returned when freed.
//!   glibc's default raises this threshold to the largest block freed so
//!   far (~19 MiB after one hash), after which each hash's blocks come from
//!   a thread arena's top, which `malloc_trim` does not shrink.
//! - [`trim`]: returns the free parts of the arenas; run after every
//!   password hash and whenever the last open connection closes.

/// Allocations from this size up are mapped on their own.
const MAP_FROM: usize = 1024 * 1024;

/// Fixes the allocator's mapping threshold at [`MAP_FROM`] (process-wide,
/// idempotent; a no-op off glibc).
pub fn map_large_allocations() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes an allocator tunable; thread-safe.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MAP_FROM as libc::c_int);
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
