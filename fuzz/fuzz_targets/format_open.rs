#![no_main]
#[path = "../targets/format_open.rs"]
mod body;
libfuzzer_sys::fuzz_target!(|data: &[u8]| body::run(data));
