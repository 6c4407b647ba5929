use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    // Library errors (candle's among them) capture a backtrace when RUST_BACKTRACE is set and print it in their
    // message; an error here is for users: one message. Panics still honour RUST_BACKTRACE.
    if std::env::var_os("RUST_LIB_BACKTRACE").is_none() {
        // SAFETY: the first statement of main, before any other thread exists.
        unsafe { std::env::set_var("RUST_LIB_BACKTRACE", "0") };
    }
    let cli = skelzero::cli::Cli::parse();
    // SAFETY: still the only thread (parsing the command line starts none).
    unsafe { skelzero::util::configure_threads(cli.one_thread_per_op()) };
    skelzero::cli::init_logging(cli.verbose);
    skelzero::util::tune_malloc();
    match skelzero::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // The causes, each once: a library error often prints its source in its own message already.
            let mut message = err.to_string();
            for cause in err.chain().skip(1) {
                let cause = cause.to_string();
                if !message.contains(&cause) {
                    message.push_str(": ");
                    message.push_str(&cause);
                }
            }
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
