#![no_main]
#[path = "../targets/turbo_restore.rs"]
mod body;
libfuzzer_sys::fuzz_target!(|data: &[u8]| body::run(data));
