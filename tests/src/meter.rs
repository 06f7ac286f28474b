//! A [`Meter`] that records what it is told, for the libraries' tests: each transfer's
//! name, announced total, bytes advanced and whether it ended.

use std::sync::{Arc, Mutex};

use lava_io::transfer::{Gauge, Meter, Transfers};

/// One transfer as the meter saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// Its name.
    pub name: String,
    /// The total announced at its start.
    pub total: Option<u64>,
    /// The bytes advanced.
    pub done: u64,
    /// Whether it ended (was dropped).
    pub ended: bool,
}

/// The recorder: [`Recorder::meter`] to hand out, [`Recorder::transfers`] to read back.
#[derive(Clone, Default)]
pub struct Recorder(Arc<Mutex<Vec<Recorded>>>);

struct Entry(Arc<Mutex<Vec<Recorded>>>, usize);

impl Recorder {
    /// A meter reporting to this recorder.
    pub fn meter(&self) -> Meter {
        Meter::new(self.clone())
    }

    /// The transfers so far, sorted by name.
    pub fn transfers(&self) -> Vec<Recorded> {
        let mut all = self.0.lock().expect("not poisoned").clone();
        all.sort_by(|a, b| a.name.cmp(&b.name));
        all
    }
}

impl Transfers for Recorder {
    fn start(&self, name: &str, total: Option<u64>) -> Box<dyn Gauge> {
        let mut all = self.0.lock().expect("not poisoned");
        all.push(Recorded {
            name: name.to_owned(),
            total,
            done: 0,
            ended: false,
        });
        Box::new(Entry(Arc::clone(&self.0), all.len() - 1))
    }
}

impl Gauge for Entry {
    fn advance(&self, bytes: u64) {
        self.0.lock().expect("not poisoned")[self.1].done += bytes;
    }
}

impl Drop for Entry {
    fn drop(&mut self) {
        if let Ok(mut all) = self.0.lock() {
            all[self.1].ended = true;
        }
    }
}
