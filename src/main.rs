use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    // Library errors (candle's among them) capture a backtrace when RUST_BACKTRACE is set and print it in their
    // message; an error here is for users: one message. Panics still honour RUST_BACKTRACE.
    if std::env::var_os("RUST_LIB_BACKTRACE").is_none() {
        // SAFETY: the first statement of main, before any other thread exists.
        unsafe { std::env::set_var("RUST_LIB_BACKTRACE", "0") };
    }
    // SAFETY: still the only thread.
    unsafe { skelzero::util::configure_threads() };
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
