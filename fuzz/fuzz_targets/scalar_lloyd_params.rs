#![no_main]
#[path = "../targets/scalar_lloyd_params.rs"]
mod body;
libfuzzer_sys::fuzz_target!(|data: &[u8]| body::run(data));
