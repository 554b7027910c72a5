//! Benchmark figures for configuration loading (issue: foundation):
//! `lvsd check` wall time on the seed example, and loading a generated
//! 256 x 32 configuration (wall time and peak RSS of `lvsd check`, plus the
//! loader alone in process). Prints figures; asserts nothing.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use lvsd::io::measure;

const BIN: &str = "target/x86_64-unknown-linux-musl/release/lvsd";

fn stats(mut v: Vec<Duration>) -> String {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    format!(
        "min {:.2} ms, median {:.2} ms, max {:.2} ms over {} runs",
        ms(v[0]),
        ms(v[v.len() / 2]),
        ms(v[v.len() - 1]),
        v.len()
    )
}

fn check_runs(config: &Path, runs: usize) -> (Vec<Duration>, u64) {
    let mut walls = Vec::new();
    let mut rss = 0;
    for _ in 0..runs {
        let m = measure::run(
            Command::new(BIN)
                .args(["check", "-c"])
                .arg(config)
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        )
        .expect("run lvsd check");
        assert!(
            m.status.success(),
            "lvsd check failed on {}",
            config.display()
        );
        walls.push(m.wall);
        rss = rss.max(m.max_rss_kib);
    }
    (walls, rss)
}

fn main() {
    // `cargo test --all-targets` runs this too, without `--bench` and before
    // the release binary exists: there it only checks that the generated
    // configuration loads, and leaves the figures to `cargo bench`.
    if !std::env::args().any(|a| a == "--bench") {
        let text = lvsd::config::generate::generate(256, 32);
        let cfg = lvsd::config::load_str(&text, "256x32.ini").expect("generated config loads");
        assert_eq!(cfg.virtual_servers.len(), 256);
        println!("config_load: generated 256 x 32 loads; figures come from `cargo bench`");
        return;
    }
    if !Path::new(BIN).exists() {
        eprintln!("bench: {BIN} missing; run make build");
        std::process::exit(1);
    }
    let seed = Path::new("docs/examples/seed-master.ini");
    let (walls, rss) = check_runs(seed, 50);
    println!(
        "lvsd check (seed example): {}; peak RSS {rss} KiB; target <= 10 ms",
        stats(walls)
    );

    let text = lvsd::config::generate::generate(256, 32);
    let dir = std::env::temp_dir().join(format!("lvsd-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let big = dir.join("256x32.ini");
    std::fs::write(&big, &text).unwrap();
    let (walls, rss) = check_runs(&big, 10);
    println!(
        "lvsd check (256 virtual servers x 32 real servers, {} KiB of INI): {}; peak RSS {rss} KiB; target <= 50 ms",
        text.len() / 1024,
        stats(walls)
    );
    let mut inproc = Vec::new();
    for _ in 0..10 {
        let t = Instant::now();
        let cfg = lvsd::config::load_str(&text, "256x32.ini").expect("generated config loads");
        inproc.push(t.elapsed());
        assert_eq!(cfg.virtual_servers.len(), 256);
    }
    println!(
        "config::load_str alone (256 x 32, in process): {}",
        stats(inproc)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
