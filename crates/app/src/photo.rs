//! Photos (入会申请's 本人近期免冠证件照片, 会员照片): checked by their
//! content, their size and the dimensions their header declares, without
//! decoding them. A decoder allocates for the declared dimensions before it
//! reads a pixel, and a failed allocation ends the process: a 69-byte PNG
//! declaring 100,000 × 100,000 asked for 80 GB.

use crate::attachments::{FileKind, PHOTO, sniff};

const MB: u64 = 1024 * 1024;

/// The width and height a JPEG or PNG declares, read from its header
/// without decoding it: None when the header cannot be read.
pub fn image_size(bytes: &[u8]) -> Option<(u32, u32)> {
    let be16 = |i: usize| bytes.get(i..i + 2).map(|b| u32::from(u16::from_be_bytes([b[0], b[1]])));
    match sniff(bytes)? {
        FileKind::Png => {
            if bytes.get(12..16)? != b"IHDR" {
                return None;
            }
            let w = u32::from_be_bytes(bytes.get(16..20)?.try_into().ok()?);
            let h = u32::from_be_bytes(bytes.get(20..24)?.try_into().ok()?);
            Some((w, h))
        }
        FileKind::Jpg => {
            // Every frame header (SOF) before the scan counts: the largest decides.
            let (mut i, mut size) = (2, None::<(u32, u32)>);
            while i + 4 <= bytes.len() {
                if bytes[i] != 0xFF {
                    return None;
                }
                let marker = bytes[i + 1];
                if marker == 0xFF {
                    i += 1; // fill byte
                    continue;
                }
                if marker == 0x01 || (0xD0..=0xD8).contains(&marker) {
                    i += 2;
                    continue;
                }
                let len = be16(i + 2)? as usize;
                if len < 2 {
                    return None;
                }
                if (0xC0..=0xCF).contains(&marker) && ![0xC4, 0xC8, 0xCC].contains(&marker) {
                    let (h, w) = (be16(i + 5)?, be16(i + 7)?);
                    size = Some(size.map_or((w, h), |(sw, sh)| (sw.max(w), sh.max(h))));
                }
                if marker == 0xDA || marker == 0xD9 {
                    break;
                }
                i += 2 + len;
            }
            size
        }
        _ => None,
    }
}

/// The most pixels a photo may have, and the longest side: a decoder holds
/// up to eight bytes a pixel, so 12 million pixels is at most 96 MB while a
/// certificate is drawn. A 69-byte PNG declaring 100,000 × 100,000 asked for
/// 80 GB, and a failed allocation ends the process.
pub const PHOTO_MAX_PIXELS: u64 = 12_000_000;
pub const PHOTO_MAX_SIDE: u32 = 6000;

/// A photo, checked by its content: a JPEG or PNG, within the size in bytes,
/// with a readable header declaring sensible dimensions. The message is the
/// one to show beside the field.
pub fn check(bytes: &[u8]) -> Result<FileKind, String> {
    let kind = match sniff(bytes) {
        Some(k) if PHOTO.kinds.contains(&k) => k,
        _ => return Err("照片应为jpg或png格式的图片".into()),
    };
    if bytes.len() as u64 > PHOTO.max_bytes {
        return Err(format!("照片不能超过{}MB", PHOTO.max_bytes / MB));
    }
    dimensions_ok(bytes)?;
    Ok(kind)
}

/// Whether a stored photo may be decoded: asked again before drawing it.
pub fn dimensions_ok(bytes: &[u8]) -> Result<(), String> {
    match image_size(bytes) {
        Some((w, h))
            if (1..=PHOTO_MAX_SIDE).contains(&w)
                && (1..=PHOTO_MAX_SIDE).contains(&h)
                && u64::from(w) * u64::from(h) <= PHOTO_MAX_PIXELS =>
        {
            Ok(())
        }
        Some((w, h)) if w > 0 && h > 0 => Err(format!(
            "照片尺寸过大，请缩小至每边不超过{PHOTO_MAX_SIDE}像素、总计不超过{}万像素后上传",
            PHOTO_MAX_PIXELS / 10_000
        )),
        _ => Err("照片文件已损坏或格式不正确，请重新选择".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A PNG's signature and header declaring `w` × `h` (16-bit RGBA), then nothing.
    fn png_claiming(w: u32, h: u32) -> Vec<u8> {
        let mut p = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR".to_vec();
        p.extend_from_slice(&w.to_be_bytes());
        p.extend_from_slice(&h.to_be_bytes());
        p.extend_from_slice(&[16, 6, 0, 0, 0, 0, 0, 0, 0]);
        p
    }

    /// A JPEG's headers with frames of the given sizes (width, height).
    fn jpeg_claiming(frames: &[(u16, u16)]) -> Vec<u8> {
        let mut p = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0];
        for (w, h) in frames {
            p.extend_from_slice(&[0xFF, 0xC2, 0, 0x11, 8]);
            p.extend_from_slice(&h.to_be_bytes());
            p.extend_from_slice(&w.to_be_bytes());
            p.extend_from_slice(&[3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
        }
        p.extend_from_slice(&[0xFF, 0xDA, 0, 8, 1, 1, 0, 0, 0x3F, 0, 0xFF, 0xD9]);
        p
    }

    #[test]
    fn a_photo_declaring_a_huge_image_is_refused_by_its_header() {
        // The attack: 69 bytes declaring 100,000 × 100,000, which the PDF
        // writer's decoder met with an 80 GB allocation.
        let bomb = png_claiming(100_000, 100_000);
        assert!(bomb.len() < 70);
        assert_eq!(image_size(&bomb), Some((100_000, 100_000)));
        assert!(check(&bomb).unwrap_err().contains("照片尺寸过大"));
        assert!(check(&png_claiming(4000, 4000)).is_err(), "16 million pixels");
        assert!(check(&png_claiming(0, 10)).unwrap_err().contains("损坏"));
        assert_eq!(check(&png_claiming(413, 579)), Ok(FileKind::Png));

        assert_eq!(image_size(&jpeg_claiming(&[(413, 579)])), Some((413, 579)));
        assert_eq!(check(&jpeg_claiming(&[(413, 579)])), Ok(FileKind::Jpg));
        // A small first frame does not hide a huge second one.
        assert!(check(&jpeg_claiming(&[(413, 579), (60_000, 60_000)])).is_err());
        // A header that cannot be read is refused as such.
        assert!(check(b"\xFF\xD8\xFF\xE0\0\x10JFIF\0photo").unwrap_err().contains("损坏"));
        assert!(check(b"\x89PNG\r\n\x1a\n0000").unwrap_err().contains("损坏"));
    }
}
