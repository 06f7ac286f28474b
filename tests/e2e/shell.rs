//! The binary in the user's shell: completion scripts that bash, zsh and fish load, and
//! man pages that groff formats without a warning.

use std::process::Command;

use tests::sandbox::{Sandbox, all_text, assert_success, text};

/// What bash completes after `line` with the script loaded (the cursor at the end),
/// through the function the script registers with `complete -F`.
fn bash_completes(script: &std::path::Path, line: &str) -> Vec<String> {
    let words: Vec<&str> = line.split(' ').collect();
    let program = format!(
        "source {script:?}\nCOMP_WORDS=({words})\nCOMP_CWORD={cword}\nCOMP_LINE={line:?}\nCOMP_POINT=${{#COMP_LINE}}\nfunction=$(complete -p lava-release | sed -E 's/.* -F ([^ ]+) .*/\\1/')\n\"$function\" lava-release {current:?} {previous:?}\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        words = words
            .iter()
            .map(|w| format!("{w:?}"))
            .collect::<Vec<_>>()
            .join(" "),
        cword = words.len() - 1,
        current = words[words.len() - 1],
        previous = words[words.len().saturating_sub(2)],
    );
    let out = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &program])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", all_text(&out));
    text(&out.stdout).lines().map(str::to_owned).collect()
}

#[test]
fn completions_load_in_bash_zsh_and_fish_and_complete_the_subcommands() {
    let sb = Sandbox::new().unwrap();
    for (shell, file, check) in [
        ("bash", "lava-release.bash", ["bash", "-n"]),
        ("zsh", "_lava-release", ["zsh", "-n"]),
        ("fish", "lava-release.fish", ["fish", "--no-execute"]),
    ] {
        let out = sb.lava_release(&["completions", shell]).output();
        assert_success(&out);
        let script = sb.path().join(file);
        std::fs::write(&script, &out.stdout).unwrap();
        let parsed = Command::new(check[0])
            .arg(check[1])
            .arg(&script)
            .output()
            .unwrap();
        assert!(parsed.status.success(), "{shell}: {}", all_text(&parsed));
        assert!(text(&out.stdout).contains("registry-prune"), "{shell}");
    }
    let script = sb.path().join("lava-release.bash");
    let subcommands = bash_completes(&script, "lava-release r");
    for expected in ["run", "registry-prune", "repo"] {
        assert!(subcommands.iter().any(|s| s == expected), "{subcommands:?}");
    }
    // `run`'s options are completed too.
    let options = bash_completes(&script, "lava-release run --dr");
    assert_eq!(options, ["--dry-run"]);
}

#[test]
fn the_man_pages_cover_every_subcommand_and_groff_formats_them_cleanly() {
    let sb = Sandbox::new().unwrap();
    let dir = sb.path().join("man");
    let out = sb.lava_release(&["man", dir.to_str().unwrap()]).output();
    assert_success(&out);
    let mut pages: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    pages.sort();
    for page in [
        "lava-release.1",
        "lava-release-run.1",
        "lava-release-plan.1",
        "lava-release-repo-verify.1",
        "lava-release-completions.1",
        "lava-release-man.1",
    ] {
        assert!(pages.iter().any(|p| p == page), "{page} in {pages:?}");
    }
    for page in &pages {
        let out = Command::new("groff")
            .args(["-man", "-Tutf8", "-ww", "-z"])
            .arg(dir.join(page))
            .output()
            .unwrap();
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "{page}: {}",
            all_text(&out)
        );
    }
    let run = std::fs::read_to_string(dir.join("lava-release-run.1")).unwrap();
    assert!(run.contains("dry\\-run"), "{run}");
}
