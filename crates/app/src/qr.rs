//! QR codes as SVG (for pages) and PNG (for 保存二维码到手机相册 / 下载).

use qrcode::{Color, EcLevel, QrCode};

const QUIET: usize = 4;

fn code(text: &str) -> anyhow::Result<QrCode> {
    Ok(QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)?)
}

/// An SVG that scales to its box.
pub fn svg(text: &str) -> anyhow::Result<String> {
    let c = code(text)?;
    let w = c.width();
    let size = w + 2 * QUIET;
    let mut path = String::new();
    for y in 0..w {
        for x in 0..w {
            if c[(x, y)] == Color::Dark {
                path.push_str(&format!("M{} {}h1v1h-1z", x + QUIET, y + QUIET));
            }
        }
    }
    Ok(format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" shape-rendering="crispEdges" role="img" aria-label="二维码"><rect width="{size}" height="{size}" fill="#fff"/><path d="{path}" fill="#000"/></svg>"##
    ))
}

/// A black-on-white PNG, `scale` pixels a module.
pub fn png(text: &str, scale: usize) -> anyhow::Result<Vec<u8>> {
    let c = code(text)?;
    let w = c.width();
    let side = (w + 2 * QUIET) * scale;
    let mut pixels = vec![255u8; side * side];
    for y in 0..w {
        for x in 0..w {
            if c[(x, y)] == Color::Dark {
                for dy in 0..scale {
                    let row = ((y + QUIET) * scale + dy) * side;
                    let start = row + (x + QUIET) * scale;
                    pixels[start..start + scale].fill(0);
                }
            }
        }
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, side as u32, side as u32);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header()?;
        writer.write_image_data(&pixels)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn renders_both_forms() {
        let svg = super::svg("https://example.org/q/abc").unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("h1v1h-1z"));
        let png = super::png("https://example.org/q/abc", 8).unwrap();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    }
}
