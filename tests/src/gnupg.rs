//! What a GnuPG home of a test needs beyond `gpg --import`: a pinentry that records what
//! gpg-agent told it (to see where the real agent would have put its prompt), and a key
//! moved to a smartcard that is not there (the stub `gpg --card-edit keytocard`
//! leaves behind).

use std::path::{Path, PathBuf};

/// The serial number of the OpenPGP card [`move_keys_to_card`] claims the keys are on.
pub const CARD_SERIAL: &str = "D2760001240103040006123456780000";

/// Writes a pinentry program into `dir` that answers every `GETPIN` with `passphrase`
/// and records its arguments, its environment (`ENV NAME=VALUE`) and every command
/// gpg-agent sent it, except the answers, in the returned log file.
pub fn recording_pinentry(dir: &Path, passphrase: &str) -> anyhow::Result<(PathBuf, PathBuf)> {
    let script = dir.join("pinentry-recording");
    let log = dir.join("pinentry.log");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nlog='{log}'\n{{ echo \"ARGS $*\"; env | sed 's/^/ENV /'; }} >> \"$log\"\n\
             echo 'OK Pleased to meet you'\n\
             while IFS= read -r line; do\n  echo \"$line\" >> \"$log\"\n  case \"$line\" in\n    \
             GETPIN*) printf 'D %s\\nOK\\n' '{passphrase}' ;;\n    \
             BYE*) echo OK; exit 0 ;;\n    \
             *) echo OK ;;\n  esac\ndone\n",
            log = log.display()
        ),
    )?;
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
    Ok((script, log))
}

/// Turns every secret key of the GnuPG home `home` into a stub that says the key is
/// on the OpenPGP card [`CARD_SERIAL`]: the secret part (`(d ...)`, or the
/// `(protected ...)` the agent wraps it in) goes, `(shadowed t1-v1 (#SERIAL# OPENPGP.1))`
/// takes its place. Returns how many keys moved.
pub fn move_keys_to_card(home: &Path) -> anyhow::Result<usize> {
    let mut moved = 0;
    for entry in std::fs::read_dir(home.join("private-keys-v1.d"))? {
        let path = entry?.path();
        if path.extension().is_none_or(|e| e != "key") {
            continue;
        }
        let text = std::fs::read_to_string(&path)?;
        let secret = ["(protected ", "(d "]
            .iter()
            .find_map(|open| text.find(open))
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "{} holds no secret part in the extended format",
                    path.display()
                )
            })?;
        let end = balanced_end(&text, secret)
            .ok_or_else(|| anyhow::anyhow!("{} has unbalanced parentheses", path.display()))?;
        let stub = format!(
            "{}(shadowed t1-v1 (#{CARD_SERIAL}# OPENPGP.1)){}",
            &text[..secret],
            &text[end..]
        )
        .replacen("(protected-private-key", "(shadowed-private-key", 1)
        .replacen("(private-key", "(shadowed-private-key", 1);
        std::fs::write(&path, stub)?;
        moved += 1;
    }
    Ok(moved)
}

/// The end (exclusive) of the S-expression list opening at `start`.
fn balanced_end(text: &str, start: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in text[start..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(start + i + 1);
                }
            }
            _ => {}
        }
    }
    None
}
