#![no_main]
//! `embed_sessions::fuzzing::retry_after`: see its doc comment for the input layout.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _decoded = embed_sessions::fuzzing::retry_after(data);
});
