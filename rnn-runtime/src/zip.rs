//! The entries of a zip archive, as `.keras` files (Keras) and `.pt` files
//! (`torch.save`) are: entries stored (as both write them) or deflated (as other tools
//! may). Read-only, every offset and size checked against the archive's length, every
//! entry's CRC-32 verified. Errors are the format's own ([`Format`]), so a damaged
//! `.keras` file reports as a Keras file and a damaged `.pt` file as a PyTorch one.

use std::borrow::Cow;
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
/// A central-directory entry without its name, extra field and comment.
const DIRECTORY_ENTRY_LEN: usize = 46;
const STORED: u16 = 0;
const DEFLATED: u16 = 8;
/// A deflated entry may expand at most this many times (plus [`INFLATE_ALLOWANCE`]):
/// what is allocated stays proportional to the archive, however large a size its
/// directory declares. Deflate can reach about 1000×, but only on degenerate data;
/// Keras's and PyTorch's own archives are stored, and weights and JSON deflate a few
/// times at most.
const MAX_INFLATE_RATIO: usize = 64;
/// Bytes any deflated entry may expand to regardless of the ratio, so that a small,
/// very regular config.json is never refused.
const INFLATE_ALLOWANCE: usize = 1 << 20;

/// Which file format an archive is, for its errors.
#[derive(Clone, Copy)]
pub(crate) struct Format {
    /// The format's error for the file at `path` with `reason`.
    pub(crate) error: fn(&Path, String) -> Error,
    /// Why a file that is not a zip archive is refused, in words.
    pub(crate) not_zip: &'static str,
}

/// A zip archive held in memory, its central directory read.
pub(crate) struct Archive<'a> {
    bytes: &'a [u8],
    path: &'a Path,
    format: Format,
    entries: Vec<Entry<'a>>,
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(
        b.get(at..at.checked_add(2)?)?.try_into().ok()?,
    ))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        b.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
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
    /// Reads the central directory of `bytes`; `path` names the file in errors, which
    /// are `format`'s.
    pub(crate) fn new(bytes: &'a [u8], path: &'a Path, format: Format) -> Result<Self> {
        let error = |reason: String| (format.error)(path, reason);
        let not_zip = || error(format.not_zip.to_owned());
        // The end record sits in the last 22 bytes plus at most a 64 KiB comment.
        let earliest = bytes.len().saturating_sub(END_LEN + usize::from(u16::MAX));
        let end = (earliest..=bytes.len().saturating_sub(END_LEN))
            .rev()
            .find(|&at| u32_at(bytes, at) == Some(END_OF_DIRECTORY))
            .ok_or_else(not_zip)?;
        let count = u16_at(bytes, end + 10).ok_or_else(not_zip)?;
        let directory = u32_at(bytes, end + 16).ok_or_else(not_zip)?;
        if count == u16::MAX || directory == u32::MAX {
            return Err(error(
                "a zip64 archive (over 4 GiB or 65535 entries), which is not supported".to_owned(),
            ));
        }
        let mut archive = Self {
            bytes,
            path,
            format,
            entries: Vec::new(),
        };
        archive.entries = archive.directory(directory as usize, usize::from(count))?;
        Ok(archive)
    }

    fn corrupt(&self, reason: impl Into<String>) -> Error {
        (self.format.error)(self.path, reason.into())
    }

    /// The `count` central-directory entries from offset `at`. Each takes at least 46
    /// bytes of the archive, so their number is bounded by its length.
    fn directory(&self, mut at: usize, count: usize) -> Result<Vec<Entry<'a>>> {
        let b = self.bytes;
        let mut out = Vec::with_capacity(count.min(b.len() / DIRECTORY_ENTRY_LEN));
        for _ in 0..count {
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
            let start = at + DIRECTORY_ENTRY_LEN;
            let name = b.get(start..start + name_len).ok_or_else(bad)?;
            out.push(Entry {
                name,
                method,
                crc,
                compressed,
                size,
                local,
            });
            at = start + name_len + extra_len + comment_len;
        }
        Ok(out)
    }

    /// The names of the entries, in directory order (not necessarily UTF-8).
    pub(crate) fn names(&self) -> impl Iterator<Item = &'a [u8]> + '_ {
        self.entries.iter().map(|e| e.name)
    }

    /// Whether the archive has an entry `name`.
    pub(crate) fn contains(&self, name: &str) -> bool {
        self.names().any(|n| n == name.as_bytes())
    }

    /// The contents of entry `name`, checked against its CRC-32.
    pub(crate) fn read(&self, name: &str) -> Result<Vec<u8>> {
        self.get(name).map(Cow::into_owned)
    }

    /// The contents of entry `name`, checked against its CRC-32: borrowed from the
    /// archive when the entry is stored, inflated (within the bound) when deflated.
    pub(crate) fn get(&self, name: &str) -> Result<Cow<'a, [u8]>> {
        let entry = self
            .entries
            .iter()
            .find(|e| e.name == name.as_bytes())
            .ok_or_else(|| self.corrupt(format!("the archive has no `{name}`")))?;
        let bad = || self.corrupt(format!("`{name}`: corrupt zip entry"));
        let b = self.bytes;
        if u32_at(b, entry.local) != Some(LOCAL_HEADER) {
            return Err(bad());
        }
        // Offsets below come from 32-bit and 16-bit fields: no overflow on 64-bit
        // targets, saturating (then out of range) on 32-bit ones.
        let name_len = usize::from(u16_at(b, entry.local.saturating_add(26)).ok_or_else(bad)?);
        let extra_len = usize::from(u16_at(b, entry.local.saturating_add(28)).ok_or_else(bad)?);
        let start = entry.local.saturating_add(30 + name_len + extra_len);
        let raw = b
            .get(start..start.saturating_add(entry.compressed))
            .ok_or_else(|| self.corrupt(format!("`{name}`: truncated")))?;
        let data = match entry.method {
            STORED => Cow::Borrowed(raw),
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
                Cow::Owned(out)
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
