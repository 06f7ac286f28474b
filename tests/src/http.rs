//! A small static file server on 127.0.0.1 for apt and dget: GET and HEAD of the
//! files under a directory (symlinks followed), with single byte-range requests.
//! It runs in a thread and stops when dropped.

use std::io::{Read as _, Seek as _, SeekFrom};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::Context as _;
use tiny_http::{Header, Method, Request, Response, Server};

/// A running server; dropping it stops it.
pub struct HttpServer {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl HttpServer {
    /// Serves `root` on an ephemeral port of 127.0.0.1.
    pub fn serve(root: &Path) -> anyhow::Result<HttpServer> {
        let server = Server::http("127.0.0.1:0")
            .map_err(|e| anyhow::anyhow!("cannot listen on 127.0.0.1: {e}"))?;
        let port = server
            .server_addr()
            .to_ip()
            .context("the server listens on an IP address")?
            .port();
        let stop = Arc::new(AtomicBool::new(false));
        let root = root.to_owned();
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                if let Ok(Some(request)) = server.recv_timeout(Duration::from_millis(50)) {
                    handle(&root, request);
                }
            }
        });
        Ok(HttpServer {
            port,
            stop,
            thread: Some(thread),
        })
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT/` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!(
            "http://127.0.0.1:{}/{}",
            self.port,
            path.trim_start_matches('/')
        )
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn resolve(root: &Path, url: &str) -> Option<PathBuf> {
    let path = url.split(['?', '#']).next().unwrap_or("");
    let mut out = root.to_owned();
    for component in Path::new(path.trim_start_matches('/')).components() {
        match component {
            Component::Normal(c) => out.push(c),
            Component::CurDir => {}
            _ => return None,
        }
    }
    Some(out)
}

fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("ASCII header")
}

/// `bytes=A-B`, `bytes=A-` or `bytes=-N` against a file of `len` bytes.
fn range(value: &str, len: u64) -> Option<(u64, u64)> {
    let spec = value.strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let (start, end) = match (a.trim(), b.trim()) {
        ("", n) => {
            let n: u64 = n.parse().ok()?;
            (len.saturating_sub(n), len.checked_sub(1)?)
        }
        (a, "") => (a.parse().ok()?, len.checked_sub(1)?),
        (a, b) => (
            a.parse().ok()?,
            b.parse::<u64>().ok()?.min(len.checked_sub(1)?),
        ),
    };
    (start <= end && start < len).then_some((start, end))
}

fn handle(root: &Path, request: Request) {
    let head = *request.method() == Method::Head;
    if !head && *request.method() != Method::Get {
        let _ = request.respond(Response::empty(405));
        return;
    }
    let Some(path) = resolve(root, request.url()) else {
        let _ = request.respond(Response::empty(400));
        return;
    };
    let Ok(mut file) = std::fs::File::open(&path) else {
        let _ = request.respond(Response::empty(404));
        return;
    };
    let len = match file.metadata() {
        Ok(m) if m.is_file() => m.len(),
        _ => {
            let _ = request.respond(Response::empty(404));
            return;
        }
    };
    let wanted = request
        .headers()
        .iter()
        .find(|h| h.field.equiv("Range"))
        .map(|h| h.value.as_str().to_owned());
    if let Some(value) = wanted {
        let Some((start, end)) = range(&value, len) else {
            let response = Response::empty(416)
                .with_header(header("Content-Range", &format!("bytes */{len}")));
            let _ = request.respond(response);
            return;
        };
        let mut body = vec![0; (end - start + 1) as usize];
        if file.seek(SeekFrom::Start(start)).is_err() || file.read_exact(&mut body).is_err() {
            let _ = request.respond(Response::empty(500));
            return;
        }
        if head {
            body.clear();
        }
        let response = Response::from_data(body)
            .with_status_code(206)
            .with_header(header(
                "Content-Range",
                &format!("bytes {start}-{end}/{len}"),
            ))
            .with_header(header("Accept-Ranges", "bytes"));
        let _ = request.respond(response);
        return;
    }
    if head {
        let response = Response::empty(200)
            .with_header(header("Content-Length", &len.to_string()))
            .with_header(header("Accept-Ranges", "bytes"));
        let _ = request.respond(response);
        return;
    }
    let response = Response::from_file(file).with_header(header("Accept-Ranges", "bytes"));
    let _ = request.respond(response);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(range("bytes=0-9", 100), Some((0, 9)));
        assert_eq!(range("bytes=90-", 100), Some((90, 99)));
        assert_eq!(range("bytes=-10", 100), Some((90, 99)));
        assert_eq!(range("bytes=100-", 100), None);
        assert_eq!(range("bytes=0-1,4-5", 100), None);
    }
}
