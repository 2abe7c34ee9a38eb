//! Files to upload as photos, made here with the `image` crate: real PNGs and JPEGs, a JPEG
//! carrying an EXIF segment with a marker, a JPEG whose header announces a huge image, and the
//! `multipart/form-data` body a browser sends.

use std::io::Cursor;

use image::{DynamicImage, ImageFormat, RgbImage};

/// What the EXIF segment of [`jpeg_with_exif`] carries (as a camera's GPS position would be).
pub const EXIF_MARKER: &[u8] = b"GPS-SECRET-48.8584N-2.2945E";

fn picture(width: u32, height: u32) -> DynamicImage {
    DynamicImage::ImageRgb8(RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x * 255 / width) as u8, (y * 255 / height) as u8, 140])
    }))
}

fn encoded(width: u32, height: u32, format: ImageFormat) -> Vec<u8> {
    let mut out = Vec::new();
    picture(width, height)
        .write_to(&mut Cursor::new(&mut out), format)
        .expect("encode");
    out
}

pub fn png(width: u32, height: u32) -> Vec<u8> {
    encoded(width, height, ImageFormat::Png)
}

pub fn jpeg(width: u32, height: u32) -> Vec<u8> {
    encoded(width, height, ImageFormat::Jpeg)
}

/// A JPEG with an APP1 "Exif" segment (a valid, empty TIFF directory followed by
/// [`EXIF_MARKER`]) right after its start marker, as cameras write it.
pub fn jpeg_with_exif(width: u32, height: u32) -> Vec<u8> {
    let plain = jpeg(width, height);
    let mut payload = b"Exif\0\0".to_vec();
    // Little-endian TIFF header, first directory at 8, with no entries and no next directory.
    payload.extend_from_slice(&[b'I', b'I', 0x2A, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    payload.extend_from_slice(EXIF_MARKER);
    let len = (payload.len() + 2) as u16;
    let mut out = plain[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&payload);
    out.extend_from_slice(&plain[2..]);
    out
}

/// A small JPEG whose frame header claims `side` by `side` pixels (a decompression bomb's
/// header: a few kilobytes announcing gigabytes of pixels).
pub fn jpeg_claiming(side: u16) -> Vec<u8> {
    let mut bytes = jpeg(64, 64);
    let sof = bytes
        .windows(2)
        .position(|w| w[0] == 0xFF && (w[1] == 0xC0 || w[1] == 0xC2))
        .expect("a frame header");
    // FF C0, length (2), precision (1), height (2), width (2).
    bytes[sof + 5..sof + 7].copy_from_slice(&side.to_be_bytes());
    bytes[sof + 7..sof + 9].copy_from_slice(&side.to_be_bytes());
    bytes
}

/// Whether `needle` occurs in `haystack`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// A `multipart/form-data` body with text fields and one file field `photo`: (the
/// Content-Type header, the body).
pub fn multipart(fields: &[(&str, &str)], file_name: &str, file: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----bodyworktestboundary7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}
