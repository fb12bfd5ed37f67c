#![no_main]
#[path = "../targets/entropy_coded.rs"]
mod body;
libfuzzer_sys::fuzz_target!(|data: &[u8]| body::run(data));
