//! Unit tests of the CA, the leaf and renewal.
