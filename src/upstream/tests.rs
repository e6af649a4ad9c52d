//! Upstream tests.
