//! Profile photos: what an upload may be, and what is kept of it. An upload is decoded (JPEG or
//! PNG only, within explicit limits), turned upright by its orientation tag, cropped to a centred
//! square and encoded again as JPEG at each fixed [`PhotoSize`]. Nothing of the uploaded file
//! survives but its pixels: re-encoding drops every metadata segment (EXIF with its camera and
//! GPS data, comments, colour profiles).

use std::io::Cursor;

use image::{imageops::FilterType, DynamicImage, ImageDecoder, ImageFormat, ImageReader};
use sha2::{Digest, Sha256};

/// The largest upload accepted, in bytes (5 MB).
pub const MAX_UPLOAD_BYTES: usize = 5 * 1024 * 1024;
/// The largest width or height accepted, in pixels: a small file can announce a huge image
/// (a "decompression bomb"); its header is refused before any pixel is decoded.
pub const MAX_SIDE_PX: u32 = 8_000;
/// The most memory decoding one upload may take (an 8,000 by 8,000 RGBA image is 256 MB).
pub const MAX_DECODE_BYTES: u64 = 256 * 1024 * 1024;
/// The smallest width or height accepted, in pixels.
pub const MIN_SIDE_PX: u32 = 64;
/// The JPEG quality of the stored sizes.
pub const JPEG_QUALITY: u8 = 85;

/// The fixed sizes a photo is kept at: square, in pixels. Each is shown at half its pixels
/// (sharp on screens of double density).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhotoSize {
    /// On search result cards, shown at 96 CSS pixels.
    Card,
    /// On the profile page, shown at 160 CSS pixels.
    Profile,
}

impl PhotoSize {
    pub const ALL: [PhotoSize; 2] = [PhotoSize::Card, PhotoSize::Profile];

    pub fn pixels(self) -> u32 {
        match self {
            PhotoSize::Card => 192,
            PhotoSize::Profile => 320,
        }
    }

    /// The size's name in the photo's URL.
    pub fn as_str(self) -> &'static str {
        match self {
            PhotoSize::Card => "card",
            PhotoSize::Profile => "profile",
        }
    }

    pub fn parse(s: &str) -> Option<PhotoSize> {
        Self::ALL.into_iter().find(|z| z.as_str() == s)
    }
}

/// Where a stored photo is served: the version is part of the path, so the bytes behind a URL
/// never change and it may be cached for good. Version 0 means no photo.
pub fn url(therapist_id: i64, version: i64, size: PhotoSize) -> Option<String> {
    (version != 0).then(|| format!("/photos/{therapist_id}/{version}/{}.jpg", size.as_str()))
}

/// Why an upload is refused, in words for the person who sent it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhotoError {
    #[error("Choose a photo to upload.")]
    Empty,
    #[error(
        "The photo is larger than 5 MB. Choose a smaller file, or save it at a lower quality."
    )]
    TooLarge,
    #[error("This file is not a JPEG or PNG image. Choose a photo saved as JPEG or PNG.")]
    NotAnImage,
    #[error("The image is {width} by {height} pixels: at most 8000 pixels a side are accepted.")]
    TooManyPixels { width: u32, height: u32 },
    #[error("The image is {width} by {height} pixels: at least 64 pixels a side are needed.")]
    TooSmall { width: u32, height: u32 },
    #[error(
        "The image could not be read: the file may be damaged or cut short. Try saving it again."
    )]
    Damaged,
}

/// A photo ready to store: each size encoded, and the version that names it.
#[derive(Debug, Clone)]
pub struct ProcessedPhoto {
    /// Taken from the encoded bytes: a different photo gets a different version (and URL).
    pub version: i64,
    pub card_jpeg: Vec<u8>,
    pub profile_jpeg: Vec<u8>,
}

impl ProcessedPhoto {
    pub fn bytes(&self, size: PhotoSize) -> &[u8] {
        match size {
            PhotoSize::Card => &self.card_jpeg,
            PhotoSize::Profile => &self.profile_jpeg,
        }
    }
}

/// Decodes an upload within the limits above and encodes it again at every size.
pub fn process(upload: &[u8]) -> Result<ProcessedPhoto, PhotoError> {
    if upload.is_empty() {
        return Err(PhotoError::Empty);
    }
    if upload.len() > MAX_UPLOAD_BYTES {
        return Err(PhotoError::TooLarge);
    }
    let image = decode(upload)?;
    let card_jpeg = encode(&image, PhotoSize::Card)?;
    let profile_jpeg = encode(&image, PhotoSize::Profile)?;
    Ok(ProcessedPhoto {
        version: version_of(&profile_jpeg),
        card_jpeg,
        profile_jpeg,
    })
}

/// A square image (generated, as the demo's are) made into a photo without the upload checks.
pub fn from_image(image: &DynamicImage) -> Result<ProcessedPhoto, PhotoError> {
    let card_jpeg = encode(image, PhotoSize::Card)?;
    let profile_jpeg = encode(image, PhotoSize::Profile)?;
    Ok(ProcessedPhoto {
        version: version_of(&profile_jpeg),
        card_jpeg,
        profile_jpeg,
    })
}

fn decode(upload: &[u8]) -> Result<DynamicImage, PhotoError> {
    let reader = || {
        ImageReader::new(Cursor::new(upload))
            .with_guessed_format()
            .map_err(|_| PhotoError::NotAnImage)
    };
    match reader()?.format() {
        Some(ImageFormat::Jpeg | ImageFormat::Png) => {}
        _ => return Err(PhotoError::NotAnImage),
    }
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE_PX);
    limits.max_image_height = Some(MAX_SIDE_PX);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    // The header alone tells the dimensions: a bomb is refused before it is decoded.
    let (width, height) = reader()?
        .into_dimensions()
        .map_err(|_| PhotoError::Damaged)?;
    if width > MAX_SIDE_PX || height > MAX_SIDE_PX {
        return Err(PhotoError::TooManyPixels { width, height });
    }
    if width < MIN_SIDE_PX || height < MIN_SIDE_PX {
        return Err(PhotoError::TooSmall { width, height });
    }
    let mut reader = reader()?;
    reader.limits(limits);
    let mut decoder = reader
        .into_decoder()
        .map_err(|e| refusal(e, width, height))?;
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).map_err(|e| refusal(e, width, height))?;
    image.apply_orientation(orientation);
    Ok(image)
}

fn refusal(e: image::ImageError, width: u32, height: u32) -> PhotoError {
    match e {
        image::ImageError::Limits(_) => PhotoError::TooManyPixels { width, height },
        image::ImageError::Unsupported(_) => PhotoError::NotAnImage,
        _ => PhotoError::Damaged,
    }
}

/// The centred square of the image at `size`, on white where it was transparent, as JPEG.
fn encode(image: &DynamicImage, size: PhotoSize) -> Result<Vec<u8>, PhotoError> {
    let px = size.pixels();
    let square = image.resize_to_fill(px, px, FilterType::CatmullRom);
    let rgba = square.to_rgba8();
    let mut rgb = image::RgbImage::new(px, px);
    for (to, from) in rgb.pixels_mut().zip(rgba.pixels()) {
        let a = from[3] as u32;
        for c in 0..3 {
            to[c] = ((from[c] as u32 * a + 255 * (255 - a) + 127) / 255) as u8;
        }
    }
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY)
        .encode_image(&rgb)
        .map_err(|_| PhotoError::Damaged)?;
    Ok(out)
}

/// A positive number from the photo's bytes (never 0, which means no photo).
fn version_of(bytes: &[u8]) -> i64 {
    let digest = Sha256::digest(bytes);
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    let v = (u64::from_be_bytes(first) >> 1) as i64;
    v.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let img = image::RgbaImage::from_fn(width, height, |x, y| {
            image::Rgba([
                (x % 256) as u8,
                (y % 256) as u8,
                128,
                if x < 10 { 0 } else { 255 },
            ])
        });
        let mut out = Vec::new();
        DynamicImage::ImageRgba8(img)
            .write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
            .unwrap();
        out
    }

    #[test]
    fn a_png_becomes_square_jpegs_of_each_size() {
        let p = process(&png(300, 200)).unwrap();
        for size in PhotoSize::ALL {
            let img = image::load_from_memory(p.bytes(size)).unwrap();
            assert_eq!((img.width(), img.height()), (size.pixels(), size.pixels()));
            assert_eq!(
                image::guess_format(p.bytes(size)).unwrap(),
                ImageFormat::Jpeg
            );
        }
        assert!(p.version > 0);
        assert_eq!(process(&png(300, 200)).unwrap().version, p.version);
        assert_ne!(process(&png(200, 300)).unwrap().version, p.version);
    }

    #[test]
    fn bad_files_are_refused_with_a_reason() {
        assert_eq!(process(b"").unwrap_err(), PhotoError::Empty);
        assert_eq!(
            process(b"GIF89a not a photo").unwrap_err(),
            PhotoError::NotAnImage
        );
        let good = png(200, 200);
        assert_eq!(
            process(&good[..good.len() / 2]).unwrap_err(),
            PhotoError::Damaged
        );
        assert_eq!(
            process(&png(40, 200)).unwrap_err(),
            PhotoError::TooSmall {
                width: 40,
                height: 200
            }
        );
        assert_eq!(
            process(&vec![0xFF; MAX_UPLOAD_BYTES + 1]).unwrap_err(),
            PhotoError::TooLarge
        );
    }

    #[test]
    fn a_url_names_the_version_and_size() {
        assert_eq!(
            url(7, 42, PhotoSize::Card).as_deref(),
            Some("/photos/7/42/card.jpg")
        );
        assert_eq!(url(7, 0, PhotoSize::Profile), None);
        assert_eq!(PhotoSize::parse("profile"), Some(PhotoSize::Profile));
        assert_eq!(PhotoSize::parse("huge"), None);
    }
}
