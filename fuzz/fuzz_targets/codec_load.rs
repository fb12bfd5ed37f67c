#![no_main]
#[path = "../targets/codec_load.rs"]
mod body;
libfuzzer_sys::fuzz_target!(|data: &[u8]| body::run(data));
