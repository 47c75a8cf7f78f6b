#![no_main]
//! The xtask's load, down-conversion and rule check on arbitrary YAML/JSON; a document the
//! rules accept must generate without a progenitor panic (`xtask::codegen::check_bytes`).
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = xtask::codegen::check_bytes(data);
});
