//! Logging: human-readable text or one JSON object per line, filtered by `FIRELINE_LOG`.

use tracing_subscriber::{fmt, EnvFilter};

use crate::platform::args::{LogArgs, LogFormat};

/// Install the global subscriber. Logs go to standard error, so standard output stays
/// clean for what commands print (a token, a password, the setup link).
pub fn init(args: &LogArgs) {
    let filter = EnvFilter::try_new(&args.filter).unwrap_or_else(|err| {
        eprintln!("fireline: ignoring FIRELINE_LOG={:?}: {err}", args.filter);
        EnvFilter::new("info")
    });
    use std::io::IsTerminal;
    let builder = fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let result = match args.log_format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
    if let Err(err) = result {
        eprintln!("fireline: logging was already set up: {err}");
    }
}
