#![no_main]
#[path = "../targets/entropy_rans64.rs"]
mod body;
libfuzzer_sys::fuzz_target!(|data: &[u8]| body::run(data));
