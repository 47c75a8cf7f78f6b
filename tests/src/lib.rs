//! End-to-end tests of the generated clients and the facade (see `tests/tests/`): spec fidelity
//! against the provider doc fixtures, the generated clients against mock servers, fault
//! injection and transport security against the offline sandbox, property tests.
//!
//! This library is empty on purpose: the helpers the tests share live in the workspace's one
//! test-support crate, `embed-sessions-testkit` (`crates/embed-sessions-testkit`).
