;; Conv-layer bin integration, WebAssembly SIMD (f64x2).
;;
;; integrate(...) does, for each of `count` touched positions, exactly what the JavaScript
;; reference `integratePosition` (integrate.ts) does: for every map c,
;;   V[c] += round(sum over the position's recorded taps j, in order, of W[tap_j + c])
;; in float64, `round` being a float32 rounding when `roundToFloat32` is set; then the map with
;; the largest V above the threshold (ties to the higher map), or -1, is written to best[i].
;; Two maps are done per instruction, eight per pass over the taps; each map's sum keeps the
;; tap order, so the result is
;; bit-identical to the scalar definition.
;;
;; All pointers are byte offsets into the imported memory:
;;   pot      f64[positions * maps]      potentials, [position][map]
;;   weights  f64[taps * maps]           integration weights, [tap][map]
;;   taps     i32[positions * tapsPerMap] per position, element offsets (tap * maps) of the taps
;;   tapCount i32[positions]             number of recorded taps per position (>= 1 if touched)
;;   touched  i32[count]                 the positions to integrate
;;   best     i32[count]                 out: crossing map per touched position, or -1
(module
  (import "env" "memory" (memory 1))
  (func (export "integrate")
    (param $pot i32) (param $weights i32) (param $taps i32) (param $tapCount i32)
    (param $touched i32) (param $bestOut i32) (param $tapsPerMap i32) (param $count i32)
    (param $maps i32) (param $round i32) (param $threshold f64)
    (local $i i32) (local $pos i32) (local $base i32) (local $tb i32) (local $te i32)
    (local $c i32) (local $j i32) (local $wc i32) (local $pairsEnd i32)
    (local $acc v128) (local $v v128) (local $mask v128) (local $thr v128)
    (local $best i32) (local $bestV f64) (local $x f64)
    (local $octsEnd i32) (local $t i32) (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local.set $thr (f64x2.splat (local.get $threshold)))
    (local.set $pairsEnd (i32.and (local.get $maps) (i32.const -2)))
    (local.set $octsEnd (i32.and (local.get $maps) (i32.const -8)))
    (block $doneAll
      (loop $eachPos
        (br_if $doneAll (i32.ge_u (local.get $i) (local.get $count)))
        (local.set $pos (i32.load (i32.add (local.get $touched) (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $base (i32.add (local.get $pot) (i32.shl (i32.mul (local.get $pos) (local.get $maps)) (i32.const 3))))
        (local.set $tb (i32.add (local.get $taps) (i32.shl (i32.mul (local.get $pos) (local.get $tapsPerMap)) (i32.const 2))))
        (local.set $te (i32.add (local.get $tb)
          (i32.shl (i32.load (i32.add (local.get $tapCount) (i32.shl (local.get $pos) (i32.const 2)))) (i32.const 2))))
        (local.set $mask (v128.const i64x2 0 0))
        (local.set $c (i32.const 0))
        ;; eight maps at a time: four independent accumulators per tap index load
        (block $doneOcts
          (loop $eachOct
            (br_if $doneOcts (i32.ge_u (local.get $c) (local.get $octsEnd)))
            (local.set $wc (i32.add (local.get $weights) (i32.shl (local.get $c) (i32.const 3))))
            (local.set $t (i32.add (local.get $wc) (i32.shl (i32.load (local.get $tb)) (i32.const 3))))
            (local.set $a0 (v128.load align=8 (local.get $t)))
            (local.set $a1 (v128.load offset=16 align=8 (local.get $t)))
            (local.set $a2 (v128.load offset=32 align=8 (local.get $t)))
            (local.set $a3 (v128.load offset=48 align=8 (local.get $t)))
            (local.set $j (i32.add (local.get $tb) (i32.const 4)))
            (block $doneOctTaps
              (loop $eachOctTap
                (br_if $doneOctTaps (i32.ge_u (local.get $j) (local.get $te)))
                (local.set $t (i32.add (local.get $wc) (i32.shl (i32.load (local.get $j)) (i32.const 3))))
                (local.set $a0 (f64x2.add (local.get $a0) (v128.load align=8 (local.get $t))))
                (local.set $a1 (f64x2.add (local.get $a1) (v128.load offset=16 align=8 (local.get $t))))
                (local.set $a2 (f64x2.add (local.get $a2) (v128.load offset=32 align=8 (local.get $t))))
                (local.set $a3 (f64x2.add (local.get $a3) (v128.load offset=48 align=8 (local.get $t))))
                (local.set $j (i32.add (local.get $j) (i32.const 4)))
                (br $eachOctTap)))
            (if (local.get $round)
              (then
                (local.set $a0 (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero (local.get $a0))))
                (local.set $a1 (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero (local.get $a1))))
                (local.set $a2 (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero (local.get $a2))))
                (local.set $a3 (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero (local.get $a3))))))
            (local.set $t (i32.add (local.get $base) (i32.shl (local.get $c) (i32.const 3))))
            (local.set $a0 (f64x2.add (v128.load align=8 (local.get $t)) (local.get $a0)))
            (local.set $a1 (f64x2.add (v128.load offset=16 align=8 (local.get $t)) (local.get $a1)))
            (local.set $a2 (f64x2.add (v128.load offset=32 align=8 (local.get $t)) (local.get $a2)))
            (local.set $a3 (f64x2.add (v128.load offset=48 align=8 (local.get $t)) (local.get $a3)))
            (v128.store align=8 (local.get $t) (local.get $a0))
            (v128.store offset=16 align=8 (local.get $t) (local.get $a1))
            (v128.store offset=32 align=8 (local.get $t) (local.get $a2))
            (v128.store offset=48 align=8 (local.get $t) (local.get $a3))
            (local.set $mask (v128.or (local.get $mask)
              (v128.or
                (v128.or (f64x2.gt (local.get $a0) (local.get $thr)) (f64x2.gt (local.get $a1) (local.get $thr)))
                (v128.or (f64x2.gt (local.get $a2) (local.get $thr)) (f64x2.gt (local.get $a3) (local.get $thr))))))
            (local.set $c (i32.add (local.get $c) (i32.const 8)))
            (br $eachOct)))
        ;; then two maps at a time
        (block $donePairs
          (loop $eachPair
            (br_if $donePairs (i32.ge_u (local.get $c) (local.get $pairsEnd)))
            (local.set $wc (i32.add (local.get $weights) (i32.shl (local.get $c) (i32.const 3))))
            (local.set $acc (v128.load align=8 (i32.add (local.get $wc) (i32.shl (i32.load (local.get $tb)) (i32.const 3)))))
            (local.set $j (i32.add (local.get $tb) (i32.const 4)))
            (block $doneTaps
              (loop $eachTap
                (br_if $doneTaps (i32.ge_u (local.get $j) (local.get $te)))
                (local.set $acc (f64x2.add (local.get $acc)
                  (v128.load align=8 (i32.add (local.get $wc) (i32.shl (i32.load (local.get $j)) (i32.const 3))))))
                (local.set $j (i32.add (local.get $j) (i32.const 4)))
                (br $eachTap)))
            (if (local.get $round)
              (then (local.set $acc (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero (local.get $acc))))))
            (local.set $v (f64x2.add
              (v128.load align=8 (i32.add (local.get $base) (i32.shl (local.get $c) (i32.const 3))))
              (local.get $acc)))
            (v128.store align=8 (i32.add (local.get $base) (i32.shl (local.get $c) (i32.const 3))) (local.get $v))
            (local.set $mask (v128.or (local.get $mask) (f64x2.gt (local.get $v) (local.get $thr))))
            (local.set $c (i32.add (local.get $c) (i32.const 2)))
            (br $eachPair)))
        ;; an odd last map, one lane
        (if (i32.lt_u (local.get $c) (local.get $maps))
          (then
            (local.set $wc (i32.add (local.get $weights) (i32.shl (local.get $c) (i32.const 3))))
            (local.set $x (f64.load (i32.add (local.get $wc) (i32.shl (i32.load (local.get $tb)) (i32.const 3)))))
            (local.set $j (i32.add (local.get $tb) (i32.const 4)))
            (block $doneTail
              (loop $eachTail
                (br_if $doneTail (i32.ge_u (local.get $j) (local.get $te)))
                (local.set $x (f64.add (local.get $x)
                  (f64.load (i32.add (local.get $wc) (i32.shl (i32.load (local.get $j)) (i32.const 3))))))
                (local.set $j (i32.add (local.get $j) (i32.const 4)))
                (br $eachTail)))
            (if (local.get $round)
              (then (local.set $x (f64.promote_f32 (f32.demote_f64 (local.get $x))))))
            (local.set $x (f64.add (f64.load (i32.add (local.get $base) (i32.shl (local.get $c) (i32.const 3)))) (local.get $x)))
            (f64.store (i32.add (local.get $base) (i32.shl (local.get $c) (i32.const 3))) (local.get $x))
            (if (f64.gt (local.get $x) (local.get $threshold))
              (then (local.set $mask (v128.const i64x2 -1 -1))))))
        ;; the crossing map, only where some map crossed
        (local.set $best (i32.const -1))
        (if (v128.any_true (local.get $mask))
          (then
            (local.set $bestV (f64.const -inf))
            (local.set $c (i32.const 0))
            (block $doneScan
              (loop $scan
                (br_if $doneScan (i32.ge_u (local.get $c) (local.get $maps)))
                (local.set $x (f64.load (i32.add (local.get $base) (i32.shl (local.get $c) (i32.const 3)))))
                ;; >= so that an exact tie goes to the higher map
                (if (i32.and (f64.gt (local.get $x) (local.get $threshold)) (f64.ge (local.get $x) (local.get $bestV)))
                  (then
                    (local.set $bestV (local.get $x))
                    (local.set $best (local.get $c))))
                (local.set $c (i32.add (local.get $c) (i32.const 1)))
                (br $scan)))))
        (i32.store (i32.add (local.get $bestOut) (i32.shl (local.get $i) (i32.const 2))) (local.get $best))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $eachPos)))))
