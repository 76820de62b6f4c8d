//! A progress line on standard error for the steps after ingest (reconciling, writing the
//! reports), as the ingest has its byte bar: a spinner with the step and, where it counts,
//! done of total. Drawn only on a terminal, never with `-q` or JSON logs; cleared when the step
//! ends, so the summary is all that stays.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Turns the progress lines on (a terminal, human logs, not quiet) for this process.
pub(super) fn enable(on: bool) {
    ENABLED.store(on, Ordering::Relaxed);
}

/// One step's progress line; cleared when dropped.
pub(super) struct Step(ProgressBar);

impl Step {
    /// A spinner named `what` (e.g. `reconciling`).
    pub(super) fn new(what: &str) -> Step {
        Step::make(what, None)
    }

    /// `what n/total`, advanced by [`Step::inc`].
    pub(super) fn counted(what: &str, total: u64) -> Step {
        Step::make(what, Some(total))
    }

    fn make(what: &str, total: Option<u64>) -> Step {
        if !ENABLED.load(Ordering::Relaxed) {
            return Step(ProgressBar::hidden());
        }
        let (bar, template) = match total {
            Some(n) => (ProgressBar::new(n), "{spinner} {msg} {pos}/{len} {elapsed}"),
            None => (ProgressBar::new_spinner(), "{spinner} {msg} {elapsed}"),
        };
        let bar = bar
            .with_style(ProgressStyle::with_template(template).expect("valid template"))
            .with_message(what.to_string());
        bar.set_draw_target(ProgressDrawTarget::stderr());
        bar.enable_steady_tick(Duration::from_millis(120));
        bar.tick();
        Step(bar)
    }

    pub(super) fn inc(&self) {
        self.0.inc(1);
    }
}

impl Drop for Step {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}
