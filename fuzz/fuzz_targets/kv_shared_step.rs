#![no_main]
#[path = "../targets/kv_shared_step.rs"]
mod body;
libfuzzer_sys::fuzz_target!(|data: &[u8]| body::run(data));
