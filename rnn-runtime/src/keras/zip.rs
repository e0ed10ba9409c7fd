//! The entries of a `.keras` archive: a zip file, entries stored (as Keras writes
//! them) or deflated (as other tools may). Read-only, every offset and size checked
//! against the archive's length, every entry's CRC-32 verified.

use std::io::Read;
use std::path::Path;

use flate2::read::DeflateDecoder;
use flate2::Crc;

use crate::error::{Error, Result};

const END_OF_DIRECTORY: u32 = 0x0605_4b50;
const DIRECTORY_ENTRY: u32 = 0x0201_4b50;
const LOCAL_HEADER: u32 = 0x0403_4b50;
/// End-of-directory record without its trailing comment.
const END_LEN: usize = 22;
const STORED: u16 = 0;
const DEFLATED: u16 = 8;
/// A deflated entry may expand at most this many times (plus [`INFLATE_ALLOWANCE`]):
/// what is allocated stays proportional to the archive, however large a size its
/// directory declares. Deflate can reach about 1000×, but only on degenerate data;
/// Keras's own archives are stored, and weights and JSON deflate a few times at most.
const MAX_INFLATE_RATIO: usize = 64;
/// Bytes any deflated entry may expand to regardless of the ratio, so that a small,
/// very regular config.json is never refused.
const INFLATE_ALLOWANCE: usize = 1 << 20;

/// A zip archive held in memory.
pub(crate) struct Archive<'a> {
    bytes: &'a [u8],
    path: &'a Path,
    /// Offset and entry count of the central directory.
    directory: usize,
    entries: usize,
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// A central-directory entry: what is needed to find and check its data.
struct Entry<'a> {
    name: &'a [u8],
    method: u16,
    crc: u32,
    compressed: usize,
    size: usize,
    local: usize,
}

impl<'a> Archive<'a> {
    /// Finds the central directory of `bytes`; `path` names the file in errors.
    pub(crate) fn new(bytes: &'a [u8], path: &'a Path) -> Result<Self> {
        let not_zip = || Error::KerasFile {
            path: path.to_path_buf(),
            reason: "neither a zip archive (a `.keras` file) nor HDF5 (a legacy `.h5` model file)"
                .to_owned(),
        };
        // The end record sits in the last 22 bytes plus at most a 64 KiB comment.
        let earliest = bytes.len().saturating_sub(END_LEN + usize::from(u16::MAX));
        let end = (earliest..=bytes.len().saturating_sub(END_LEN))
            .rev()
            .find(|&at| u32_at(bytes, at) == Some(END_OF_DIRECTORY))
            .ok_or_else(not_zip)?;
        let entries = u16_at(bytes, end + 10).ok_or_else(not_zip)?;
        let directory = u32_at(bytes, end + 16).ok_or_else(not_zip)?;
        if entries == u16::MAX || directory == u32::MAX {
            return Err(Error::KerasFile {
                path: path.to_path_buf(),
                reason: "a zip64 archive, which is not supported".to_owned(),
            });
        }
        Ok(Self {
            bytes,
            path,
            directory: directory as usize,
            entries: usize::from(entries),
        })
    }

    fn corrupt(&self, reason: impl Into<String>) -> Error {
        Error::KerasFile {
            path: self.path.to_path_buf(),
            reason: reason.into(),
        }
    }

    fn entries(&self) -> Result<Vec<Entry<'a>>> {
        let b = self.bytes;
        let mut at = self.directory;
        let mut out = Vec::with_capacity(self.entries.min(1024));
        for _ in 0..self.entries {
            let bad = || self.corrupt("corrupt zip central directory");
            if u32_at(b, at) != Some(DIRECTORY_ENTRY) {
                return Err(bad());
            }
            let method = u16_at(b, at + 10).ok_or_else(bad)?;
            let crc = u32_at(b, at + 16).ok_or_else(bad)?;
            let compressed = u32_at(b, at + 20).ok_or_else(bad)? as usize;
            let size = u32_at(b, at + 24).ok_or_else(bad)? as usize;
            let name_len = usize::from(u16_at(b, at + 28).ok_or_else(bad)?);
            let extra_len = usize::from(u16_at(b, at + 30).ok_or_else(bad)?);
            let comment_len = usize::from(u16_at(b, at + 32).ok_or_else(bad)?);
            let local = u32_at(b, at + 42).ok_or_else(bad)? as usize;
            let name = b.get(at + 46..at + 46 + name_len).ok_or_else(bad)?;
            out.push(Entry {
                name,
                method,
                crc,
                compressed,
                size,
                local,
            });
            at += 46 + name_len + extra_len + comment_len;
        }
        Ok(out)
    }

    /// The contents of entry `name`, checked against its CRC-32.
    pub(crate) fn read(&self, name: &str) -> Result<Vec<u8>> {
        let entry = self
            .entries()?
            .into_iter()
            .find(|e| e.name == name.as_bytes())
            .ok_or_else(|| self.corrupt(format!("the archive has no `{name}`")))?;
        let bad = || self.corrupt(format!("`{name}`: corrupt zip entry"));
        let b = self.bytes;
        if u32_at(b, entry.local) != Some(LOCAL_HEADER) {
            return Err(bad());
        }
        let name_len = usize::from(u16_at(b, entry.local + 26).ok_or_else(bad)?);
        let extra_len = usize::from(u16_at(b, entry.local + 28).ok_or_else(bad)?);
        let start = entry.local + 30 + name_len + extra_len;
        let raw = b
            .get(start..start.saturating_add(entry.compressed))
            .ok_or_else(|| self.corrupt(format!("`{name}`: truncated")))?;
        let data = match entry.method {
            STORED => raw.to_vec(),
            DEFLATED => {
                let limit = raw
                    .len()
                    .saturating_mul(MAX_INFLATE_RATIO)
                    .saturating_add(INFLATE_ALLOWANCE);
                if entry.size > limit {
                    return Err(self.corrupt(format!(
                        "`{name}`: {} bytes declared to inflate to {}, more than \
                         {MAX_INFLATE_RATIO} times (a corrupt directory or a zip bomb)",
                        raw.len(),
                        entry.size
                    )));
                }
                // The declared size, now bounded, bounds the output: a damaged stream
                // cannot grow it. One spare byte detects a stream longer than declared
                // without growing the buffer.
                let mut out = Vec::with_capacity(entry.size + 1);
                DeflateDecoder::new(raw)
                    .take(entry.size as u64 + 1)
                    .read_to_end(&mut out)
                    .map_err(|e| self.corrupt(format!("`{name}`: {e}")))?;
                out
            }
            m => {
                return Err(self.corrupt(format!(
                    "`{name}`: zip compression method {m} (only stored and deflate are read)"
                )))
            }
        };
        let mut crc = Crc::new();
        crc.update(&data);
        if data.len() != entry.size || crc.sum() != entry.crc {
            return Err(self.corrupt(format!("`{name}`: checksum mismatch (corrupt entry)")));
        }
        Ok(data)
    }
}
