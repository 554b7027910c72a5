//! Fuzz the INI reader and the whole config loader: any bytes, no panic, and an
//! error always names a line inside the input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let lines = 1 + data.iter().filter(|b| **b == b'\n').count();
    match lvsd::config::load_bytes(data, "fuzz.ini") {
        Ok(config) => {
            let _ = config.summary();
        }
        Err(error) => {
            assert!(error.line <= lines, "line {} beyond input: {error}", error.line);
            let _ = error.to_string();
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = lvsd::config::ini::tokenize(text, "fuzz.ini");
        let _ = lvsd::config::keepalived::import(text, "fuzz.conf");
    }
});
