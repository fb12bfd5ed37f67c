#![no_main]
#[path = "../targets/ssvq_codes.rs"]
mod body;
libfuzzer_sys::fuzz_target!(|data: &[u8]| body::run(data));
