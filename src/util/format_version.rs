//! Format versions of the TOML files skelzero writes (run configs): a `format = N` line first, so a file written by
//! a newer skelzero is refused with one clear error instead of a confusing missing-field message. Files without the
//! key are format 1 (written before versions existed).

/// The key holding the format version.
pub const FORMAT_KEY: &str = "format";

/// `text` (a TOML document) with `format = version` put first.
pub fn toml_with_format(text: &str, version: u32) -> String {
    format!("{FORMAT_KEY} = {version}\n{text}")
}

/// Checks the format version of a TOML document that this build reads up to `current`. Syntax errors are left to
/// the typed parse, which reports them with their line.
pub fn check_toml_format(text: &str, what: &str, current: u32) -> Result<(), String> {
    let Ok(table) = text.parse::<toml::Table>() else {
        return Ok(());
    };
    match table.get(FORMAT_KEY) {
        None => Ok(()),
        Some(toml::Value::Integer(v)) if (1..=i64::from(current)).contains(v) => Ok(()),
        Some(toml::Value::Integer(v)) if *v > i64::from(current) => Err(format!(
            "field `{FORMAT_KEY}`: {what} format {v} was written by a newer skelzero; this build reads formats up \
             to {current} (update skelzero)"
        )),
        Some(other) => Err(format!(
            "field `{FORMAT_KEY}`: expected a format version from 1 to {current}, found `{other}`"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        let text = toml_with_format("a = 1\n", 1);
        assert!(check_toml_format(&text, "run", 1).is_ok());
        assert!(check_toml_format("a = 1\n", "run", 1).is_ok());
        let err = check_toml_format("format = 7\n", "run", 1).unwrap_err();
        assert!(
            err.contains("run format 7 was written by a newer skelzero"),
            "{err}"
        );
        let err = check_toml_format("format = \"x\"\n", "run", 1).unwrap_err();
        assert!(err.contains("found `\"x\"`"), "{err}");
    }
}
