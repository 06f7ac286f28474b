//! Our side of `cargo xtask bench orig`, as its own process: `orig-bench GIT_DIR TARBALL
//! TAG` proves TARBALL is `git archive TAG` of the repository at GIT_DIR, as the
//! `upstream-tarball` stage and the consistency gate do.

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [git_dir, tarball, tag] = args.as_slice() else {
        eprintln!("usage: orig-bench GIT_DIR TARBALL TAG");
        return ExitCode::from(2);
    };
    match lava_debian::check_orig(Path::new(tarball), Path::new(git_dir), tag) {
        Ok(matched) => {
            println!("{} files", matched.members);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("orig-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
