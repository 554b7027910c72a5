//! FILE_CHECK: a real server's health and weight from a number in a file,
//! with keepalived 2.2's semantics (check_file.c, track_file.c).
//!
//! The file's number `v` (0 when the file is missing or empty) is multiplied
//! by the check's `weight` (negated with `reverse`):
//!
//! - with `weight 0`, any non-zero value takes the server down (with
//!   `reverse`, the value 0 does);
//! - otherwise `v x weight` (clamped to 32 bits) at or below `i32::MIN`
//!   (keepalived's `IPVS_WEIGHT_FAULT`, -2147483648) takes the server down;
//!   any other product is added to the real server's configured weight, and
//!   the sum, clamped to `0..=i32::MAX`, is the weight programmed. A weight of
//!   0 keeps the server in the table but sends it no new connections: this is
//!   how operators drain a server without a reload.

/// The verdict for file value `value`: `Some(delta)` (up, weight changes by
/// `delta`) or `None` (down).
pub fn file_verdict(value: i32, weight: i32, reverse: bool) -> Option<i32> {
    if weight == 0 {
        return if (value != 0) != reverse {
            None
        } else {
            Some(0)
        };
    }
    let sign: i64 = if reverse { -1 } else { 1 };
    let product = i64::from(value) * i64::from(weight) * sign;
    let status = product.clamp(i64::from(i32::MIN), i64::from(i32::MAX));
    if status <= i64::from(i32::MIN) {
        return None;
    }
    Some(status as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_follow_keepalived() {
        // weight 0: the file is a plain up/down switch.
        assert_eq!(file_verdict(0, 0, false), Some(0));
        assert_eq!(file_verdict(3, 0, false), None);
        assert_eq!(file_verdict(-1, 0, false), None);
        assert_eq!(file_verdict(0, 0, true), None);
        assert_eq!(file_verdict(5, 0, true), Some(0));
        // Otherwise a weight change...
        assert_eq!(file_verdict(5, 1, false), Some(5));
        assert_eq!(file_verdict(5, -2, false), Some(-10));
        assert_eq!(file_verdict(5, 2, true), Some(-10));
        assert_eq!(file_verdict(0, 7, false), Some(0));
        // ...down only at the fault value.
        assert_eq!(file_verdict(i32::MIN, 1, false), None);
        assert_eq!(file_verdict(i32::MIN + 1, 1, false), Some(i32::MIN + 1));
        assert_eq!(file_verdict(-2, i32::MAX, false), None);
        assert_eq!(file_verdict(2, i32::MAX, false), Some(i32::MAX));
        assert_eq!(file_verdict(i32::MIN, -1, false), Some(i32::MAX));
    }
}
