//! Deterministic mutation smoke test of the loader (the cargo-fuzz target
//! `fuzz/fuzz_targets/ini.rs` goes further): no panic on any mutated file, and every
//! error points at a line inside the input.

use std::path::Path;

use lvsd::config;

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const ALPHABET: &[u8] = b"[]=/:.#;\" \n\t0123456789abcdefxyz_-MASTERBACKUP\xff\x00";

fn mutate(rng: &mut XorShift, input: &[u8]) -> Vec<u8> {
    let mut data = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(data.len() + 1);
        match rng.below(6) {
            0 if !data.is_empty() => {
                let at = at.min(data.len() - 1);
                data[at] = ALPHABET[rng.below(ALPHABET.len())];
            }
            1 => data.insert(at, ALPHABET[rng.below(ALPHABET.len())]),
            2 if at < data.len() => {
                let end = (at + rng.below(40)).min(data.len());
                data.drain(at..end);
            }
            3 => data.truncate(at),
            4 => {
                // Duplicate a line (exercises duplicate keys and sections).
                let lines: Vec<&[u8]> = input.split(|b| *b == b'\n').collect();
                let line = lines[rng.below(lines.len())].to_vec();
                let at = at.min(data.len());
                data.splice(at..at, line.into_iter().chain([b'\n']));
            }
            _ => {
                // Swap in a number at the end of some line.
                let value = format!("{}", rng.next() as i64 % 100_000);
                let at = at.min(data.len());
                data.splice(at..at, value.bytes());
            }
        }
    }
    data
}

#[test]
fn mutated_configs_never_panic_and_errors_stay_in_range() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut seeds = vec![
        std::fs::read(root.join("docs/examples/seed-master.ini")).unwrap(),
        config::generate::generate(3, 3).into_bytes(),
    ];
    for entry in std::fs::read_dir(root.join("tests/fixtures/config")).unwrap() {
        seeds.push(std::fs::read(entry.unwrap().path()).unwrap());
    }
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let mut loaded = 0;
    for round in 0..6000 {
        let seed = &seeds[round % seeds.len()];
        let data = mutate(&mut rng, seed);
        let lines = 1 + data.iter().filter(|b| **b == b'\n').count();
        if let Ok(text) = std::str::from_utf8(&data) {
            // The keepalived importer must not panic on any text either.
            if let Err(e) = config::keepalived::import(text, "k.conf") {
                assert!(e.line <= lines, "{e}");
            }
        }
        match config::load_bytes(&data, "m.ini") {
            Ok(c) => {
                loaded += 1;
                assert!(!c.summary().is_empty());
            }
            Err(e) => {
                assert!(e.line <= lines, "line {} of {lines}: {e}", e.line);
                assert!(e.to_string().starts_with("m.ini:"));
            }
        }
    }
    // Some mutations leave a valid file; if none did, the mutator would be broken.
    assert!(loaded > 0);
}
