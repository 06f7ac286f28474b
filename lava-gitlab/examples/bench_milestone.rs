//! `milestone-check` of a 250-issue milestone against the stand-in, side by side with
//! curl fetching the same four pages: `cargo run -p lava-gitlab --example bench_milestone`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::process::Command;
use std::time::{Duration, Instant};

use lava_gitlab::{Config, GitLab, Token};
use tests::gitlab::{Access, GitLabStandIn, MilestoneSpec};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let token = "glpat-bench-token";
    let gl = GitLabStandIn::builder()
        .token("bench", token, Access::ReadOnly)
        .milestone(
            MilestoneSpec::new("2024.05")
                .issues(250, 0)
                .merge_requests(3, 0),
        )
        .start()
        .unwrap();
    let api = GitLab::new(
        Config::new(gl.url(), "lava/lava".parse().unwrap()),
        Token::new(token),
    )
    .unwrap();
    let runs = 21;
    let ours: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            let r = api.milestone_check("2024.05").unwrap();
            assert_eq!(r.open_issues.len(), 250);
            t.elapsed()
        })
        .collect();
    let base = format!("{}/api/v4/projects/lava%2Flava", gl.url());
    let urls = [
        format!("{base}/milestones?title=2024.05&per_page=100&page=1"),
        format!("{base}/merge_requests?milestone=2024.05&state=opened&per_page=100&page=1"),
        format!("{base}/issues?milestone=2024.05&state=opened&per_page=100&page=1"),
        format!("{base}/issues?milestone=2024.05&state=opened&per_page=100&page=2"),
        format!("{base}/issues?milestone=2024.05&state=opened&per_page=100&page=3"),
    ];
    let curl: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            // One curl process fetching the same pages over one connection.
            let mut cmd = Command::new("curl");
            cmd.args([
                "-sf",
                "--noproxy",
                "*",
                "-H",
                &format!("PRIVATE-TOKEN: {token}"),
            ]);
            for u in &urls {
                cmd.args(["-o", "/dev/null", u]);
            }
            assert!(cmd.status().expect("curl (apt install curl)").success());
            t.elapsed()
        })
        .collect();
    let (a, b) = (median(ours), median(curl));
    println!(
        "milestone-check 250 issues (5 requests), median of {runs}: lava-gitlab {:.2} ms, curl {:.2} ms, ratio {:.2}",
        a.as_secs_f64() * 1e3,
        b.as_secs_f64() * 1e3,
        a.as_secs_f64() / b.as_secs_f64()
    );
}
