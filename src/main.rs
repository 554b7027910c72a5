//! lvsd command line: pick a subcommand, run it, map its error to an exit code.

use std::process::ExitCode;
use std::time::Duration;

use lvsd::cli::{self, Command, Exit};
use lvsd::{config, daemon, io};

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
        Command::Check { config } => check(&config),
        Command::Run {
            config,
            log,
            verbose,
            dry_run,
        } => run(config, log, verbose, dry_run),
        Command::Status { socket, json } => {
            let line = if json { "status json" } else { "status" };
            control(&socket, line, "status", Duration::from_secs(5))
        }
        Command::Announce { request, socket } => {
            control(&socket, &request, "announce", Duration::from_secs(5))
        }
        Command::Control { socket, request } => {
            // A reload of a big configuration may take seconds.
            let line = request.line();
            control(&socket, &line, &line, Duration::from_secs(60))
        }
        Command::Genhash(args) => {
            let mut out = std::io::stdout().lock();
            match lvsd::genhash::run(args, &mut out) {
                Ok(()) => Exit::Ok,
                Err(e) => {
                    eprintln!("lvsd: genhash: {e}");
                    Exit::Runtime
                }
            }
        }
        Command::Import {
            keepalived_conf,
            config_id,
            strict,
        } => import(&keepalived_conf, config_id.as_deref(), strict),
        Command::Realserver(args) => match lvsd::realserver::run(&args) {
            Ok(report) => {
                print!("{report}");
                Exit::Ok
            }
            Err(e) => {
                eprintln!("lvsd: realserver: {e}");
                Exit::Runtime
            }
        },
    };
    ExitCode::from(code as u8)
}

/// `lvsd run`: the daemon in the foreground until a signal ends it.
fn run(config_path: std::path::PathBuf, log: cli::LogTarget, verbose: bool, dry_run: bool) -> Exit {
    let settings = io::log::Settings {
        target: log,
        ..Default::default()
    };
    io::log::init(settings, verbose);
    match daemon::run(&daemon::Options {
        config_path,
        dry_run,
    }) {
        Ok(()) => Exit::Ok,
        Err(e) => {
            log::error!("{e}");
            io::log::flush_for(Duration::from_secs(1));
            Exit::from(&e)
        }
    }
}

/// One request to a running daemon over its control socket: the answer goes
/// to stdout, or to stderr (exit 1) when the daemon refused the request or
/// could not be reached. `what` names the request in messages.
fn control(socket: &std::path::Path, line: &str, what: &str, timeout: Duration) -> Exit {
    match io::control::request(socket, line, timeout) {
        Ok(answer) if lvsd::command::is_error(&answer) => {
            eprint!("lvsd: {what}: {answer}");
            Exit::Runtime
        }
        Ok(answer) => {
            print!("{answer}");
            Exit::Ok
        }
        Err(e) => {
            eprintln!("lvsd: {what}: {e}");
            Exit::Runtime
        }
    }
}

/// `lvsd check`: validate, print warnings and the summary.
fn check(path: &std::path::Path) -> Exit {
    match io::config_file::load_file(path) {
        Ok(cfg) => {
            for w in &cfg.warnings {
                eprintln!("lvsd: warning: {w}");
            }
            print!("{}", cfg.summary());
            Exit::Ok
        }
        Err(e) => {
            eprintln!("lvsd: {e}");
            Exit::Config
        }
    }
}

/// `lvsd import-keepalived`: keepalived.conf in, lvsd INI out, notes on stderr.
/// The result is loaded once more so a conversion that lvsd would reject says so.
/// With `strict`, a note that lost an effect makes the exit code 3.
fn import(path: &std::path::Path, config_id: Option<&str>, strict: bool) -> Exit {
    use config::keepalived::{self, ImportOptions, NoteKind};
    let origin = path.display().to_string();
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("lvsd: {origin}: {e}");
            return Exit::Config;
        }
    };
    let options = ImportOptions { config_id };
    match keepalived::import_with(&text, &origin, options, &lvsd::io::include::Files) {
        Ok(imported) => {
            let mut lost = 0;
            for note in &imported.notes {
                let word = match note.kind {
                    NoteKind::Dropped => {
                        lost += 1;
                        "dropped"
                    }
                    NoteKind::Ignored => "ignored",
                    NoteKind::Lenient => "changed",
                };
                eprintln!(
                    "lvsd: {}:{}: {word}: {}",
                    note.origin, note.line, note.message
                );
            }
            print!("{}", imported.ini);
            if let Err(e) = config::load_str(&imported.ini, "converted.ini") {
                eprintln!("lvsd: the converted INI does not load: {e}");
                return Exit::Config;
            }
            if strict && lost > 0 {
                eprintln!("lvsd: --strict: {lost} keyword(s) with an effect were dropped");
                return Exit::Config;
            }
            Exit::Ok
        }
        Err(e) => {
            eprintln!("lvsd: {e}");
            Exit::Config
        }
    }
}
