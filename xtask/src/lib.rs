//! Maintainer tasks for the embed-sessions workspace. The binary is `cargo xtask`; the library
//! exists so the pipeline's pieces are unit-tested and the freshness check runs as a `#[test]`.

pub mod codegen;
pub mod downconvert;
pub mod rules;
pub mod walk;
