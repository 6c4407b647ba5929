use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = skelzero::cli::Cli::parse();
    skelzero::cli::init_logging(cli.verbose);
    skelzero::util::tune_malloc();
    match skelzero::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
