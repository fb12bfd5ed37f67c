#![no_main]
#[path = "../targets/scalar_uniform_params.rs"]
mod body;
libfuzzer_sys::fuzz_target!(|data: &[u8]| body::run(data));
