//! Reads one file of an image from its layers, as the consistency gate reads
//! `lava_common/VERSION`: the `cargo xtask bench image-version` child process.
//!
//! `read_file IMAGE PATH`: prints the file, then one line with the layers opened and
//! the bytes downloaded.

use lava_docker::{ImageRef, Options, Promoter};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(image), Some(path)) = (args.next(), args.next()) else {
        return Err("usage: read_file IMAGE PATH".into());
    };
    let promoter = Promoter::new(Options::default())?;
    let read = promoter.read_file_at(&ImageRef::parse(&image)?, &path)?;
    let content = read.content.ok_or("no layer holds the file")?;
    print!("{}", String::from_utf8_lossy(&content));
    println!(
        "layers {} downloaded {} layer {}",
        read.layers_read,
        read.bytes_downloaded,
        read.layer.map(|d| d.to_string()).unwrap_or_default()
    );
    Ok(())
}
