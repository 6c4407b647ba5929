//! Shape and masking tests: InfoCPL's top-k codebook attention (with warm-up inversion) and STAR's part pooling.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use candle_core::{Device, Tensor};
use skelzero::zsl::{infocpl, star};

fn t(v: Vec<f32>, shape: &[usize]) -> Tensor {
    Tensor::from_vec(v, shape, &Device::Cpu).unwrap()
}

#[test]
fn topk_mask_keeps_exactly_the_k_largest() {
    let s = t(vec![0.3, -1.0, 2.0, 0.5, 1.5, 0.0, -2.0, 4.0], &[2, 4]);
    let m = infocpl::topk_mask(&s, 2).unwrap().to_vec2::<f32>().unwrap();
    assert_eq!(m[0][2], 2.0);
    assert_eq!(m[0][3], 0.5);
    assert!(m[0][0].is_infinite() && m[0][1].is_infinite());
    assert_eq!(m[1][0], 1.5);
    assert_eq!(m[1][3], 4.0);
    assert!(m[1][1] == f32::NEG_INFINITY && m[1][2] == f32::NEG_INFINITY);
    // k larger than K keeps everything, k = 0 is clamped to 1.
    let all = infocpl::topk_mask(&s, 10)
        .unwrap()
        .to_vec2::<f32>()
        .unwrap();
    assert!(all.iter().flatten().all(|v| v.is_finite()));
    let one = infocpl::topk_mask(&s, 0).unwrap().to_vec2::<f32>().unwrap();
    assert_eq!(one[0].iter().filter(|v| v.is_finite()).count(), 1);
}

/// Codebook of 2 classes x 4 phrases in 2-d: phrase j of class c is a distinct axis-aligned vector, so the
/// aggregated embedding reveals which phrases got weight.
#[test]
fn codebook_attention_uses_top_k_and_inverts_in_warmup() {
    let phrases = t(
        vec![
            1.0, 0.0, 0.5, 0.0, -0.5, 0.0, -1.0, 0.0, // class 0: along x
            0.0, 1.0, 0.0, 0.5, 0.0, -0.5, 0.0, -1.0, // class 1: along y
        ],
        &[2, 4, 2],
    );
    let u = t(vec![10.0, 10.0, 10.0, 10.0, -10.0, -10.0], &[3, 2]);
    let out = infocpl::codebook_attention(&u, &phrases, 1, 1.0).unwrap();
    assert_eq!(out.dims(), &[3, 2, 2]);
    let o = out.to_vec3::<f32>().unwrap();
    // k = 1, rho = 1: exactly the most similar phrase.
    assert_eq!(o[0][0], vec![1.0, 0.0]);
    assert_eq!(o[0][1], vec![0.0, 1.0]);
    assert_eq!(o[2][0], vec![-1.0, 0.0]);
    // Inverted (warm-up): the least similar phrase.
    let inv = infocpl::codebook_attention(&u, &phrases, 1, -1.0)
        .unwrap()
        .to_vec3::<f32>()
        .unwrap();
    assert_eq!(inv[0][0], vec![-1.0, 0.0]);
    assert_eq!(inv[2][1], vec![0.0, 1.0]);
    // k = 2: a convex mix of the top two phrases only (x in [0.5, 1]).
    let two = infocpl::codebook_attention(&u, &phrases, 2, 1.0)
        .unwrap()
        .to_vec3::<f32>()
        .unwrap();
    assert!(two[0][0][0] > 0.5 && two[0][0][0] < 1.0, "{:?}", two[0][0]);
    let inv2 = infocpl::codebook_attention(&u, &phrases, 2, -1.0)
        .unwrap()
        .to_vec3::<f32>()
        .unwrap();
    assert!(
        inv2[0][0][0] < -0.5 && inv2[0][0][0] > -1.0,
        "{:?}",
        inv2[0][0]
    );
}

#[test]
fn x_sampling_draws_only_other_classes_in_equal_numbers() {
    use rand::SeedableRng;
    let labels = [0, 0, 1, 2, 2, 2];
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    let negs = infocpl::sample_negatives(&labels, 8, &mut rng);
    // Class 2 anchors have only 3 other-class rows, so every anchor gets 3.
    assert!(negs.iter().all(|n| n.len() == 3));
    for (i, n) in negs.iter().enumerate() {
        assert!(n.iter().all(|&j| labels[j] != labels[i]));
        let mut d = n.clone();
        d.sort_unstable();
        d.dedup();
        assert_eq!(d.len(), n.len());
    }
}

#[test]
fn star_part_tokens_pick_the_part_joints_in_order() {
    // map[n, t, v, c] = 1000 n + 100 t + v + c / 10.
    let (n, tt, v, c) = (2, 3, 25, 2);
    let mut data = Vec::new();
    for a in 0..n {
        for b in 0..tt {
            for j in 0..v {
                for k in 0..c {
                    data.push(1000.0 * a as f32 + 100.0 * b as f32 + j as f32 + k as f32 / 10.0);
                }
            }
        }
    }
    let map = t(data, &[n, tt, v, c]);
    let joints = &skelzero::skeleton::PartScheme::Six.parts()[0].joints; // head: 2, 3, 20
    let tok = star::part_tokens(&map, joints).unwrap();
    assert_eq!(tok.dims(), &[n, tt * joints.len(), c]);
    let x = tok.to_vec3::<f32>().unwrap();
    assert_eq!(x[1][0], vec![1002.0, 1002.1]);
    assert_eq!(x[1][2], vec![1020.0, 1020.1]);
    assert_eq!(x[1][3], vec![1102.0, 1102.1]);
    assert_eq!(x[0][8], vec![220.0, 220.1]);
    // A joint outside the map is an error, not a panic.
    let small = map.narrow(2, 0, 10).unwrap();
    assert!(star::part_tokens(&small, joints).is_err());
}

#[test]
fn smie_keyframe_masking_drops_the_fastest_frames_of_a_sequence() {
    use rand::SeedableRng;
    use skelzero::skeleton::{LayoutId, Sequence};
    // 10 frames of one body; only frame 6 jumps, so frames 5, 6 and 7 have the highest motion attention.
    let joints = LayoutId::Ntu25.num_joints();
    let mut data = vec![0f32; 10 * joints * 3];
    for v in &mut data[6 * joints * 3..7 * joints * 3] {
        *v = 1.0;
    }
    // Tag each frame in joint 0's x so the kept frames can be read back.
    for f in 0..10 {
        data[f * joints * 3] = f as f32 * 0.01 + if f == 6 { 1.0 } else { 0.0 };
    }
    let seq = Sequence::new(LayoutId::Ntu25, 10, 1, data).unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    let masked = skelzero::zsl::smie::keyframe_masked(&seq, 2, &mut rng).unwrap();
    assert_eq!(masked.frames(), 6);
    let tags: Vec<usize> = (0..6)
        .map(|f| ((masked.joint(f, 0, 0)[0] % 1.0) * 100.0).round() as usize)
        .collect();
    assert!(!tags.contains(&6), "{tags:?}");
    assert!(tags.windows(2).all(|w| w[0] < w[1]), "{tags:?}");
}
