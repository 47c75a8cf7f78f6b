//! Maintainer tasks for the embed-sessions workspace (`cargo xtask codegen`, `cargo xtask
//! spec-drift`). The binary is `cargo xtask`; the library
//! exists so the pipeline's pieces are unit-tested and the freshness check runs as a `#[test]`.

pub mod codegen;
pub mod deviation;
pub mod downconvert;
pub mod postprocess;
pub mod rules;
pub mod spec_drift;
pub mod walk;
