//! SSD anchors and box decoding for MediaPipe's short-range face detector (128x128 input,
//! 896 anchors), with weighted non-maximum suppression.
//!
//! Facts used (from the model card; the code is our own): strides `[8, 16, 16, 16]` on a
//! 128x128 input, two anchors per cell and per layer, layers of the same stride share one grid
//! (so 2 anchors per cell on the 16x16 grid and 6 on the 8x8 grid), anchor centers at
//! `(x + 0.5) / grid`, anchor size fixed at 1. Each of the 896 regressor rows holds the box
//! center offset and size in input pixels (dx, dy, w, h) followed by six (x, y) keypoints; the
//! scores are logits.

/// An anchor center in normalized `[0, 1]` input coordinates (the size is always 1 here).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Anchor {
    /// Center x.
    pub cx: f32,
    /// Center y.
    pub cy: f32,
}

/// A decoded detection in normalized `[0, 1]` coordinates of the model input.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    /// Left edge.
    pub xmin: f32,
    /// Top edge.
    pub ymin: f32,
    /// Right edge.
    pub xmax: f32,
    /// Bottom edge.
    pub ymax: f32,
    /// Probability (sigmoid of the logit).
    pub score: f32,
    /// Six keypoints: eyes, nose tip, mouth, ear tragions (x, y).
    pub keypoints: Vec<(f32, f32)>,
}

impl Detection {
    fn area(&self) -> f32 {
        (self.xmax - self.xmin).max(0.0) * (self.ymax - self.ymin).max(0.0)
    }

    /// Intersection over union with `other` (0 when either box is empty).
    pub fn iou(&self, other: &Detection) -> f32 {
        let w = (self.xmax.min(other.xmax) - self.xmin.max(other.xmin)).max(0.0);
        let h = (self.ymax.min(other.ymax) - self.ymin.max(other.ymin)).max(0.0);
        let inter = w * h;
        let union = self.area() + other.area() - inter;
        if union > 0.0 {
            inter / union
        } else {
            0.0
        }
    }
}

/// Anchors of an SSD head: consecutive layers with the same stride share one grid, each layer
/// adding `per_layer` anchors per cell. Cells are visited row by row, anchors of a cell together.
pub fn ssd_anchors(input_size: usize, strides: &[usize], per_layer: usize) -> Vec<Anchor> {
    let mut anchors = Vec::new();
    let mut layer = 0;
    while layer < strides.len() {
        let stride = strides[layer].max(1);
        let mut per_cell = 0;
        while layer < strides.len() && strides[layer].max(1) == stride {
            per_cell += per_layer;
            layer += 1;
        }
        let grid = input_size.div_ceil(stride);
        for y in 0..grid {
            for x in 0..grid {
                let a = Anchor {
                    cx: (x as f32 + 0.5) / grid as f32,
                    cy: (y as f32 + 0.5) / grid as f32,
                };
                anchors.extend(std::iter::repeat_n(a, per_cell));
            }
        }
    }
    anchors
}

/// The 896 anchors of the short-range face detector.
pub fn face_short_range_anchors() -> Vec<Anchor> {
    ssd_anchors(128, &[8, 16, 16, 16], 2)
}

/// The logistic function, with the logit clamped as the detector's post-processing does.
pub fn sigmoid(logit: f32) -> f32 {
    1.0 / (1.0 + (-logit.clamp(-100.0, 100.0)).exp())
}

/// Decodes raw outputs (`regressors` `[n, 16]`, `logits` `[n]`) into the detections whose
/// probability is at least `threshold`. `input_size` is the model's input side in pixels.
pub fn decode(
    regressors: &[f32],
    logits: &[f32],
    anchors: &[Anchor],
    input_size: f32,
    threshold: f32,
) -> Result<Vec<Detection>, String> {
    const ROW: usize = 16;
    if logits.len() != anchors.len() || regressors.len() != anchors.len() * ROW {
        return Err(format!(
            "expected {} anchors x {ROW} regressors and {} scores, got {} and {}",
            anchors.len(),
            anchors.len(),
            regressors.len(),
            logits.len()
        ));
    }
    let mut out = Vec::new();
    for ((a, r), &logit) in anchors.iter().zip(regressors.chunks_exact(ROW)).zip(logits) {
        let score = sigmoid(logit);
        if score < threshold {
            continue;
        }
        let cx = a.cx + r[0] / input_size;
        let cy = a.cy + r[1] / input_size;
        let (w, h) = (r[2] / input_size, r[3] / input_size);
        let keypoints = r[4..]
            .chunks_exact(2)
            .map(|k| (a.cx + k[0] / input_size, a.cy + k[1] / input_size))
            .collect();
        out.push(Detection {
            xmin: cx - w / 2.0,
            ymin: cy - h / 2.0,
            xmax: cx + w / 2.0,
            ymax: cy + h / 2.0,
            score,
            keypoints,
        });
    }
    Ok(out)
}

/// Weighted non-maximum suppression: the best remaining detection and every detection that
/// overlaps it by more than `iou_threshold` are merged into one, whose coordinates are the
/// score-weighted mean of the group and whose score is the best one.
pub fn weighted_nms(mut detections: Vec<Detection>, iou_threshold: f32) -> Vec<Detection> {
    detections.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut merged = Vec::new();
    while !detections.is_empty() {
        let best = detections.remove(0);
        let (group, rest): (Vec<Detection>, Vec<Detection>) = detections
            .into_iter()
            .partition(|d| best.iou(d) > iou_threshold);
        detections = rest;
        let total: f32 = best.score + group.iter().map(|d| d.score).sum::<f32>();
        let mean = |f: &dyn Fn(&Detection) -> f32| {
            (f(&best) * best.score + group.iter().map(|d| f(d) * d.score).sum::<f32>()) / total
        };
        let keypoints = (0..best.keypoints.len())
            .map(|k| {
                let x = mean(&|d| d.keypoints.get(k).map_or(0.0, |p| p.0));
                let y = mean(&|d| d.keypoints.get(k).map_or(0.0, |p| p.1));
                (x, y)
            })
            .collect();
        merged.push(Detection {
            xmin: mean(&|d| d.xmin),
            ymin: mean(&|d| d.ymin),
            xmax: mean(&|d| d.xmax),
            ymax: mean(&|d| d.ymax),
            score: best.score,
            keypoints,
        });
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchor_layout() {
        let a = face_short_range_anchors();
        assert_eq!(a.len(), 896);
        assert_eq!(
            a[0],
            Anchor {
                cx: 0.5 / 16.0,
                cy: 0.5 / 16.0
            }
        );
        assert_eq!(a[1], a[0]);
        assert_eq!(a[2].cx, 1.5 / 16.0);
        assert_eq!(
            a[512],
            Anchor {
                cx: 0.5 / 8.0,
                cy: 0.5 / 8.0
            }
        );
        assert_eq!(a[517], a[512]);
        assert_eq!(a[518].cx, 1.5 / 8.0);
        assert_eq!(
            a[895],
            Anchor {
                cx: 7.5 / 8.0,
                cy: 7.5 / 8.0
            }
        );
    }
}
