# Sourced by benches/run.sh: memory cost of VIPs per instance.
cargo bench --quiet --bench vip_memory 2>/dev/null
