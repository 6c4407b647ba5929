//! Terminal progress bars for the CLI's long jobs, one style everywhere.

/// A bar of `len` steps labelled `prefix`; hidden when stderr is not a terminal (indicatif's default).
pub fn bar(len: u64, prefix: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(len);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {elapsed} {msg}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_prefix(prefix.to_owned());
    bar
}
