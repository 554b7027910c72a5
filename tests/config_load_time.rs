//! Prints how long loading the generated 256 x 32 configuration takes (no timed
//! assert). Run: `cargo test --release --test config_load_time -- --ignored --nocapture`.

#[test]
#[ignore = "timing printout; run in release with --ignored"]
fn print_load_time_of_256_by_32() {
    let text = lvsd::config::generate::generate(256, 32);
    let mut best = std::time::Duration::MAX;
    let mut best_tokenize = std::time::Duration::MAX;
    for _ in 0..5 {
        let start = std::time::Instant::now();
        let sections = lvsd::config::ini::tokenize(&text, "generated.ini").unwrap();
        best_tokenize = best_tokenize.min(start.elapsed());
        drop(sections);
        let start = std::time::Instant::now();
        let config = lvsd::config::load_str(&text, "generated.ini").unwrap();
        best = best.min(start.elapsed());
        assert_eq!(config.virtual_servers.len(), 256);
    }
    println!(
        "load 256x32 ({} bytes): best of 5 {best:?} (tokenize {best_tokenize:?})",
        text.len()
    );
}
