//! The git-buildpackage flow (`debian.flow = "gbp"`) end to end through the binary, with
//! the real `gbp`, `pristine-tar`, `dpkg-buildpackage`, `dscverify` and `git verify-tag`:
//! the tag's tarball from the GitLab stand-in's archive endpoint, imported into a DEP-14
//! packaging repository, its changelog, a source build, the DD's signatures, the Debian
//! tag, and the push to a bare packaging remote; then each way it must stop.

use std::path::PathBuf;
use std::process::Command;

use tests::packaging::{dd_key, packaging_remote};
use tests::sandbox::{Sandbox, all_text, assert_output_contains};

use crate::support::{error_line, git, gnupg_home, run};

const V: &str = "2024.02";
const ORIG: &str = "lava_2024.02.orig.tar.gz";

struct Fixture {
    sb: Sandbox,
    remote: PathBuf,
    queue: tempfile::TempDir,
    dd_public: PathBuf,
    _keys: tempfile::TempDir,
}

/// A sandbox whose Debian flow is gbp, into a fresh packaging remote, built with
/// `dpkg-buildpackage -S` (sbuild needs a chroot), signed by a fresh DD key; `extra` is
/// appended to `[debian]`. Brought through `consistency` (which runs `upstream-tarball`)
/// unless `through` is false: then only given its GitLab stand-in.
fn setup(extra: &str, through: bool) -> Fixture {
    let mut sb = Sandbox::lava().unwrap();
    let remote = packaging_remote(&sb).unwrap();
    let keys = tempfile::tempdir().unwrap();
    let key = dd_key(keys.path()).unwrap();
    let dd_secret = keys.path().join("dd.key");
    let dd_public = keys.path().join("dd.asc");
    let queue = tempfile::tempdir().unwrap();
    sb.add_config(&format!(
        "[debian]\nflow = \"gbp\"\npackaging_remote = {remote:?}\npackage_builder = \"dpkg-buildpackage -S -us -uc -d\"\nupload = {queue:?}\nkey = {fpr:?}\nkey_file = {secret:?}\n{extra}",
        remote = remote.display().to_string(),
        queue = queue.path().display().to_string(),
        fpr = key.fingerprint().to_hex(),
        secret = dd_secret.display().to_string(),
    ))
    .unwrap();
    let sb = if through {
        sb.through_consistency(V).unwrap()
    } else {
        sb.with_gitlab(V).unwrap()
    };
    Fixture {
        sb,
        remote,
        queue,
        dd_public,
        _keys: keys,
    }
}

fn gbp_stages(f: &Fixture, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "run",
        V,
        "--yes",
        "--from",
        "import-orig",
        "--to",
        "debian-upload",
    ];
    args.extend_from_slice(extra);
    run(&f.sb, &args, None)
}

/// The packaging repository lava-release keeps.
fn packaging_dir(f: &Fixture) -> PathBuf {
    f.sb.repo().join(".git/lava-release/debian/packaging")
}

fn orig(f: &Fixture) -> PathBuf {
    f.sb.repo()
        .join(".git/lava-release/debian")
        .join(V)
        .join("gbp")
        .join(ORIG)
}

#[test]
fn the_gbp_flow_imports_builds_signs_tags_pushes_and_uploads_once() {
    let f = setup("", true);
    // upstream-tarball ran before the gate, which proved the tarball is the tag.
    assert!(orig(&f).exists());
    let out = gbp_stages(&f, &[]);
    assert!(out.status.success(), "{}", all_text(&out));
    for stage in [
        "import-orig",
        "debian-changelog",
        "debian-build",
        "debian-sign",
        "debian-tag",
        "debian-push",
        "debian-upload",
    ] {
        assert_output_contains(&out, stage);
    }

    // The remote holds what gbp push would have sent.
    let remote = &f.remote;
    for r in [
        "refs/heads/debian/main",
        "refs/heads/upstream",
        "refs/heads/pristine-tar",
        "refs/tags/upstream/2024.02",
        "refs/tags/debian/2024.02-1",
    ] {
        git(remote, &["rev-parse", "--verify", r]);
    }
    // The upstream import has the release tag as a parent, as --upstream-vcs-tag makes it.
    let release = git(&f.sb.repo(), &["rev-parse", &format!("{V}^{{commit}}")]);
    let parents = git(
        remote,
        &["rev-list", "--parents", "-n1", "upstream/2024.02^{commit}"],
    );
    assert!(parents.contains(&release), "{parents}");
    // debian/main merged it, and its changelog starts with the new entry from its own
    // commits alone.
    git(
        remote,
        &[
            "merge-base",
            "--is-ancestor",
            "upstream/2024.02",
            "debian/main",
        ],
    );
    let changelog = git(remote, &["show", "debian/main:debian/changelog"]);
    let entry: String = changelog.split("\n\n -- ").next().unwrap().to_owned();
    assert!(
        entry.starts_with("lava (2024.02-1) unstable; urgency=medium"),
        "{changelog}"
    );
    assert!(entry.contains("LAVA Software 2024.02 release"), "{entry}");
    assert!(
        entry.contains("debian/watch: follow the release tags"),
        "{entry}"
    );
    assert!(!entry.contains("paginate the job list"), "{entry}");

    // The Debian tag as gbp tag words it, signed by the DD: git verify-tag accepts it.
    let message = git(
        remote,
        &[
            "tag",
            "-l",
            "--format=%(contents:subject)",
            "debian/2024.02-1",
        ],
    );
    assert_eq!(message, "lava Debian release 2024.02-1");
    let home = gnupg_home();
    let imported = Command::new("gpg")
        .arg("--homedir")
        .arg(home.path())
        .args(["--batch", "--quiet", "--import"])
        .arg(&f.dd_public)
        .status()
        .unwrap();
    assert!(imported.success());
    let verify = Command::new("git")
        .current_dir(remote)
        .args(["verify-tag", "debian/2024.02-1"])
        .env("GNUPGHOME", home.path())
        .output()
        .unwrap();
    assert!(verify.status.success(), "{}", all_text(&verify));

    // pristine-tar on a clone of the remote gives back the very tarball.
    let clone = f.sb.path().join("check-clone");
    let mut cmd = Command::new("git");
    cmd.args(["clone", "--quiet", "--branch", "debian/main"])
        .arg(remote)
        .arg(&clone);
    assert!(cmd.status().unwrap().success());
    git(
        &clone,
        &["branch", "--quiet", "pristine-tar", "origin/pristine-tar"],
    );
    let out = Command::new("pristine-tar")
        .current_dir(&clone)
        .args(["checkout", ORIG])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", all_text(&out));
    assert_eq!(
        std::fs::read(clone.join(ORIG)).unwrap(),
        std::fs::read(orig(&f)).unwrap()
    );

    // The upload is the signed source build, accepted by dscverify with the DD's key.
    let keyring = f.sb.path().join("dd.gpg");
    let export = Command::new("gpg")
        .arg("--homedir")
        .arg(home.path())
        .args(["--batch", "--export", "--output"])
        .arg(&keyring)
        .status()
        .unwrap();
    assert!(export.success());
    let changes = f.queue.path().join("lava_2024.02-1_source.changes");
    let out = Command::new("dscverify")
        .args(["--no-conf", "--no-default-keyrings", "--keyring"])
        .arg(&keyring)
        .arg(&changes)
        .output()
        .unwrap();
    assert!(
        all_text(&out).contains("All files validated successfully"),
        "{}",
        all_text(&out)
    );
    tests::rehearsal::stop_agent(home.path());

    // A re-run finds everything done and changes nothing.
    let head = git(remote, &["rev-parse", "debian/main"]);
    let again = gbp_stages(&f, &[]);
    assert!(again.status.success(), "{}", all_text(&again));
    assert_output_contains(&again, "0 stage(s) applied, 7 already done");
    assert_eq!(git(remote, &["rev-parse", "debian/main"]), head);
}

#[test]
fn a_tarball_that_is_not_the_tag_is_refused_naming_the_first_difference() {
    let f = setup("", false);
    run(&f.sb, &["run", V, "--yes", "--to", "push-tag"], None);
    f.sb.ci_for_tag(V).unwrap();
    // GitLab (or a mirror) serves a tarball whose README differs from the tag's.
    let tampered = Command::new("git")
        .current_dir(f.sb.repo())
        .args([
            "archive",
            "--format=tar.gz",
            "--prefix=lava-2024.02-x/",
            &format!("{}^{{tree}}", tests::sandbox::PREVIOUS_VERSION),
        ])
        .output()
        .unwrap();
    f.sb.gitlab().unwrap().override_archive(tampered.stdout);
    let out = run(
        &f.sb,
        &["run", V, "--yes", "--only", "upstream-tarball"],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "{}", all_text(&out));
    let line = error_line(&out);
    assert!(
        line.contains("the tarball of GitLab's archive of tag 2024.02 is not `git archive 2024.02`: `debian/changelog` is a file sha256:"),
        "{line}"
    );
    assert!(!orig(&f).exists(), "nothing takes the orig's name");
}

#[test]
fn a_packaging_remote_that_moved_stops_before_anything_is_pushed() {
    let f = setup("", true);
    let out = run(&f.sb, &["run", V, "--yes", "--only", "import-orig"], None);
    assert!(out.status.success(), "{}", all_text(&out));
    // Someone pushes to debian/main meanwhile.
    let other = f.sb.path().join("someone-else");
    let mut cmd = Command::new("git");
    cmd.args(["clone", "--quiet", "--branch", "debian/main"])
        .arg(&f.remote)
        .arg(&other);
    assert!(cmd.status().unwrap().success());
    std::fs::write(other.join("debian/README.Debian"), "hello\n").unwrap();
    git(&other, &["add", "--all"]);
    git(
        &other,
        &[
            "-c",
            "user.name=X",
            "-c",
            "user.email=x@example",
            "commit",
            "--quiet",
            "-m",
            "readme",
        ],
    );
    git(&other, &["push", "--quiet", "origin", "debian/main"]);
    let moved = git(&f.remote, &["rev-parse", "debian/main"]);

    let out = gbp_stages(&f, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", all_text(&out));
    assert_output_contains(
        &out,
        &format!(
            "the packaging remote {} moved: its `debian/main` is at",
            f.remote.display()
        ),
    );
    assert_eq!(git(&f.remote, &["rev-parse", "debian/main"]), moved);
    assert!(git(&f.remote, &["tag", "-l", "upstream/2024.02"]).is_empty());
}

#[test]
fn an_existing_debian_tag_elsewhere_blocks_and_nothing_is_pushed() {
    let f = setup("", true);
    let out = run(
        &f.sb,
        &[
            "run",
            V,
            "--yes",
            "--from",
            "import-orig",
            "--to",
            "debian-sign",
        ],
        None,
    );
    assert!(out.status.success(), "{}", all_text(&out));
    let dir = packaging_dir(&f);
    git(
        &dir,
        &["tag", "-a", "-m", "early", "debian/2024.02-1", "HEAD~1"],
    );
    let out = gbp_stages(&f, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", all_text(&out));
    assert_output_contains(&out, "tag `debian/2024.02-1` already exists in ");
    assert_output_contains(&out, ", not at `debian/main` (");
    assert!(git(&f.remote, &["tag", "-l", "debian/2024.02-1"]).is_empty());
    assert!(git(&f.remote, &["tag", "-l", "upstream/2024.02"]).is_empty());
}

#[test]
fn a_failing_builder_shows_its_last_lines_and_nothing_is_signed_or_pushed() {
    let mut f = setup("", true);
    f.sb.replace_key(
        "package_builder",
        "package_builder = \"sh -c 'echo cannot find debhelper; exit 3'\"",
    )
    .unwrap();
    let out = gbp_stages(&f, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", all_text(&out));
    let line = error_line(&out);
    assert!(line.contains("the build `gbp buildpackage"), "{line}");
    assert!(
        all_text(&out).contains("cannot find debhelper"),
        "{}",
        all_text(&out)
    );
    assert!(git(&f.remote, &["tag", "-l", "upstream/2024.02"]).is_empty());
    assert!(std::fs::read_dir(f.queue.path()).unwrap().next().is_none());
}

#[test]
fn a_missing_upstream_branch_and_a_missing_dd_key_are_named_before_the_first_stage() {
    let mut f = setup("", true);
    git(&f.remote, &["branch", "-D", "upstream"]);
    let out = gbp_stages(&f, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", all_text(&out));
    assert_output_contains(
        &out,
        &format!(
            "the packaging remote {} has no branch `upstream`",
            f.remote.display()
        ),
    );
    assert!(!packaging_dir(&f).exists());

    // The DD key is opened before the first stage too.
    f.sb.replace_key("key", "key = \"0123456789ABCDEF0123456789ABCDEF01234567\"")
        .unwrap();
    let out = run(&f.sb, &["run", V, "--yes", "--only", "debian-sign"], None);
    assert_ne!(out.status.code(), Some(0), "{}", all_text(&out));
    assert_output_contains(
        &out,
        "cannot use the Debian Developer's key 0123456789ABCDEF0123456789ABCDEF01234567",
    );
}
