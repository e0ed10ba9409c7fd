use super::weights::QWeights;
use super::*;
use crate::params::ParamSpec;

#[test]
fn a_row_quantises_to_its_largest_magnitude_and_rounds_half_away_from_zero() {
    let row = [1.27, -0.635, 0.005, 0.0, -1.27];
    let mut q = [0i8; 5];
    let scale = quantize_row(&row, &mut q);
    assert!((scale - 0.01).abs() < 1e-9, "{scale}");
    assert_eq!(q, [127, -64, 1, 0, -127]);
    for (w, q) in row.iter().zip(q) {
        assert!((w - f32::from(q) * scale).abs() <= scale / 2.0 + 1e-7);
    }
}

#[test]
fn a_zero_row_has_scale_zero_and_zero_values() {
    let mut q = [5i8; 3];
    assert_eq!(quantize_row(&[0.0, -0.0, 0.0], &mut q), 0.0);
    assert_eq!(q, [0; 3]);
}

#[test]
fn the_int8_format_sizes_weights_at_one_byte_and_biases_at_four() {
    let specs = [
        ParamSpec {
            name: "0.weight_ih",
            shape: &[8, 3],
        },
        ParamSpec {
            name: "0.bias_ih",
            shape: &[8],
        },
        ParamSpec {
            name: "1.weight",
            shape: &[2, 5],
        },
    ];
    assert!(is_quantised(&specs[0]) && !is_quantised(&specs[1]));
    assert_eq!(int8_bytes(&specs), (24 + 32) + 32 + (10 + 8));
}

/// Bytes of a `[2·3, 10]` matrix: scales, then values, with a zero row.
fn matrix_bytes() -> Vec<u8> {
    let mut bytes = Vec::new();
    let scales = [0.5f32, 0.0, 0.25, 1.0, 0.125, 2.0];
    bytes.extend(scales.iter().flat_map(|s| s.to_le_bytes()));
    for r in 0..6i32 {
        for c in 0..10i32 {
            let q = if r == 1 {
                0
            } else {
                (r * 37 + c * 19) % 255 - 127
            };
            bytes.push(i8::try_from(q).expect("in range").to_le_bytes()[0]);
        }
    }
    bytes
}

#[test]
fn a_matrix_reads_and_writes_its_bytes_and_multiplies_as_its_dequantised_self() {
    let bytes = matrix_bytes();
    let m = QWeights::<10, 3, 2>::from_le_bytes(&bytes, 0);
    assert_eq!(bytes.len(), QWeights::<10, 3, 2>::BYTES);
    assert_eq!(
        m.value(2, 3),
        i8::from_le_bytes([bytes[6 * 4 + 2 * 10 + 3]])
    );
    let mut again = Vec::new();
    m.write_le(&mut again);
    assert_eq!(again, bytes);
    let x: [f32; 10] = core::array::from_fn(|i| (i as f32 * 0.7).sin());
    let mut out = [1.0f32; 6];
    m.matvec_add(&x, &mut out);
    let w = m.dequantize();
    for (r, o) in out.iter().enumerate() {
        let want: f64 = 1.0
            + (0..10)
                .map(|c| f64::from(w[r * 10 + c]) * f64::from(x[c]))
                .sum::<f64>();
        assert!(
            (f64::from(*o) - want).abs() < 1e-4,
            "row {r}: {o} vs {want}"
        );
    }
    assert_eq!(out[1], 1.0, "a zero row adds nothing");
}
