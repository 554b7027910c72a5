# Sourced by benches/run.sh: configuration loading figures.
cargo bench --quiet --bench config_load 2>/dev/null
