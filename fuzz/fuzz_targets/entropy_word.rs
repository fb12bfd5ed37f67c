#![no_main]
#[path = "../targets/entropy_word.rs"]
mod body;
libfuzzer_sys::fuzz_target!(|data: &[u8]| body::run(data));
