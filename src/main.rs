use clap::Parser;
use std::process::ExitCode;

// glibc's malloc kept freed password-hash and request-body buffers in its per-thread
// arenas (1.3 GB after a fuzzing run); mimalloc gives them back (see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = fireline::app::config::Cli::parse();
    fireline::platform::telemetry::init(&cli.log);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("fireline: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(fireline::cli::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("fireline: {err:#}");
            ExitCode::FAILURE
        }
    }
}
