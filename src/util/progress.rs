//! Terminal progress bars for the CLI's long jobs, one style everywhere.

/// A bar of `len` steps labelled `prefix`; hidden when stderr is not a terminal (indicatif's default). Every bar
/// joins one process-wide stack, so jobs running side by side (`bench --jobs`) each keep a line of their own
/// instead of overwriting each other's.
pub fn bar(len: u64, prefix: &str) -> indicatif::ProgressBar {
    static BARS: std::sync::OnceLock<indicatif::MultiProgress> = std::sync::OnceLock::new();
    let bar = BARS
        .get_or_init(indicatif::MultiProgress::new)
        .add(indicatif::ProgressBar::new(len));
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {elapsed} {msg}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_prefix(prefix.to_owned());
    bar
}
