//! HTTP/1.1 on 127.0.0.1 for the stand-ins, on [`Loopback`]: [`Server`] reads requests
//! (keep-alive, Content-Length and chunked bodies) and writes what a handler answers,
//! with the faults a real network has (slow answers, dropped connections), which a
//! framework would hide. [`HttpServer`] is a static file server on it for apt and
//! dget: GET and HEAD of the files under a directory (symlinks followed), with single
//! byte-range requests. Both stop when dropped.

use std::io::{BufRead, BufReader, Read, Seek as _, SeekFrom, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::loopback::{Loopback, Stopping};

/// A request as read off the wire.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// Path and query, still percent-encoded.
    pub target: String,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

impl HttpRequest {
    /// The value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What to do with a request.
pub enum Reply {
    /// Answer after `delay`; a `content-length` is added unless `headers` hold one
    /// (as a HEAD answer does).
    Answer {
        /// The status code.
        status: u16,
        /// Headers, in order.
        headers: Vec<(String, String)>,
        /// The body.
        body: Vec<u8>,
        /// How long to wait before answering.
        delay: Duration,
    },
    /// Close the connection without answering.
    Drop,
}

impl Reply {
    /// An immediate answer.
    pub fn now(status: u16, headers: Vec<(String, String)>, body: Vec<u8>) -> Reply {
        Reply::Answer {
            status,
            headers,
            body,
            delay: Duration::ZERO,
        }
    }
}

/// Answers requests; called from each connection's thread.
pub type Handler = Arc<dyn Fn(HttpRequest) -> Reply + Send + Sync>;

/// A running HTTP/1.1 server; dropping it stops it.
pub struct Server {
    listener: Loopback,
}

impl Server {
    /// Serves `handler` on an ephemeral port of 127.0.0.1, a thread per connection.
    pub fn start(name: &str, handler: Handler) -> std::io::Result<Server> {
        let listener = Loopback::serve(name, move |stream, stopping| {
            connection(stream, &handler, stopping);
        })?;
        Ok(Server { listener })
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> SocketAddr {
        self.listener.addr()
    }

    /// `http://127.0.0.1:PORT/` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        self.listener.url(path)
    }

    /// Stops the server; dropping does the same.
    pub fn stop(&mut self) {
        self.listener.stop();
    }
}

/// A static file server; dropping it stops it.
pub struct HttpServer {
    server: Server,
}

impl HttpServer {
    /// Serves `root` on an ephemeral port of 127.0.0.1.
    pub fn serve(root: &Path) -> anyhow::Result<HttpServer> {
        let root = root.to_owned();
        let server = Server::start(
            "http-files",
            Arc::new(move |request| files(&root, &request)),
        )
        .map_err(|e| anyhow::anyhow!("cannot listen on 127.0.0.1: {e}"))?;
        Ok(HttpServer { server })
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.server.addr().port()
    }

    /// `http://127.0.0.1:PORT/` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        self.server.url(path)
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

fn header(name: &str, value: &str) -> (String, String) {
    (name.to_owned(), value.to_owned())
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

fn files(root: &Path, request: &HttpRequest) -> Reply {
    let head = request.method == "HEAD";
    if !head && request.method != "GET" {
        return Reply::now(405, vec![], vec![]);
    }
    let Some(path) = resolve(root, &request.target) else {
        return Reply::now(400, vec![], vec![]);
    };
    let Ok(mut file) = std::fs::File::open(&path) else {
        return Reply::now(404, vec![], vec![]);
    };
    let len = match file.metadata() {
        Ok(m) if m.is_file() => m.len(),
        _ => return Reply::now(404, vec![], vec![]),
    };
    if let Some(value) = request.header("range") {
        let Some((start, end)) = range(value, len) else {
            return Reply::now(
                416,
                vec![header("Content-Range", &format!("bytes */{len}"))],
                vec![],
            );
        };
        let mut body = vec![0; (end - start + 1) as usize];
        if file.seek(SeekFrom::Start(start)).is_err() || file.read_exact(&mut body).is_err() {
            return Reply::now(500, vec![], vec![]);
        }
        let headers = vec![
            header("Content-Range", &format!("bytes {start}-{end}/{len}")),
            header("Accept-Ranges", "bytes"),
        ];
        if head {
            body.clear();
        }
        return Reply::now(206, headers, body);
    }
    if head {
        let headers = vec![
            header("Content-Length", &len.to_string()),
            header("Accept-Ranges", "bytes"),
        ];
        return Reply::now(200, headers, vec![]);
    }
    let mut body = Vec::new();
    if file.read_to_end(&mut body).is_err() {
        return Reply::now(500, vec![], vec![]);
    }
    Reply::now(200, vec![header("Accept-Ranges", "bytes")], body)
}

fn connection(stream: TcpStream, handler: &Handler, stopping: &Stopping) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = stream.set_nodelay(true);
    let Ok(write_half) = stream.try_clone() else {
        return;
    };
    let mut writer = write_half;
    let mut reader = BufReader::new(stream);
    loop {
        if stopping.requested() {
            return;
        }
        let request = match read_request(&mut reader) {
            Ok(Some(r)) => r,
            Ok(None) => return,
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                // Idle keep-alive connection: keep it while the server runs.
                continue;
            }
            Err(_) => return,
        };
        let close = request
            .header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        match handler(request) {
            Reply::Drop => {
                let _ = writer.shutdown(std::net::Shutdown::Both);
                return;
            }
            Reply::Answer {
                status,
                headers,
                body,
                delay,
            } => {
                if !delay.is_zero() {
                    std::thread::sleep(delay);
                }
                let mut head = format!("HTTP/1.1 {status} {}\r\n", reason(status));
                for (n, v) in &headers {
                    head.push_str(&format!("{n}: {v}\r\n"));
                }
                if !headers
                    .iter()
                    .any(|(n, _)| n.eq_ignore_ascii_case("content-length"))
                {
                    head.push_str(&format!("content-length: {}\r\n", body.len()));
                }
                if close {
                    head.push_str("connection: close\r\n");
                }
                head.push_str("\r\n");
                if writer.write_all(head.as_bytes()).is_err()
                    || writer.write_all(&body).is_err()
                    || writer.flush().is_err()
                    || close
                {
                    return;
                }
            }
        }
    }
}

fn read_request(reader: &mut BufReader<TcpStream>) -> std::io::Result<Option<HttpRequest>> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        return Ok(None);
    };
    let (method, target) = (method.to_owned(), target.to_owned());
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 {
            return Ok(None);
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((n, v)) = h.split_once(':') {
            headers.push((n.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
    }
    let find = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let mut body = Vec::new();
    if find("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size)?;
            let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16)
                .unwrap_or(0);
            let mut chunk = vec![0; n + 2];
            reader.read_exact(&mut chunk)?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
    } else if let Some(len) = find("content-length").and_then(|v| v.parse::<usize>().ok()) {
        body.resize(len, 0);
        reader.read_exact(&mut body)?;
    }
    Ok(Some(HttpRequest {
        method,
        target,
        headers,
        body,
    }))
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        416 => "Range Not Satisfiable",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
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
