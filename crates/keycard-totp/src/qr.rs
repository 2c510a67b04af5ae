//! The enrolment QR code as an SVG document (no script, no raster image): authenticator apps scan the
//! `otpauth://` URI from it.

use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

/// The SVG of `uri`, with a title for screen readers. `None` if the URI is too long for a QR code.
pub(crate) fn svg(uri: &str) -> Option<String> {
    let code = QrCode::with_error_correction_level(uri.as_bytes(), EcLevel::M).ok()?;
    let image = code
        .render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build();
    Some(image)
}
