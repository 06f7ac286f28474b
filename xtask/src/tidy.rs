//! Repository invariants, checked by `cargo test` (as rust-analyzer's tidy does).

#[cfg(test)]
mod module_graph;

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    fn workspace() -> PathBuf {
        crate::workspace()
    }

    /// The workspace members, from the root manifest.
    fn members() -> Vec<PathBuf> {
        let manifest = std::fs::read_to_string(workspace().join("Cargo.toml")).unwrap();
        let start = manifest
            .find("members = [")
            .expect("the workspace lists its members");
        let end = start + manifest[start..].find(']').unwrap();
        manifest[start..end]
            .split('"')
            .skip(1)
            .step_by(2)
            .map(|m| workspace().join(m))
            .collect()
    }

    fn is_library(member: &Path) -> bool {
        member.join("src/lib.rs").exists()
            && !matches!(
                member.file_name().and_then(|n| n.to_str()),
                Some("tests" | "xtask")
            )
    }

    #[test]
    fn every_crate_root_says_what_it_is_for() {
        for member in members() {
            for root in ["src/lib.rs", "src/main.rs"] {
                let path = member.join(root);
                let Ok(text) = std::fs::read_to_string(&path) else {
                    continue;
                };
                assert!(
                    text.starts_with("//!"),
                    "{} must open with a `//!` comment",
                    path.display()
                );
            }
        }
    }

    #[test]
    fn libraries_warn_on_missing_docs_and_use_workspace_lints() {
        for member in members().iter().filter(|m| is_library(m)) {
            let lib = std::fs::read_to_string(member.join("src/lib.rs")).unwrap();
            assert!(
                lib.contains("#![warn(missing_docs)]"),
                "{} lacks #![warn(missing_docs)]",
                member.display()
            );
            let manifest = std::fs::read_to_string(member.join("Cargo.toml")).unwrap();
            assert!(
                manifest.contains("[lints]\nworkspace = true"),
                "{} must use the workspace lints",
                member.display()
            );
        }
    }

    #[test]
    fn only_the_cli_and_xtask_use_anyhow() {
        for member in members().iter().filter(|m| is_library(m)) {
            let name = member.file_name().unwrap().to_str().unwrap();
            if name == "lava-release-cli" {
                continue;
            }
            let manifest = std::fs::read_to_string(member.join("Cargo.toml")).unwrap();
            let deps = manifest.split("[dev-dependencies]").next().unwrap();
            assert!(
                !deps.contains("anyhow"),
                "{name} is a library: use thiserror, not anyhow"
            );
        }
    }

    #[test]
    fn libraries_have_one_error_module() {
        for member in members().iter().filter(|m| is_library(m)) {
            let name = member.file_name().unwrap().to_str().unwrap();
            if name == "lava-release-cli" {
                continue;
            }
            assert!(
                member.join("src/error.rs").exists(),
                "{name} keeps its error enum in src/error.rs"
            );
        }
    }

    #[test]
    fn no_module_refers_to_one_that_refers_back() {
        let mut cycles = Vec::new();
        for member in members().iter().filter(|m| is_library(m)) {
            let name = member.file_name().unwrap().to_str().unwrap();
            let graph = super::module_graph::Graph::read(&member.join("src/lib.rs"), &|p| {
                std::fs::read_to_string(p).ok()
            });
            cycles.extend(graph.cycles().into_iter().map(|c| format!("{name}: {c}")));
        }
        assert!(
            cycles.is_empty(),
            "modules refer to each other in a circle; move what they share into a leaf module \
             (one that refers to none of them):\n{}",
            cycles.join("\n")
        );
    }

    /// The stage design (ARCHITECTURE.md, "Adding a stage"): a stage never names the plan
    /// or the runner, the runner never names a stage, and the plan is the only file that
    /// names them all.
    #[test]
    fn stages_know_only_the_step_contract() {
        let src = workspace().join("lava-release-cli/src");
        let mut stages = Vec::new();
        for entry in std::fs::read_dir(src.join("stages")).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_stem().unwrap().to_str().unwrap().to_owned();
            if name == "mod" {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for forbidden in ["crate::plan", "crate::run"] {
                assert!(
                    !text.contains(forbidden),
                    "{} names {forbidden}",
                    path.display()
                );
            }
            stages.push(name);
        }
        assert!(stages.len() > 10, "{stages:?}");
        for file in std::fs::read_dir(&src).unwrap() {
            let path = file.unwrap().path();
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let named: Vec<&String> = stages
                .iter()
                .filter(|s| text.contains(&format!("stages::{s}::")))
                .collect();
            if path.ends_with("plan.rs") {
                assert_eq!(named.len(), stages.len(), "plan.rs names every stage");
            } else {
                assert!(
                    named.is_empty(),
                    "{} names stages {named:?}",
                    path.display()
                );
            }
        }
    }
}
