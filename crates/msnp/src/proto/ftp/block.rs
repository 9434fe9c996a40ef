//! MSNFTP data blocks (msnftp.md §3.4): a 3-byte header (flag, 16-bit little-endian length) and
//! the data; an encoder, the file-to-blocks split, and an incremental decoder for TCP streams.

/// Most data bytes the sender puts into one block (2045 + 3-byte header = 2048).
pub const MAX_BLOCK_DATA: usize = 2045;

/// Length of a block header in bytes.
pub const HEADER_LEN: usize = 3;

/// Flag byte of a data block.
pub const FLAG_DATA: u8 = 0x00;

/// Flag byte of the sender's cancel / end block `01 00 00`.
pub const FLAG_END: u8 = 0x01;

/// The sender's cancel block `01 00 00` (msnftp.md §3.4, §3.6).
pub const END_BLOCK: [u8; HEADER_LEN] = [FLAG_END, 0, 0];

/// Why a block could not be encoded or decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlockError {
    /// The flag byte is neither `00` nor `01`.
    #[error("invalid block flag 0x{0:02x}")]
    BadFlag(u8),
    /// A data block announces more bytes than are still expected (too much data, §5.2).
    #[error("block of {len} bytes but only {remaining} bytes remain")]
    TooLong {
        /// Length in the block header.
        len: usize,
        /// Bytes still expected.
        remaining: u64,
    },
    /// Data longer than the 16-bit length field allows.
    #[error("block data of {0} bytes does not fit a 16-bit length")]
    DataTooLarge(usize),
}

/// A decoded block header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockHeader {
    /// `00` (data) or `01` (end / cancel).
    pub flag: u8,
    /// Number of data bytes that follow (for flag `01` the length is ignored).
    pub len: u16,
}

impl BlockHeader {
    /// The header of a data block with `len` bytes.
    pub fn data(len: u16) -> Self {
        Self {
            flag: FLAG_DATA,
            len,
        }
    }

    /// The three header bytes.
    pub fn to_bytes(self) -> [u8; HEADER_LEN] {
        let [lo, hi] = self.len.to_le_bytes();
        [self.flag, lo, hi]
    }

    /// Reads a header from its three bytes.
    pub fn from_bytes(bytes: [u8; HEADER_LEN]) -> Self {
        let [flag, lo, hi] = bytes;
        Self {
            flag,
            len: u16::from_le_bytes([lo, hi]),
        }
    }
}

/// One decoded block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    /// Flag `00`: file data (possibly empty; an empty data block carries nothing).
    Data(Vec<u8>),
    /// Flag `01`: the sender ends the data stream (a cancel unless every byte has arrived).
    End,
}

/// Encodes one data block (header + data).
pub fn encode_data_block(data: &[u8]) -> Result<Vec<u8>, BlockError> {
    let len = u16::try_from(data.len()).map_err(|_| BlockError::DataTooLarge(data.len()))?;
    let mut out = Vec::with_capacity(HEADER_LEN + data.len());
    out.extend_from_slice(&BlockHeader::data(len).to_bytes());
    out.extend_from_slice(data);
    Ok(out)
}

/// The data lengths of the blocks a file of `size` bytes is sent in (msnftp.md §7.2): every block
/// carries [`MAX_BLOCK_DATA`] bytes except the last, which carries the rest.
pub fn block_lengths(size: u64) -> impl Iterator<Item = usize> {
    let full = MAX_BLOCK_DATA as u64;
    let mut left = size;
    std::iter::from_fn(move || {
        if left == 0 {
            return None;
        }
        let n = left.min(full);
        left -= n;
        // n <= 2045, so the conversion cannot fail.
        Some(usize::try_from(n).unwrap_or(MAX_BLOCK_DATA))
    })
}

/// Incremental block decoder: push bytes as they arrive in any split, pull whole blocks.
/// Never panics; buffers at most one block (at most 65535 data bytes) plus unread input.
#[derive(Debug, Default, Clone)]
pub struct BlockDecoder {
    buf: Vec<u8>,
    pos: usize,
}

impl BlockDecoder {
    /// An empty decoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.pos > 0 && self.pos >= self.buf.len() / 2 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Number of buffered bytes not yet returned as blocks.
    pub fn buffered(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// The header of the next block, once its three bytes have arrived.
    pub fn peek_header(&self) -> Option<BlockHeader> {
        let bytes = self.buf.get(self.pos..self.pos.checked_add(HEADER_LEN)?)?;
        let arr: [u8; HEADER_LEN] = bytes.try_into().ok()?;
        Some(BlockHeader::from_bytes(arr))
    }

    /// The next complete block. `remaining` is the number of data bytes still expected: a data
    /// block longer than that is refused as soon as its header is known, before its data
    /// arrives ([`BlockError::TooLong`]). Pass `u64::MAX` for no limit.
    pub fn next_block(&mut self, remaining: u64) -> Result<Option<Block>, BlockError> {
        let Some(header) = self.peek_header() else {
            return Ok(None);
        };
        match header.flag {
            FLAG_DATA => {
                let len = usize::from(header.len);
                if len as u64 > remaining {
                    return Err(BlockError::TooLong { len, remaining });
                }
                let start = self.pos + HEADER_LEN;
                let Some(data) = self.buf.get(start..start + len) else {
                    return Ok(None);
                };
                let data = data.to_vec();
                self.pos = start + len;
                Ok(Some(Block::Data(data)))
            }
            FLAG_END => {
                self.pos += HEADER_LEN;
                Ok(Some(Block::End))
            }
            flag => Err(BlockError::BadFlag(flag)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn header_vectors() {
        // msnftp.md §7.1
        let cases: &[(u16, [u8; 3])] = &[
            (2045, [0x00, 0xfd, 0x07]),
            (2044, [0x00, 0xfc, 0x07]),
            (910, [0x00, 0x8e, 0x03]),
            (256, [0x00, 0x00, 0x01]),
            (255, [0x00, 0xff, 0x00]),
            (13, [0x00, 0x0d, 0x00]),
            (1, [0x00, 0x01, 0x00]),
        ];
        for &(len, bytes) in cases {
            assert_eq!(BlockHeader::data(len).to_bytes(), bytes);
            assert_eq!(BlockHeader::from_bytes(bytes), BlockHeader::data(len));
        }
        assert_eq!(END_BLOCK, [0x01, 0x00, 0x00]);
    }

    #[test]
    fn hello_block_vector() {
        let wire = [
            0x00, 0x0d, 0x00, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x2c, 0x20, 0x4d, 0x53, 0x4e, 0x21,
            0x0d, 0x0a,
        ];
        assert_eq!(encode_data_block(b"Hello, MSN!\r\n").unwrap(), wire);
        let mut d = BlockDecoder::new();
        d.push(&wire);
        assert_eq!(
            d.next_block(13).unwrap(),
            Some(Block::Data(b"Hello, MSN!\r\n".to_vec()))
        );
        assert_eq!(d.next_block(0).unwrap(), None);
    }

    #[test]
    fn split_vectors() {
        // msnftp.md §7.2
        let cases: &[(u64, &[usize])] = &[
            (0, &[]),
            (1, &[1]),
            (2045, &[2045]),
            (2046, &[2045, 1]),
            (4090, &[2045, 2045]),
            (5000, &[2045, 2045, 910]),
        ];
        for (size, lens) in cases {
            assert_eq!(block_lengths(*size).collect::<Vec<_>>(), *lens);
        }
        assert_eq!(block_lengths(u64::from(u32::MAX)).count(), 2_100_229);
    }

    #[test]
    fn too_long_is_refused_on_header_alone() {
        let mut d = BlockDecoder::new();
        d.push(&[0x00, 0xfd, 0x07, 1, 2]);
        assert_eq!(
            d.next_block(100),
            Err(BlockError::TooLong {
                len: 2045,
                remaining: 100
            })
        );
    }

    #[test]
    fn flags() {
        let mut d = BlockDecoder::new();
        d.push(&[0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x02, 0x00, 0x00]);
        assert_eq!(d.next_block(0).unwrap(), Some(Block::Data(vec![])));
        assert_eq!(d.next_block(0).unwrap(), Some(Block::End));
        assert_eq!(d.next_block(0), Err(BlockError::BadFlag(2)));
    }

    #[test]
    fn lenient_big_blocks_and_encode_limit() {
        let data = vec![7u8; 65535];
        let wire = encode_data_block(&data).unwrap();
        assert_eq!(&wire[..3], &[0x00, 0xff, 0xff]);
        let mut d = BlockDecoder::new();
        d.push(&wire);
        assert_eq!(d.next_block(u64::MAX).unwrap(), Some(Block::Data(data)));
        assert_eq!(
            encode_data_block(&[0; 65536]),
            Err(BlockError::DataTooLarge(65536))
        );
    }

    fn encode_stream(blocks: &[Vec<u8>]) -> Vec<u8> {
        let mut wire = Vec::new();
        for b in blocks {
            wire.extend(encode_data_block(b).unwrap());
        }
        wire
    }

    proptest! {
        #[test]
        fn decoding_is_independent_of_splits(
            blocks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..3000), 0..6),
            cuts in proptest::collection::vec(0usize..20_000, 0..12),
        ) {
            let wire = encode_stream(&blocks);
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (wire.len() + 1)).collect();
            cuts.push(0);
            cuts.push(wire.len());
            cuts.sort_unstable();
            let mut d = BlockDecoder::new();
            let mut got = Vec::new();
            for w in cuts.windows(2) {
                d.push(&wire[w[0]..w[1]]);
                while let Some(b) = d.next_block(u64::MAX).unwrap() {
                    got.push(b);
                }
            }
            let want: Vec<Block> = blocks.into_iter().map(Block::Data).collect();
            prop_assert_eq!(got, want);
            prop_assert_eq!(d.buffered(), 0);
        }

        #[test]
        fn decoder_never_panics(
            chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..20),
            remaining in any::<u64>(),
        ) {
            let mut d = BlockDecoder::new();
            for c in chunks {
                d.push(&c);
                while let Ok(Some(_)) = d.next_block(remaining) {}
            }
        }
    }
}
