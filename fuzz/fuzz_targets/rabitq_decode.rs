#![no_main]
#[path = "../targets/rabitq_decode.rs"]
mod body;
libfuzzer_sys::fuzz_target!(|data: &[u8]| body::run(data));
