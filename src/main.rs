//! lvsd command line: subcommands and exit codes.

fn main() {}
