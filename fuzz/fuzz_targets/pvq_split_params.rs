#![no_main]
#[path = "../targets/pvq_split_params.rs"]
mod body;
libfuzzer_sys::fuzz_target!(|data: &[u8]| body::run(data));
