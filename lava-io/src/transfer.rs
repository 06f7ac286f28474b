//! Bytes on the move, told to whoever draws them: a library starts a [`Transfer`] on the
//! [`Meter`] its caller gave it and advances it as bytes arrive; the caller's
//! [`Transfers`] (a terminal's progress bars, say) draws them. A default `Meter` draws
//! nothing and costs one branch per chunk.

use std::fmt;
use std::io::Read;
use std::sync::Arc;

/// What draws transfers: the caller's side of a [`Meter`].
pub trait Transfers: Send + Sync {
    /// A transfer of `name` starts, `total` bytes long when known.
    fn start(&self, name: &str, total: Option<u64>) -> Box<dyn Gauge>;
}

/// One transfer as it is drawn; dropped when the transfer ends, done or not.
pub trait Gauge: Send + Sync {
    /// `bytes` more arrived.
    fn advance(&self, bytes: u64);
}

/// The handle a library is given to report its transfers; cheap to clone.
#[derive(Clone, Default)]
pub struct Meter(Option<Arc<dyn Transfers>>);

impl fmt::Debug for Meter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "Meter(drawn)"
        } else {
            "Meter(silent)"
        })
    }
}

impl Meter {
    /// A meter drawn by `transfers`.
    pub fn new(transfers: impl Transfers + 'static) -> Meter {
        Meter(Some(Arc::new(transfers)))
    }

    /// A transfer of `name`, `total` bytes long when known.
    pub fn start(&self, name: &str, total: Option<u64>) -> Transfer {
        Transfer(self.0.as_ref().map(|t| t.start(name, total)))
    }
}

/// One transfer in flight; it ends when dropped.
#[derive(Default)]
pub struct Transfer(Option<Box<dyn Gauge>>);

impl fmt::Debug for Transfer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Transfer")
    }
}

impl Transfer {
    /// `bytes` more arrived.
    pub fn advance(&self, bytes: u64) {
        if let Some(gauge) = &self.0 {
            gauge.advance(bytes);
        }
    }

    /// A reader of `inner` that advances this transfer by what it reads.
    pub fn reader<R: Read>(self, inner: R) -> MeteredRead<R> {
        shared_reader(&Arc::new(self), inner)
    }
}

/// A reader of `inner` advancing `transfer`, which several readers may share (the
/// files of one suite, say).
pub fn shared_reader<R: Read>(transfer: &Arc<Transfer>, inner: R) -> MeteredRead<R> {
    MeteredRead {
        inner,
        transfer: Arc::clone(transfer),
    }
}

/// A reader that advances its [`Transfer`] by every byte read through it.
#[derive(Debug)]
pub struct MeteredRead<R> {
    inner: R,
    transfer: Arc<Transfer>,
}

impl<R: Read> Read for MeteredRead<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n > 0 {
            self.transfer.advance(n as u64);
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Log(Arc<Mutex<Vec<String>>>);

    struct Logged(Arc<Mutex<Vec<String>>>, String);

    impl Transfers for Log {
        fn start(&self, name: &str, total: Option<u64>) -> Box<dyn Gauge> {
            self.0
                .lock()
                .unwrap()
                .push(format!("start {name} {total:?}"));
            Box::new(Logged(Arc::clone(&self.0), name.to_owned()))
        }
    }

    impl Gauge for Logged {
        fn advance(&self, bytes: u64) {
            self.0.lock().unwrap().push(format!("{} +{bytes}", self.1));
        }
    }

    impl Drop for Logged {
        fn drop(&mut self) {
            self.0.lock().unwrap().push(format!("end {}", self.1));
        }
    }

    #[test]
    fn a_metered_read_reports_what_it_reads_and_the_end() {
        let log = Log::default();
        let seen = Arc::clone(&log.0);
        let meter = Meter::new(log);
        let mut out = Vec::new();
        meter
            .start("x.tar.xz", Some(5))
            .reader(&b"hello"[..])
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, b"hello");
        assert_eq!(
            *seen.lock().unwrap(),
            ["start x.tar.xz Some(5)", "x.tar.xz +5", "end x.tar.xz"]
        );
        // A silent meter reads all the same.
        let mut out = Vec::new();
        Meter::default()
            .start("y", None)
            .reader(&b"abc"[..])
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, b"abc");
    }
}
