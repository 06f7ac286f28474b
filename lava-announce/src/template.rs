//! `{name}` placeholders in the configured subject and body.

/// Replaces each `{name}` in `template` whose name is in `values` by its value, in
/// one pass: a value holding `{version}` (a commit subject, say) stays as it is.
/// Unknown placeholders and lone braces are kept.
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let value = after.find('}').and_then(|close| {
            let name = &after[..close];
            values
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value, close))
        });
        match value {
            Some((value, close)) => {
                out.push_str(value);
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::fill;

    #[test]
    fn replaces_known_names_once() {
        let values = [("version", "2024.05"), ("commits", "abc fix {version}")];
        assert_eq!(
            fill("LAVA {version}: {commits} {unknown} {", &values),
            "LAVA 2024.05: abc fix {version} {unknown} {"
        );
    }
}
