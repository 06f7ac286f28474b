//! The one way a stand-in listens: bind 127.0.0.1:0, accept in a thread, hand every
//! connection to its own thread, stop on drop. The HTTP file server, the GitLab
//! stand-in, the registry's token server and its fault proxy are all built on it.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

/// Tells a connection thread that its server is stopping.
#[derive(Clone)]
pub struct Stopping(Arc<AtomicBool>);

impl Stopping {
    /// Whether the server has been asked to stop.
    pub fn requested(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// A server listening on 127.0.0.1; dropping it stops accepting (connections already
/// handed out end on their own, seeing [`Stopping::requested`]).
pub struct Loopback {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl Loopback {
    /// Binds an ephemeral port of 127.0.0.1 and calls `on_connection` for each
    /// connection in a thread of its own, named `name`.
    pub fn serve<F>(name: &str, on_connection: F) -> std::io::Result<Loopback>
    where
        F: Fn(TcpStream, &Stopping) + Send + Sync + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Stopping(stop.clone());
        let on_connection = Arc::new(on_connection);
        let connection_name = format!("{name}-conn");
        let accept = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                for stream in listener.incoming() {
                    if stopping.requested() {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let (on_connection, stopping) = (on_connection.clone(), stopping.clone());
                    let _ = std::thread::Builder::new()
                        .name(connection_name.clone())
                        .spawn(move || on_connection(stream, &stopping));
                }
            })?;
        Ok(Loopback {
            addr,
            stop,
            accept: Some(accept),
        })
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `127.0.0.1:PORT`, as a registry host is written in image references.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// `http://127.0.0.1:PORT/` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}/{}", self.addr, path.trim_start_matches('/'))
    }

    /// Stops accepting connections; dropping does the same.
    pub fn stop(&mut self) {
        if self.stop.swap(true, Ordering::SeqCst) {
            return;
        }
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.accept.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Loopback {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read as _, Write as _};

    use super::*;

    #[test]
    fn echoes_until_dropped() {
        use std::sync::atomic::AtomicUsize;
        let handled = Arc::new(AtomicUsize::new(0));
        let seen = handled.clone();
        let mut server = Loopback::serve("echo", move |mut stream, _| {
            seen.fetch_add(1, Ordering::SeqCst);
            let mut byte = [0];
            if stream.read_exact(&mut byte).is_ok() {
                let _ = stream.write_all(&byte);
            }
        })
        .unwrap();
        assert!(server.url("/x").starts_with("http://127.0.0.1:"));
        let mut client = TcpStream::connect(server.addr()).unwrap();
        client.write_all(b"z").unwrap();
        let mut answer = [0];
        client.read_exact(&mut answer).unwrap();
        assert_eq!(&answer, b"z");
        server.stop();
        // Stopped: no connection reaches it any more (the port may already serve
        // another test's listener, so a refused connection is not the test).
        if let Ok(mut late) = TcpStream::connect(server.addr()) {
            let _ = late.write_all(b"y");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert_eq!(handled.load(Ordering::SeqCst), 1);
    }
}
