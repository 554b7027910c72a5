//! Fuzz target: the SMTP reply parser and the SMTP_CHECK dialogue on arbitrary server bytes.
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use lvsd::check::probe::{Step, StreamProbe};
use lvsd::check::smtp::SmtpProbe;
use lvsd::wire::smtp::ReplyParser;

fuzz_target!(|data: &[u8]| {
    let mut parser = ReplyParser::new();
    let mut rest = data;
    while !rest.is_empty() {
        match parser.feed(rest) {
            Ok((used, _)) if used > 0 && used <= rest.len() => rest = &rest[used..],
            Ok((used, _)) => panic!("feed consumed {used} of {}", rest.len()),
            Err(_) => break,
        }
    }

    let now = Instant::now();
    let mut probe = SmtpProbe::new(now, Duration::from_secs(1), "lvsd.fuzz");
    probe.on_connected(now);
    for piece in data.chunks(7) {
        probe.on_read(now, piece);
        let n = probe.pending_write().len();
        probe.on_written(now, n);
    }
    probe.on_eof(now);

    // A server that keeps sending (a piece every 300 ms restarts the step
    // timeout) is still ended by the dialogue deadline, 3 x connect_timeout.
    let mut probe = SmtpProbe::new(now, Duration::from_secs(1), "lvsd.fuzz");
    probe.on_connected(now);
    let mut t = now;
    for piece in data.chunks(7).cycle().take(64) {
        t += Duration::from_millis(300);
        probe.on_read(t, piece);
        let n = probe.pending_write().len();
        probe.on_written(t, n);
        probe.handle_timeout(t);
        if t >= now + Duration::from_secs(3) {
            assert!(
                matches!(probe.step(), Step::Finished(_)),
                "alive past the dialogue deadline"
            );
        }
    }
});
