//! lvsd command line: pick a subcommand, run it, map its error to an exit code.

use std::process::ExitCode;

use lvsd::cli::{self, Command, Exit};

fn main() -> ExitCode {
    let command = match cli::parse(std::env::args_os().skip(1)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("lvsd: {e}");
            eprintln!("lvsd: try 'lvsd help'");
            return ExitCode::from(Exit::Usage as u8);
        }
    };
    let code = match command {
        Command::Help => {
            print!("{}", cli::help_text());
            Exit::Ok
        }
        Command::Version => {
            println!("lvsd {}", env!("CARGO_PKG_VERSION"));
            Exit::Ok
        }
        other => {
            eprintln!("lvsd: {other:?} is not built yet");
            Exit::Runtime
        }
    };
    ExitCode::from(code as u8)
}
