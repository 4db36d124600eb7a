#pragma once
// Options of the DS-DSO backend (windowed photometric BA, point management, keyframe decision,
// initialisation, recovery). Every field has its default and meaning next to it; Check() throws
// std::invalid_argument naming the first invalid field. No globals: a System owns its options.
#include <string>

#include "dso/coarse_tracker.h"
#include "dso/pixel_selector.h"

namespace dso {

struct PointOptions {
  int desired_active_points = 2000;     // active points kept in the window (DSO: 2000)
  int desired_immature_points = 1500;   // new candidates created per keyframe (gradient selector)
  int max_keypoint_candidates = 1000;   // at most this many external keypoints become candidates
  double min_activation_distance_px = 1.0;  // lower bound of the adaptive activation distance (level 0)
  double trace_max_pixel_interval = 8.0;    // activate once the epipolar interval is shorter (px)
  double trace_min_quality = 3.0;       // second-best / best energy ratio needed to trust a trace
  double trace_step_px = 1.0;           // discrete search step along the epipolar line (px)
  int trace_max_steps = 100;            // longest discrete search (steps)
  int trace_gn_iterations = 3;          // Gauss-Newton refinements of a trace
  double trace_outlier_energy = 12.0 * 12.0;  // pattern energy per pixel above which a trace is an outlier
  double min_idepth = 1e-4;             // inverse depths below this are clamped (1/m or 1/unit)
  double prior_sigma_scale = 2.0;       // prior idepth interval half-width in prior standard deviations
  double default_prior_relative_sigma = 0.2;  // sigma(depth)/depth when a depth map gives no variance
  // Prior depths beyond this (the prior's unit, nominally m) are ignored: a depth network's far depths
  // are compressed and uncertain, so those candidates get their depth from parallax (epipolar tracing)
  // as in DSO. 0 = every prior depth is used. 40 m: KITTI 02 t_rel 2.36 -> 2.17 %, 07 ATE 0.325 -> 0.301 m,
  // 00 3.61 -> 3.68 % (3 seeds; 25 m similar with a worse RPE-1 on 02; softening far priors instead,
  // a sigma floor at 15 / 30 m, was worse; bench/RESULTS.md).
  double max_prior_depth = 40.0;
};

struct BundleAdjustmentOptions {
  int max_iterations = 4;               // LM iterations per keyframe
  double huber_threshold = 9.0;         // Huber threshold of a pattern pixel residual (intensity); also the
                                        // point tracer's, and tracker.huber_threshold must equal it
  double gradient_weight_c = 50.0;      // weight c^2 / (c^2 + |grad I|^2) per pattern pixel
  double outlier_energy = 12.0 * 12.0;  // mean pattern energy above which a residual is an outlier
  double initial_lambda = 1e-5;         // initial LM damping
  double affine_a_prior = 1e6;          // weight of prior pulling affine a to 0 (exposure unknown)
  double affine_b_prior = 1e6 / (255.0 * 255.0) * 1e2;  // weight of prior pulling affine b to 0
  double depth_prior_weight = 1.0;      // multiplier of the depth-prior residual (1 / sigma^2 scaled)
  // Depth-prior scale is applied outside the LM solve (which never moves the window's scale, see
  // window_ba.h; System::HoldPriorScale): after each BA the window is rescaled by exp(g * median
  // log(window idepth / prior idepth)) over its active points with a prior, and the prior is used in
  // the window's unit (shape, search intervals, PnP hypotheses). g = 1/2, 1/3, ... over the first
  // keyframes (a running mean of the prior's unit), then this floor: an exponential memory of ~1/gain
  // keyframes. 0.02 follows the network's long-run unit without its keyframe-to-keyframe noise (the
  // shipped DepthNet's unit moves by +-15 % along KITTI 02; 0.2 / 1.0, and 0.05 / 0.1 with
  // prior_scale_near_fraction 0.5, measured worse, bench/RESULTS.md).
  double prior_scale_gain = 0.02;
  int prior_scale_min_points = 50;      // fewer prior points in the window: the road alone holds the scale
  // The prior hands the scale over to the road: once the held road height (ground_height_samples) has
  // corrected the scale with this many road planes, updates without an accepted road plane leave the scale
  // where it is (they no longer follow the prior's unit), and new keyframes take the prior with its sigma
  // times prior_handover_sigma_scale (it still shapes new points and bounds their searches). A relock
  // hands the scale back until its target has corrected as often. The network's unit drifts by +-20 %
  // against the road along KITTI 02, but a road held alone is no steadier on the whole: default dsdso,
  // 20 planes, selector seeds 0-5 (bench/RESULTS.md): KITTI 00 t_rel 1.33 -> 1.18 %, 02 from frames 50 / 100
  // 1.79 / 1.84 -> 1.41 / 1.39 %, but 02 0.97 -> 1.20 %, validation 07 ATE 0.242 -> 0.256 m; over 14 more clips
  // (faster, exposure changes, renders; seeds 0-1) 1.07x worse (02 every 3rd frame 1.60 -> 3.59 %). Off by
  // default until a depth network holds its unit better. 0 = off.
  int prior_handover_planes = 0;
  double prior_handover_sigma_scale = 4.0;  // >= 1
  // The window's unit is measured on the nearest this fraction of those points (by prior depth): a
  // depth network's error grows with distance (far depths saturate), so the far points, whose share
  // changes with the scene (open fields vs. streets), would move the unit. 1 = every point.
  double prior_scale_near_fraction = 0.5;
  // Measure the unit on the window's road points instead when a road plane is found among them
  // (dso/ground_plane.h, in the newest keyframe's frame): a depth network's road depth is its most
  // consistent output. Falls back to the near points without a plane. Default dsdso, 3 seeds: KITTI 00
  // t_rel 3.68 -> 3.40 %, 02 2.17 -> 1.56 %, but validation 07 ATE 0.30 -> 0.42 m (bench/RESULTS.md).
  bool prior_scale_ground = true;
  // Hold the camera's height above the road (a camera on a vehicle): the median height, in the window's
  // unit, of the road planes among the first this many HoldPriorScale updates that find a plane (the
  // largest group of parallel ones, see ground_height_parallel_deg) is the target; later
  // updates rescale the window by exp(ground_height_gain * log(target / height)) instead of following
  // the prior's unit (dso/ground_plane.h, GroundHeightHold). Default dsdso, 3 seeds (bench/RESULTS.md):
  // KITTI 00 / 02 t_rel 3.40 / 1.57 -> 1.28 / 1.16 %, RPE-1 0.053 / 0.075 -> 0.038 / 0.075 m, but
  // validation 07 ATE 0.35 -> 0.49 m (its slow start); 20 samples: 07 0.73 m. 0 = off (a handheld or
  // flying camera). Without a depth prior (pure DSO) the road's height alone holds the scale the same way
  // (System::HoldRoadHeightWithoutPrior; KITTI 00 / 02 t_rel 4.33 / 1.90 -> 1.18 / 1.00 %, 3 seeds).
  int ground_height_samples = 5;
  double ground_height_gain = 0.1;
  // A road-plane height further than this (|log(target / height)|) from the held one is not used (the
  // update follows the prior instead): a kerb of 10-15 cm is 6-9 % of KITTI's 1.65 m (0.15 measured
  // worse on an exact-depth render, 0.08 on KITTI 02). After ground_height_relock of them in a row the target
  // is measured again (dso/ground_plane.h, GroundHeightHold).
  double ground_height_max_error = 0.10;
  int ground_height_relock = 10;
  // A relock after a long agreement (the target had corrected with at least ground_height_relock planes:
  // a map that drifted from a good target, e.g. stretched in a turn, not a target of the wrong structure):
  // when the new measurement is within this (|log(old / new)|) of the old target, the old one is kept and
  // the window rescaled to it at once; further off (or 0) the new one is held as before. Default dsdso,
  // selector seeds 0-5 (bench/RESULTS.md): KITTI 02 t_rel 1.044 -> 1.032 %, 02 every 3rd frame 2.08 -> 1.98,
  // 02 with a flickering exposure 1.40 -> 1.25, the whole render along KITTI 10 1.25 -> 1.15 (seeds 0-3);
  // only runs with such a relock change (one seed of each), the other 13 clips not at all. 0.2 until
  // 2026-12-07; 3.0 (a factor of 20) since: in a slow 90-deg turn pure DSO's map can shrink tenfold within 20
  // frames (the whole render along KITTI 10), and with 0.2 the relock then held the collapsed unit for the
  // rest of the drive (t_rel 14.4 %; 1.74 % with 3.0). Every default run of the 24-clip suite (dsdso, seeds
  // 0-2) and pure DSO on 12 clips (seeds 0-2) are the same to the bit with either (bench/RESULTS.md).
  double ground_height_drift_band = 3.0;
  // A road plane whose normal is further than this (degrees) from the held one is not used either (and
  // counts toward a relock): the planes fitted to a pavement's side, an embankment or a ramp ahead tilt
  // by 7-15 deg, the road's by < 5 (instrumented on KITTI 02 / 07). The held normal and the target come
  // from the largest group of parallel samples (dso/ground_plane.h, GroundHeightHold). Default dsdso, 3
  // seeds (bench/RESULTS.md): validation 07 ATE 0.49 -> 0.43 m, KITTI 00 / 02, the every-2nd/3rd-frame
  // clips and the demo render unchanged; 3 deg: 02s2 t_rel 1.22 -> 1.87 %. 0 = off.
  double ground_height_max_normal_deg = 7.0;
  // When the best road plane is tilted from the held road by more than ground_height_max_normal_deg (it
  // would be rejected and count toward a relock) and the held height has corrected with at least
  // ground_height_relock planes (a confirmed road), look again within this angle (degrees) of the held
  // normal and use the plane found there. A textured bank or a hedge's foot beside the road otherwise wins
  // the RANSAC over the smooth asphalt: in KITTI 02's last turn planes rolled by 13-18 deg were rejected
  // until a relock measured the held height on them (1.24x / 1.8x the road's in seeds 0 / 1) and the map
  // grew by 10-16 %. Default dsdso, selector seeds 0-11 (bench/RESULTS.md): 02 t_rel 1.072 -> 1.008 %, RPE-1
  // 0.045 -> 0.037 m, validation 07 ATE 0.276 -> 0.263 m; 00 1.333 -> 1.322 % (seeds 0-5); over 21 clips and renders
  // level (geometric mean of the ratios 0.996). Searching near the held normal first (not only after a
  // tilted plane), or from the first target on: 07's slow start worse (0.283 m); within 2 deg: 02 1.24 %.
  // 0 = off (one search).
  double ground_search_near_held_deg = 7.0;
  // A road plane nearly parallel to the held one (normal within ground_height_parallel_deg of it) is the
  // road itself: its height is used up to ground_height_parallel_max_error from the target (the larger of
  // the two bands) instead of ground_height_max_error. In a sharp turn the map grows by 10-20 % (KITTI 02
  // frames 269-300: road planes within 2 deg, 1.12-1.24x the held height) and the narrow band left the
  // scale to the prior, which grew it further; the planes of a pavement's side or an embankment tilt by
  // 7-15 deg. Default dsdso, selector seeds 0-5 (bench/RESULTS.md): KITTI 02 t_rel 1.08 -> 0.97 %, RPE-1
  // 0.056 -> 0.036 m, every-2nd-frame 02 1.29 -> 0.94 %, validation 07 ATE 0.49 -> 0.47 m, 00 unchanged.
  // The same angle groups the target's samples: the road is the largest group of planes within it of one
  // of them (KITTI 07 with a flickering exposure, 3 seeds: ATE 0.79 -> 0.44 m; bench/RESULTS.md).
  // 0 = off (one band; the target's samples grouped within ground_height_max_normal_deg).
  double ground_height_parallel_deg = 2.0;
  double ground_height_parallel_max_error = 0.20;
  // The camera's height above the road in metres (KITTI: 1.65), 0 = unknown. When the held height is first
  // measured (ground_height_samples), the whole map is rescaled once so that it is this: poses and points
  // in metres from then on, every frame since the first included; the prior is then followed in its unit
  // times that change. 0 keeps the depth prior's unit. A relock measures the target again, and puts the
  // whole map in metres again within camera_height_relock_band (taking the known height as the new target
  // in the window's unit instead, a correction rather than a change of unit: KITTI 02 every 2nd frame
  // 1.20 -> 1.71 %).
  // Default dsdso on KITTI 00 / 02 / 07 (bench/RESULTS.md): fitted scale 1.00-1.03 (1.06-1.09 / 1.16-1.37 /
  // 0.99-1.03 without), 07 ATE over 6 seeds 0.405 -> 0.302 m, 02 t_rel 1.04 -> 1.05 %, 00 1.31 -> 1.34 %;
  // 0.99-1.02 since ground_height_bias (below).
  double camera_height = 0.0;
  // With camera_height: a relock's new target (ground_height_relock) changes the whole map's unit to metres
  // again, as the first target did, when the target before it was rejected by the road more often than it
  // corrected (fewer accepted planes than ground_height_relock: it came from the wrong structure at the start
  // and the map's unit went with it) and the change |log(camera_height * ground_height_bias / target)| is
  // within this. A relock after a long agreement (a map that drifted from a good target, e.g. in a turn) or
  // further off keeps the map's unit. 0 = never. KITTI 02 every 2nd / 3rd frame, seeds 0-5: fitted scale
  // up to 1.16 / 1.37 -> 0.98-1.02, unaligned t_rel 7.5 / 9.1 -> 1.4 / 2.1 %, aligned unchanged within the
  // seeds' spread; the relocks of 02 at full rate (after 100-130 agreeing planes) are left (bench/RESULTS.md).
  double camera_height_relock_band = 0.35;
  // With camera_height and a depth prior: the held height's target (ground_height_samples) is taken from the
  // road planes whose height as the prior reads it (its depths on the plane's points, in metres) is within
  // this |log| band of camera_height, when at least two are (and when no two of those are parallel, from the
  // one nearest it); otherwise from all of them (GroundHeightHold, dso/ground_plane.h). A tilted plane on a
  // junction's structure, which the prior reads 2.3-2.9 m below the camera, then cannot outvote the road.
  // 0 = off (the largest group of parallel planes, whatever the prior says). Default dsdso, selector seeds
  // 0-2 (bench/RESULTS.md, 2026-12-08): with the shipped DepthNet 1.00x over the 24 suite clips (4 of 72 runs
  // change: 02 0.98 -> 1.01 %, 02 every 3rd frame 1.74 -> 1.70); with DepthNets adapted by `kp3d-vo adapt`
  // on 00 / on 07, the six clips of 07 0.85x / 0.94x (07 ATE 0.44 -> 0.30 m, 07 every 3rd frame 0.59 -> 0.33
  // and 0.49 -> 0.34 m). Wider than the shipped net's own error on 02's road (it reads it at 1.21-1.29 m).
  double ground_target_prior_band = 0.3;
  // The road planes' fitted height reads this factor above the camera's true height (a RANSAC band relative
  // to each hypothesis's height favours planes further below, and noisy inverse depths put road points below
  // the road: +2.5 % in a simulation at 0.01 1/m). It divides the held height (System::GroundHeight) and,
  // with camera_height, the change to metres. Measured as the fitted scale (ground truth / estimate) of the
  // default run in metres before it was applied: 1.007-1.018 on exact-geometry whole-drive renders,
  // 1.00-1.04 on the KITTI clips (median 1.018); 1.01 is the renders' value. With it (3 seeds, 13 KITTI
  // clips): fitted scale 0.99-1.02, unaligned t_rel / ATE 20 % lower (00 2.22 -> 1.48 %, validation 07 ATE
  // 1.00 -> 0.58 m), aligned t_rel unchanged within the seeds' spread (bench/RESULTS.md). 1 = as fitted, >= 1.
  double ground_height_bias = 1.01;
  // The road's height below the camera, not the fitted plane's, with the depth prior: the offsets of the
  // plane's inliers against their distance ahead, fitted by a parabola, add its value at the camera to the
  // height, clamped to this fraction (a crest or a sag ahead tilts the plane; GroundPlaneOptions::
  // max_curvature_correction, bench/RESULTS.md). 0 = the plane's own height (a flat floor, e.g. indoors).
  // Pure DSO always uses the plane's height (its near road points carry parallax depths only).
  double ground_curvature_correction = 0.05;
  double first_frame_prior = 1e10;      // gauge prior on the first keyframe (until a marg. prior exists)
  double stop_update_norm = 1e-4;       // stop when the update norm falls below this
  int num_threads = 2;                  // threads for linearisation/energy (deterministic split)
  int marginalize_points_min_residuals = 2;  // points with fewer good residuals are dropped, not marginalised
};

struct KeyframeOptions {
  // Sliding-window size. 6 rather than DSO's 7 (3 seeds, KITTI [0:300]): dsdso 00 / 02 t_rel 3.49 / 1.55 %
  // against 3.40 / 1.56, validation 07 ATE 0.351 against 0.423 m, 7 % less CPU; pure dso 4.32 / 1.90 %
  // against 4.19 / 2.05, 07 1.12 against 1.11 m; 9 was worse (bench/RESULTS.md).
  int max_keyframes = 6;
  int min_keyframes = 5;                // marginalise only when the window holds more than this
  // Keyframe when global_weight * (flow_t / (translation_flow_fraction * (w + h)) +
  //   flow_rt / (rotation_translation_flow_fraction * (w + h)) + |a_new - a_ref| / brightness_threshold) > 1,
  // flows being RMS level-0 pixel shifts of the reference points (DSO's defaults expressed as
  // fractions: 18.6 px translation flow at 640x192).
  double translation_flow_fraction = 0.0223;
  double rotation_translation_flow_fraction = 0.0446;
  double brightness_threshold = 0.5;    // |a change| (log gain) that alone triggers a keyframe
  double rmse_increase = 2.0;           // keyframe when tracking RMSE > this * RMSE right after the last keyframe
  double global_weight = 0.5;           // multiplies the whole keyframe score (DSO kfGlobalWeight is 1;
                                        // 0.5 halves the keyframe rate on KITTI at equal accuracy)
  int max_frames_between_keyframes = 10;  // force a keyframe after this many frames ...
  // ... if its translation flow from the reference keyframe is at least this fraction of the translation
  // flow threshold (translation_flow_fraction * (w + h): 3.7 px at 640x192). A camera standing or creeping
  // (a car at a traffic light) would otherwise fill the window with keyframes of no baseline, and pure DSO's
  // map loses its scale there for good (DSO forces no keyframes by count; bench/RESULTS.md).
  double forced_keyframe_min_translation = 0.2;
  double min_points_remaining = 0.05;   // marginalise keyframes with fewer of their points left
  double max_log_affine_in_window = 0.7;  // marginalise keyframes whose brightness gain differs from the newest
                                          // keyframe's by more than this (|a_newest - a_kf|, log; DSO's 0.7)
  // The last this many marginalised keyframes before the window follow the oldest window keyframe's
  // motion in every BA, with weights falling linearly to 0 (0: frozen when marginalised, as DSO). The
  // marginalisation prior holds the window's absolute pose weakly, so the window moves rigidly against
  // the frozen past (KITTI 02's last turn: ~1 m sideways over six keyframes), which left a step in the
  // per-frame trajectory. 3 seeds, default dsdso: 02 RPE-1 0.076 -> 0.051 m, t_rel 1.07 -> 1.06 %, 00
  // 0.038 -> 0.030 m, every clip's t_rel / ATE equal or better; pinning the window's oldest keyframe
  // instead (the estimator, not the output) lost on 07 and 02 at every 2nd frame (bench/RESULTS.md).
  int marginalized_follow_keyframes = 10;
};

struct InitializerOptions {
  int max_features = 600;               // KLT features on a reference frame
  double min_parallax_px = 4.0;         // median raw flow (px at level 0) before a pair is solved at all
  double min_parallax_deg = 0.5;        // median rotation-compensated ray angle (deg) of the inliers
  double max_direction_sigma_deg = 4.0; // translation-direction std (deg, 1 px noise) of a valid pair
  double min_inlier_ratio = 0.65;       // inliers / tracks of a valid pair
  int ransac_iterations = 200;          // 8-point RANSAC iterations
  double ransac_threshold_px = 1.0;     // Sampson error threshold (px); also the refinement's Huber threshold
  int min_inliers = 30;                 // tracks and inliers needed for a valid two-view geometry
  int max_init_frames = 30;             // a reference frame older than this is dropped
  int reference_interval = 4;           // a new reference frame every this many frames ...
  int max_references = 4;               // ... while fewer than this are tracked
  int klt_levels = 3;                   // pyramid levels of the KLT tracker
  int klt_window = 9;                   // KLT window (px, odd)
};

struct TrackingOptions {
  double max_rmse = 30.0;               // tracking RMSE (grey levels) above which a frame is lost
  int lost_frames_before_reinit = 3;    // consecutive lost frames (tracked against the old map
                                        // meanwhile) before the map is reset; the next frame re-initialises
  int pyramid_levels = 5;               // image pyramid levels (coarsest used for tracking)
  // The tracker tries further motion hypotheses while its best RMSE exceeds
  // tracker.retrack_threshold x the median RMSE of the last `retrack_rmse_history` tracked frames
  // (1 = the previous frame, as DSO; the median is robust to the RMSE's keyframe/tracked alternation).
  int retrack_rmse_history = 5;
  // The initial-pose hypothesis given with a frame (FrameInput::init_world_from_cam, e.g. PnP on the
  // network's keypoints and depth) is also tracked from this pyramid level down, on its own, and that
  // result replaces the usual one (all hypotheses from the coarsest level) when its RMSE is lower; -1 = off.
  // In KITTI 02's turn the coarse levels let a good PnP start slide into another minimum (frame 262: RMSE
  // 12 and 1.7 deg error; from level 1: RMSE 7.2). Default dsdso, 3 seeds, off -> 2: 02 RPE-1 0.130 -> 0.088 m
  // (t_rel 1.43 -> 1.58 %), 02 at every 2nd / 3rd frame t_rel 3.14 -> 1.87 % / 6.63 -> 4.15 % (7 seeds), 00
  // 3.49 -> 3.41 %, 07 ATE 0.340 -> 0.361 m; level 1 has 02's best RPE-1 (0.083 m) but loses the 3rd-frame
  // clip (6.33 %) (bench/RESULTS.md).
  int init_pose_coarsest_level = 2;
  // With an initial-pose hypothesis the constant-velocity prediction is also tracked on its own (from the
  // coarsest level) unless it already is the result, and replaces the result when its RMSE is lower by more
  // than this fraction; < 0 = off. The initial pose heads the hypothesis list and the list stops at the first
  // good-enough result, so without this a PnP pose that settled in a worse minimum is never compared with the
  // prediction. A margin, not a plain "lower": on normal-speed clips the prediction wins in 1-3 % of frames by
  // less than 0.05 % RMSE (the same minimum), which only perturbs the run like another seed. (measured:
  // bench/RESULTS.md, 2026-12-06 "The prediction tracked beside the PnP pose")
  double init_pose_prediction_margin = 0.02;
  // ... but not when the prediction starts within this many level-0 pixels of the result (RMS shift of the
  // reference points, CoarseTracker::PoseShift): it would settle in the same minimum. 0 = always tracked.
  // The prediction won (by the margin) only from shifts >= 8 px (KITTI 02 every 3rd / 4th frame); at normal
  // speed the shift is below 2 px in 78-88 % of frames (00 / 02), so this saves most of the extra track.
  double init_pose_prediction_min_shift_px = 2.0;
  // The constant-velocity prediction follows the frames' timestamps: the last step is scaled by the ratio
  // of the time since the last frame to the last step's time when that ratio is outside 1 +- this
  // tolerance (a dropped frame in a stamped stream; CoarseTracker::ConstantVelocityStep); -1 = off. Only
  // without an external initial pose (FrameInput::init_world_from_cam), like DSO's double / half motion:
  // PnP sees the gap itself. Every 7th frame of KITTI 02 dropped, stamped: pure DSO t_rel 3.04 -> 2.03 %
  // (3 seeds; RPE-1 0.23 -> 0.09 m); dsdso with it 0.86 -> 1.04 % (6 seeds), so not there (bench/RESULTS.md).
  double motion_time_tolerance = 0.25;
  // A tracked frame whose rotation differs from the constant-velocity prediction by more than this many
  // degrees is not accepted: it becomes LOST (pose = the prediction, no keyframe), as when tracking fails.
  // The alignment has then settled in a wrong minimum, typically once the window has run short of active
  // points (renders at 1.3 m per frame: 5.6 / 11.7 / 159 deg jumps where the true rotation changed by
  // < 0.2 deg); a true jolt accepted would be carried into the next predictions. Checked only where the two
  // frames before were tracked (not LOST / RECOVERED / INITIALIZING), so a wrong prediction cannot lock in.
  // KITTI's change of rotation from one frame to the next is <= 1.3-2.5 deg, <= 3.1 deg at every 2nd frame;
  // the check never fires on the clip suite (bench/RESULTS.md, 2026-12-07 "A tracked rotation far from the
  // prediction"). <= 0 = off.
  double max_rotation_change_deg = 5.0;
};

struct SystemOptions {
  TrackerOptions tracker;               // coarse-to-fine direct alignment (see coarse_tracker.h)
  PixelSelectorOptions selector;        // gradient candidate selection (see pixel_selector.h)
  PointOptions points;
  BundleAdjustmentOptions ba;
  KeyframeOptions keyframes;
  InitializerOptions init;
  TrackingOptions tracking;
  bool use_depth_prior = true;          // use depth maps / keypoint idepths when given
  // DSO's mapping thread: Track() returns once the frame is tracked; point tracing, keyframe creation,
  // activation, BA and marginalisation run behind it in a second thread (the result then depends on
  // timing). false: all in Track(), deterministic (tests, evaluation).
  bool mapping_thread = false;
  int mapping_max_backlog = 3;          // frames queued for the mapping thread before Track() waits (>= 1)
  // Throws std::invalid_argument("SystemOptions.<field> ...") for the first invalid value.
  void Check() const;
};

}  // namespace dso
