//! Fuzz target: HTTP response handling (wire parser and the HTTP_GET probe), fed in arbitrary splits.
#![no_main]

use std::sync::Arc;
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use lvsd::check::http::{HttpCheck, HttpProbe, UrlCheck};
use lvsd::check::probe::{Step, StreamProbe};
use lvsd::wire::http::ResponseParser;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the read size, so split status lines and chunk headers get exercised.
    let Some((&split, body)) = data.split_first() else {
        return;
    };
    let step = usize::from(split % 64) + 1;

    let mut parser = ResponseParser::new();
    for piece in body.chunks(step) {
        if parser.feed(piece).is_err() || parser.is_done() {
            break;
        }
    }
    assert!(parser.body_len() <= lvsd::limits::HTTP_MAX_BODY_BYTES);
    let _ = parser.finish();

    let mut check = HttpCheck {
        connect_timeout: Duration::from_secs(1),
        max_duration: Duration::from_secs(2),
        ..Default::default()
    };
    let mut url = UrlCheck::default();
    let _ = url.path.push_str("/");
    url.digest = Some([0; 16]);
    let _ = check.urls.push(url);
    let now = Instant::now();
    let shared = Arc::new(check);
    let mut probe = HttpProbe::new(Arc::clone(&shared), "127.0.0.1:80".parse().unwrap(), now);
    probe.on_connected(now);
    let n = probe.pending_write().len();
    probe.on_written(now, n);
    for piece in body.chunks(step) {
        if matches!(probe.step(), Step::Finished(_)) {
            break;
        }
        probe.on_read(now, piece);
    }
    probe.on_eof(now);
    probe.handle_timeout(now + Duration::from_secs(3));
    assert!(matches!(probe.step(), Step::Finished(_) | Step::Connect));

    // However steadily the bytes come (one piece every 100 ms, each
    // restarting the step timeout), the probe ends at its overall deadline.
    let mut probe = HttpProbe::new(Arc::clone(&shared), "127.0.0.1:80".parse().unwrap(), now);
    probe.on_connected(now);
    let n = probe.pending_write().len();
    probe.on_written(now, n);
    let mut t = now;
    for piece in body.chunks(step).cycle().take(64) {
        t += Duration::from_millis(100);
        probe.on_read(t, piece);
        probe.handle_timeout(t);
        if t >= now + Duration::from_secs(2) {
            assert!(!matches!(probe.step(), Step::Exchange), "alive past the deadline");
        }
        if !matches!(probe.step(), Step::Exchange) {
            break;
        }
    }
});
