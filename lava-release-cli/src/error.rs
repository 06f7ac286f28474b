//! The error kinds the binary maps to exit statuses.

/// A mistake in how lava-release was called or configured (a bad version, an unknown
/// stage, a missing setting): the binary exits with status 2 and changes nothing.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// The error and its causes as one line, without repeating a cause already quoted.
pub fn one_line(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}
