use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = fireline::config::Cli::parse();
    fireline::telemetry::init(&cli.log);
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
