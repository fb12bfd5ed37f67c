#![no_main]
#[path = "../targets/entropy_lossless.rs"]
mod body;
libfuzzer_sys::fuzz_target!(|data: &[u8]| body::run(data));
