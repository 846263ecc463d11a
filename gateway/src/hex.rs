//! Lowercase hex of bytes, written one table look-up per byte: request ids, trace and span ids,
//! `traceparent`.

/// The two lowercase hex digits of every byte value (one look-up per byte).
static HEX_PAIRS: [[u8; 2]; 256] = {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut pairs = [[0u8; 2]; 256];
    let mut byte = 0;
    while byte < 256 {
        pairs[byte] = [DIGITS[byte >> 4], DIGITS[byte & 0xf]];
        byte += 1;
    }
    pairs
};

/// Writes the lowercase hex of `bytes` into `out` (two bytes of `out` each).
pub fn write_hex(out: &mut [u8], bytes: &[u8]) {
    for (pair, byte) in out.chunks_exact_mut(2).zip(bytes) {
        pair.copy_from_slice(&HEX_PAIRS[usize::from(*byte)]);
    }
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    let mut digits = vec![0u8; bytes.len() * 2];
    write_hex(&mut digits, bytes);
    String::from_utf8(digits).expect("BUG: hex digits are ASCII")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_writes_every_byte_value_as_two_lowercase_digits() {
        let every_byte: Vec<u8> = (0..=255).collect();
        let expected: String = every_byte
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        assert_eq!(hex(&every_byte), expected);
    }
}
