//! ggml's reference quantizers and dequantizers, block for block.
//!
//! The quantizers produce the bytes ggml's `quantize_row_*_ref` functions produce (what
//! `llama-quantize` writes without an importance matrix): Q8_0, Q4_0, Q5_0, Q5_1 and the K-quants
//! Q4_K, Q5_K, Q6_K, with ggml's float semantics kept exactly — `nearest_int`'s round-half-to-even
//! magic-number trick, `roundf` where ggml uses it, ggml's own fp32→fp16 rounding, and the same
//! order of float operations (no fused multiply-add). candle's `k_quants` follow an older ggml
//! (`make_qkx1_quants`, half-away rounding), so their K-quant bytes differ; its Q8_0/Q4_0/Q5_0/Q5_1
//! agree, but going through candle would cost a tensor copy per chunk, so one implementation here
//! serves all types. Byte identity is checked against ggml itself (fixtures from
//! `scripts/gen_gguf_quant_fixtures.py`).
//!
//! Every function works on whole blocks: `src.len()` must be a multiple of the block size.

use half::slice::HalfFloatSliceExt;
use half::{bf16, f16};

use crate::types::GgmlType;

const QK_K: usize = 256;
const GROUP_MAX_EPS: f32 = 1e-15;

/// ggml's fp32→fp16 conversion (`ggml_compute_fp32_to_fp16`): round to nearest even, overflow to
/// infinity, NaN to a quiet NaN.
pub fn fp32_to_fp16(f: f32) -> u16 {
    let scale_to_inf = f32::from_bits(0x7780_0000); // 0x1.0p+112
    let scale_to_zero = f32::from_bits(0x0880_0000); // 0x1.0p-110
    let mut base = (f.abs() * scale_to_inf) * scale_to_zero;
    let w = f.to_bits();
    let shl1_w = w.wrapping_add(w);
    let sign = w & 0x8000_0000;
    let mut bias = shl1_w & 0xFF00_0000;
    if bias < 0x7100_0000 {
        bias = 0x7100_0000;
    }
    base += f32::from_bits((bias >> 1) + 0x0780_0000);
    let bits = base.to_bits();
    let exp_bits = (bits >> 13) & 0x0000_7C00;
    let mantissa_bits = bits & 0x0000_0FFF;
    let nonsign = exp_bits + mantissa_bits;
    ((sign >> 16)
        | if shl1_w > 0xFF00_0000 {
            0x7E00
        } else {
            nonsign
        }) as u16
}

pub fn fp16_to_fp32(h: u16) -> f32 {
    f16::from_bits(h).to_f32()
}

/// ggml's fp32→bf16 conversion (`ggml_compute_fp32_to_bf16`): round to nearest even, NaN
/// quieted.
pub fn fp32_to_bf16(f: f32) -> u16 {
    let u = f.to_bits();
    if (u & 0x7fff_ffff) > 0x7f80_0000 {
        return ((u >> 16) | 64) as u16;
    }
    (u.wrapping_add(0x7fff + ((u >> 16) & 1)) >> 16) as u16
}

pub fn bf16_to_fp32(h: u16) -> f32 {
    bf16::from_bits(h).to_f32()
}

/// `nearest_int` of ggml-quants.c: adding 1.5·2^23 leaves the integer, rounded half to even, in
/// the low mantissa bits (exact for |v| ≤ 2^22, as ggml asserts).
#[inline]
fn nearest_int(fval: f32) -> i32 {
    let val = fval + 12_582_912.0;
    (val.to_bits() as i32 & 0x007f_ffff) - 0x0040_0000
}

/// ggml's `MAX(lo, MIN(hi, v))` (no assertion on the bounds, unlike `Ord::clamp`).
#[inline]
fn clamp(v: i32, lo: i32, hi: i32) -> i32 {
    v.min(hi).max(lo)
}

/// Append `src` converted to `ty` to `dst`. `src.len()` must be a multiple of the block size;
/// quantized types refuse NaN and infinity (ggml's `ggml_validate_row_data` would reject the
/// result).
pub fn quantize(ty: GgmlType, src: &[f32], dst: &mut Vec<u8>) -> Result<(), String> {
    let block = ty.block_size() as usize;
    if !src.len().is_multiple_of(block) {
        return Err(format!(
            "{} values are not a whole number of {ty} blocks of {block}",
            src.len()
        ));
    }
    if ty.is_quantized() {
        if let Some(bad) = src.iter().find(|v| !v.is_finite()) {
            return Err(format!(
                "cannot quantize the non-finite value {bad} to {ty}"
            ));
        }
    }
    let start = dst.len();
    let out_len = ty
        .row_bytes(src.len() as u64)
        .ok_or_else(|| format!("{ty}: size overflow"))? as usize;
    dst.resize(start + out_len, 0);
    let out = &mut dst[start..];
    match ty {
        GgmlType::F32 => {
            for (o, v) in out.chunks_exact_mut(4).zip(src) {
                o.copy_from_slice(&v.to_le_bytes());
            }
        }
        GgmlType::F16 => {
            // half's slice conversion (F16C when the CPU has it) rounds to nearest even like
            // ggml; a test pins the two together.
            let mut tmp = vec![f16::ZERO; src.len()];
            tmp.convert_from_f32_slice(src);
            for (o, v) in out.chunks_exact_mut(2).zip(&tmp) {
                o.copy_from_slice(&v.to_bits().to_le_bytes());
            }
        }
        GgmlType::BF16 => {
            for (o, v) in out.chunks_exact_mut(2).zip(src) {
                o.copy_from_slice(&fp32_to_bf16(*v).to_le_bytes());
            }
        }
        GgmlType::Q8_0 => blocks(src, out, 32, 34, q8_0),
        GgmlType::Q4_0 => blocks(src, out, 32, 18, q4_0),
        GgmlType::Q5_0 => blocks(src, out, 32, 22, q5_0),
        GgmlType::Q5_1 => blocks(src, out, 32, 24, q5_1),
        GgmlType::Q4_K => blocks(src, out, QK_K, 144, q4_k),
        GgmlType::Q5_K => blocks(src, out, QK_K, 176, q5_k),
        GgmlType::Q6_K => blocks(src, out, QK_K, 210, q6_k),
        other => {
            dst.truncate(start);
            return Err(format!("quantizing to {other} is not implemented"));
        }
    }
    Ok(())
}

/// The types [`quantize`] writes.
pub fn can_quantize(ty: GgmlType) -> bool {
    matches!(
        ty,
        GgmlType::F32
            | GgmlType::F16
            | GgmlType::BF16
            | GgmlType::Q8_0
            | GgmlType::Q4_0
            | GgmlType::Q5_0
            | GgmlType::Q5_1
            | GgmlType::Q4_K
            | GgmlType::Q5_K
            | GgmlType::Q6_K
    )
}

fn blocks(src: &[f32], out: &mut [u8], n: usize, size: usize, f: fn(&[f32], &mut [u8])) {
    for (x, y) in src.chunks_exact(n).zip(out.chunks_exact_mut(size)) {
        f(x, y);
    }
}

fn put_f16(y: &mut [u8], at: usize, v: f32) {
    y[at..at + 2].copy_from_slice(&fp32_to_fp16(v).to_le_bytes());
}

fn get_f16(y: &[u8], at: usize) -> f32 {
    fp16_to_fp32(u16::from_le_bytes([y[at], y[at + 1]]))
}

/// `quantize_row_q8_0_ref`: `d = amax/127`, `q = roundf(x/d)`.
fn q8_0(x: &[f32], y: &mut [u8]) {
    let mut amax = 0.0f32;
    for &v in x {
        let a = v.abs();
        amax = if amax > a { amax } else { a };
    }
    let d = amax / 127.0;
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    put_f16(y, 0, d);
    for (q, &v) in y[2..34].iter_mut().zip(x) {
        *q = ((v * id).round() as i32) as i8 as u8;
    }
}

/// The signed value of largest magnitude (the first one on ties), as ggml's 4/5-bit
/// symmetric quantizers pick it.
fn signed_absmax(x: &[f32]) -> f32 {
    let mut amax = 0.0f32;
    let mut max = 0.0f32;
    for &v in x {
        if amax < v.abs() {
            amax = v.abs();
            max = v;
        }
    }
    max
}

/// `(uint8_t) MIN(cap, (int8_t) v)`, as ggml's 4/5-bit quantizers clamp.
fn ggml_min_i8(cap: i32, v: f32) -> u8 {
    i32::from(v as i8).min(cap) as u8
}

/// `quantize_row_q4_0_ref`: `d = max/-8`, nibbles `min(15, (int8)(x/d + 8.5))`.
fn q4_0(x: &[f32], y: &mut [u8]) {
    let max = signed_absmax(x);
    let d = max / -8.0;
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    put_f16(y, 0, d);
    for j in 0..16 {
        let xi0 = ggml_min_i8(15, x[j] * id + 8.5);
        let xi1 = ggml_min_i8(15, x[16 + j] * id + 8.5);
        y[2 + j] = xi0 | (xi1 << 4);
    }
}

/// `quantize_row_q5_0_ref`.
fn q5_0(x: &[f32], y: &mut [u8]) {
    let max = signed_absmax(x);
    let d = max / -16.0;
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    put_f16(y, 0, d);
    let mut qh = 0u32;
    for j in 0..16 {
        let xi0 = ggml_min_i8(31, x[j] * id + 16.5);
        let xi1 = ggml_min_i8(31, x[16 + j] * id + 16.5);
        y[6 + j] = (xi0 & 0x0F) | ((xi1 & 0x0F) << 4);
        qh |= (u32::from(xi0 & 0x10) >> 4) << j;
        qh |= (u32::from(xi1 & 0x10) >> 4) << (j + 16);
    }
    y[2..6].copy_from_slice(&qh.to_le_bytes());
}

/// `quantize_row_q5_1_ref`: asymmetric, `d = (max-min)/31`, `m = min`.
fn q5_1(x: &[f32], y: &mut [u8]) {
    let mut min = f32::MAX;
    let mut max = -f32::MAX;
    for &v in x {
        if v < min {
            min = v;
        }
        if v > max {
            max = v;
        }
    }
    let d = (max - min) / 31.0;
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    put_f16(y, 0, d);
    put_f16(y, 2, min);
    let mut qh = 0u32;
    for j in 0..16 {
        let xi0 = ((x[j] - min) * id + 0.5) as u8;
        let xi1 = ((x[16 + j] - min) * id + 0.5) as u8;
        y[8 + j] = (xi0 & 0x0F) | ((xi1 & 0x0F) << 4);
        qh |= (u32::from(xi0 & 0x10) >> 4) << j;
        qh |= (u32::from(xi1 & 0x10) >> 4) << (j + 16);
    }
    y[4..8].copy_from_slice(&qh.to_le_bytes());
}

/// `make_qkx2_quants`: a scale and a (negated) minimum for one sub-block, searching `nstep + 1`
/// candidate scales for the least weighted squared error. Returns (scale, -min); `l` gets the
/// levels.
#[allow(clippy::too_many_arguments)]
fn make_qkx2_quants(
    nmax: i32,
    x: &[f32; 32],
    weights: &[f32; 32],
    l: &mut [u8; 32],
    rmin: f32,
    rdelta: f32,
    nstep: i32,
) -> (f32, f32) {
    let n = 32;
    let mut min = x[0];
    let mut max = x[0];
    let mut sum_w = weights[0];
    let mut sum_x = sum_w * x[0];
    for i in 1..n {
        if x[i] < min {
            min = x[i];
        }
        if x[i] > max {
            max = x[i];
        }
        let w = weights[i];
        sum_w += w;
        sum_x += w * x[i];
    }
    if min > 0.0 {
        min = 0.0;
    }
    if max == min {
        l.fill(0);
        return (0.0, -min);
    }
    let nmax_f = nmax as f32;
    let mut iscale = nmax_f / (max - min);
    let mut scale = 1.0 / iscale;
    let mut best_error = 0.0f32;
    for i in 0..n {
        let li = clamp(nearest_int(iscale * (x[i] - min)), 0, nmax);
        l[i] = li as u8;
        let diff = scale * li as f32 + min - x[i];
        best_error += weights[i] * (diff * diff);
    }
    let mut laux = [0u8; 32];
    for is in 0..=nstep {
        iscale = (rmin + rdelta * is as f32 + nmax_f) / (max - min);
        let (mut sum_l, mut sum_l2, mut sum_xl) = (0.0f32, 0.0f32, 0.0f32);
        for i in 0..n {
            let li = clamp(nearest_int(iscale * (x[i] - min)), 0, nmax);
            laux[i] = li as u8;
            let w = weights[i];
            let lf = li as f32;
            sum_l += w * lf;
            sum_l2 += w * lf * lf;
            sum_xl += w * lf * x[i];
        }
        let det = sum_w * sum_l2 - sum_l * sum_l;
        if det > 0.0 {
            let mut this_scale = (sum_w * sum_xl - sum_x * sum_l) / det;
            let mut this_min = (sum_l2 * sum_x - sum_l * sum_xl) / det;
            if this_min > 0.0 {
                this_min = 0.0;
                this_scale = sum_xl / sum_l2;
            }
            let mut cur_error = 0.0f32;
            for i in 0..n {
                let diff = this_scale * laux[i] as f32 + this_min - x[i];
                cur_error += weights[i] * (diff * diff);
            }
            if cur_error < best_error {
                *l = laux;
                best_error = cur_error;
                scale = this_scale;
                min = this_min;
            }
        }
    }
    (scale, -min)
}

/// `get_scale_min_k4`: the 6-bit scale and min of sub-block `j` from the 12 packed bytes.
fn get_scale_min_k4(j: usize, q: &[u8]) -> (u8, u8) {
    if j < 4 {
        (q[j] & 63, q[j + 4] & 63)
    } else {
        (
            (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4),
            (q[j + 4] >> 4) | ((q[j] >> 6) << 4),
        )
    }
}

/// The shared first half of Q4_K and Q5_K: per-sub-block scales and mins, packed to 6 bits, the
/// super-block `d`/`dmin`, and the final levels. Writes `d`, `dmin`, `scales` into `y[0..16]`.
fn k_scales_and_levels(x: &[f32], y: &mut [u8], nmax: i32, rmin: f32, nstep: i32) -> [u8; QK_K] {
    let mut l = [0u8; QK_K];
    let mut mins = [0.0f32; 8];
    let mut scales = [0.0f32; 8];
    let mut max_scale = 0.0f32;
    let mut max_min = 0.0f32;
    for j in 0..8 {
        let xs: &[f32; 32] = x[32 * j..32 * j + 32]
            .try_into()
            .unwrap_or_else(|_| unreachable!("32-value sub-block"));
        let mut sum_x2 = 0.0f32;
        for &v in xs {
            sum_x2 += v * v;
        }
        let av_x = (sum_x2 / 32.0).sqrt();
        let mut weights = [0.0f32; 32];
        for (w, &v) in weights.iter_mut().zip(xs) {
            *w = av_x + v.abs();
        }
        let lj: &mut [u8; 32] = (&mut l[32 * j..32 * j + 32])
            .try_into()
            .unwrap_or_else(|_| unreachable!("32-value sub-block"));
        let (s, m) = make_qkx2_quants(nmax, xs, &weights, lj, rmin, 0.1, nstep);
        scales[j] = s;
        mins[j] = m;
        if s > max_scale {
            max_scale = s;
        }
        if m > max_min {
            max_min = m;
        }
    }
    let inv_scale = if max_scale > 0.0 {
        63.0 / max_scale
    } else {
        0.0
    };
    let inv_min = if max_min > 0.0 { 63.0 / max_min } else { 0.0 };
    let sc = &mut y[4..16];
    sc.fill(0);
    for j in 0..8 {
        let ls = (nearest_int(inv_scale * scales[j]) as u8).min(63);
        let lm = (nearest_int(inv_min * mins[j]) as u8).min(63);
        if j < 4 {
            sc[j] = ls;
            sc[j + 4] = lm;
        } else {
            sc[j + 4] = (ls & 0xF) | ((lm & 0xF) << 4);
            sc[j - 4] |= (ls >> 4) << 6;
            sc[j] |= (lm >> 4) << 6;
        }
    }
    put_f16(y, 0, max_scale / 63.0);
    put_f16(y, 2, max_min / 63.0);
    let d_all = get_f16(y, 0);
    let dmin_all = get_f16(y, 2);
    for j in 0..8 {
        let (s, m) = get_scale_min_k4(j, &y[4..16]);
        let d = d_all * s as f32;
        if d == 0.0 {
            continue; // the sub-block keeps make_qkx2_quants' levels, as in ggml
        }
        let dm = dmin_all * m as f32;
        for ii in 0..32 {
            let li = clamp(nearest_int((x[32 * j + ii] + dm) / d), 0, nmax);
            l[32 * j + ii] = li as u8;
        }
    }
    l
}

/// `quantize_row_q4_K_ref`: `d, dmin, scales[12], qs[128]`.
fn q4_k(x: &[f32], y: &mut [u8]) {
    let l = k_scales_and_levels(x, y, 15, -1.0, 20);
    let q = &mut y[16..144];
    for (chunk, j) in (0..QK_K).step_by(64).enumerate() {
        for i in 0..32 {
            q[chunk * 32 + i] = l[j + i] | (l[j + i + 32] << 4);
        }
    }
}

/// `quantize_row_q5_K_ref`: `d, dmin, scales[12], qh[32], qs[128]`.
fn q5_k(x: &[f32], y: &mut [u8]) {
    let l = k_scales_and_levels(x, y, 31, -0.5, 15);
    let (qh, ql) = y[16..176].split_at_mut(32);
    qh.fill(0);
    let (mut m1, mut m2) = (1u8, 2u8);
    for (chunk, n) in (0..QK_K).step_by(64).enumerate() {
        for j in 0..32 {
            let mut l1 = l[n + j];
            if l1 > 15 {
                l1 -= 16;
                qh[j] |= m1;
            }
            let mut l2 = l[n + j + 32];
            if l2 > 15 {
                l2 -= 16;
                qh[j] |= m2;
            }
            ql[chunk * 32 + j] = l1 | (l2 << 4);
        }
        m1 <<= 2;
        m2 <<= 2;
    }
}

/// `make_qx_quants` with `rmse_type = 1` and no importance weights (the only use, Q6_K): a
/// symmetric scale for 16 values searched over 19 candidates. `l` gets `level + nmax`.
fn make_qx_quants(nmax: i32, x: &[f32; 16], l: &mut [i8; 16]) -> f32 {
    let mut max = 0.0f32;
    let mut amax = 0.0f32;
    for &v in x {
        let ax = v.abs();
        if ax > amax {
            amax = ax;
            max = v;
        }
    }
    if amax < GROUP_MAX_EPS {
        l.fill(0);
        return 0.0;
    }
    let nmax_f = nmax as f32;
    let mut iscale = -nmax_f / max;
    let mut sumlx = 0.0f32;
    let mut suml2 = 0.0f32;
    for (i, &v) in x.iter().enumerate() {
        let li = clamp(nearest_int(iscale * v), -nmax, nmax - 1);
        l[i] = (li + nmax) as i8;
        let w = v * v;
        let lf = li as f32;
        sumlx += w * v * lf;
        suml2 += w * lf * lf;
    }
    let mut scale = if suml2 != 0.0 { sumlx / suml2 } else { 0.0 };
    let mut best = scale * sumlx;
    for is in -9i32..=9 {
        if is == 0 {
            continue;
        }
        iscale = -(nmax_f + 0.1 * is as f32) / max;
        sumlx = 0.0;
        suml2 = 0.0;
        for &v in x {
            let lf = clamp(nearest_int(iscale * v), -nmax, nmax - 1) as f32;
            let w = v * v;
            sumlx += w * v * lf;
            suml2 += w * lf * lf;
        }
        if suml2 > 0.0 && sumlx * sumlx > best * suml2 {
            for (i, &v) in x.iter().enumerate() {
                let li = clamp(nearest_int(iscale * v), -nmax, nmax - 1);
                l[i] = (nmax + li) as i8;
            }
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    scale
}

/// `quantize_row_q6_K_ref`: `ql[128], qh[64], scales[16] (int8), d`.
fn q6_k(x: &[f32], y: &mut [u8]) {
    let mut l = [0i8; QK_K];
    let mut scales = [0.0f32; 16];
    let mut max_scale = 0.0f32;
    let mut max_abs_scale = 0.0f32;
    for ib in 0..16 {
        let xs: &[f32; 16] = x[16 * ib..16 * ib + 16]
            .try_into()
            .unwrap_or_else(|_| unreachable!("16-value sub-block"));
        let ls: &mut [i8; 16] = (&mut l[16 * ib..16 * ib + 16])
            .try_into()
            .unwrap_or_else(|_| unreachable!("16-value sub-block"));
        let s = make_qx_quants(32, xs, ls);
        scales[ib] = s;
        if s.abs() > max_abs_scale {
            max_abs_scale = s.abs();
            max_scale = s;
        }
    }
    if max_abs_scale < GROUP_MAX_EPS {
        y.fill(0);
        return;
    }
    let iscale = -128.0 / max_scale;
    put_f16(y, 208, 1.0 / iscale);
    for ib in 0..16 {
        y[192 + ib] = nearest_int(iscale * scales[ib]).min(127) as i8 as u8;
    }
    let d_all = get_f16(y, 208);
    for j in 0..16 {
        let d = d_all * f32::from(y[192 + j] as i8);
        if d == 0.0 {
            continue;
        }
        for ii in 0..16 {
            let li = clamp(nearest_int(x[16 * j + ii] / d), -32, 31);
            l[16 * j + ii] = (li + 32) as i8;
        }
    }
    let (ql, rest) = y.split_at_mut(128);
    let qh = &mut rest[..64];
    for (chunk, j) in (0..QK_K).step_by(128).enumerate() {
        for i in 0..32 {
            let q1 = (l[j + i] & 0xF) as u8;
            let q2 = (l[j + i + 32] & 0xF) as u8;
            let q3 = (l[j + i + 64] & 0xF) as u8;
            let q4 = (l[j + i + 96] & 0xF) as u8;
            ql[chunk * 64 + i] = q1 | (q3 << 4);
            ql[chunk * 64 + i + 32] = q2 | (q4 << 4);
            qh[chunk * 32 + i] = ((l[j + i] >> 4) as u8)
                | (((l[j + i + 32] >> 4) as u8) << 2)
                | (((l[j + i + 64] >> 4) as u8) << 4)
                | (((l[j + i + 96] >> 4) as u8) << 6);
        }
    }
}

/// Decode `n` values of type `ty` from `bytes` (ggml's `dequantize_row_*`).
pub fn dequantize(ty: GgmlType, bytes: &[u8], n: usize) -> Result<Vec<f32>, String> {
    let need = ty
        .row_bytes(n as u64)
        .ok_or_else(|| format!("{n} values are not a whole number of {ty} blocks"))?;
    if bytes.len() as u64 != need {
        return Err(format!(
            "{n} {ty} values take {need} bytes, {} given",
            bytes.len()
        ));
    }
    let mut out = Vec::with_capacity(n);
    let each = |size: usize, out: &mut Vec<f32>, f: &dyn Fn(&[u8], &mut Vec<f32>)| {
        for b in bytes.chunks_exact(size) {
            f(b, out);
        }
    };
    match ty {
        GgmlType::F32 => each(4, &mut out, &|b, o| {
            o.push(f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        }),
        GgmlType::F16 => each(2, &mut out, &|b, o| {
            o.push(fp16_to_fp32(u16::from_le_bytes([b[0], b[1]])))
        }),
        GgmlType::BF16 => each(2, &mut out, &|b, o| {
            o.push(bf16_to_fp32(u16::from_le_bytes([b[0], b[1]])))
        }),
        GgmlType::Q8_0 => each(34, &mut out, &|b, o| {
            let d = get_f16(b, 0);
            o.extend(b[2..34].iter().map(|&q| f32::from(q as i8) * d));
        }),
        GgmlType::Q4_0 => each(18, &mut out, &|b, o| {
            let d = get_f16(b, 0);
            let q = &b[2..18];
            o.extend(q.iter().map(|&v| ((v & 0x0F) as i32 - 8) as f32 * d));
            o.extend(q.iter().map(|&v| ((v >> 4) as i32 - 8) as f32 * d));
        }),
        GgmlType::Q4_1 => each(20, &mut out, &|b, o| {
            let (d, m) = (get_f16(b, 0), get_f16(b, 2));
            let q = &b[4..20];
            o.extend(q.iter().map(|&v| (v & 0x0F) as f32 * d + m));
            o.extend(q.iter().map(|&v| (v >> 4) as f32 * d + m));
        }),
        GgmlType::Q5_0 => each(22, &mut out, &|b, o| {
            let d = get_f16(b, 0);
            let qh = u32::from_le_bytes([b[2], b[3], b[4], b[5]]);
            let q = &b[6..22];
            o.extend((0..16).map(|j| {
                let h = (((qh >> j) << 4) & 0x10) as u8;
                (((q[j] & 0x0F) | h) as i32 - 16) as f32 * d
            }));
            o.extend((0..16).map(|j| {
                let h = ((qh >> (j + 12)) & 0x10) as u8;
                (((q[j] >> 4) | h) as i32 - 16) as f32 * d
            }));
        }),
        GgmlType::Q5_1 => each(24, &mut out, &|b, o| {
            let (d, m) = (get_f16(b, 0), get_f16(b, 2));
            let qh = u32::from_le_bytes([b[4], b[5], b[6], b[7]]);
            let q = &b[8..24];
            o.extend((0..16).map(|j| {
                let h = (((qh >> j) << 4) & 0x10) as u8;
                ((q[j] & 0x0F) | h) as f32 * d + m
            }));
            o.extend((0..16).map(|j| {
                let h = ((qh >> (j + 12)) & 0x10) as u8;
                ((q[j] >> 4) | h) as f32 * d + m
            }));
        }),
        GgmlType::Q4_K => each(144, &mut out, &|b, o| {
            let (d, min) = (get_f16(b, 0), get_f16(b, 2));
            let scales = &b[4..16];
            let q = &b[16..144];
            for (k, chunk) in q.chunks_exact(32).enumerate() {
                let (sc1, m1) = get_scale_min_k4(2 * k, scales);
                let (sc2, m2) = get_scale_min_k4(2 * k + 1, scales);
                let (d1, mm1) = (d * sc1 as f32, min * m1 as f32);
                let (d2, mm2) = (d * sc2 as f32, min * m2 as f32);
                o.extend(chunk.iter().map(|&v| d1 * (v & 0xF) as f32 - mm1));
                o.extend(chunk.iter().map(|&v| d2 * (v >> 4) as f32 - mm2));
            }
        }),
        GgmlType::Q5_K => each(176, &mut out, &|b, o| {
            let (d, min) = (get_f16(b, 0), get_f16(b, 2));
            let scales = &b[4..16];
            let qh = &b[16..48];
            let ql = &b[48..176];
            let (mut u1, mut u2) = (1u8, 2u8);
            for (k, chunk) in ql.chunks_exact(32).enumerate() {
                let (sc1, m1) = get_scale_min_k4(2 * k, scales);
                let (sc2, m2) = get_scale_min_k4(2 * k + 1, scales);
                let (d1, mm1) = (d * sc1 as f32, min * m1 as f32);
                let (d2, mm2) = (d * sc2 as f32, min * m2 as f32);
                o.extend(chunk.iter().zip(qh).map(|(&v, &h)| {
                    d1 * ((v & 0xF) as f32 + if h & u1 != 0 { 16.0 } else { 0.0 }) - mm1
                }));
                o.extend(chunk.iter().zip(qh).map(|(&v, &h)| {
                    d2 * ((v >> 4) as f32 + if h & u2 != 0 { 16.0 } else { 0.0 }) - mm2
                }));
                u1 <<= 2;
                u2 <<= 2;
            }
        }),
        GgmlType::Q6_K => each(210, &mut out, &|b, o| {
            let d = get_f16(b, 208);
            let sc = &b[192..208];
            let mut vals = [0.0f32; QK_K];
            for half in 0..2 {
                let ql = &b[64 * half..64 * half + 64];
                let qh = &b[128 + 32 * half..128 + 32 * half + 32];
                let sc = &sc[8 * half..8 * half + 8];
                let y = &mut vals[128 * half..128 * half + 128];
                for l in 0..32 {
                    let is = l / 16;
                    let q1 = ((ql[l] & 0xF) | ((qh[l] & 3) << 4)) as i8 - 32;
                    let q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) as i8 - 32;
                    let q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) as i8 - 32;
                    let q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) as i8 - 32;
                    y[l] = d * f32::from(sc[is] as i8) * f32::from(q1);
                    y[l + 32] = d * f32::from(sc[is + 2] as i8) * f32::from(q2);
                    y[l + 64] = d * f32::from(sc[is + 4] as i8) * f32::from(q3);
                    y[l + 96] = d * f32::from(sc[is + 6] as i8) * f32::from(q4);
                }
            }
            o.extend_from_slice(&vals);
        }),
        other => return Err(format!("dequantizing {other} is not implemented")),
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_int_rounds_half_to_even() {
        assert_eq!(nearest_int(2.5), 2);
        assert_eq!(nearest_int(3.5), 4);
        assert_eq!(nearest_int(-2.5), -2);
        assert_eq!(nearest_int(-0.4), 0);
        assert_eq!(nearest_int(14.7), 15);
    }

    #[test]
    fn fp16_conversion_matches_half_for_every_finite_f32_class() {
        // Sweep exponents and mantissa edges, including ties, subnormals and overflow; half's
        // slice conversion (used for F16 tensors) must agree bit for bit with ggml's scalar one.
        let mut xs = Vec::new();
        for e in 0u32..255 {
            for m in [
                0u32, 1, 0x0FFF, 0x1000, 0x1001, 0x2000, 0x3FFF, 0x7F_E000, 0x7F_F000, 0x7F_FFFF,
            ] {
                for s in [0u32, 1] {
                    xs.push(f32::from_bits((s << 31) | (e << 23) | m));
                }
            }
        }
        xs.push(f32::INFINITY);
        xs.push(f32::NEG_INFINITY);
        let mut via_half = vec![f16::ZERO; xs.len()];
        via_half.convert_from_f32_slice(&xs);
        for (x, h) in xs.iter().zip(&via_half) {
            assert_eq!(fp32_to_fp16(*x), h.to_bits(), "{x:e} ({:#x})", x.to_bits());
        }
        assert_eq!(fp32_to_fp16(f32::NAN) & 0x7E00, 0x7E00);
    }

    #[test]
    fn bf16_rounds_to_nearest_even() {
        assert_eq!(fp32_to_bf16(1.0), 0x3F80);
        assert_eq!(fp32_to_bf16(f32::from_bits(0x3F80_8000)), 0x3F80); // tie, even stays
        assert_eq!(fp32_to_bf16(f32::from_bits(0x3F81_8000)), 0x3F82); // tie, odd rounds up
        assert_eq!(fp32_to_bf16(f32::from_bits(0x7F80_0001)), 0x7FC0);
    }

    #[test]
    fn round_trips_stay_within_the_step() {
        let x: Vec<f32> = (0..512)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 17.0)
            .collect();
        for ty in [
            GgmlType::Q8_0,
            GgmlType::Q4_0,
            GgmlType::Q5_0,
            GgmlType::Q5_1,
            GgmlType::Q4_K,
            GgmlType::Q5_K,
            GgmlType::Q6_K,
        ] {
            let mut q = Vec::new();
            quantize(ty, &x, &mut q).unwrap();
            assert_eq!(q.len() as u64, ty.row_bytes(512).unwrap());
            let back = dequantize(ty, &q, 512).unwrap();
            let amax = x.iter().fold(0.0f32, |a, v| a.max(v.abs()));
            let bits = match ty {
                GgmlType::Q8_0 => 8,
                GgmlType::Q6_K => 6,
                GgmlType::Q5_0 | GgmlType::Q5_1 | GgmlType::Q5_K => 5,
                _ => 4,
            };
            let step = 2.0 * amax / ((1 << bits) - 1) as f32;
            for (a, b) in x.iter().zip(&back) {
                assert!((a - b).abs() <= step, "{ty}: {a} -> {b} (step {step})");
            }
        }
    }

    #[test]
    fn refuses_partial_blocks_and_non_finite_values() {
        let mut q = Vec::new();
        assert!(quantize(GgmlType::Q4_K, &[0.0; 255], &mut q).is_err());
        assert!(quantize(GgmlType::Q8_0, &[f32::NAN; 32], &mut q).is_err());
        assert!(q.is_empty());
        assert!(dequantize(GgmlType::Q8_0, &[0; 33], 32).is_err());
    }
}
