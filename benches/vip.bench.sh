# Run by benches/run.sh (bash SECTION LVSD_BINARY): memory cost of VIPs per instance.
cargo bench --quiet --bench vip_memory 2>/dev/null
