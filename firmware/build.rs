//! Places the board's `memory.x` where cortex-m-rt's `link.x` finds it and links with `link.x`
//! (done here rather than in `.cargo/config.toml` so that a `RUSTFLAGS` in the environment does
//! not drop it).
use std::{env, fs, path::PathBuf};

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));
    let microbit = env::var_os("CARGO_FEATURE_MICROBIT").is_some();
    let memory = if microbit {
        // nRF51822 of the BBC micro:bit v1 (qemu `-machine microbit`).
        "MEMORY\n{\n  FLASH : ORIGIN = 0x00000000, LENGTH = 256K\n  RAM : ORIGIN = 0x20000000, LENGTH = 16K\n}\n"
    } else {
        // ARM MPS2 with the AN386 image (Cortex-M4F; qemu `-machine mps2-an386`): 4 MiB SSRAM1
        // for code, 4 MiB SSRAM2/3 for data.
        "MEMORY\n{\n  FLASH : ORIGIN = 0x00000000, LENGTH = 4M\n  RAM : ORIGIN = 0x20000000, LENGTH = 4M\n}\n"
    };
    fs::write(out.join("memory.x"), memory).expect("write memory.x");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rustc-link-arg=-Tlink.x");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=generated");
}
