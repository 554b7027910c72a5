# Run by benches/run.sh (bash SECTION LVSD_BINARY): appliance image size, boot time, lab boot-to-ready.
BENCH_RUNS=${BENCH_RUNS:-2} ./image/bench.sh qemu-x86_64
