//! `GET /metrics`: connections, and scrapes read and rendered in slices
//! between VRRP timers.

use mio::Interest;

use log::warn;

use super::{yield_to_vrrp, Daemon, Pending, TimerKind};
use crate::io::event_loop::{Context, Source};
use crate::io::metrics::{HttpRequest, MetricsConn, MetricsState};
use crate::io::stopwatch::Stopwatch;
use crate::limits::{
    IPVS_READ_DESTS_PER_SLICE, MAX_METRICS_CONNS, METRICS_REST_PER_BUSY, METRICS_ROWS_PER_SLICE,
};

/// A scrape being rendered in slices.
pub(super) struct MetricsRender {
    slot: usize,
    head_only: bool,
    /// `None` while the kernel table is being read in slices.
    renderer: Option<crate::status::prom::Renderer>,
    /// The answer: head, then the body as it is rendered.
    body: String,
}

impl Daemon {
    /// Starts a scrape: the kernel table is read in slices
    /// (`IPVS_READ_DESTS_PER_SLICE` destinations per turn, one read shared by
    /// every scrape waiting for it), then the model is built and rendered in
    /// slices (`METRICS_ROWS_PER_SLICE` lines per turn), VRRP timers running
    /// between the slices (`metrics_slices`).
    pub(super) fn answer_metrics(
        &mut self,
        cx: &mut Context<'_, TimerKind>,
        slot: usize,
        head_only: bool,
    ) {
        let started = Stopwatch::start();
        let reading = self.metrics_renders.iter().any(|r| r.renderer.is_none());
        if !reading {
            if let Some(lvs) = &mut self.lvs {
                lvs.read_begin();
            }
        }
        self.metrics_cost = started.elapsed();
        let head = crate::io::metrics::ok_head(crate::status::prom::CONTENT_TYPE, 0);
        let mut body = std::mem::take(&mut self.metrics_spare);
        body.clear();
        body.extend_from_slice(&head);
        self.metrics_renders.push(MetricsRender {
            slot,
            head_only,
            renderer: None,
            body: String::from_utf8(body).unwrap_or_default(),
        });
        self.metrics_next_slice = Some(cx.now);
    }

    /// One slice of the kernel read, or of every scrape being rendered,
    /// unless a VRRP timer is so close that the slice could delay it: then
    /// right after that timer.
    pub(super) fn metrics_slices(&mut self, cx: &mut Context<'_, TimerKind>) {
        if self.metrics_renders.is_empty() {
            self.metrics_next_slice = None;
            return;
        }
        // Three kinds of turn, each with its own cost estimate: a slice of
        // the kernel read, the model (one piece, no kernel work), a slice of
        // text. Put off at most once per turn (as all heavy work): a turn that
        // once took long must not wait behind every advert after it.
        let reading = self.metrics_renders.iter().any(|r| r.renderer.is_none());
        let cost = match (reading, self.metrics_read_done) {
            (true, false) => self.read_slice_cost,
            (true, true) => self.metrics_model_cost,
            (false, _) => self.slice_cost,
        };
        let next = self.vrrp.next_deadline();
        if !std::mem::take(&mut self.slice_put_off) {
            if let Some(at) = yield_to_vrrp(cx.now, next, cost) {
                self.yields += 1;
                self.slice_put_off = true;
                self.metrics_next_slice = Some(at);
                return;
            }
        }
        let started = Stopwatch::start();
        if reading && !self.metrics_read_done {
            self.metrics_read_done = self
                .lvs
                .as_mut()
                .map_or(true, |l| l.read_step(IPVS_READ_DESTS_PER_SLICE));
            self.read_slice_cost = started.elapsed();
        } else if reading {
            self.start_renderers(cx.now);
            self.metrics_model_cost = started.elapsed();
        } else {
            self.render_slice(cx);
            self.slice_cost = started.elapsed();
        }
        // Rest as long as the turn took before the next one: a scrape takes at
        // most half the CPU, so between slices the loop sleeps, and a VRRP
        // timer wakes a sleeping process, which the scheduler runs at once,
        // instead of finding a busy one waiting for its turn on a loaded host.
        let took = started.elapsed().saturating_mul(METRICS_REST_PER_BUSY);
        self.metrics_next_slice =
            (!self.metrics_renders.is_empty()).then_some(cx.now + took + started.elapsed());
    }

    /// The kernel read is complete: the model is built once and every
    /// scrape waiting for it gets a renderer.
    fn start_renderers(&mut self, now: std::time::Instant) {
        self.metrics_read_done = false;
        let mut model = Some(self.model_with(now, false));
        let waiting = self
            .metrics_renders
            .iter()
            .filter(|r| r.renderer.is_none())
            .count();
        for (n, r) in self
            .metrics_renders
            .iter_mut()
            .filter(|r| r.renderer.is_none())
            .enumerate()
        {
            // The last one takes the model itself, the others a copy.
            let m = if n + 1 == waiting {
                model.take()
            } else {
                model.clone()
            };
            let renderer = crate::status::prom::Renderer::new(m.unwrap_or_default());
            // One allocation, faulted in page by page as the slices fill it.
            r.body.reserve(renderer.size_hint());
            r.renderer = Some(renderer);
        }
    }

    /// Renders `METRICS_ROWS_PER_SLICE` lines of every scrape; the finished
    /// ones are answered.
    fn render_slice(&mut self, cx: &mut Context<'_, TimerKind>) {
        let mut done = Vec::new();
        for (k, r) in self.metrics_renders.iter_mut().enumerate() {
            if let Some(renderer) = &mut r.renderer {
                if renderer.render_some(&mut r.body, METRICS_ROWS_PER_SLICE) {
                    done.push(k);
                }
            }
        }
        for k in done.into_iter().rev() {
            let r = self.metrics_renders.swap_remove(k);
            let mut bytes = r.body.into_bytes();
            crate::io::metrics::finish_ok(&mut bytes, r.head_only);
            self.metrics_reply(cx, r.slot, bytes);
        }
    }

    pub(super) fn metrics_reply(
        &mut self,
        cx: &mut Context<'_, TimerKind>,
        slot: usize,
        bytes: Vec<u8>,
    ) {
        let Some(Some(conn)) = self.metrics_conns.get_mut(slot) else {
            return;
        };
        match conn.answer(bytes, cx.now) {
            MetricsState::Closed => self.close_metrics(cx, slot),
            MetricsState::MoreToWrite => self.metrics_more.push(slot),
            _ => {}
        }
    }

    pub(super) fn close_metrics(&mut self, cx: &mut Context<'_, TimerKind>, slot: usize) {
        if let Some(Some(mut conn)) = self.metrics_conns.get_mut(slot).map(Option::take) {
            let _ = cx.registry.deregister(conn.source());
            // Kept for the next scrape: freeing 17 MB (10,000 real servers)
            // costs its pages' unmapping in this turn, and the next scrape
            // would fault them all in again.
            if self.metrics_spare.capacity() == 0 {
                self.metrics_spare = conn.take_answer();
            }
        }
        self.pending
            .retain(|p| *p != Pending::Metrics(slot, true) && *p != Pending::Metrics(slot, false));
    }

    pub(super) fn on_metrics(&mut self, cx: &mut Context<'_, TimerKind>, source: Source) {
        match source {
            Source::MetricsListener => loop {
                let Some(listener) = &self.metrics else {
                    return;
                };
                match listener.accept() {
                    Ok(Some(stream)) => {
                        let slot = match self.metrics_conns.iter().position(Option::is_none) {
                            Some(s) => s,
                            None if self.metrics_conns.len() < MAX_METRICS_CONNS => {
                                self.metrics_conns.push(None);
                                self.metrics_conns.len() - 1
                            }
                            None => {
                                // Dropping the stream closes it: a scraper
                                // retries; the loop is not held.
                                warn!(
                                    "metrics: {MAX_METRICS_CONNS} connections open; refusing one"
                                );
                                continue;
                            }
                        };
                        let mut conn = MetricsConn::new(stream, cx.now);
                        if cx
                            .registry
                            .register(
                                conn.source(),
                                Source::MetricsConn(slot).token(),
                                Interest::READABLE | Interest::WRITABLE,
                            )
                            .is_ok()
                        {
                            self.metrics_conns[slot] = Some(conn);
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        warn!("metrics: accept: {e}");
                        break;
                    }
                }
            },
            Source::MetricsConn(slot) => {
                let Some(Some(conn)) = self.metrics_conns.get_mut(slot) else {
                    return;
                };
                match conn.on_readable(cx.now) {
                    MetricsState::Request(HttpRequest::Metrics { head_only }) => {
                        self.now_or_later(cx, Pending::Metrics(slot, head_only))
                    }
                    MetricsState::Request(HttpRequest::Refused(code, reason)) => {
                        let body = format!("{code} {reason}: lvsd serves GET /metrics only\n");
                        let bytes = crate::io::metrics::response(
                            code,
                            reason,
                            "text/plain; charset=utf-8",
                            body.as_bytes(),
                            false,
                        );
                        self.metrics_reply(cx, slot, bytes);
                    }
                    MetricsState::Closed => self.close_metrics(cx, slot),
                    MetricsState::MoreToWrite => {
                        if !self.metrics_more.contains(&slot) {
                            self.metrics_more.push(slot);
                        }
                    }
                    MetricsState::Reading | MetricsState::Writing => {}
                }
            }
            _ => {}
        }
    }

    /// Renders the next slices, writes on where the budget stopped, and
    /// closes metrics connections past their idle deadline.
    pub(super) fn metrics_idle(&mut self, cx: &mut Context<'_, TimerKind>) {
        if self.metrics_next_slice.is_some_and(|at| at <= cx.now) {
            self.metrics_slices(cx);
        }
        for slot in std::mem::take(&mut self.metrics_more) {
            let Some(Some(conn)) = self.metrics_conns.get_mut(slot) else {
                continue;
            };
            match conn.flush_at(Some(cx.now)) {
                MetricsState::Closed => self.close_metrics(cx, slot),
                MetricsState::MoreToWrite => self.metrics_more.push(slot),
                _ => {}
            }
        }
        for slot in 0..self.metrics_conns.len() {
            let expired = self.metrics_conns[slot]
                .as_ref()
                .is_some_and(|c| c.deadline <= cx.now);
            if expired {
                self.close_metrics(cx, slot);
            }
        }
    }
}
