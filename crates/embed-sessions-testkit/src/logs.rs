//! Capture of `tracing` output, for tests that check what the library logs.

use std::io::Write;
use std::sync::{Arc, Mutex};

/// Everything written by `tracing` at TRACE level while the guard lives.
#[derive(Clone, Default)]
pub struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl LogBuffer {
    /// Everything captured so far, as text.
    pub fn contents(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Every test's TRACE output (span fields included), from one global subscriber installed
/// on first use. Call it before a test's first request. (A per-thread subscriber races with
/// tracing's callsite interest cache while other tests run on other threads: a callsite first
/// hit elsewhere can stay disabled for it.)
pub fn global_logs() -> &'static LogBuffer {
    static LOGS: std::sync::OnceLock<LogBuffer> = std::sync::OnceLock::new();
    LOGS.get_or_init(|| {
        let buf = LogBuffer::default();
        let writer = buf.clone();
        // Everything at TRACE except the mock servers' own logs (target `httpmock`): they print
        // the requests they receive, credentials included, playing the provider's side.
        use tracing_subscriber::Layer as _;
        use tracing_subscriber::layer::SubscriberExt as _;
        let filter = tracing_subscriber::filter::Targets::new()
            .with_default(tracing::level_filters::LevelFilter::TRACE)
            .with_target("httpmock", tracing::level_filters::LevelFilter::OFF);
        let layer = tracing_subscriber::fmt::layer()
            .with_span_events(tracing_subscriber::fmt::format::FmtSpan::FULL)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .with_filter(filter);
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::set_global_default(subscriber).unwrap();
        buf
    })
}
