;; Conv-layer bin step, WebAssembly SIMD (f64x2 potentials, i16x8 level bounds): deliver one
;; bin's input spikes, decide or integrate the positions that may cross, and find each crossing
;; position's spiking map. The plain JavaScript reference `JsConvKernel`
;; (integrate.ts) does exactly the same; test/neurons/kernels.test.ts checks that both give
;; bit-identical potentials, spikes and counts.
;;
;; Layouts (all pointers are byte offsets into the imported memory, set once by `configure`):
;;   pot       f64[positions * mp]    potentials, [position][map]; mp = maps rounded up to 8;
;;                                    current up to `done` taps, stale while `done` is 0
;;   weights   f64[taps * mp]         integration weights, [tap][map], padding maps 0
;;   start     i32[sources + 1]       the connections of source s: [start[s], start[s+1])
;;   target    i32[connections]       the position each connection reaches
;;   payload   i32[connections]       the byte offset of its tap's weight row (tap * mp * 8)
;;   stamp     i32[positions]         the sample a position's state belongs to (lazy reset)
;;   dead      u8[positions]          1 once the position has spiked in the sample
;;   binStamp  i32[positions]         the last bin the position received a spike in
;;   count     i32[positions]         taps recorded in the sample so far
;;   done      i32[positions]         of those, how many are integrated into `pot`
;;   taps      i32[positions * tpm]   per position, the recorded taps in arrival order: the
;;                                    payload, with bit 31 set on the first tap of each bin
;;   touched   i32[positions]         scratch: the positions that received a spike in the bin,
;;                                    then (compacted in place) those to integrate
;;   spikePos  i32[positions]         out: the positions that spiked in the bin, in `touched` order
;;   spikeMap  i32[positions]         out: their spiking map
;;   sampleList i32[positions]        the positions touched in the sample, in first-touch order
;;   stats     i32[3]                 this sample: taps applied, taps of the fan-out, weight additions
;;   levels    u16[taps * mp]         integer upper bounds of the integration weights, [tap][map]
;;   levelSum  u16[positions * mp]    per position and map, the sum of the levels of its taps
;;   levelDone i32[positions]         how many of a position's recorded taps are in levelSum
;;                                    (the row is stale while it is 0)
;;   restRow   f64[mp]                a row at rest: v_rest, the padding maps at -inf (never cross)
;;   zeroLevels u16[mp]               zeros
;;
;; Exact skipping: a position whose potential cannot exceed the threshold yet needs no
;; integration. With at most `maxDeferred` taps received in the sample (the caller derives it
;; from the largest weight, v_rest and θ with a safety margin), no map can have crossed, so
;; the taps are only recorded. When a position is integrated (more taps arrive, or its potential
;; is read, or the weights are about to change) its pending bins are added in order, each bin's
;; input summed in arrival order and rounded once, so the potentials are bit-identical to
;; integrating every bin as it ends.
;;
;; Exact bounds (inference, `maxDeferred` > 0): a position past `maxDeferred` taps is decided by
;; its sums of levels, eight maps per instruction. Only maps whose sum reaches `candidateSum`
;; may have crossed; each is integrated on its own from the recorded taps, in the same order
;; and with the same roundings as the whole row, and the largest above the threshold spikes.
;; The row stays pending; a spiked position's row holds the spiking map's potential only.
(module
  (import "env" "memory" (memory 1))
  (global $pot (mut i32) (i32.const 0))
  (global $weights (mut i32) (i32.const 0))
  (global $start (mut i32) (i32.const 0))
  (global $target (mut i32) (i32.const 0))
  (global $payload (mut i32) (i32.const 0))
  (global $stamp (mut i32) (i32.const 0))
  (global $dead (mut i32) (i32.const 0))
  (global $binStamp (mut i32) (i32.const 0))
  (global $count (mut i32) (i32.const 0))
  (global $done (mut i32) (i32.const 0))
  (global $taps (mut i32) (i32.const 0))
  (global $touched (mut i32) (i32.const 0))
  (global $spikePos (mut i32) (i32.const 0))
  (global $spikeMap (mut i32) (i32.const 0))
  (global $sampleList (mut i32) (i32.const 0))
  (global $stats (mut i32) (i32.const 0))
  (global $levels (mut i32) (i32.const 0))
  (global $levelSum (mut i32) (i32.const 0))
  (global $levelDone (mut i32) (i32.const 0))
  (global $candidateSum (mut i32) (i32.const 0))
  (global $restRow (mut i32) (i32.const 0))
  (global $zeroLevels (mut i32) (i32.const 0))
  (global $tpm (mut i32) (i32.const 0))
  (global $mp (mut i32) (i32.const 0))
  (global $maps (mut i32) (i32.const 0))
  (global $round (mut i32) (i32.const 0))
  (global $maxDeferred (mut i32) (i32.const 0))
  (global $threshold (mut f64) (f64.const 0))
  (global $restV (mut f64) (f64.const 0))
  (global $sample (mut i32) (i32.const 0))
  (global $sampleCount (mut i32) (i32.const 0))

  (func (export "configure")
    (param $pot i32) (param $weights i32) (param $start i32) (param $target i32) (param $payload i32)
    (param $stamp i32) (param $dead i32) (param $binStamp i32) (param $count i32) (param $done i32)
    (param $taps i32) (param $touched i32) (param $spikePos i32) (param $spikeMap i32)
    (param $sampleList i32) (param $stats i32) (param $levels i32) (param $levelSum i32) (param $levelDone i32)
    (param $restRow i32) (param $zeroLevels i32)
    (param $tpm i32) (param $mp i32) (param $maps i32) (param $round i32)
    (param $threshold f64) (param $restV f64)
    (global.set $pot (local.get $pot))
    (global.set $weights (local.get $weights))
    (global.set $start (local.get $start))
    (global.set $target (local.get $target))
    (global.set $payload (local.get $payload))
    (global.set $stamp (local.get $stamp))
    (global.set $dead (local.get $dead))
    (global.set $binStamp (local.get $binStamp))
    (global.set $count (local.get $count))
    (global.set $done (local.get $done))
    (global.set $taps (local.get $taps))
    (global.set $touched (local.get $touched))
    (global.set $spikePos (local.get $spikePos))
    (global.set $spikeMap (local.get $spikeMap))
    (global.set $sampleList (local.get $sampleList))
    (global.set $stats (local.get $stats))
    (global.set $levels (local.get $levels))
    (global.set $levelSum (local.get $levelSum))
    (global.set $levelDone (local.get $levelDone))
    (global.set $restRow (local.get $restRow))
    (global.set $zeroLevels (local.get $zeroLevels))
    (global.set $tpm (local.get $tpm))
    (global.set $mp (local.get $mp))
    (global.set $maps (local.get $maps))
    (global.set $round (local.get $round))
    (global.set $threshold (local.get $threshold))
    (global.set $restV (local.get $restV)))

  (func (export "setMaxDeferred") (param $n i32)
    (global.set $maxDeferred (local.get $n)))

  (func (export "setCandidateSum") (param $h i32)
    (global.set $candidateSum (local.get $h)))

  ;; The sample's positions with no taps in their sums of levels (the levels changed): their
  ;; next fold starts from zero.
  (func (export "forgetBounds")
    (local $i i32)
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $i) (global.get $sampleCount)))
        (i32.store
          (i32.add (global.get $levelDone) (i32.shl (i32.load (i32.add (global.get $sampleList) (i32.shl (local.get $i) (i32.const 2)))) (i32.const 2)))
          (i32.const 0))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $each))))

  ;; Start a sample: every position at rest and alive, lazily (on first touch).
  (func (export "beginSample") (param $sample i32)
    (global.set $sample (local.get $sample))
    (global.set $sampleCount (i32.const 0))
    (i32.store (global.get $stats) (i32.const 0))
    (i32.store offset=4 (global.get $stats) (i32.const 0))
    (i32.store offset=8 (global.get $stats) (i32.const 0)))

  ;; The first touch of a position in the sample: no taps, alive. Its rows are stale: the first
  ;; integration starts from the row at rest and the first fold from sums of zero (done and
  ;; levelDone are 0 until then).
  (func $resetPosition (param $pos i32)
    (local $at i32)
    (local.set $at (i32.shl (local.get $pos) (i32.const 2)))
    (i32.store (i32.add (global.get $stamp) (local.get $at)) (global.get $sample))
    (i32.store8 (i32.add (global.get $dead) (local.get $pos)) (i32.const 0))
    (i32.store (i32.add (global.get $count) (local.get $at)) (i32.const 0))
    (i32.store (i32.add (global.get $done) (local.get $at)) (i32.const 0))
    (i32.store (i32.add (global.get $levelDone) (local.get $at)) (i32.const 0))
    (i32.store (i32.add (global.get $sampleList) (i32.shl (global.get $sampleCount) (i32.const 2))) (local.get $pos))
    (global.set $sampleCount (i32.add (global.get $sampleCount) (i32.const 1))))

  ;; Integrate the pending taps of `pos` (whole bins, in order) into its potentials. With
  ;; `check`, return the map with the largest potential above the threshold (ties to the higher
  ;; map), or -1; without, return -1.
  ;;
  ;; Bin by bin, each bin in one pass over the maps (eight per step): the passes for one, two and
  ;; three taps are written out, so that the only branch on the data is one per bin, not one per
  ;; tap and eight maps. The largest potential is taken in each pass; the last one's counts.
  (func $integrate (param $pos i32) (param $check i32) (result i32)
    (local $from i32) (local $to i32) (local $base i32) (local $rowEnd i32) (local $c i32)
    (local $j i32) (local $k i32) (local $n i32) (local $t i32) (local $wb i32) (local $src i32) (local $vs i32)
    (local $a i32) (local $b i32) (local $d i32) (local $vb i32) (local $tap i32)
    (local $v0 v128) (local $v1 v128) (local $v2 v128) (local $v3 v128)
    (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128)
    (local $mx v128) (local $keep v128) (local $best i32) (local $bestV f64) (local $x f64) (local $at i32)
    (local.set $at (i32.shl (local.get $pos) (i32.const 2)))
    (local.set $to (i32.load (i32.add (global.get $count) (local.get $at))))
    (local.set $from (i32.load (i32.add (global.get $done) (local.get $at))))
    (i32.store (i32.add (global.get $done) (local.get $at)) (local.get $to))
    (i32.store offset=8 (global.get $stats)
      (i32.add (i32.load offset=8 (global.get $stats))
        (i32.mul (i32.sub (local.get $to) (local.get $from)) (global.get $maps))))
    (local.set $t (i32.add (global.get $taps) (i32.shl (i32.mul (local.get $pos) (global.get $tpm)) (i32.const 2))))
    (local.set $j (i32.add (local.get $t) (i32.shl (local.get $from) (i32.const 2))))
    (local.set $to (i32.add (local.get $t) (i32.shl (local.get $to) (i32.const 2))))
    (local.set $base (i32.add (global.get $pot) (i32.shl (i32.mul (local.get $pos) (global.get $mp)) (i32.const 3))))
    (local.set $rowEnd (i32.add (local.get $base) (i32.shl (global.get $mp) (i32.const 3))))
    ;; the sample's first integration starts from the row at rest (the position's row is stale)
    (local.set $src (select (global.get $restRow) (local.get $base) (i32.eqz (local.get $from))))
    ;; all ones in float32 mode: a multi-tap bin's sum is rounded; all zeros in float64 mode
    (local.set $keep (i32x4.splat (i32.sub (i32.const 0) (global.get $round))))
    (local.set $wb (global.get $weights))
    (local.set $mx (v128.const f64x2 -inf -inf))
    (block $doneBins
      (loop $eachBin
        (br_if $doneBins (i32.ge_u (local.get $j) (local.get $to)))
        ;; the bin's first tap (bit 31 marks it), then its further taps up to the next first one
        (local.set $a (i32.add (local.get $wb) (i32.and (i32.load (local.get $j)) (i32.const 0x7fffffff))))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (local.set $k (local.get $j))
        (block $binEnd
          (loop $scanTaps
            (br_if $binEnd (i32.ge_u (local.get $k) (local.get $to)))
            (br_if $binEnd (i32.lt_s (i32.load (local.get $k)) (i32.const 0)))
            (local.set $k (i32.add (local.get $k) (i32.const 4)))
            (br $scanTaps)))
        (local.set $n (i32.shr_u (i32.sub (local.get $k) (local.get $j)) (i32.const 2)))
        (local.set $mx (v128.const f64x2 -inf -inf))
        (local.set $vb (local.get $base))
        (local.set $vs (local.get $src))
        (if (i32.eqz (local.get $n))
          (then
            ;; one tap: its weights are float32 values already
            (loop $pass1
              (local.set $v0 (f64x2.add (v128.load align=8 (local.get $vs)) (v128.load align=8 (local.get $a))))
              (local.set $v1 (f64x2.add (v128.load offset=16 align=8 (local.get $vs)) (v128.load offset=16 align=8 (local.get $a))))
              (local.set $v2 (f64x2.add (v128.load offset=32 align=8 (local.get $vs)) (v128.load offset=32 align=8 (local.get $a))))
              (local.set $v3 (f64x2.add (v128.load offset=48 align=8 (local.get $vs)) (v128.load offset=48 align=8 (local.get $a))))
              (v128.store align=8 (local.get $vb) (local.get $v0))
              (v128.store offset=16 align=8 (local.get $vb) (local.get $v1))
              (v128.store offset=32 align=8 (local.get $vb) (local.get $v2))
              (v128.store offset=48 align=8 (local.get $vb) (local.get $v3))
              (local.set $mx (f64x2.pmax (local.get $mx)
                (f64x2.pmax (f64x2.pmax (local.get $v0) (local.get $v1)) (f64x2.pmax (local.get $v2) (local.get $v3)))))
              (local.set $a (i32.add (local.get $a) (i32.const 64)))
              (local.set $vb (i32.add (local.get $vb) (i32.const 64)))
              (local.set $vs (i32.add (local.get $vs) (i32.const 64)))
              (br_if $pass1 (i32.lt_u (local.get $vb) (local.get $rowEnd)))))
          (else
            (local.set $b (i32.add (local.get $wb) (i32.load (local.get $j))))
            (if (i32.eq (local.get $n) (i32.const 1))
              (then
                (loop $pass2
                  (local.set $s0 (f64x2.add (v128.load align=8 (local.get $a)) (v128.load align=8 (local.get $b))))
                  (local.set $s1 (f64x2.add (v128.load offset=16 align=8 (local.get $a)) (v128.load offset=16 align=8 (local.get $b))))
                  (local.set $s2 (f64x2.add (v128.load offset=32 align=8 (local.get $a)) (v128.load offset=32 align=8 (local.get $b))))
                  (local.set $s3 (f64x2.add (v128.load offset=48 align=8 (local.get $a)) (v128.load offset=48 align=8 (local.get $b))))
                  ;; one float32 rounding of the sum (float32 mode), then into the potentials
                  (local.set $s0 (v128.bitselect (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero (local.get $s0))) (local.get $s0) (local.get $keep)))
                  (local.set $s1 (v128.bitselect (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero (local.get $s1))) (local.get $s1) (local.get $keep)))
                  (local.set $s2 (v128.bitselect (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero (local.get $s2))) (local.get $s2) (local.get $keep)))
                  (local.set $s3 (v128.bitselect (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero (local.get $s3))) (local.get $s3) (local.get $keep)))
                  (local.set $v0 (f64x2.add (v128.load align=8 (local.get $vs)) (local.get $s0)))
                  (local.set $v1 (f64x2.add (v128.load offset=16 align=8 (local.get $vs)) (local.get $s1)))
                  (local.set $v2 (f64x2.add (v128.load offset=32 align=8 (local.get $vs)) (local.get $s2)))
                  (local.set $v3 (f64x2.add (v128.load offset=48 align=8 (local.get $vs)) (local.get $s3)))
                  (v128.store align=8 (local.get $vb) (local.get $v0))
                  (v128.store offset=16 align=8 (local.get $vb) (local.get $v1))
                  (v128.store offset=32 align=8 (local.get $vb) (local.get $v2))
                  (v128.store offset=48 align=8 (local.get $vb) (local.get $v3))
                  (local.set $mx (f64x2.pmax (local.get $mx)
                    (f64x2.pmax (f64x2.pmax (local.get $v0) (local.get $v1)) (f64x2.pmax (local.get $v2) (local.get $v3)))))
                  (local.set $a (i32.add (local.get $a) (i32.const 64)))
                  (local.set $b (i32.add (local.get $b) (i32.const 64)))
                  (local.set $vb (i32.add (local.get $vb) (i32.const 64)))
                  (local.set $vs (i32.add (local.get $vs) (i32.const 64)))
                  (br_if $pass2 (i32.lt_u (local.get $vb) (local.get $rowEnd)))))
              (else
                (if (i32.eq (local.get $n) (i32.const 2))
                  (then
                    (local.set $d (i32.add (local.get $wb) (i32.load offset=4 (local.get $j))))
                    (loop $pass3
                      (local.set $s0 (f64x2.add (f64x2.add (v128.load align=8 (local.get $a)) (v128.load align=8 (local.get $b))) (v128.load align=8 (local.get $d))))
                      (local.set $s1 (f64x2.add (f64x2.add (v128.load offset=16 align=8 (local.get $a)) (v128.load offset=16 align=8 (local.get $b))) (v128.load offset=16 align=8 (local.get $d))))
                      (local.set $s2 (f64x2.add (f64x2.add (v128.load offset=32 align=8 (local.get $a)) (v128.load offset=32 align=8 (local.get $b))) (v128.load offset=32 align=8 (local.get $d))))
                      (local.set $s3 (f64x2.add (f64x2.add (v128.load offset=48 align=8 (local.get $a)) (v128.load offset=48 align=8 (local.get $b))) (v128.load offset=48 align=8 (local.get $d))))
                      ;; one float32 rounding of the sum (float32 mode), then into the potentials
                      (local.set $s0 (v128.bitselect (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero (local.get $s0))) (local.get $s0) (local.get $keep)))
                      (local.set $s1 (v128.bitselect (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero (local.get $s1))) (local.get $s1) (local.get $keep)))
                      (local.set $s2 (v128.bitselect (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero (local.get $s2))) (local.get $s2) (local.get $keep)))
                      (local.set $s3 (v128.bitselect (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero (local.get $s3))) (local.get $s3) (local.get $keep)))
                      (local.set $v0 (f64x2.add (v128.load align=8 (local.get $vs)) (local.get $s0)))
                      (local.set $v1 (f64x2.add (v128.load offset=16 align=8 (local.get $vs)) (local.get $s1)))
                      (local.set $v2 (f64x2.add (v128.load offset=32 align=8 (local.get $vs)) (local.get $s2)))
                      (local.set $v3 (f64x2.add (v128.load offset=48 align=8 (local.get $vs)) (local.get $s3)))
                      (v128.store align=8 (local.get $vb) (local.get $v0))
                      (v128.store offset=16 align=8 (local.get $vb) (local.get $v1))
                      (v128.store offset=32 align=8 (local.get $vb) (local.get $v2))
                      (v128.store offset=48 align=8 (local.get $vb) (local.get $v3))
                      (local.set $mx (f64x2.pmax (local.get $mx)
                        (f64x2.pmax (f64x2.pmax (local.get $v0) (local.get $v1)) (f64x2.pmax (local.get $v2) (local.get $v3)))))
                      (local.set $a (i32.add (local.get $a) (i32.const 64)))
                      (local.set $b (i32.add (local.get $b) (i32.const 64)))
                      (local.set $d (i32.add (local.get $d) (i32.const 64)))
                      (local.set $vb (i32.add (local.get $vb) (i32.const 64)))
                      (local.set $vs (i32.add (local.get $vs) (i32.const 64)))
                      (br_if $pass3 (i32.lt_u (local.get $vb) (local.get $rowEnd)))))
                  (else
                    ;; four taps or more: a loop over the taps inside the pass
                    (local.set $c (i32.const 0))
                    (loop $passN
                      (local.set $t (i32.add (local.get $a) (local.get $c)))
                      (local.set $s0 (v128.load align=8 (local.get $t)))
                      (local.set $s1 (v128.load offset=16 align=8 (local.get $t)))
                      (local.set $s2 (v128.load offset=32 align=8 (local.get $t)))
                      (local.set $s3 (v128.load offset=48 align=8 (local.get $t)))
                      (local.set $tap (local.get $j))
                      (loop $eachTap
                        (local.set $t (i32.add (i32.add (local.get $wb) (local.get $c)) (i32.load (local.get $tap))))
                        (local.set $s0 (f64x2.add (local.get $s0) (v128.load align=8 (local.get $t))))
                        (local.set $s1 (f64x2.add (local.get $s1) (v128.load offset=16 align=8 (local.get $t))))
                        (local.set $s2 (f64x2.add (local.get $s2) (v128.load offset=32 align=8 (local.get $t))))
                        (local.set $s3 (f64x2.add (local.get $s3) (v128.load offset=48 align=8 (local.get $t))))
                        (local.set $tap (i32.add (local.get $tap) (i32.const 4)))
                        (br_if $eachTap (i32.lt_u (local.get $tap) (local.get $k))))
                      (local.set $vb (i32.add (local.get $base) (local.get $c)))
                      (local.set $vs (i32.add (local.get $src) (local.get $c)))
                      ;; one float32 rounding of the sum (float32 mode), then into the potentials
                      (local.set $s0 (v128.bitselect (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero (local.get $s0))) (local.get $s0) (local.get $keep)))
                      (local.set $s1 (v128.bitselect (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero (local.get $s1))) (local.get $s1) (local.get $keep)))
                      (local.set $s2 (v128.bitselect (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero (local.get $s2))) (local.get $s2) (local.get $keep)))
                      (local.set $s3 (v128.bitselect (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero (local.get $s3))) (local.get $s3) (local.get $keep)))
                      (local.set $v0 (f64x2.add (v128.load align=8 (local.get $vs)) (local.get $s0)))
                      (local.set $v1 (f64x2.add (v128.load offset=16 align=8 (local.get $vs)) (local.get $s1)))
                      (local.set $v2 (f64x2.add (v128.load offset=32 align=8 (local.get $vs)) (local.get $s2)))
                      (local.set $v3 (f64x2.add (v128.load offset=48 align=8 (local.get $vs)) (local.get $s3)))
                      (v128.store align=8 (local.get $vb) (local.get $v0))
                      (v128.store offset=16 align=8 (local.get $vb) (local.get $v1))
                      (v128.store offset=32 align=8 (local.get $vb) (local.get $v2))
                      (v128.store offset=48 align=8 (local.get $vb) (local.get $v3))
                      (local.set $mx (f64x2.pmax (local.get $mx)
                        (f64x2.pmax (f64x2.pmax (local.get $v0) (local.get $v1)) (f64x2.pmax (local.get $v2) (local.get $v3)))))
                      (local.set $c (i32.add (local.get $c) (i32.const 64)))
                      (br_if $passN (i32.lt_u (i32.add (local.get $base) (local.get $c)) (local.get $rowEnd))))))))))
        (local.set $j (local.get $k))
        (local.set $src (local.get $base))
        (br $eachBin)))
    (local.set $best (i32.const -1))
    (if (i32.and (local.get $check)
          (v128.any_true (f64x2.gt (local.get $mx) (f64x2.splat (global.get $threshold)))))
      (then
        (local.set $bestV (f64.const -inf))
        (local.set $c (i32.const 0))
        (block $doneScan
          (loop $scan
            (br_if $doneScan (i32.ge_u (local.get $c) (global.get $maps)))
            (local.set $x (f64.load (i32.add (local.get $base) (i32.shl (local.get $c) (i32.const 3)))))
            ;; >= so that an exact tie goes to the higher map
            (if (i32.and (f64.gt (local.get $x) (global.get $threshold)) (f64.ge (local.get $x) (local.get $bestV)))
              (then
                (local.set $bestV (local.get $x))
                (local.set $best (local.get $c))))
            (local.set $c (i32.add (local.get $c) (i32.const 1)))
            (br $scan)))))
    (local.get $best))

  ;; Decide by the level bounds whether `pos` spikes in this bin (see the header): add its new
  ;; taps' levels to its sums, integrate each candidate map on its own, and return the map with
  ;; the largest potential above the threshold (ties to the higher map), or -1. The spiking
  ;; map's potential is written to the row.
  (func $crossing (param $pos i32) (result i32)
    (local $at i32) (local $cnt i32) (local $tb i32) (local $j i32) (local $end i32)
    (local $row i32) (local $rowEnd i32) (local $lv i32) (local $any v128) (local $hs v128)
    (local $bits i32) (local $c i32) (local $m i32) (local $best i32) (local $bestV f64) (local $x f64)
    (local $a i32) (local $b i32) (local $held i32) (local $pair v128) (local $src i32) (local $ls i32)
    (local.set $held (i32.const -1))
    (local.set $at (i32.shl (local.get $pos) (i32.const 2)))
    (local.set $cnt (i32.load (i32.add (global.get $count) (local.get $at))))
    (local.set $tb (i32.add (global.get $taps) (i32.shl (i32.mul (local.get $pos) (global.get $tpm)) (i32.const 2))))
    (local.set $j (i32.load (i32.add (global.get $levelDone) (local.get $at))))
    (local.set $row (i32.add (global.get $levelSum) (i32.shl (i32.mul (local.get $pos) (global.get $mp)) (i32.const 1))))
    (local.set $rowEnd (i32.add (local.get $row) (i32.shl (global.get $mp) (i32.const 1))))
    ;; the sample's first fold starts from sums of zero (the position's row is stale)
    (local.set $src (select (global.get $zeroLevels) (local.get $row) (i32.eqz (local.get $j))))
    (local.set $j (i32.add (local.get $tb) (i32.shl (local.get $j) (i32.const 2))))
    (local.set $end (i32.add (local.get $tb) (i32.shl (local.get $cnt) (i32.const 2))))
    (i32.store (i32.add (global.get $levelDone) (local.get $at)) (local.get $cnt))
    (local.set $hs (i16x8.splat (global.get $candidateSum)))
    ;; add the new taps' levels to the sums (a tap's level row is at its payload / 4), two taps
    ;; per pass over the row, eight maps per instruction
    (block $folded
      (loop $eachPair
        (br_if $folded (i32.ge_u (i32.add (local.get $j) (i32.const 4)) (local.get $end)))
        (local.set $a (i32.add (global.get $levels) (i32.shr_u (i32.and (i32.load (local.get $j)) (i32.const 0x7fffffff)) (i32.const 2))))
        (local.set $b (i32.add (global.get $levels) (i32.shr_u (i32.and (i32.load offset=4 (local.get $j)) (i32.const 0x7fffffff)) (i32.const 2))))
        (local.set $lv (local.get $row))
        (local.set $ls (local.get $src))
        (loop $eachVec
          (v128.store (local.get $lv)
            (i16x8.add (v128.load (local.get $ls)) (i16x8.add (v128.load (local.get $a)) (v128.load (local.get $b)))))
          (local.set $a (i32.add (local.get $a) (i32.const 16)))
          (local.set $b (i32.add (local.get $b) (i32.const 16)))
          (local.set $lv (i32.add (local.get $lv) (i32.const 16)))
          (local.set $ls (i32.add (local.get $ls) (i32.const 16)))
          (br_if $eachVec (i32.lt_u (local.get $lv) (local.get $rowEnd))))
        (local.set $src (local.get $row))
        (local.set $j (i32.add (local.get $j) (i32.const 8)))
        (br $eachPair)))
    (if (i32.lt_u (local.get $j) (local.get $end))
      (then
        (local.set $a (i32.add (global.get $levels) (i32.shr_u (i32.and (i32.load (local.get $j)) (i32.const 0x7fffffff)) (i32.const 2))))
        (local.set $lv (local.get $row))
        (local.set $ls (local.get $src))
        (loop $lastVec
          (v128.store (local.get $lv) (i16x8.add (v128.load (local.get $ls)) (v128.load (local.get $a))))
          (local.set $a (i32.add (local.get $a) (i32.const 16)))
          (local.set $lv (i32.add (local.get $lv) (i32.const 16)))
          (local.set $ls (i32.add (local.get $ls) (i32.const 16)))
          (br_if $lastVec (i32.lt_u (local.get $lv) (local.get $rowEnd))))))
    ;; whether any map's sum reaches the candidate sum
    (local.set $lv (local.get $row))
    (loop $checkVec
      (local.set $any (v128.or (local.get $any) (i16x8.ge_u (v128.load (local.get $lv)) (local.get $hs))))
      (local.set $lv (i32.add (local.get $lv) (i32.const 16)))
      (br_if $checkVec (i32.lt_u (local.get $lv) (local.get $rowEnd))))
    (local.set $best (i32.const -1))
    (if (v128.any_true (local.get $any))
      (then
        (local.set $bestV (f64.const -inf))
        (local.set $lv (local.get $row))
        (local.set $c (i32.const 0))
        (loop $scanVec
          (local.set $bits (i16x8.bitmask (i16x8.ge_u (v128.load (local.get $lv)) (local.get $hs))))
          ;; the candidates among these eight maps, in ascending order
          (block $doneBits
            (loop $eachBit
              (br_if $doneBits (i32.eqz (local.get $bits)))
              (local.set $m (i32.add (local.get $c) (i32.ctz (local.get $bits))))
              (local.set $bits (i32.and (local.get $bits) (i32.sub (local.get $bits) (i32.const 1))))
              (if (i32.lt_u (local.get $m) (global.get $maps))
                (then
                  ;; two candidates are integrated together, two maps per instruction
                  (if (i32.lt_s (local.get $held) (i32.const 0))
                    (then (local.set $held (local.get $m)))
                    (else
                      (local.set $pair (call $pairPotential (local.get $pos) (local.get $held) (local.get $m)))
                      ;; in ascending order; >= so that an exact tie goes to the higher map
                      (local.set $x (f64x2.extract_lane 0 (local.get $pair)))
                      (if (i32.and (f64.gt (local.get $x) (global.get $threshold)) (f64.ge (local.get $x) (local.get $bestV)))
                        (then
                          (local.set $bestV (local.get $x))
                          (local.set $best (local.get $held))))
                      (local.set $x (f64x2.extract_lane 1 (local.get $pair)))
                      (if (i32.and (f64.gt (local.get $x) (global.get $threshold)) (f64.ge (local.get $x) (local.get $bestV)))
                        (then
                          (local.set $bestV (local.get $x))
                          (local.set $best (local.get $m))))
                      (local.set $held (i32.const -1))))))
              (br $eachBit)))
          (local.set $c (i32.add (local.get $c) (i32.const 8)))
          (local.set $lv (i32.add (local.get $lv) (i32.const 16)))
          (br_if $scanVec (i32.lt_u (local.get $lv) (local.get $rowEnd))))
        ;; the last candidate, when their number is odd (it is the highest map)
        (if (i32.ge_s (local.get $held) (i32.const 0))
          (then
            (local.set $x (call $mapPotential (local.get $pos) (local.get $held)))
            (if (i32.and (f64.gt (local.get $x) (global.get $threshold)) (f64.ge (local.get $x) (local.get $bestV)))
              (then
                (local.set $bestV (local.get $x))
                (local.set $best (local.get $held))))))
        (if (i32.ge_s (local.get $best) (i32.const 0))
          (then
            (f64.store
              (i32.add (global.get $pot) (i32.shl (i32.add (i32.mul (local.get $pos) (global.get $mp)) (local.get $best)) (i32.const 3)))
              (local.get $bestV))))))
    (local.get $best))

  ;; The potential of map `c` at `pos` with its pending bins integrated, each bin summed in
  ;; arrival order and rounded once, as the row's pass does per map (the row unchanged).
  (func $mapPotential (param $pos i32) (param $c i32) (result f64)
    (local $at i32) (local $tb i32) (local $j i32) (local $end i32) (local $wc i32) (local $tap i32)
    (local $x f64) (local $s f64) (local $from i32) (local $to i32)
    (local.set $at (i32.shl (local.get $pos) (i32.const 2)))
    (local.set $from (i32.load (i32.add (global.get $done) (local.get $at))))
    (local.set $to (i32.load (i32.add (global.get $count) (local.get $at))))
    (i32.store offset=8 (global.get $stats)
      (i32.add (i32.load offset=8 (global.get $stats)) (i32.sub (local.get $to) (local.get $from))))
    (local.set $tb (i32.add (global.get $taps) (i32.shl (i32.mul (local.get $pos) (global.get $tpm)) (i32.const 2))))
    (local.set $j (i32.add (local.get $tb) (i32.shl (local.get $from) (i32.const 2))))
    (local.set $end (i32.add (local.get $tb) (i32.shl (local.get $to) (i32.const 2))))
    (local.set $wc (i32.add (global.get $weights) (i32.shl (local.get $c) (i32.const 3))))
    ;; from the row at rest when nothing is integrated yet in the sample (the row is stale)
    (local.set $x (f64.load (i32.add
      (select (global.get $restRow) (i32.add (global.get $pot) (i32.shl (i32.mul (local.get $pos) (global.get $mp)) (i32.const 3))) (i32.eqz (local.get $from)))
      (i32.shl (local.get $c) (i32.const 3)))))
    (block $doneBins
      (loop $eachBin
        (br_if $doneBins (i32.ge_u (local.get $j) (local.get $end)))
        (local.set $s (f64.load (i32.add (local.get $wc) (i32.and (i32.load (local.get $j)) (i32.const 0x7fffffff)))))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (block $doneTaps
          (loop $eachTap
            (br_if $doneTaps (i32.ge_u (local.get $j) (local.get $end)))
            (local.set $tap (i32.load (local.get $j)))
            (br_if $doneTaps (i32.lt_s (local.get $tap) (i32.const 0)))
            (local.set $s (f64.add (local.get $s) (f64.load (i32.add (local.get $wc) (local.get $tap)))))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $eachTap)))
        ;; float32 mode: a single tap's weight is a float32 already, so rounding it changes nothing
        (if (global.get $round)
          (then (local.set $s (f64.promote_f32 (f32.demote_f64 (local.get $s))))))
        (local.set $x (f64.add (local.get $x) (local.get $s)))
        (br $eachBin)))
    (local.get $x))

  ;; The potentials of maps `c1` and `c2` at `pos` with their pending bins integrated, as
  ;; $mapPotential does for one, side by side in the two lanes.
  (func $pairPotential (param $pos i32) (param $c1 i32) (param $c2 i32) (result v128)
    (local $at i32) (local $tb i32) (local $j i32) (local $end i32) (local $w1 i32) (local $w2 i32)
    (local $tap i32) (local $from i32) (local $to i32) (local $p i32)
    (local $x v128) (local $s v128) (local $keep v128)
    (local.set $at (i32.shl (local.get $pos) (i32.const 2)))
    (local.set $from (i32.load (i32.add (global.get $done) (local.get $at))))
    (local.set $to (i32.load (i32.add (global.get $count) (local.get $at))))
    (i32.store offset=8 (global.get $stats)
      (i32.add (i32.load offset=8 (global.get $stats)) (i32.shl (i32.sub (local.get $to) (local.get $from)) (i32.const 1))))
    ;; from the row at rest when nothing is integrated yet in the sample (the row is stale)
    (local.set $p (select (global.get $restRow) (i32.add (global.get $pot) (i32.shl (i32.mul (local.get $pos) (global.get $mp)) (i32.const 3))) (i32.eqz (local.get $from))))
    (local.set $x (v128.load64_lane 1 (i32.add (local.get $p) (i32.shl (local.get $c2) (i32.const 3)))
      (v128.load64_zero (i32.add (local.get $p) (i32.shl (local.get $c1) (i32.const 3))))))
    (local.set $keep (i32x4.splat (i32.sub (i32.const 0) (global.get $round))))
    (local.set $tb (i32.add (global.get $taps) (i32.shl (i32.mul (local.get $pos) (global.get $tpm)) (i32.const 2))))
    (local.set $j (i32.add (local.get $tb) (i32.shl (local.get $from) (i32.const 2))))
    (local.set $end (i32.add (local.get $tb) (i32.shl (local.get $to) (i32.const 2))))
    (local.set $w1 (i32.add (global.get $weights) (i32.shl (local.get $c1) (i32.const 3))))
    (local.set $w2 (i32.add (global.get $weights) (i32.shl (local.get $c2) (i32.const 3))))
    (block $doneBins
      (loop $eachBin
        (br_if $doneBins (i32.ge_u (local.get $j) (local.get $end)))
        (local.set $tap (i32.and (i32.load (local.get $j)) (i32.const 0x7fffffff)))
        (local.set $s (v128.load64_lane 1 (i32.add (local.get $w2) (local.get $tap))
          (v128.load64_zero (i32.add (local.get $w1) (local.get $tap)))))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (block $doneTaps
          (loop $eachTap
            (br_if $doneTaps (i32.ge_u (local.get $j) (local.get $end)))
            (local.set $tap (i32.load (local.get $j)))
            (br_if $doneTaps (i32.lt_s (local.get $tap) (i32.const 0)))
            (local.set $s (f64x2.add (local.get $s)
              (v128.load64_lane 1 (i32.add (local.get $w2) (local.get $tap))
                (v128.load64_zero (i32.add (local.get $w1) (local.get $tap))))))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $eachTap)))
        ;; float32 mode: rounded once (a single tap's weight is a float32 already)
        (local.set $x (f64x2.add (local.get $x)
          (v128.bitselect (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero (local.get $s))) (local.get $s) (local.get $keep))))
        (br $eachBin)))
    (local.get $x))

  ;; One bin: deliver the `n` source neurons at `src` (i32[n]) of bin serial `bin`, then
  ;; integrate every touched position that may cross. Returns the number of positions that
  ;; spiked (written to spikePos/spikeMap, and marked dead), or -1 when a position received
  ;; more taps than its kernel has; `touched` holds the touched ones.
  (func (export "step") (param $src i32) (param $n i32) (param $bin i32) (result i32)
    (local $s i32) (local $k i32) (local $end i32) (local $pos i32) (local $at i32)
    (local $cnt i32) (local $tc i32) (local $applied i32) (local $fanout i32) (local $spikes i32)
    (local $i i32) (local $best i32) (local $sid i32) (local $alive i32) (local $fresh i32)
    (local $m i32) (local $hit i32) (local $bounding i32) (local $room i32) (local $overflow i32)
    (local.set $bounding (i32.gt_s (global.get $maxDeferred) (i32.const 0)))
    (block $doneSources
      (loop $eachSource
        (br_if $doneSources (i32.ge_u (local.get $s) (local.get $n)))
        (local.set $sid (i32.shl (i32.load (i32.add (local.get $src) (i32.shl (local.get $s) (i32.const 2)))) (i32.const 2)))
        (local.set $k (i32.load (i32.add (global.get $start) (local.get $sid))))
        (local.set $end (i32.load offset=4 (i32.add (global.get $start) (local.get $sid))))
        (local.set $fanout (i32.add (local.get $fanout) (i32.sub (local.get $end) (local.get $k))))
        (local.set $k (i32.shl (local.get $k) (i32.const 2)))
        (local.set $end (i32.shl (local.get $end) (i32.const 2)))
        (block $doneTargets
          (loop $eachTarget
            (br_if $doneTargets (i32.ge_u (local.get $k) (local.get $end)))
            (local.set $pos (i32.load (i32.add (global.get $target) (local.get $k))))
            (local.set $at (i32.shl (local.get $pos) (i32.const 2)))
            (if (i32.ne (i32.load (i32.add (global.get $stamp) (local.get $at))) (global.get $sample))
              (then (call $resetPosition (local.get $pos))))
            ;; without branches on the data: a dead position's tap is written past its count
            ;; (never read: a position receives at most tpm taps in a sample) and not counted
            (local.set $alive (i32.eqz (i32.load8_u (i32.add (global.get $dead) (local.get $pos)))))
            (local.set $fresh (i32.and (local.get $alive)
              (i32.ne (i32.load (i32.add (global.get $binStamp) (local.get $at))) (local.get $bin))))
            (i32.store (i32.add (global.get $binStamp) (local.get $at)) (local.get $bin))
            (i32.store (i32.add (global.get $touched) (i32.shl (local.get $tc) (i32.const 2))) (local.get $pos))
            (local.set $tc (i32.add (local.get $tc) (local.get $fresh)))
            ;; a position receives at most tpm taps in a sample (each source spikes once); one
            ;; more means a presynaptic layer broke that: nothing is written past the position's
            ;; row, and the bin fails
            (local.set $cnt (i32.load (i32.add (global.get $count) (local.get $at))))
            (local.set $room (i32.lt_s (local.get $cnt) (global.get $tpm)))
            (local.set $overflow (i32.or (local.get $overflow) (i32.eqz (local.get $room))))
            (i32.store
              (i32.add (global.get $taps)
                (i32.shl (i32.add (i32.mul (local.get $pos) (global.get $tpm))
                  (select (local.get $cnt) (i32.sub (global.get $tpm) (i32.const 1)) (local.get $room))) (i32.const 2)))
              (i32.or (i32.load (i32.add (global.get $payload) (local.get $k))) (i32.shl (local.get $fresh) (i32.const 31))))
            (i32.store (i32.add (global.get $count) (local.get $at))
              (i32.add (local.get $cnt) (i32.and (local.get $alive) (local.get $room))))
            (local.set $applied (i32.add (local.get $applied) (local.get $alive)))
            (local.set $k (i32.add (local.get $k) (i32.const 4)))
            (br $eachTarget)))
        (local.set $s (i32.add (local.get $s) (i32.const 1)))
        (br $eachSource)))
    (if (local.get $overflow) (then (return (i32.const -1))))
    (i32.store (global.get $stats) (i32.add (i32.load (global.get $stats)) (local.get $applied)))
    (i32.store offset=4 (global.get $stats) (i32.add (i32.load offset=4 (global.get $stats)) (local.get $fanout)))
    ;; the touched positions that may cross, compacted in place without a branch on the data
    (block $doneTouched
      (loop $eachTouched
        (br_if $doneTouched (i32.ge_u (local.get $i) (local.get $tc)))
        (local.set $pos (i32.load (i32.add (global.get $touched) (i32.shl (local.get $i) (i32.const 2)))))
        (i32.store (i32.add (global.get $touched) (i32.shl (local.get $m) (i32.const 2))) (local.get $pos))
        (local.set $m (i32.add (local.get $m)
          (i32.gt_s (i32.load (i32.add (global.get $count) (i32.shl (local.get $pos) (i32.const 2)))) (global.get $maxDeferred))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $eachTouched)))
    ;; integrate them; one that crosses is written out and dies (again without a branch)
    (local.set $i (i32.const 0))
    (block $doneIntegrate
      (loop $eachIntegrate
        (br_if $doneIntegrate (i32.ge_u (local.get $i) (local.get $m)))
        (local.set $pos (i32.load (i32.add (global.get $touched) (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $best
          (if (result i32) (local.get $bounding)
            (then (call $crossing (local.get $pos)))
            (else (call $integrate (local.get $pos) (i32.const 1)))))
        (local.set $hit (i32.ge_s (local.get $best) (i32.const 0)))
        (i32.store8 (i32.add (global.get $dead) (local.get $pos)) (local.get $hit))
        (i32.store (i32.add (global.get $spikePos) (i32.shl (local.get $spikes) (i32.const 2))) (local.get $pos))
        (i32.store (i32.add (global.get $spikeMap) (i32.shl (local.get $spikes) (i32.const 2))) (local.get $best))
        (local.set $spikes (i32.add (local.get $spikes) (local.get $hit)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $eachIntegrate)))
    (local.get $spikes))

  ;; Bring the potentials of `pos` up to date (its pending taps integrated). Returns 0 when the
  ;; sample has not touched it (at rest), 1 when it is alive (its potentials current), 2 when it
  ;; has spiked (its potentials are the caller's: rest, and v_reset at the spiking map).
  (func $settle (export "settle") (param $pos i32) (result i32)
    (local $at i32)
    (local.set $at (i32.shl (local.get $pos) (i32.const 2)))
    (if (i32.ne (i32.load (i32.add (global.get $stamp) (local.get $at))) (global.get $sample))
      (then (return (i32.const 0))))
    (if (i32.load8_u (i32.add (global.get $dead) (local.get $pos)))
      (then (return (i32.const 2))))
    (if (i32.lt_s (i32.load (i32.add (global.get $done) (local.get $at))) (i32.load (i32.add (global.get $count) (local.get $at))))
      (then (drop (call $integrate (local.get $pos) (i32.const 0)))))
    (i32.const 1))

  ;; Bring every position of the sample up to date (before the weights change).
  (func (export "settleAll")
    (local $i i32)
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $i) (global.get $sampleCount)))
        (drop (call $settle (i32.load (i32.add (global.get $sampleList) (i32.shl (local.get $i) (i32.const 2))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $each)))))
