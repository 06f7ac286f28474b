//! git's smart HTTP protocol on 127.0.0.1: the real `git http-backend` run as a CGI
//! program behind [`Server`], serving the bare repositories under a directory to one
//! user with a password (HTTP Basic), as a forge serves them to a token. Every
//! request without the right credentials is answered 401 and counted.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine as _;

use crate::http::{HttpRequest, Reply, Server};

/// A running smart HTTP git server; dropping it stops it.
pub struct GitHttp {
    server: Server,
    refused: Arc<AtomicUsize>,
}

impl GitHttp {
    /// Serves the repositories under `root` to `user` with `password`.
    pub fn start(root: &Path, user: &str, password: &str) -> anyhow::Result<GitHttp> {
        crate::tools::require_tool("git", "git")?;
        let root = root.to_owned();
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        );
        let refused = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&refused);
        let user = user.to_owned();
        let server = Server::start(
            "git-http",
            Arc::new(move |request: HttpRequest| {
                if request.header("authorization") != Some(expected.as_str()) {
                    counter.fetch_add(1, Ordering::SeqCst);
                    return Reply::now(
                        401,
                        vec![("WWW-Authenticate".into(), "Basic realm=\"lava\"".into())],
                        b"credentials needed\n".to_vec(),
                    );
                }
                cgi(&root, &user, &request)
            }),
        )
        .map_err(|e| anyhow::anyhow!("cannot listen on 127.0.0.1: {e}"))?;
        Ok(GitHttp { server, refused })
    }

    /// `http://127.0.0.1:PORT/` followed by `repo` (a path under the root).
    pub fn url(&self, repo: &str) -> String {
        self.server.url(repo)
    }

    /// How many requests came without the right credentials.
    pub fn refused(&self) -> usize {
        self.refused.load(Ordering::SeqCst)
    }
}

/// Runs `git http-backend` for one request (the CGI/1.1 variables it reads) and turns
/// its CGI answer into a reply.
fn cgi(root: &Path, user: &str, request: &HttpRequest) -> Reply {
    let (path, query) = request
        .target
        .split_once('?')
        .unwrap_or((request.target.as_str(), ""));
    let mut cmd = Command::new("git");
    cmd.arg("http-backend")
        .env_remove("GIT_DIR")
        .env("GIT_PROJECT_ROOT", root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", root)
        .env("PATH_INFO", path)
        .env("QUERY_STRING", query)
        .env("REQUEST_METHOD", &request.method)
        .env("REMOTE_USER", user)
        .env("REMOTE_ADDR", "127.0.0.1")
        .env("CONTENT_LENGTH", request.body.len().to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (header, var) in [
        ("content-type", "CONTENT_TYPE"),
        ("content-encoding", "HTTP_CONTENT_ENCODING"),
        ("git-protocol", "GIT_PROTOCOL"),
    ] {
        if let Some(value) = request.header(header) {
            cmd.env(var, value);
        }
    }
    let answer = cmd.spawn().and_then(|mut child| {
        let mut stdin = child.stdin.take().expect("stdin is piped");
        let body = request.body.clone();
        let writer = std::thread::spawn(move || stdin.write_all(&body));
        let out = child.wait_with_output()?;
        writer.join().expect("the writer does not panic")?;
        Ok(out)
    });
    match answer {
        Ok(out) if out.status.success() => parse_cgi(&out.stdout),
        Ok(out) => Reply::now(
            500,
            Vec::new(),
            [b"git http-backend failed: ".as_slice(), &out.stderr].concat(),
        ),
        Err(e) => Reply::now(
            500,
            Vec::new(),
            format!("cannot run git: {e}\n").into_bytes(),
        ),
    }
}

/// A CGI answer: header lines (`Status:` giving the code), a blank line, the body.
fn parse_cgi(out: &[u8]) -> Reply {
    let (split, gap) = match (
        out.windows(4).position(|w| w == b"\r\n\r\n"),
        out.windows(2).position(|w| w == b"\n\n"),
    ) {
        (Some(crlf), Some(lf)) if lf < crlf => (lf, 2),
        (Some(crlf), _) => (crlf, 4),
        (None, Some(lf)) => (lf, 2),
        (None, None) => (out.len(), 0),
    };
    let head = String::from_utf8_lossy(&out[..split]);
    let body = out[(split + gap).min(out.len())..].to_vec();
    let mut status = 200;
    let mut headers = Vec::new();
    for line in head.lines() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("status") {
            status = value
                .split_whitespace()
                .next()
                .and_then(|code| code.parse().ok())
                .unwrap_or(500);
        } else {
            headers.push((name.to_owned(), value.to_owned()));
        }
    }
    Reply::now(status, headers, body)
}
