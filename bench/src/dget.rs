//! The dget benchmark: fetch a signed source package (a 50 MB orig tarball; then the
//! same 50 MB in six files) from one local HTTP server, side by side with devscripts'
//! `dget -d`, both checking the `.dsc`'s signature against the same certificate (for
//! `dget`, through `dscverify` and `DSCVERIFY_KEYRINGS`) and every file's checksums.
//!
//! The server is Python's threaded `http.server` on 127.0.0.1, started and stopped
//! here by PID. Our side is `lava-debian`'s `dget-bench` example in release mode, as
//! its own process. The fixture lives in `$CARGO_TARGET_DIR/bench-fixtures/dget`.

use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};

use super::{check, fixture_options, median, release_example, require_tools};

const FIXTURE_VERSION: &str = "1";
/// At least as fast as `dget -d` for one big file...
const TARGET_SINGLE: f64 = 1.0;
/// ... and faster when there are several.
const TARGET_MULTI: f64 = 1.0;

/// A server we started; killed by its PID on drop.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(root: &Path) -> anyhow::Result<(Server, u16)> {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.local_addr()?.port()
    };
    let child = Command::new("python3")
        .args(["-m", "http.server", "--bind", "127.0.0.1"])
        .arg(port.to_string())
        .arg("--directory")
        .arg(root)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("cannot start python3 -m http.server")?;
    let server = Server(child);
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        ensure!(
            Instant::now() < deadline,
            "python3 -m http.server did not listen on 127.0.0.1:{port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok((server, port))
}

/// `cargo xtask bench dget [--iterations N] [--regenerate]`.
pub fn run(args: &[String]) -> anyhow::Result<()> {
    let (iterations, regenerate) = fixture_options(args, "dget", 5)?;
    require_tools(&[
        ("dget", "devscripts"),
        ("dscverify", "devscripts"),
        ("gpgv", "gpgv"),
        ("python3", "python3"),
    ])?;
    let ours = release_example("lava-debian", "dget-bench")?;
    let fixture = tests::bin::target_dir().join("bench-fixtures").join("dget");
    let marker = fixture.join(format!(".complete-{FIXTURE_VERSION}"));
    if regenerate || !marker.exists() {
        if fixture.exists() {
            std::fs::remove_dir_all(&fixture)?;
        }
        check(Command::new(&ours).arg("make-fixture").arg(&fixture))?;
        std::fs::write(&marker, "")?;
    }
    let keyring = fixture.join("key.gpg");
    // dget runs dscverify, which reads its keyrings from the devscripts configuration.
    let home = fixture.join("home");
    std::fs::create_dir_all(&home)?;
    std::fs::write(
        home.join(".devscripts"),
        format!("DSCVERIFY_KEYRINGS=\"{}\"\n", keyring.display()),
    )?;
    let (_server, port) = serve(&fixture)?;
    let scratch = fixture.join("scratch");

    println!(
        "dget benchmark: {iterations} iteration(s), median, one local HTTP server (python3 http.server)"
    );
    let mut ratios = Vec::new();
    for (case, label) in [
        ("single", "one 50 MB orig tarball"),
        ("multi", "50 MB in six files"),
    ] {
        let url = format!("http://127.0.0.1:{port}/{case}/lava_1.0-1.dsc");
        let (mut t_ours, mut t_dget) = (Vec::new(), Vec::new());
        // One untimed round first, so both start with a warm page cache.
        for i in 0..=iterations {
            let dest = scratch.join(format!("{case}-ours"));
            let _ = std::fs::remove_dir_all(&dest);
            let start = Instant::now();
            check(
                Command::new(&ours)
                    .arg("fetch")
                    .arg(&url)
                    .arg(&dest)
                    .arg(&keyring),
            )?;
            if i > 0 {
                t_ours.push(start.elapsed());
            }
            let dest = scratch.join(format!("{case}-dget"));
            let _ = std::fs::remove_dir_all(&dest);
            std::fs::create_dir_all(&dest)?;
            let start = Instant::now();
            check(
                Command::new("dget")
                    .current_dir(&dest)
                    .env("HOME", &home)
                    .arg("--download-only")
                    .arg(&url),
            )?;
            if i > 0 {
                t_dget.push(start.elapsed());
            }
        }
        let (ours_m, dget_m) = (median(&mut t_ours), median(&mut t_dget));
        let ratio = dget_m.as_secs_f64() / ours_m.as_secs_f64();
        println!("  {case} ({label}):");
        println!(
            "    lava-debian dget (signature, SHA256, parallel) {:>8.0} ms",
            ours_m.as_secs_f64() * 1e3
        );
        println!(
            "    dget -d (dscverify, wget/curl)                {:>8.0} ms",
            dget_m.as_secs_f64() * 1e3
        );
        println!("    dget / ours: {ratio:.2}x");
        ratios.push((case, ratio));
    }
    let _ = std::fs::remove_dir_all(&scratch);
    let single = ratios[0].1;
    let multi = ratios[1].1;
    let mut missed = Vec::new();
    if single < TARGET_SINGLE {
        missed.push(format!(
            "one file: {single:.2}x (target >= {TARGET_SINGLE}x)"
        ));
    }
    if multi <= TARGET_MULTI {
        missed.push(format!(
            "several files: {multi:.2}x (target > {TARGET_MULTI}x)"
        ));
    }
    if missed.is_empty() {
        println!("  targets met: at least as fast with one file, faster with several");
        Ok(())
    } else {
        bail!("dget benchmark missed its targets: {}", missed.join("; "))
    }
}
