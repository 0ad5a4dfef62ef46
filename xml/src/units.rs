//! Scaled integers with libvirt's `unit` attribute.

use crate::XmlError;

/// Bytes per unit for a libvirt unit name (case-insensitive).
pub fn unit_scale(unit: &str) -> Option<u64> {
    let u = unit.to_ascii_lowercase();
    let (power, si) = match u.as_str() {
        "b" | "byte" | "bytes" => return Some(1),
        "k" | "kib" => (1, false),
        "kb" => (1, true),
        "m" | "mib" => (2, false),
        "mb" => (2, true),
        "g" | "gib" => (3, false),
        "gb" => (3, true),
        "t" | "tib" => (4, false),
        "tb" => (4, true),
        "p" | "pib" => (5, false),
        "pb" => (5, true),
        "e" | "eib" => (6, false),
        "eb" => (6, true),
        _ => return None,
    };
    let base: u64 = if si { 1000 } else { 1024 };
    Some(base.pow(power))
}

/// Converts `value` in `unit` (default `default_unit`) to bytes.
pub fn to_bytes(
    path: &str,
    value: &str,
    unit: Option<&str>,
    default_unit: &str,
) -> Result<u64, XmlError> {
    let unit = unit.unwrap_or(default_unit);
    let scale = unit_scale(unit).ok_or_else(|| XmlError::invalid(format!("{path}/@unit"), unit))?;
    let n: u64 = value
        .trim()
        .parse()
        .map_err(|_| XmlError::invalid(path, value))?;
    n.checked_mul(scale)
        .ok_or_else(|| XmlError::invalid(path, value))
}

/// Converts `value` in `unit` (default KiB) to KiB, rounding up.
pub fn to_kib(path: &str, value: &str, unit: Option<&str>) -> Result<u64, XmlError> {
    let bytes = to_bytes(path, value, unit, "KiB")?;
    Ok(bytes.div_ceil(1024))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_units() {
        let cases = [
            ("b", 1024u64, 1u64),
            ("bytes", 2048, 2),
            ("KB", 1024, 1000),
            ("K", 1, 1),
            ("KiB", 1, 1),
            ("MB", 1, 977),
            ("M", 1, 1024),
            ("MiB", 128, 131072),
            ("GB", 1, 976563),
            ("G", 1, 1048576),
            ("GiB", 8, 8388608),
            ("TB", 1, 976562500),
            ("T", 1, 1073741824),
            ("TiB", 1, 1073741824),
        ];
        for (unit, v, kib) in cases {
            assert_eq!(
                to_kib("memory", &v.to_string(), Some(unit)).unwrap(),
                kib,
                "{unit}"
            );
        }
        assert_eq!(to_kib("memory", "8388608", None).unwrap(), 8388608);
    }

    #[test]
    fn bad_units_and_values() {
        assert!(to_kib("memory", "1", Some("parsec")).is_err());
        assert!(to_kib("memory", "x", None).is_err());
        assert!(to_kib("memory", "18446744073709551615", Some("TiB")).is_err());
        assert_eq!(
            to_bytes("capacity", "10", Some("KiB"), "bytes").unwrap(),
            10240
        );
        assert_eq!(to_bytes("capacity", "10", None, "bytes").unwrap(), 10);
    }
}
