//! NTU RGB+D raw `.skeleton` files (Kinect v2, 25 joints), and the `SsssCcccPpppRrrrAaaa` file names.
//!
//! A file may track several bodies (bystanders, noise from furniture). As the standard NTU pipeline
//! (CTR-GCN's `get_raw_denoised_data`) does, bodies seen for 11 frames or fewer are dropped, then bodies whose x
//! spread exceeds 0.8 of their y spread in most frames (not person-shaped), then the rest are ranked by motion and
//! packed into two actors: the most active body first, others into the first actor slot whose frames they do not
//! overlap. Motion is CTR-GCN's `np.var(joints.reshape(-1, 3), axis=0).sum()`: the variance of x, y and z pooled over
//! all joints and frames of the body, summed over the three axes.

use std::path::Path;

use super::ReadError;
use super::numbers::{Lines, parse_int, push_floats, tokens};
use crate::skeleton::{LayoutId, Sequence};

const JOINTS: usize = 25;
const FIELDS_PER_JOINT: usize = 12;
/// Bodies seen for this many frames or fewer are noise.
const NOISE_LEN_THRES: usize = 11;
/// A frame is not person-shaped when its x spread exceeds this fraction of its y spread.
const NOISE_SPR_THRES1: f32 = 0.8;
/// A body with at least this fraction of such frames is noise.
const NOISE_SPR_THRES2: f64 = 0.69754;

/// The fields of an NTU file name such as `S001C002P003R001A060`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NtuName {
    pub setup: u32,
    pub camera: u32,
    pub subject: u32,
    pub repetition: u32,
    /// 1-based action id.
    pub action: u32,
}

impl NtuName {
    /// Parses the first 20 characters of a file stem (`S001C001P001R001A001_joints` works too).
    pub fn parse(stem: &str) -> Option<Self> {
        let b = stem.as_bytes();
        if b.len() < 20 {
            return None;
        }
        let field = |at: usize, letter: u8| -> Option<u32> {
            if b[at] != letter || !b[at + 1..at + 4].iter().all(u8::is_ascii_digit) {
                return None;
            }
            stem.get(at + 1..at + 4)?.parse().ok()
        };
        Some(Self {
            setup: field(0, b'S')?,
            camera: field(4, b'C')?,
            subject: field(8, b'P')?,
            repetition: field(12, b'R')?,
            action: field(16, b'A')?,
        })
    }

    /// The 20-character code, as used in the missing-skeleton lists.
    pub fn code(&self) -> String {
        format!(
            "S{:03}C{:03}P{:03}R{:03}A{:03}",
            self.setup, self.camera, self.subject, self.repetition, self.action
        )
    }
}

/// One tracked body of a raw file.
#[derive(Debug)]
struct Track {
    id: Vec<u8>,
    /// Raw frame indices where the body appears.
    frames: Vec<usize>,
    /// `[frame][joint][xyz]` for the frames in `frames`.
    joints: Vec<f32>,
    /// `[frame][joint]` trackingState as a confidence: 2 (tracked) 1.0, 1 (inferred) 0.5, 0 (not tracked) 0.0.
    tracking: Vec<f32>,
}

impl Track {
    /// Summed variance of x, y and z over all joints and frames (CTR-GCN's motion amount).
    fn motion(&self, frames: impl Iterator<Item = usize> + Clone) -> f64 {
        let mut total = 0.0;
        for axis in 0..3 {
            let values = frames
                .clone()
                .flat_map(|f| (0..JOINTS).map(move |j| (f * JOINTS + j) * 3 + axis))
                .map(|i| f64::from(self.joints[i]));
            let (n, sum, sq) =
                values.fold((0usize, 0.0, 0.0), |(n, s, q), v| (n + 1, s + v, q + v * v));
            if n > 0 {
                let mean = sum / n as f64;
                total += (sq / n as f64 - mean * mean).max(0.0);
            }
        }
        total
    }

    /// Indices (into `frames`) of person-shaped frames.
    fn spread_ok_frames(&self) -> Vec<usize> {
        (0..self.frames.len())
            .filter(|&f| {
                let pts = &self.joints[f * JOINTS * 3..(f + 1) * JOINTS * 3];
                let range = |axis: usize| {
                    let it = pts.iter().skip(axis).step_by(3);
                    let (lo, hi) = it.fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
                        (lo.min(v), hi.max(v))
                    });
                    hi - lo
                };
                range(0) <= NOISE_SPR_THRES1 * range(1)
            })
            .collect()
    }
}

/// A raw NTU file read into up to two actors.
#[derive(Debug)]
pub struct NtuSkeleton {
    /// All frames of the file; frames where no body was tracked are zeros.
    pub seq: Sequence,
    /// Number of distinct body ids in the file before denoising.
    pub tracked_bodies: usize,
    /// Frames with no tracked body.
    pub empty_frames: usize,
}

/// Reads a `.skeleton` file. A file with no body in any frame is an error.
pub fn read(path: &Path) -> Result<NtuSkeleton, ReadError> {
    let bytes = super::numbers::read_bytes(path)?;
    parse(&bytes, path)
}

/// Parses the bytes of a `.skeleton` file; a file with no body in any frame is an error.
pub fn parse(bytes: &[u8], path: &Path) -> Result<NtuSkeleton, ReadError> {
    parse_allow_empty(bytes, path)?
        .ok_or_else(|| ReadError::file(path, "no body is tracked in any frame"))
}

/// Parses the bytes of a `.skeleton` file; `None` when no body is tracked in any frame (the samples of the
/// missing-skeleton lists look like that).
pub fn parse_allow_empty(bytes: &[u8], path: &Path) -> Result<Option<NtuSkeleton>, ReadError> {
    super::numbers::check_text(bytes, path, "an NTU .skeleton text file")?;
    let mut lines = Lines::new(bytes);
    let declared: usize = count_line(&mut lines, path, "frame count")?;
    // Every frame takes at least two bytes ("0\n"), so a larger count is a lie; never allocate from it.
    if declared > bytes.len() / 2 {
        return Err(ReadError::line(
            path,
            1,
            format!(
                "frame count {declared} is impossible for a file of {} bytes",
                bytes.len()
            ),
        ));
    }
    let mut tracks: Vec<Track> = Vec::new();
    let mut empty_frames = 0;
    let mut row = Vec::with_capacity(FIELDS_PER_JOINT);
    for frame in 0..declared {
        let n_bodies: usize = count_line(
            &mut lines,
            path,
            &format!("body count of frame {}", frame + 1),
        )?;
        // A body takes at least 27 lines of a few bytes each.
        if n_bodies.saturating_mul(27 * 4) > lines.remaining() {
            return Err(ReadError::line(
                path,
                lines.line_no(),
                format!(
                    "body count {n_bodies} of frame {} does not fit in the rest of the file",
                    frame + 1
                ),
            ));
        }
        if n_bodies == 0 {
            empty_frames += 1;
        }
        for _ in 0..n_bodies {
            let info = next_line(&mut lines, path, "a body info line")?;
            let n_info = tokens(info).count();
            if n_info != 10 {
                return Err(ReadError::line(
                    path,
                    lines.line_no(),
                    format!("body info line has {n_info} fields, expected 10"),
                ));
            }
            let id = tokens(info).next().unwrap_or_default().to_vec();
            let n_joints: usize = count_line(&mut lines, path, "joint count")?;
            if n_joints != JOINTS {
                return Err(ReadError::line(
                    path,
                    lines.line_no(),
                    format!("joint count is {n_joints}, expected {JOINTS}"),
                ));
            }
            let t = match tracks.iter().position(|t| t.id == id) {
                Some(i) => i,
                None => {
                    tracks.push(Track {
                        id,
                        frames: Vec::new(),
                        joints: Vec::new(),
                        tracking: Vec::new(),
                    });
                    tracks.len() - 1
                }
            };
            let track = &mut tracks[t];
            if track.frames.last() == Some(&frame) {
                return Err(ReadError::line(
                    path,
                    lines.line_no() - 1,
                    "the same body id appears twice in one frame",
                ));
            }
            track.frames.push(frame);
            for _ in 0..JOINTS {
                let line = next_line(&mut lines, path, "a joint line")?;
                row.clear();
                let n = push_floats(line, &mut row)
                    .map_err(|e| ReadError::line(path, lines.line_no(), e.to_string()))?;
                if n != FIELDS_PER_JOINT {
                    return Err(ReadError::line(
                        path,
                        lines.line_no(),
                        format!("joint line has {n} fields, expected {FIELDS_PER_JOINT}"),
                    ));
                }
                track.joints.extend_from_slice(&row[..3]);
                // Kinect v2's trackingState: 0 not tracked, 1 inferred, 2 tracked. The coordinates are what the
                // models read, so an odd state is clamped rather than refused.
                let state = row[FIELDS_PER_JOINT - 1];
                track.tracking.push((0.5 * state).clamp(0.0, 1.0));
            }
        }
    }
    if !lines.at_end() {
        return Err(ReadError::line(
            path,
            lines.line_no() + 1,
            format!("unexpected data after the {declared} frames the header declares"),
        ));
    }
    if tracks.is_empty() {
        return Ok(None);
    }
    let tracked_bodies = tracks.len();
    let actors = pick_actors(tracks);
    let bodies = if actors[1].is_empty() { 1 } else { 2 };
    let mut data = vec![0.0f32; declared * bodies * JOINTS * 3];
    let mut confidence = vec![0.0f32; declared * bodies * JOINTS];
    for (slot, parts) in actors.iter().enumerate().take(bodies) {
        for track in parts {
            for (k, &f) in track.frames.iter().enumerate() {
                let dst = (f * bodies + slot) * JOINTS;
                data[3 * dst..3 * (dst + JOINTS)]
                    .copy_from_slice(&track.joints[k * JOINTS * 3..(k + 1) * JOINTS * 3]);
                confidence[dst..dst + JOINTS]
                    .copy_from_slice(&track.tracking[k * JOINTS..(k + 1) * JOINTS]);
            }
        }
    }
    let seq = Sequence::new(LayoutId::Ntu25, declared, bodies, data)
        .and_then(|s| s.with_confidence(confidence))
        .map_err(|e| ReadError::file(path, e.to_string()))?;
    Ok(Some(NtuSkeleton {
        seq,
        tracked_bodies,
        empty_frames,
    }))
}

/// Denoises the tracks and packs them into two actor slots (see the module docs).
fn pick_actors(mut tracks: Vec<Track>) -> [Vec<Track>; 2] {
    if tracks.len() > 1 {
        // Too short to be a person. Keep at least one body so a short clip is not emptied.
        let longest = tracks.iter().map(|t| t.frames.len()).max().unwrap_or(0);
        tracks.retain(|t| t.frames.len() > NOISE_LEN_THRES || t.frames.len() == longest);
        if tracks.len() > 1 && longest <= NOISE_LEN_THRES {
            tracks.truncate(1);
        }
    }
    let mut ranked: Vec<(f64, Track)> = Vec::new();
    if tracks.len() == 1 {
        ranked.extend(tracks.into_iter().map(|t| (0.0, t)));
    } else {
        let mut remaining = tracks.len();
        for t in tracks {
            let motion = t.motion(0..t.frames.len());
            let ok = t.spread_ok_frames();
            let noise = t.frames.len() - ok.len();
            if noise == 0 || remaining == 1 {
                ranked.push((motion, t));
            } else if noise as f64 / t.frames.len() as f64 >= NOISE_SPR_THRES2 {
                remaining -= 1;
            } else {
                let m = motion.min(t.motion(ok.iter().copied()));
                ranked.push((m, t));
            }
        }
        // Stable sort: equal motions keep file order.
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
    }
    let mut actors: [Vec<Track>; 2] = [Vec::new(), Vec::new()];
    // As in CTR-GCN, the second slot starts as a virtual span (0, 0) and its start stays 0.
    let mut spans = [(0usize, 0usize, false), (0, 0, true)];
    for (_, t) in ranked {
        let (start, end) = (t.frames[0], *t.frames.last().unwrap_or(&t.frames[0]));
        let free = |s: (usize, usize, bool)| !s.2 || start.max(s.0) >= end.min(s.1);
        let slot = if actors[0].is_empty() || free(spans[0]) {
            Some(0)
        } else if free(spans[1]) {
            Some(1)
        } else {
            None
        };
        if let Some(s) = slot {
            let span = &mut spans[s];
            *span = if span.2 {
                (span.0.min(start), span.1.max(end), true)
            } else {
                (start, end, true)
            };
            actors[s].push(t);
        }
    }
    actors
}

fn next_line<'a>(lines: &mut Lines<'a>, path: &Path, what: &str) -> Result<&'a [u8], ReadError> {
    lines.next().ok_or_else(|| {
        ReadError::line(
            path,
            lines.line_no() + 1,
            format!("file ends early: expected {what} (truncated?)"),
        )
    })
}

fn count_line(lines: &mut Lines<'_>, path: &Path, what: &str) -> Result<usize, ReadError> {
    let line = next_line(lines, path, what)?;
    let mut toks = tokens(line);
    let value = toks.next().and_then(parse_int::<usize>);
    match (value, toks.next()) {
        (Some(v), None) => Ok(v),
        _ => Err(ReadError::line(
            path,
            lines.line_no(),
            format!(
                "expected the {what} (one non-negative integer), got `{}`",
                super::numbers::shorten(line)
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(id: u32, offset: f32, wide: bool) -> String {
        let mut s = format!("{id} 0 1 1 1 1 0 0.1 0.1 2\n25\n");
        for j in 0..25 {
            let x = if wide {
                j as f32
            } else {
                offset + 0.01 * j as f32
            };
            s += &format!("{x} {} 3 1 1 1 1 0 0 0 0 2\n", 0.1 * j as f32 + offset);
        }
        s
    }

    #[test]
    fn tracking_state_becomes_confidence() {
        let mut s = String::from("1\n1\n");
        s += &body(3, 0.0, false);
        // Joint 0 not tracked, joint 1 inferred (the last field of the joint line).
        let mut lines: Vec<String> = s.lines().map(str::to_owned).collect();
        for (line, state) in [(4, "0"), (5, "1")] {
            let mut fields: Vec<&str> = lines[line].split(' ').collect();
            fields[11] = state;
            lines[line] = fields.join(" ");
        }
        let text = lines.join("\n") + "\n";
        let skel = parse(text.as_bytes(), Path::new("S001C001P001R001A001.skeleton")).unwrap();
        assert_eq!(skel.seq.confidence(0, 0, 0), Some(0.0));
        assert_eq!(skel.seq.confidence(0, 0, 1), Some(0.5));
        assert_eq!(skel.seq.confidence(0, 0, 2), Some(1.0));
    }

    #[test]
    fn names_parse() {
        let n = NtuName::parse("S017C003P020R002A120_joints").unwrap();
        assert_eq!(
            (n.setup, n.camera, n.subject, n.repetition, n.action),
            (17, 3, 20, 2, 120)
        );
        assert_eq!(n.code(), "S017C003P020R002A120");
        assert!(NtuName::parse("S01C003P020R002A120").is_none());
    }

    #[test]
    fn two_actors_and_noise() {
        // Body 7 moves a lot, body 8 a little, body 9 appears in 3 frames only: 7 and 8 are kept, 7 first.
        let mut s = String::from("20\n");
        for f in 0..20 {
            let n = if f < 3 { 3 } else { 2 };
            s += &format!("{n}\n");
            s += &body(8, 0.001 * f as f32, false);
            s += &body(7, 0.1 * f as f32, false);
            if f < 3 {
                s += &body(9, 5.0 * f as f32, false);
            }
        }
        let sk = parse(s.as_bytes(), Path::new("t.skeleton")).unwrap();
        assert_eq!(sk.tracked_bodies, 3);
        assert_eq!(sk.seq.bodies(), 2);
        assert_eq!(sk.seq.frames(), 20);
        assert!(
            (sk.seq.joint(19, 0, 0)[0] - 1.9).abs() < 1e-5,
            "most active body first"
        );
        assert!((sk.seq.joint(19, 1, 0)[0] - 0.019).abs() < 1e-5);
    }

    #[test]
    fn wide_bodies_are_noise() {
        // Body 5 is wider than tall in every frame (furniture) and moves most: it is dropped, body 4 stays alone.
        let mut s = String::from("15\n");
        for f in 0..15 {
            s += "2\n";
            s += &body(4, 0.01 * f as f32, false);
            s += &body(5, 0.5 * f as f32, true);
        }
        let sk = parse(s.as_bytes(), Path::new("t.skeleton")).unwrap();
        assert_eq!(sk.tracked_bodies, 2);
        assert_eq!(sk.seq.bodies(), 1);
        assert!((sk.seq.joint(14, 0, 0)[0] - 0.14).abs() < 1e-5);
    }

    #[test]
    fn non_overlapping_bodies_share_a_slot() {
        // Body 1 in frames 0..15, body 2 (less active) in frames 15..30, body 3 in all frames and most active.
        // (Were body 2 the more active, CTR-GCN's second-slot span would start at 0 and body 1 would be dropped.)
        let mut s = String::from("30\n");
        for f in 0..30 {
            s += "2\n";
            s += &body(3, 0.2 * f as f32, false);
            let (id, step) = if f < 15 { (1, 0.02) } else { (2, 0.01) };
            s += &body(id, step * f as f32, false);
        }
        let sk = parse(s.as_bytes(), Path::new("t.skeleton")).unwrap();
        assert_eq!((sk.tracked_bodies, sk.seq.bodies()), (3, 2));
        assert!((sk.seq.joint(29, 0, 0)[0] - 5.8).abs() < 1e-4);
        assert!((sk.seq.joint(3, 1, 0)[0] - 0.06).abs() < 1e-5);
        assert!((sk.seq.joint(29, 1, 0)[0] - 0.29).abs() < 1e-5);
    }
}
