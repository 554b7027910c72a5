# Run by benches/run.sh (bash SECTION LVSD_BINARY): configuration loading figures.
cargo bench --quiet --bench config_load 2>/dev/null
