/*
 * Conv-layer bin step, native (Node-API): the same kernel as integrate.wat, over the same
 * memory layout (see the header there) but for the per-position state, the connections and the
 * recorded taps, which it keeps in arrays of its own (a record per position, 16-bit taps), with
 * vectors as wide as the processor has. Where
 * integrate.wat adds two potentials or eight levels per instruction (128-bit SIMD), this adds
 * eight and thirty-two with AVX-512, four and sixteen with AVX2, one elsewhere; the variant is
 * chosen when a kernel is created, so one build runs on any processor.
 *
 * Bit-identical to the WebAssembly and JavaScript kernels: every potential is the same float64
 * additions in the same order per map (a bin's taps in arrival order, rounded once to float32
 * in float32 mode, then added to V), with no contraction into fused multiply-adds
 * (-ffp-contract=off) and no reassociation; the level sums are integers. Vectors only put maps
 * side by side. test/neurons/kernels.test.ts checks all three on random inputs.
 */
#include <node_api.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define X86 1
#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,bmi,bmi2")))
#define AVX2 __attribute__((target("avx2,bmi,bmi2")))
#else
#define X86 0
#endif

/* The vector width in use: 0 scalar, 2 AVX2, 3 AVX-512 (F and BW). */
enum { SCALAR = 0, WITH_AVX2 = 2, WITH_AVX512 = 3 };

/* A recorded tap: the tap's index in the kernel, with this bit where it is the first of its bin. */
#define FIRST_OF_BIN 0x8000
typedef uint16_t Tap;
/* The most taps a map's kernel may have here (nativeMaxTaps in integrate.ts). */
#define MAX_TAPS 0x7fff

/* The per-position state the delivery of every tap reads and writes, side by side (one load of a
 * cache line where four arrays took four). */
typedef struct {
  int32_t stamp;    /* the sample of the position's last touch (a stale position is at rest) */
  int32_t binStamp; /* the bin of its last tap */
  int32_t count;    /* taps recorded in the sample */
  int32_t dead;     /* 1 once it spiked */
} Position;

/* A conv layer's log of spikes (neuron, time and potential per entry) and the spiking map of
 * each position, as runBins and stepLog write them. */
typedef struct {
  int32_t *neuron, *map;
  double *time, *v;
  size_t room; /* the entries the log holds */
} SpikeLog;

/* One conv layer's kernel: pointers into the layer's memory (an ArrayBuffer kept alive by the
 * JavaScript side), and the constants and per-sample state integrate.wat keeps in globals. */
typedef struct {
  napi_ref memory;
  /* the layer's log of spikes (neuron, time, potential) and spiking map per position, where
   * setLog gave them (kept alive by these references): stepLog appends to it */
  napi_ref logRefs[4];
  SpikeLog log;
  double *pot, *weights, *restRow;
  int32_t *start, *done, *touched;
  /* per position, its taps of the sample in arrival order (tpm each; a private array) */
  Tap *taps;
  int32_t *spikePos, *spikeMap, *sampleList, *stats, *levelDone;
  /* per position (a private array: integrate.ts's stamp, dead, binStamp and count regions are
   * the WebAssembly and JavaScript kernels') */
  Position *at;
  /* per connection, its target position and tap index side by side */
  int32_t *links;
  uint16_t *levels, *levelSum, *zeroLevels;
  char *base;
  int32_t tpm, mp, maps, round, maxDeferred, candidateSum, sample, sampleCount;
  /* the layer's positions and presynaptic neurons (for runBins' checks) */
  int32_t positions, sources;
  double threshold;
  int simd;
  /* scratch: the weight (or level) rows of the taps of one bin (or one fold), and candidate bits */
  const void **rows;
  uint64_t *bits;
  /* the layer's learning, where setLearner gave it (stepLearn) */
  struct Learner *learner;
} Kernel;

/* A recorded tap's weight row (the row of its tap index). */
static inline const double *weightRow(const Kernel *k, Tap tap) {
  return k->weights + (size_t)(tap & ~FIRST_OF_BIN) * (size_t)k->mp;
}

/* A recorded tap's row of levels. */
static inline const uint16_t *levelRow(const Kernel *k, Tap tap) {
  return k->levels + (size_t)(tap & ~FIRST_OF_BIN) * (size_t)k->mp;
}

/* The first touch of a position in the sample (see integrate.wat's $resetPosition); out of the
 * delivery loop, so that the arrays it writes take no registers there. */
__attribute__((noinline, cold)) static void resetPosition(Kernel *k, int32_t pos) {
  Position *p = k->at + pos;
  p->stamp = k->sample;
  p->dead = 0;
  p->count = 0;
  k->done[pos] = 0;
  k->levelDone[pos] = 0;
  k->sampleList[k->sampleCount++] = pos;
}

/*
 * One bin's pass over a row of potentials: row[c] = src[c] + round(w[0][c] + … + w[n-1][c]),
 * the sum in tap order, rounded once to float32 when `round` (a single tap's weight is a
 * float32 already). Returns whether any potential is above `theta`. `mp` is a multiple of 8.
 */
static int rowPassScalar(double *row, const double *src, const double *const *w, int32_t n, int32_t mp, int round, double theta) {
  int above = 0;
  for (int32_t c = 0; c < mp; c++) {
    double s = w[0][c];
    for (int32_t i = 1; i < n; i++) s += w[i][c];
    if (round && n > 1) s = (double)(float)s;
    const double v = src[c] + s;
    row[c] = v;
    above |= v > theta;
  }
  return above;
}

#if X86
AVX512 static int rowPass512(double *row, const double *src, const double *const *w, int32_t n, int32_t mp, int round, double theta) {
  const __m512d th = _mm512_set1_pd(theta);
  __mmask8 above = 0;
  if (n == 1) {
    /* one tap or two (the bins of most passes when every bin is integrated on MNIST): without
     * the loop over taps; one tap's weights need no rounding (they are float32 already) */
    const double *w0 = w[0];
    for (int32_t c = 0; c < mp; c += 8) {
      const __m512d v = _mm512_add_pd(_mm512_loadu_pd(src + c), _mm512_loadu_pd(w0 + c));
      _mm512_storeu_pd(row + c, v);
      above |= _mm512_cmp_pd_mask(v, th, _CMP_GT_OQ);
    }
    return above != 0;
  }
  if (n == 2) {
    const double *w0 = w[0], *w1 = w[1];
    for (int32_t c = 0; c < mp; c += 8) {
      __m512d s = _mm512_add_pd(_mm512_loadu_pd(w0 + c), _mm512_loadu_pd(w1 + c));
      if (round) s = _mm512_cvtps_pd(_mm512_cvtpd_ps(s));
      const __m512d v = _mm512_add_pd(_mm512_loadu_pd(src + c), s);
      _mm512_storeu_pd(row + c, v);
      above |= _mm512_cmp_pd_mask(v, th, _CMP_GT_OQ);
    }
    return above != 0;
  }
  for (int32_t c = 0; c < mp; c += 8) {
    __m512d s = _mm512_loadu_pd(w[0] + c);
    for (int32_t i = 1; i < n; i++) s = _mm512_add_pd(s, _mm512_loadu_pd(w[i] + c));
    if (round && n > 1) s = _mm512_cvtps_pd(_mm512_cvtpd_ps(s));
    const __m512d v = _mm512_add_pd(_mm512_loadu_pd(src + c), s);
    _mm512_storeu_pd(row + c, v);
    above |= _mm512_cmp_pd_mask(v, th, _CMP_GT_OQ);
  }
  return above != 0;
}

AVX2 static int rowPass256(double *row, const double *src, const double *const *w, int32_t n, int32_t mp, int round, double theta) {
  const __m256d th = _mm256_set1_pd(theta);
  __m256d above = _mm256_setzero_pd();
  for (int32_t c = 0; c < mp; c += 4) {
    __m256d s = _mm256_loadu_pd(w[0] + c);
    for (int32_t i = 1; i < n; i++) s = _mm256_add_pd(s, _mm256_loadu_pd(w[i] + c));
    if (round && n > 1) s = _mm256_cvtps_pd(_mm256_cvtpd_ps(s));
    const __m256d v = _mm256_add_pd(_mm256_loadu_pd(src + c), s);
    _mm256_storeu_pd(row + c, v);
    above = _mm256_or_pd(above, _mm256_cmp_pd(v, th, _CMP_GT_OQ));
  }
  return _mm256_movemask_pd(above) != 0;
}
#endif

static int rowPass(const Kernel *k, double *row, const double *src, const double *const *w, int32_t n) {
#if X86
  if (k->simd == WITH_AVX512) return rowPass512(row, src, w, n, k->mp, k->round, k->threshold);
  if (k->simd == WITH_AVX2) return rowPass256(row, src, w, n, k->mp, k->round, k->threshold);
#endif
  return rowPassScalar(row, src, w, n, k->mp, k->round, k->threshold);
}

/*
 * Fold `n` taps' level rows into a row of level sums: row[c] = src[c] + lv[0][c] + … (16-bit
 * integers: the order does not matter), and set bits[c] where row[c] >= h. Returns whether
 * any bit is set. `mp` is a multiple of 8; bits has room for mp bits.
 */
static int foldScalar(uint16_t *row, const uint16_t *src, const uint16_t *const *lv, int32_t n, int32_t mp, uint16_t h, uint64_t *bits) {
  int any = 0;
  for (int32_t c = 0; c < mp; c += 64) bits[c >> 6] = 0;
  for (int32_t c = 0; c < mp; c++) {
    uint16_t sum = src[c];
    for (int32_t i = 0; i < n; i++) sum = (uint16_t)(sum + lv[i][c]);
    row[c] = sum;
    if (sum >= h) {
      bits[c >> 6] |= (uint64_t)1 << (c & 63);
      any = 1;
    }
  }
  return any;
}

#if X86
AVX512 static int fold512(uint16_t *row, const uint16_t *src, const uint16_t *const *lv, int32_t n, int32_t mp, uint16_t h, uint64_t *bits) {
  const __m512i hv = _mm512_set1_epi16((short)h);
  uint32_t any = 0;
  for (int32_t c = 0; c < mp; c += 32) {
    const __mmask32 lanes = mp - c >= 32 ? 0xffffffffu : (1u << (mp - c)) - 1;
    __m512i sum = _mm512_maskz_loadu_epi16(lanes, src + c);
    for (int32_t i = 0; i < n; i++) sum = _mm512_add_epi16(sum, _mm512_maskz_loadu_epi16(lanes, lv[i] + c));
    _mm512_mask_storeu_epi16(row + c, lanes, sum);
    const uint32_t hit = _mm512_mask_cmpge_epu16_mask(lanes, sum, hv);
    any |= hit;
    if ((c & 63) == 0) bits[c >> 6] = hit;
    else bits[c >> 6] |= (uint64_t)hit << 32;
  }
  return any != 0;
}

AVX2 static int fold256(uint16_t *row, const uint16_t *src, const uint16_t *const *lv, int32_t n, int32_t mp, uint16_t h, uint64_t *bits) {
  const __m256i hv = _mm256_set1_epi16((short)h);
  const __m128i hv8 = _mm_set1_epi16((short)h);
  uint32_t any = 0;
  int32_t c = 0;
  for (int32_t w = 0; w < mp; w += 64) bits[w >> 6] = 0;
  for (; c + 16 <= mp; c += 16) {
    __m256i sum = _mm256_loadu_si256((const __m256i *)(src + c));
    for (int32_t i = 0; i < n; i++) sum = _mm256_add_epi16(sum, _mm256_loadu_si256((const __m256i *)(lv[i] + c)));
    _mm256_storeu_si256((__m256i *)(row + c), sum);
    /* unsigned sum >= h: max(sum, h) == sum; two mask bits per lane, one kept */
    const uint32_t hit = _pext_u32((uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi16(_mm256_max_epu16(sum, hv), sum)), 0x55555555u);
    any |= hit;
    bits[c >> 6] |= (uint64_t)hit << (c & 63);
  }
  for (; c < mp; c += 8) {
    __m128i sum = _mm_loadu_si128((const __m128i *)(src + c));
    for (int32_t i = 0; i < n; i++) sum = _mm_add_epi16(sum, _mm_loadu_si128((const __m128i *)(lv[i] + c)));
    _mm_storeu_si128((__m128i *)(row + c), sum);
    const uint32_t hit = _pext_u32((uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi16(_mm_max_epu16(sum, hv8), sum)), 0x5555u);
    any |= hit;
    bits[c >> 6] |= (uint64_t)hit << (c & 63);
  }
  return any != 0;
}
#endif

#if X86
/* fold512 for rows of up to 96 maps (three registers): the sums stay in registers through the
 * taps, which are read once each, their level rows found from the taps themselves (`t`). */
AVX512 static int fold512x3(uint16_t *row, const uint16_t *src, const Tap *t, int32_t n, const uint16_t *levels, int32_t mp, uint16_t h, uint64_t *bits) {
  const __mmask32 m1 = mp >= 64 ? 0xffffffffu : mp > 32 ? (1u << (mp - 32)) - 1 : 0;
  const __mmask32 m2 = mp >= 96 ? 0xffffffffu : mp > 64 ? (1u << (mp - 64)) - 1 : 0;
  __m512i s0 = _mm512_loadu_si512(src), s1 = _mm512_maskz_loadu_epi16(m1, src + 32), s2 = _mm512_maskz_loadu_epi16(m2, src + 64);
  for (int32_t i = 0; i < n; i++) {
    const uint16_t *l = levels + (size_t)(t[i] & ~FIRST_OF_BIN) * (size_t)mp;
    s0 = _mm512_add_epi16(s0, _mm512_loadu_si512(l));
    s1 = _mm512_add_epi16(s1, _mm512_maskz_loadu_epi16(m1, l + 32));
    s2 = _mm512_add_epi16(s2, _mm512_maskz_loadu_epi16(m2, l + 64));
  }
  _mm512_storeu_si512(row, s0);
  _mm512_mask_storeu_epi16(row + 32, m1, s1);
  _mm512_mask_storeu_epi16(row + 64, m2, s2);
  const __m512i hv = _mm512_set1_epi16((short)h);
  const uint64_t hit0 = _mm512_cmpge_epu16_mask(s0, hv), hit1 = _mm512_mask_cmpge_epu16_mask(m1, s1, hv), hit2 = _mm512_mask_cmpge_epu16_mask(m2, s2, hv);
  bits[0] = hit0 | hit1 << 32;
  bits[1] = hit2;
  return (hit0 | hit1 | hit2) != 0;
}
#endif

/* Fold taps t[0 … n) of a position into its row of level sums (see foldScalar). */
static int fold(const Kernel *k, uint16_t *row, const uint16_t *src, const Tap *t, int32_t n, uint16_t h) {
#if X86
  if (k->simd == WITH_AVX512 && k->mp > 32 && k->mp <= 96) return fold512x3(row, src, t, n, k->levels, k->mp, h, k->bits);
#endif
  const uint16_t **lv = (const uint16_t **)k->rows;
  for (int32_t j = 0; j < n; j++) lv[j] = levelRow(k, t[j]);
#if X86
  if (k->simd == WITH_AVX512) return fold512(row, src, lv, n, k->mp, h, k->bits);
  if (k->simd == WITH_AVX2) return fold256(row, src, lv, n, k->mp, h, k->bits);
#endif
  return foldScalar(row, src, lv, n, k->mp, h, k->bits);
}

/* The map with the largest potential above the threshold in a row, ties to the higher map, or -1. */
static int32_t bestMapScalar(const double *row, int32_t maps, double theta) {
  int32_t best = -1;
  double bestV = -__builtin_inf();
  for (int32_t c = 0; c < maps; c++) {
    const double x = row[c];
    /* >= so that an exact tie goes to the higher map */
    if (x > theta && x >= bestV) {
      bestV = x;
      best = c;
    }
  }
  return best;
}

#if X86
/* The same: the largest value above theta, then the highest map that holds it (equal values
 * compare equal, as they do for the scalar >=). */
AVX512 static int32_t bestMap512(const double *row, int32_t maps, double theta) {
  const __m512d th = _mm512_set1_pd(theta);
  __m512d mx = _mm512_set1_pd(-__builtin_inf());
  for (int32_t c = 0; c < maps; c += 8) {
    const __mmask8 lanes = maps - c >= 8 ? 0xff : (__mmask8)((1u << (maps - c)) - 1);
    const __m512d v = _mm512_maskz_loadu_pd(lanes, row + c);
    mx = _mm512_mask_max_pd(mx, _mm512_mask_cmp_pd_mask(lanes, v, th, _CMP_GT_OQ), mx, v);
  }
  const double top = _mm512_reduce_max_pd(mx);
  if (!(top > theta)) return -1;
  const __m512d t = _mm512_set1_pd(top);
  for (int32_t c = (maps - 1) & ~7; c >= 0; c -= 8) {
    const __mmask8 lanes = maps - c >= 8 ? 0xff : (__mmask8)((1u << (maps - c)) - 1);
    const uint32_t at = _mm512_mask_cmp_pd_mask(lanes, _mm512_maskz_loadu_pd(lanes, row + c), t, _CMP_EQ_OQ);
    if (at != 0) return c + 31 - __builtin_clz(at);
  }
  return -1;
}
#endif

static int32_t bestMap(const Kernel *k, const double *row) {
#if X86
  if (k->simd == WITH_AVX512) return bestMap512(row, k->maps, k->threshold);
#endif
  return bestMapScalar(row, k->maps, k->threshold);
}

/*
 * Integrate the pending taps of `pos` (whole bins, in order) into its potentials; with
 * `check`, return the map with the largest potential above the threshold (ties to the higher
 * map), or -1 (see integrate.wat's $integrate).
 */
static int32_t integrate(Kernel *k, int32_t pos, int check) {
  const int32_t to = k->at[pos].count;
  const int32_t from = k->done[pos];
  k->done[pos] = to;
  k->stats[2] += (to - from) * k->maps;
  const Tap *t = k->taps + (size_t)pos * k->tpm;
  double *row = k->pot + (size_t)pos * k->mp;
  const double **w = (const double **)k->rows;
  /* the sample's first integration starts from the row at rest (the position's row is stale) */
  const double *src = from == 0 ? k->restRow : row;
  int above = 0;
  for (int32_t j = from; j < to;) {
    /* one bin: the taps from a first-of-bin mark (FIRST_OF_BIN) to the next; the last bin's
     * pass says whether any map is above the threshold */
    int32_t n = 0;
    w[n++] = weightRow(k, t[j++]);
    for (; j < to && !(t[j] & FIRST_OF_BIN); j++) w[n++] = weightRow(k, t[j]);
    above = rowPass(k, row, src, w, n);
    src = row;
  }
  if (!check || !above) return -1;
  return bestMap(k, row);
}

/*
 * A walk over `n` ≥ 1 recorded taps `t` (whole bins, in order) for maps `c1` and `c2`: their
 * potentials `v` (the row's, before these taps) with each bin summed in arrival order and
 * rounded once, as the row's pass does per map: two independent chains of additions, side by
 * side (c2 may equal c1).
 */
#if X86
/* Without a branch per tap: the two maps side by side in one register, every tap adding its
 * weights to the bin's sums, and a first-of-bin tap instead closing the bin before (its sums,
 * rounded, added to the potentials) and starting its own, by masks. The same additions in the
 * same order as the loop below; the bins' boundaries, which fall anywhere, cost no mispredicted
 * branches. */
static __m128d walk128(const Kernel *k, const Tap *t, int32_t n, int32_t c1, int32_t c2, __m128d v) {
  const double *w = weightRow(k, t[0]);
  __m128d sum = _mm_loadh_pd(_mm_load_sd(w + c1), w + c2);
  const int round = k->round;
  for (int32_t j = 1; j < n; j++) {
    const Tap tap = t[j];
    w = weightRow(k, tap);
    const __m128d x = _mm_loadh_pd(_mm_load_sd(w + c1), w + c2);
    /* all ones where this tap starts a bin */
    const __m128d first = _mm_castsi128_pd(_mm_set1_epi64x(-(int64_t)(tap >> 15)));
    /* float32 mode: a single tap's weight is a float32 already, so rounding it changes nothing */
    const __m128d closed = _mm_add_pd(v, round ? _mm_cvtps_pd(_mm_cvtpd_ps(sum)) : sum);
    v = _mm_or_pd(_mm_and_pd(first, closed), _mm_andnot_pd(first, v));
    sum = _mm_or_pd(_mm_and_pd(first, x), _mm_andnot_pd(first, _mm_add_pd(sum, x)));
  }
  return _mm_add_pd(v, round ? _mm_cvtps_pd(_mm_cvtpd_ps(sum)) : sum);
}

/* The same with AVX-512's masked additions: a tap's sum is one addition (or none, where it
 * starts a bin) instead of an addition and a blend, which shortens the chain of additions
 * through the taps that bounds this loop. */
AVX512 static __m128d walk512(const Kernel *k, const Tap *t, int32_t n, int32_t c1, int32_t c2, __m128d v) {
  const double *w = weightRow(k, t[0]);
  __m128d sum = _mm_loadh_pd(_mm_load_sd(w + c1), w + c2);
  const int round = k->round;
  for (int32_t j = 1; j < n; j++) {
    const Tap tap = t[j];
    w = weightRow(k, tap);
    const __m128d x = _mm_loadh_pd(_mm_load_sd(w + c1), w + c2);
    /* both lanes where this tap starts a bin */
    const __mmask8 first = (__mmask8)(0u - (uint32_t)(tap >> 15));
    /* float32 mode: a single tap's weight is a float32 already, so rounding it changes nothing */
    v = _mm_mask_add_pd(v, first, v, round ? _mm_cvtps_pd(_mm_cvtpd_ps(sum)) : sum);
    sum = _mm_mask_add_pd(x, (__mmask8)~first, sum, x);
  }
  return _mm_add_pd(v, round ? _mm_cvtps_pd(_mm_cvtpd_ps(sum)) : sum);
}
#else
static void walkScalar(const Kernel *k, const Tap *t, int32_t n, int32_t c1, int32_t c2, double *a, double *b) {
  for (int32_t j = 0; j < n;) {
    const double *w = weightRow(k, t[j]);
    double s1 = w[c1], s2 = w[c2];
    j++;
    for (; j < n && !(t[j] & FIRST_OF_BIN); j++) {
      w = weightRow(k, t[j]);
      s1 += w[c1];
      s2 += w[c2];
    }
    /* float32 mode: a single tap's weight is a float32 already, so rounding it changes nothing */
    if (k->round) {
      s1 = (double)(float)s1;
      s2 = (double)(float)s2;
    }
    *a += s1;
    *b += s2;
  }
}
#endif

/* The potentials of maps `c1` and `c2` at `pos` with its pending bins integrated (the row unchanged). */
static void mapPotentials(Kernel *k, int32_t pos, int32_t c1, int32_t c2, double *x1, double *x2) {
  const int32_t from = k->done[pos];
  const int32_t n = k->at[pos].count - from;
  const Tap *t = k->taps + (size_t)pos * k->tpm + from;
  const double *row = from == 0 ? k->restRow : k->pot + (size_t)pos * k->mp;
  *x1 = row[c1];
  *x2 = row[c2];
  if (n == 0) return;
#if X86
  const __m128d v = _mm_loadh_pd(_mm_load_sd(x1), x2);
  const __m128d out = k->simd == WITH_AVX512 ? walk512(k, t, n, c1, c2, v) : walk128(k, t, n, c1, c2, v);
  _mm_storel_pd(x1, out);
  _mm_storeh_pd(x2, out);
#else
  walkScalar(k, t, n, c1, c2, x1, x2);
#endif
}

/*
 * Decide by the level bounds whether `pos` spikes in this bin (see integrate.wat's $crossing):
 * add its new taps' levels to its sums, integrate each candidate map on its own, and return
 * the map with the largest potential above the threshold (ties to the higher map), or -1.
 */
static int32_t crossing(Kernel *k, int32_t pos) {
  const int32_t cnt = k->at[pos].count;
  const Tap *t = k->taps + (size_t)pos * k->tpm;
  const int32_t first = k->levelDone[pos];
  uint16_t *row = k->levelSum + (size_t)pos * k->mp;
  k->levelDone[pos] = cnt;
  /* the sample's first fold starts from sums of zero (the position's row is stale) */
  if (!fold(k, row, first == 0 ? k->zeroLevels : row, t + first, cnt - first, (uint16_t)k->candidateSum)) return -1;
  int32_t best = -1;
  double bestV = -__builtin_inf();
  const int32_t pending = cnt - k->done[pos];
  /* the candidates in ascending order, two at a time; >= so that an exact tie goes to the higher map */
  int32_t held = -1;
  for (int32_t word = 0; word * 64 < k->maps; word++) {
    for (uint64_t bits = k->bits[word]; bits != 0; bits &= bits - 1) {
      const int32_t m = word * 64 + __builtin_ctzll(bits);
      if (m >= k->maps) break;
      if (held < 0) {
        held = m;
        continue;
      }
      double x1, x2;
      mapPotentials(k, pos, held, m, &x1, &x2);
      k->stats[2] += 2 * pending;
      if (x1 > k->threshold && x1 >= bestV) {
        bestV = x1;
        best = held;
      }
      if (x2 > k->threshold && x2 >= bestV) {
        bestV = x2;
        best = m;
      }
      held = -1;
    }
  }
  if (held >= 0) {
    double x1, x2;
    mapPotentials(k, pos, held, held, &x1, &x2);
    k->stats[2] += pending;
    if (x1 > k->threshold && x1 >= bestV) {
      bestV = x1;
      best = held;
    }
  }
  if (best >= 0) k->pot[(size_t)pos * k->mp + best] = bestV;
  return best;
}

/* One bin (see integrate.wat's step): deliver the `n` source neurons at `src`, integrate or
 * bound the touched positions that may cross; returns the number of positions that spiked, or
 * -1 when a position received more taps than its kernel has. */
static int32_t step(Kernel *k, const int32_t *src, int32_t n, int32_t bin) {
  const int32_t sample = k->sample;
  const int32_t tpm = k->tpm;
  /* the regions in locals: the stores below cannot then make the compiler reload them */
  const int32_t *restrict start = k->start, *links = k->links;
  Tap *restrict taps = k->taps;
  int32_t *restrict touched = k->touched;
  Position *at = k->at;
  int32_t tc = 0, applied = 0, fanout = 0;
  for (int32_t s = 0; s < n; s++) {
    const int32_t sid = src[s];
    const int32_t *l = links + 2 * (size_t)start[sid];
    const int32_t *const end = links + 2 * (size_t)start[sid + 1];
    fanout += (int32_t)(end - l) >> 1;
    for (; l < end; l += 2) {
      const int32_t pos = l[0];
      Position *const p = at + pos;
      if (__builtin_expect(p->stamp != sample, 0)) resetPosition(k, pos);
      /* without branches on the data: a dead position's tap is written past its count (never
       * read: a position receives at most tpm taps in a sample) and not counted */
      const int32_t alive = p->dead ^ 1;
      const int32_t fresh = alive & (p->binStamp != bin);
      p->binStamp = bin;
      touched[tc] = pos;
      tc += fresh;
      /* a position receives at most tpm taps in a sample (each source spikes once); one more
       * means a presynaptic layer broke that: its count goes past tpm (checked below, where it
       * is put back), its tap is written over the row's last, never past the row */
      const int32_t cnt = p->count;
      taps[(size_t)pos * tpm + (cnt < tpm ? cnt : tpm - 1)] = (Tap)(l[1] | fresh << 15);
      p->count = cnt + alive;
      applied += alive;
    }
  }
  k->stats[0] += applied;
  k->stats[1] += fanout;
  /* the touched positions that may cross, compacted in place; a position past tpm taps
   * received one this bin (it was alive), so it is among them */
  int32_t m = 0, overflow = 0;
  for (int32_t i = 0; i < tc; i++) {
    const int32_t pos = touched[i];
    const int32_t cnt = at[pos].count;
    if (cnt > tpm) {
      at[pos].count = tpm;
      overflow = 1;
    }
    touched[m] = pos;
    m += cnt > k->maxDeferred;
  }
  if (overflow) return -1;
  const int bounding = k->maxDeferred > 0;
  int32_t spikes = 0;
  for (int32_t i = 0; i < m; i++) {
    const int32_t pos = k->touched[i];
    const int32_t best = bounding ? crossing(k, pos) : integrate(k, pos, 1);
    const int32_t hit = best >= 0;
    at[pos].dead = hit;
    k->spikePos[spikes] = pos;
    k->spikeMap[spikes] = best;
    spikes += hit;
  }
  return spikes;
}

/* 0: untouched in the sample (at rest); 1: alive, its potentials brought up to date; 2: spiked. */
static int32_t settle(Kernel *k, int32_t pos) {
  const Position *p = k->at + pos;
  if (p->stamp != k->sample) return 0;
  if (p->dead) return 2;
  if (k->done[pos] < p->count) integrate(k, pos, 0);
  return 1;
}

/* ---- Node-API glue ---- */

#define CHECK(call) \
  do { \
    if ((call) != napi_ok) { \
      napi_throw_error(env, NULL, "evspike native kernel: " #call " failed"); \
      return NULL; \
    } \
  } while (0)

static void freeLearner(struct Learner *L);

static void release(Kernel *k) {
  freeLearner(k->learner);
  free(k->at);
  free(k->taps);
  free(k->links);
  free(k->rows);
  free(k->bits);
  free(k);
}

static void dropLearnerRefs(napi_env env, Kernel *k);

static void finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  Kernel *k = data;
  napi_delete_reference(env, k->memory);
  for (int i = 0; i < 4; i++) {
    if (k->logRefs[i] != NULL) napi_delete_reference(env, k->logRefs[i]);
  }
  dropLearnerRefs(env, k);
  release(k);
}

static void releaseKernel(void *k) {
  release(k);
}

/*
 * The handle JavaScript holds for `data`, which points into `memory` (an ArrayBuffer): a
 * reference to the memory kept in *ref while the handle lives, `fin` deleting both. NULL, with
 * an error thrown and `data` given to `drop`, where either cannot be made.
 */
static napi_value handleOf(napi_env env, napi_value memory, napi_ref *ref, void *data, napi_finalize fin, void (*drop)(void *), const char *what) {
  char message[96];
  napi_value handle;
  if (napi_create_reference(env, memory, 1, ref) != napi_ok) {
    drop(data);
    snprintf(message, sizeof message, "%s: cannot keep the memory", what);
    napi_throw_error(env, NULL, message);
    return NULL;
  }
  if (napi_create_external(env, data, fin, NULL, &handle) != napi_ok) {
    napi_delete_reference(env, *ref);
    drop(data);
    snprintf(message, sizeof message, "%s: cannot make the handle", what);
    napi_throw_error(env, NULL, message);
    return NULL;
  }
  return handle;
}

/* The kernel of the first argument and up to `want` int32 arguments after it. */
static Kernel *args(napi_env env, napi_callback_info info, int32_t *out, size_t want) {
  napi_value argv[4];
  size_t argc = 4;
  void *data = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < want + 1 ||
      napi_get_value_external(env, argv[0], &data) != napi_ok) {
    napi_throw_type_error(env, NULL, "evspike native kernel: wrong arguments");
    return NULL;
  }
  for (size_t i = 0; i < want; i++) {
    if (napi_get_value_int32(env, argv[i + 1], &out[i]) != napi_ok) {
      napi_throw_type_error(env, NULL, "evspike native kernel: an argument is not a number");
      return NULL;
    }
  }
  return data;
}

/* The call's first `want` arguments into argv, or 0 (a TypeError thrown) when it has fewer. */
static int callArgs(napi_env env, napi_callback_info info, napi_value *argv, size_t want, const char *name) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < want) {
    char message[96];
    snprintf(message, sizeof message, "evspike native module: %s takes %zu arguments", name, want);
    napi_throw_type_error(env, NULL, message);
    return 0;
  }
  return 1;
}

/* The call's first `want` arguments into argv, the first a handle (`kind`): its data, or NULL
 * (a TypeError thrown). */
static void *handleArgs(napi_env env, napi_callback_info info, napi_value *argv, size_t want, const char *name, const char *what, const char *kind) {
  void *data = NULL;
  if (!callArgs(env, info, argv, want, name)) return NULL;
  if (napi_get_value_external(env, argv[0], &data) != napi_ok) {
    char message[128];
    snprintf(message, sizeof message, "%s: %s takes %s first", what, name, kind);
    napi_throw_type_error(env, NULL, message);
    return NULL;
  }
  return data;
}

static napi_value int32Value(napi_env env, int32_t x) {
  napi_value v;
  napi_create_int32(env, x, &v);
  return v;
}

/* The widest vectors this processor (and its operating system) supports: asked once (worker
 * threads that ask at once store the same answer). */
static int bestSimd(void) {
#if X86
  static int known = -1;
  int level = __atomic_load_n(&known, __ATOMIC_RELAXED);
  if (level < 0) {
    __builtin_cpu_init();
    level = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("bmi2") ? WITH_AVX512
            : __builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi2")                                                                         ? WITH_AVX2
                                                                                                                                                      : SCALAR;
    __atomic_store_n(&known, level, __ATOMIC_RELAXED);
  }
  return level;
#else
  return SCALAR;
#endif
}

/* simd(): the widest vectors a kernel can use here (0 scalar, 2 AVX2, 3 AVX-512) */
static napi_value Simd(napi_env env, napi_callback_info info) {
  (void)info;
  return int32Value(env, bestSimd());
}

/* alignment(memory: ArrayBuffer, bytes): the first offset in memory at a multiple of `bytes` (a power of two) */
static napi_value Alignment(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  size_t argc = 2;
  void *memory;
  size_t length;
  int32_t bytes;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  CHECK(napi_get_arraybuffer_info(env, argv[0], &memory, &length));
  CHECK(napi_get_value_int32(env, argv[1], &bytes));
  if (bytes <= 0 || (bytes & (bytes - 1)) != 0) {
    napi_throw_range_error(env, NULL, "evspike native kernel: alignment takes a power of two");
    return NULL;
  }
  return int32Value(env, (int32_t)((uintptr_t)(-(intptr_t)memory) & (uintptr_t)(bytes - 1)));
}

/* create(memory: ArrayBuffer, offsets: number[22], tpm, mp, maps, round, threshold, restV, simd,
 * positions, sources): simd caps the vectors (for tests of the narrower ones); the widest
 * available is used below it */
static napi_value Create(napi_env env, napi_callback_info info) {
  napi_value argv[11];
  if (!callArgs(env, info, argv, 11, "create")) return NULL;
  void *memory;
  size_t length;
  CHECK(napi_get_arraybuffer_info(env, argv[0], &memory, &length));
  int32_t off[22];
  for (uint32_t i = 0; i < 22; i++) {
    napi_value e;
    CHECK(napi_get_element(env, argv[1], i, &e));
    CHECK(napi_get_value_int32(env, e, &off[i]));
    if (off[i] < 0 || (size_t)off[i] > length) {
      napi_throw_range_error(env, NULL, "evspike native kernel: a region lies outside the memory");
      return NULL;
    }
  }
  int32_t ints[4];
  double threshold;
  for (int i = 0; i < 4; i++) CHECK(napi_get_value_int32(env, argv[2 + i], &ints[i]));
  if (ints[0] <= 0 || ints[0] > MAX_TAPS) {
    napi_throw_range_error(env, NULL, "evspike native kernel: a map's kernel has more taps than it takes (32,767)");
    return NULL;
  }
  CHECK(napi_get_value_double(env, argv[6], &threshold));
  /* argv[7], v_rest, is WebAssembly's configuration too; here the row at rest carries it */
  int32_t simd, positions, sources;
  CHECK(napi_get_value_int32(env, argv[8], &simd));
  CHECK(napi_get_value_int32(env, argv[9], &positions));
  CHECK(napi_get_value_int32(env, argv[10], &sources));
  Kernel *k = calloc(1, sizeof(Kernel));
  if (k == NULL) {
    napi_throw_error(env, NULL, "evspike native kernel: out of memory");
    return NULL;
  }
  char *b = memory;
  k->base = b;
  /* the regions in the order integrate.ts's regions() lists them (16: the step's sources, unused here) */
  k->pot = (double *)(b + off[0]);
  k->weights = (double *)(b + off[1]);
  k->start = (int32_t *)(b + off[2]);
  k->done = (int32_t *)(b + off[9]);
  k->touched = (int32_t *)(b + off[11]);
  k->spikePos = (int32_t *)(b + off[12]);
  k->spikeMap = (int32_t *)(b + off[13]);
  k->sampleList = (int32_t *)(b + off[14]);
  k->stats = (int32_t *)(b + off[15]);
  k->levels = (uint16_t *)(b + off[17]);
  k->levelSum = (uint16_t *)(b + off[18]);
  k->levelDone = (int32_t *)(b + off[19]);
  k->restRow = (double *)(b + off[20]);
  k->zeroLevels = (uint16_t *)(b + off[21]);
  k->tpm = ints[0];
  k->mp = ints[1];
  k->maps = ints[2];
  k->round = ints[3];
  k->threshold = threshold;
  k->simd = simd < bestSimd() ? simd : bestSimd();
  k->positions = positions;
  k->sources = sources;
  k->rows = malloc(((size_t)k->tpm + 1) * sizeof(void *));
  k->bits = calloc((size_t)k->mp / 64 + 2, sizeof(uint64_t)); /* fold512x3 writes two words */
  /* every position stale (stamp 0 is never a sample); the connections' targets and tap
   * indices side by side */
  k->at = calloc((size_t)positions, sizeof(Position));
  k->taps = malloc((size_t)positions * (size_t)k->tpm * sizeof(Tap));
  /* the connections' targets and payloads as integrate.ts lays them out, read here once */
  const int32_t *target = (const int32_t *)(b + off[3]), *payload = (const int32_t *)(b + off[4]);
  const size_t links = (size_t)k->start[sources];
  k->links = malloc((2 * links + 1) * sizeof(int32_t));
  if (k->links != NULL) {
    for (size_t i = 0; i < links; i++) {
      k->links[2 * i] = target[i];
      /* the tap's index (the payload is its weight row's byte offset) */
      k->links[2 * i + 1] = payload[i] / (k->mp * 8);
    }
  }
  if (k->rows == NULL || k->bits == NULL || k->at == NULL || k->links == NULL || k->taps == NULL) {
    release(k);
    napi_throw_error(env, NULL, "evspike native kernel: out of memory");
    return NULL;
  }
  return handleOf(env, argv[0], &k->memory, k, finalize, releaseKernel, "evspike native kernel");
}

static napi_value Step(napi_env env, napi_callback_info info) {
  int32_t a[3];
  Kernel *k = args(env, info, a, 3);
  if (k == NULL) return NULL;
  return int32Value(env, step(k, (const int32_t *)(k->base + a[0]), a[1], a[2]));
}

static napi_value BeginSample(napi_env env, napi_callback_info info) {
  int32_t a[1];
  Kernel *k = args(env, info, a, 1);
  if (k == NULL) return NULL;
  k->sample = a[0];
  k->sampleCount = 0;
  k->stats[0] = k->stats[1] = k->stats[2] = 0;
  return NULL;
}

static napi_value Settle(napi_env env, napi_callback_info info) {
  int32_t a[1];
  Kernel *k = args(env, info, a, 1);
  if (k == NULL) return NULL;
  return int32Value(env, settle(k, a[0]));
}

static napi_value SettleAll(napi_env env, napi_callback_info info) {
  Kernel *k = args(env, info, NULL, 0);
  if (k == NULL) return NULL;
  for (int32_t i = 0; i < k->sampleCount; i++) settle(k, k->sampleList[i]);
  return NULL;
}

/* A call that sets one int32 field of the kernel. */
#define SETTER(name, field) \
  static napi_value name(napi_env env, napi_callback_info info) { \
    int32_t a[1]; \
    Kernel *k = args(env, info, a, 1); \
    if (k != NULL) k->field = a[0]; \
    return NULL; \
  }

SETTER(SetMaxDeferred, maxDeferred)
SETTER(SetCandidateSum, candidateSum)

/* The sample's positions with no taps in their sums of levels (the levels changed). */
static napi_value ForgetBounds(napi_env env, napi_callback_info info) {
  Kernel *k = args(env, info, NULL, 0);
  if (k == NULL) return NULL;
  for (int32_t i = 0; i < k->sampleCount; i++) k->levelDone[k->sampleList[i]] = 0;
  return NULL;
}

/* The data of a typed array argument, or NULL (thrown) when it is not one of `type`. */
static void *typedData(napi_env env, napi_value value, napi_typedarray_type type, size_t *length) {
  napi_typedarray_type got;
  void *data = NULL;
  napi_value buffer;
  size_t offset;
  if (napi_get_typedarray_info(env, value, &got, length, &data, &buffer, &offset) != napi_ok || got != type) {
    napi_throw_type_error(env, NULL, "evspike native kernel: an argument is not the typed array expected");
    return NULL;
  }
  return data;
}

/* Whether starts[0 … n] ascend, from 0 or more to at most `length` (rows of an array). */
static int ascendingWithin(const int32_t *starts, size_t n, size_t length) {
  if (n > 0 && starts[0] < 0) return 0;
  for (size_t i = 0; i < n; i++) {
    if (starts[i] > starts[i + 1] || (size_t)starts[i + 1] > length) return 0;
  }
  return 1;
}

/* Whether values[from … to) all lie in [0, limit). */
static int allBelow(const int32_t *values, size_t from, size_t to, int32_t limit) {
  for (size_t i = from; i < to; i++) {
    if (values[i] < 0 || values[i] >= limit) return 0;
  }
  return 1;
}

/*
 * Append the `spiked` spikes of the last step (spikePos, spikeMap) to a log from index
 * `first`, in ascending flat index (map · positions + pos: an insertion sort, a bin holds a few
 * dozen), each with time `t` and its potential, and note each position's spiking map.
 */
static void appendSorted(const Kernel *k, int32_t first, int32_t spiked, double t, const SpikeLog *log) {
  int32_t *const logNeuron = log->neuron, *const spikedMap = log->map;
  double *const logTime = log->time, *const spikeV = log->v;
  for (int32_t i = 0; i < spiked; i++) {
    const int32_t pos = k->spikePos[i], map = k->spikeMap[i];
    const int32_t flat = map * k->positions + pos;
    const double v = k->pot[(size_t)pos * k->mp + map];
    int32_t j = first + i - 1;
    for (; j >= first && logNeuron[j] > flat; j--) {
      logNeuron[j + 1] = logNeuron[j];
      spikeV[j + 1] = spikeV[j];
    }
    logNeuron[j + 1] = flat;
    spikeV[j + 1] = v;
    logTime[first + i] = t;
    spikedMap[pos] = map;
  }
}

/*
 * A sample's bins as runBins and poolRunBins take them: the sources (argv[1]), their bin starts
 * (argv[2]) and the number of bins (argv[3]), the starts ascending within the sources. Returns
 * 1; 0 with an error thrown (naming `what` and the call `name`); -2, nothing thrown, for a
 * source that is not below `limit` (not a presynaptic neuron).
 */
static int binsArgs(napi_env env, const napi_value *argv, int32_t limit, const char *what, const char *name, const int32_t **sources, const int32_t **binStart, int32_t *T) {
  size_t ns, nb;
  char message[160];
  *sources = typedData(env, argv[1], napi_int32_array, &ns);
  *binStart = typedData(env, argv[2], napi_int32_array, &nb);
  if (!*sources || !*binStart) return 0;
  if (napi_get_value_int32(env, argv[3], T) != napi_ok) {
    snprintf(message, sizeof message, "%s: %s takes the number of bins", what, name);
    napi_throw_type_error(env, NULL, message);
    return 0;
  }
  if (*T < 0 || nb < (size_t)*T + 1) {
    snprintf(message, sizeof message, "%s: %s' arrays are too short", what, name);
    napi_throw_range_error(env, NULL, message);
    return 0;
  }
  if (!ascendingWithin(*binStart, (size_t)*T, ns)) {
    snprintf(message, sizeof message, "%s: %s' bin starts are not ascending within the sources", what, name);
    napi_throw_range_error(env, NULL, message);
    return 0;
  }
  if (*T > 0 && !allBelow(*sources, (size_t)(*binStart)[0], (size_t)(*binStart)[*T], limit)) return -2;
  return 1;
}

/*
 * A log's four arrays from argv[0 … 3] (neurons, times, potentials, spiking maps), each at
 * least `positions` long: 1, or 0 with an error thrown (`tooShort` when one is shorter). Its
 * room: a position spikes once in a sample, so the positions fit; more spikes mean a broken
 * kernel, refused before anything is written past the log.
 */
static int logArgs(napi_env env, const napi_value *argv, size_t positions, const char *tooShort, SpikeLog *log) {
  size_t nn, nt, nv, nm;
  log->neuron = typedData(env, argv[0], napi_int32_array, &nn);
  log->time = typedData(env, argv[1], napi_float64_array, &nt);
  log->v = typedData(env, argv[2], napi_float64_array, &nv);
  log->map = typedData(env, argv[3], napi_int32_array, &nm);
  if (!log->neuron || !log->time || !log->v || !log->map) return 0;
  if (nn < positions || nt < positions || nv < positions || nm < positions) {
    napi_throw_range_error(env, NULL, tooShort);
    return 0;
  }
  log->room = nn < nt ? nn : nt;
  if (nv < log->room) log->room = nv;
  return 1;
}

/*
 * runBins(k, sources, binStart, T, bin, logNeuron, logTime, spikeV, spikedMap): a sample's
 * bins in one call, none learning (see ConvKernel.runBins): the sources of bin t are
 * sources[binStart[t] … binStart[t+1]); each non-empty bin steps with the next serial after
 * `bin` (never 0, as integrate.ts counts them) and appends its spikes to the log from index 0
 * on, in ascending flat index (map · positions + pos), with time t, the spiking potential and
 * the position's spiking map. Returns the log's length, -1 when a position received more taps
 * than its kernel has, -2 for a source that is not a presynaptic neuron, -3 for more spikes
 * than the log holds (a position spiked twice: a broken kernel).
 */
static napi_value RunBins(napi_env env, napi_callback_info info) {
  napi_value argv[9];
  Kernel *k = handleArgs(env, info, argv, 9, "runBins", "evspike native kernel", "a kernel");
  if (k == NULL) return NULL;
  SpikeLog log;
  if (!logArgs(env, argv + 5, (size_t)k->positions, "evspike native kernel: runBins' arrays are too short", &log)) return NULL;
  const int32_t *sources, *binStart;
  int32_t T, bin;
  const int bins = binsArgs(env, argv, k->sources, "evspike native kernel", "runBins", &sources, &binStart, &T);
  if (bins <= 0) return bins == 0 ? NULL : int32Value(env, -2);
  CHECK(napi_get_value_int32(env, argv[4], &bin));
  int32_t count = 0;
  uint32_t serial = (uint32_t)bin;
  for (int32_t t = 0; t < T; t++) {
    const int32_t from = binStart[t], to = binStart[t + 1];
    if (from == to) continue;
    serial = serial == 0xffffffffu ? 1 : serial + 1;
    const int32_t spiked = step(k, sources + from, to - from, (int32_t)serial);
    if (spiked < 0) return int32Value(env, -1);
    if ((size_t)count + (size_t)spiked > log.room) return int32Value(env, -3);
    appendSorted(k, count, spiked, t, &log);
    count += spiked;
  }
  return int32Value(env, count);
}

/*
 * setLog(k, neuron: Int32Array, time: Float64Array, spikeV: Float64Array, spikedMap: Int32Array):
 * the layer's log and spiking maps (see ConvLayer), kept for stepLog, each at least as long as
 * the layer's positions.
 */
static napi_value SetLog(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  Kernel *k = handleArgs(env, info, argv, 5, "setLog", "evspike native kernel", "a kernel");
  if (k == NULL) return NULL;
  SpikeLog log;
  if (!logArgs(env, argv + 1, (size_t)k->positions, "evspike native kernel: setLog's arrays are shorter than the positions", &log)) return NULL;
  for (int i = 0; i < 4; i++) {
    if (k->logRefs[i] != NULL) napi_delete_reference(env, k->logRefs[i]);
    k->logRefs[i] = NULL;
    CHECK(napi_create_reference(env, argv[i + 1], 1, &k->logRefs[i]));
  }
  k->log = log;
  return NULL;
}

/*
 * stepLog(k, src, n, bin, first, time): step, then the bin's spikes appended to the log setLog
 * gave from index `first` (as runBins does), with time `time`. Returns the number of spikes,
 * -1 as step does, -3 for more than the log holds (a position spiked twice: a broken kernel).
 */
static napi_value StepLog(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  Kernel *k = handleArgs(env, info, argv, 6, "stepLog", "evspike native kernel", "a kernel");
  if (k == NULL) return NULL;
  int32_t a[4];
  double time;
  for (int i = 0; i < 4; i++) CHECK(napi_get_value_int32(env, argv[i + 1], &a[i]));
  CHECK(napi_get_value_double(env, argv[5], &time));
  if (k->log.neuron == NULL || a[3] < 0 || (size_t)a[3] > k->log.room) {
    napi_throw_range_error(env, NULL, "evspike native kernel: stepLog without a log, or past its end");
    return NULL;
  }
  const int32_t spiked = step(k, (const int32_t *)(k->base + a[0]), a[1], a[2]);
  if (spiked < 0) return int32Value(env, -1);
  if ((size_t)a[3] + (size_t)spiked > k->log.room) return int32Value(env, -3);
  appendSorted(k, a[3], spiked, time, &k->log);
  return int32Value(env, spiked);
}

/* ---- A conv layer's learning (conv.ts's learnFromBin, winners.ts, vdsp.ts, input.ts) ---- */

/* The arrays setLearner keeps (references held while the kernel lives). */
enum { L_WEIGHTS, L_LARGEST, L_WINNERS, L_WINNER_TIMES, L_STATE, L_MAP_USED, L_INHIBITED, L_SPIKE_TIME, L_RAMP, L_ARRAYS };

/*
 * What stepLearn needs to learn from a bin's spikes as conv.ts's learnFromBin does with VDSP
 * (vdsp.ts) and a presynaptic input layer (input.ts): the layer's weights W[map][tap], the
 * largest integration weight per map, its log of winners and winner mask (winners.ts's), the
 * input layer's spike bin per neuron and its ramp of potentials, the geometry and the rule's
 * parameters. Those files stay the definition; test/neurons/native-stages.test.ts checks this
 * against them.
 */
typedef struct Learner {
  napi_ref refs[L_ARRAYS];
  double *weights, *mapLargest, *winnerTimes, *state, *ramp, *pre;
  int32_t *winners, *spikeTime, *order;
  uint8_t *mapUsed, *inhibited;
  size_t winnerRoom;
  int32_t height, width, maxWinners, radius, inChannels, inHeight, inWidth, size, stride, padding, timeBins;
  int32_t float32, adaptive, interval;
  /* the potential of padding (the conv layer's v_rest), the input's v_rest and v_reset, and the rule's */
  double paddingV, inputRest, inputReset, restV, thresholdV, weightMin, weightMax, potentiation, depression, learningRateMax;
} Learner;

static void freeLearner(Learner *L) {
  if (L == NULL) return;
  free(L->pre);
  free(L->order);
  free(L);
}

static void dropLearnerRefs(napi_env env, Kernel *k) {
  if (k->learner == NULL) return;
  for (int i = 0; i < L_ARRAYS; i++) {
    if (k->learner->refs[i] != NULL) napi_delete_reference(env, k->learner->refs[i]);
    k->learner->refs[i] = NULL;
  }
}

/* vdspWeight (vdsp.ts): the weight after VDSP, the same float64 operations in the same order. */
static double vdspWeight(const Learner *L, double w, double p, double rate) {
  const double soft = (w - L->weightMin) * (L->weightMax - w);
  double next;
  if (L->float32) {
    const double q = (double)(float)p;
    if (q < L->restV) {
      next = w + soft * L->potentiation * rate;
    } else {
      const double gain = (double)(float)((double)(float)L->depression - (double)(float)(q / (double)(float)L->thresholdV));
      next = w - soft * gain * rate;
    }
  } else if (p < L->restV) {
    next = w + soft * L->potentiation * rate;
  } else {
    next = w - soft * (L->depression - p / L->thresholdV) * rate;
  }
  if (next < L->weightMin) return L->weightMin;
  if (next > L->weightMax) return L->weightMax;
  return next;
}

/* Math.min(a, b): NaN where either is, -0 below +0. */
static inline double jsMin(double a, double b) {
  if (a != a || b != b) return a + b;
  if (a == b) return __builtin_signbit(a) ? a : b;
  return a < b ? a : b;
}

/* The input layer's potential of `neuron` at the end of bin t (InputPotential.at; a spike bin
 * past the bins, which the engine's checks of the input keep out, reads NaN there as here). */
static inline double inputPotential(const Learner *L, int32_t neuron, int32_t t) {
  const int32_t spikeBin = L->spikeTime[neuron];
  if (spikeBin < 0) return L->inputRest;
  if (t >= spikeBin) return L->inputReset;
  return spikeBin < L->timeBins ? L->ramp[(size_t)spikeBin * (size_t)L->timeBins + (size_t)t] : __builtin_nan("");
}

/*
 * Learn from the log's spikes [first, end) of bin t: select the winners (winners.ts's
 * selectWinners, over the layer's mask), append them to the winners' log from `at`, and for
 * each in order apply VDSP to its map's kernel with the receptive field's input potentials,
 * advance the learning rate (`rate`, `applications`: nextLearningRate) and refresh the map's
 * integration weights and largest weight (conv.ts's refreshIntegrationWeights). Returns the
 * winners, or -1 (nothing changed) when the winners' log has no room for them.
 */
static int32_t learnBin(Kernel *k, int32_t first, int32_t end, int32_t t, double *rate, double *applications, int32_t at) {
  Learner *const L = k->learner;
  const int32_t positions = k->positions, width = L->width, tpm = k->tpm;
  const int32_t *const neuron = k->log.neuron;
  const double *const v = k->log.v;
  int32_t *const order = L->order;
  /* the allowed candidates by (V desc, flat asc): an insertion sort, as winners.ts does */
  int32_t n = 0;
  for (int32_t idx = first; idx < end; idx++) {
    const int32_t flat = neuron[idx];
    const int32_t map = flat / positions;
    if (L->mapUsed[map] != 0 || L->inhibited[flat - map * positions] != 0) continue;
    const double x = v[idx];
    int32_t j = n - 1;
    for (; j >= 0; j--) {
      const int32_t o = order[j];
      if (v[o] > x || (v[o] == x && neuron[o] < flat)) break;
      order[j + 1] = o;
    }
    order[j + 1] = idx;
    n++;
  }
  int32_t winners = 0;
  for (int32_t i = 0; i < n && winners < L->maxWinners; i++) {
    const int32_t flat = neuron[order[i]];
    const int32_t map = flat / positions, pos = flat - map * positions;
    if (L->mapUsed[map] != 0 || L->inhibited[pos] != 0) continue;
    if ((size_t)at + (size_t)winners >= L->winnerRoom) return -1;
    L->mapUsed[map] = 1;
    const int32_t y = pos / width, x = pos - y * width;
    const int32_t y1 = y + L->radius < L->height - 1 ? y + L->radius : L->height - 1;
    const int32_t x1 = x + L->radius < width - 1 ? x + L->radius : width - 1;
    for (int32_t yy = y - L->radius > 0 ? y - L->radius : 0; yy <= y1; yy++) {
      for (int32_t xx = x - L->radius > 0 ? x - L->radius : 0; xx <= x1; xx++) L->inhibited[yy * width + xx] = 1;
    }
    order[winners++] = flat;
  }
  for (int32_t i = 0; i < winners; i++) {
    const int32_t flat = order[i];
    const int32_t map = flat / positions, pos = flat - map * positions;
    const int32_t y0 = (pos / width) * L->stride - L->padding, x0 = (pos % width) * L->stride - L->padding;
    double *const pre = L->pre;
    int32_t tap = 0;
    for (int32_t c = 0; c < L->inChannels; c++) {
      for (int32_t iy = y0; iy < y0 + L->size; iy++) {
        for (int32_t ix = x0; ix < x0 + L->size; ix++) {
          pre[tap++] = iy < 0 || iy >= L->inHeight || ix < 0 || ix >= L->inWidth ? L->paddingV : inputPotential(L, (c * L->inHeight + iy) * L->inWidth + ix, t);
        }
      }
    }
    double *const w = L->weights + (size_t)map * (size_t)tpm;
    double largest = -__builtin_inf();
    for (int32_t j = 0; j < tpm; j++) {
      w[j] = vdspWeight(L, w[j], pre[j], *rate);
      const double x = k->round ? (double)(float)w[j] : w[j];
      k->weights[(size_t)j * (size_t)k->mp + (size_t)map] = x;
      if (x > largest) largest = x;
    }
    L->mapLargest[map] = largest;
    *applications += 1;
    /* JavaScript's % and Math.min, for any count and rate a caller gives (NaN and -0 included) */
    if (L->adaptive && __builtin_fmod(*applications, (double)L->interval) == 0) *rate = jsMin(2 * *rate, L->learningRateMax);
    L->winners[at + i] = flat;
    L->winnerTimes[at + i] = t;
  }
  return winners;
}

/*
 * setLearner(k, weights, mapLargest, winners, winnerTimes, state, mapUsed, inhibited,
 * spikeTime, ramp, ints, doubles): the layer's learning for stepLearn (see Learner): its
 * weights (Float64Array, maps × taps), largest integration weight per map (Float64Array), log of
 * winners (Int32Array, Float64Array), state (Float64Array of 3, which stepLearn writes), winner
 * mask (Uint8Arrays of maps and positions), the input layer's spike bin per neuron (Int32Array)
 * and ramp (Float64Array, timeBins²); ints (Int32Array): height, width, winners per bin,
 * inhibition radius, input channels, height and width, kernel size, stride, padding, time bins,
 * float32, adaptive learning rate, its interval; doubles (Float64Array): the potential of
 * padding, the input's v_rest and v_reset, the rule's v_rest, θ, w_min, w_max, a_pot, a_dep and
 * η_max.
 */
static napi_value SetLearner(napi_env env, napi_callback_info info) {
  napi_value argv[12];
  Kernel *k = handleArgs(env, info, argv, 12, "setLearner", "evspike native kernel", "a kernel");
  if (k == NULL) return NULL;
  static const napi_typedarray_type types[L_ARRAYS] = {napi_float64_array, napi_float64_array, napi_int32_array, napi_float64_array, napi_float64_array, napi_uint8_array, napi_uint8_array, napi_int32_array, napi_float64_array};
  void *data[L_ARRAYS];
  size_t length[L_ARRAYS], ni, nd;
  for (int i = 0; i < L_ARRAYS; i++) {
    if ((data[i] = typedData(env, argv[i + 1], types[i], &length[i])) == NULL) return NULL;
  }
  const int32_t *ints = typedData(env, argv[10], napi_int32_array, &ni);
  const double *doubles = typedData(env, argv[11], napi_float64_array, &nd);
  if (ints == NULL || doubles == NULL) return NULL;
  if (ni < 14 || nd < 10) {
    napi_throw_range_error(env, NULL, "evspike native kernel: setLearner takes 14 integers and 10 numbers");
    return NULL;
  }
  const int32_t H = ints[0], W = ints[1], C = ints[4], inH = ints[5], inW = ints[6], size = ints[7], T = ints[10];
  const size_t maps = (size_t)k->maps, positions = (size_t)k->positions;
  /* every index the learning takes lies in these arrays */
  const int fits = H > 0 && W > 0 && (size_t)H * (size_t)W == positions && ints[2] >= 0 && ints[3] >= 0 && C > 0 && inH > 0 && inW > 0 && size > 0 &&
                   (int64_t)C * size * size == k->tpm && ints[8] > 0 && ints[9] >= 0 && T > 0 && T <= 0x8000 && ints[13] > 0 &&
                   length[L_WEIGHTS] >= maps * (size_t)k->tpm && length[L_LARGEST] >= maps && length[L_WINNERS] >= maps && length[L_WINNER_TIMES] >= maps &&
                   length[L_STATE] >= 3 && length[L_MAP_USED] >= maps && length[L_INHIBITED] >= positions &&
                   length[L_SPIKE_TIME] >= (size_t)C * (size_t)inH * (size_t)inW && length[L_RAMP] >= (size_t)T * (size_t)T;
  if (!fits) {
    napi_throw_range_error(env, NULL, "evspike native kernel: setLearner's geometry or arrays do not fit the kernel");
    return NULL;
  }
  Learner *L = k->learner;
  if (L == NULL) {
    L = calloc(1, sizeof(Learner));
    if (L == NULL || (L->pre = malloc((size_t)k->tpm * sizeof(double))) == NULL || (L->order = malloc(positions * sizeof(int32_t))) == NULL) {
      freeLearner(L);
      napi_throw_error(env, NULL, "evspike native kernel: out of memory");
      return NULL;
    }
    k->learner = L;
  }
  dropLearnerRefs(env, k);
  for (int i = 0; i < L_ARRAYS; i++) CHECK(napi_create_reference(env, argv[i + 1], 1, &L->refs[i]));
  L->weights = data[L_WEIGHTS];
  L->mapLargest = data[L_LARGEST];
  L->winners = data[L_WINNERS];
  L->winnerTimes = data[L_WINNER_TIMES];
  L->state = data[L_STATE];
  L->mapUsed = data[L_MAP_USED];
  L->inhibited = data[L_INHIBITED];
  L->spikeTime = data[L_SPIKE_TIME];
  L->ramp = data[L_RAMP];
  L->winnerRoom = length[L_WINNERS] < length[L_WINNER_TIMES] ? length[L_WINNERS] : length[L_WINNER_TIMES];
  L->height = H;
  L->width = W;
  L->maxWinners = ints[2];
  L->radius = ints[3];
  L->inChannels = C;
  L->inHeight = inH;
  L->inWidth = inW;
  L->size = size;
  L->stride = ints[8];
  L->padding = ints[9];
  L->timeBins = T;
  L->float32 = ints[11] != 0;
  L->adaptive = ints[12] != 0;
  L->interval = ints[13];
  L->paddingV = doubles[0];
  L->inputRest = doubles[1];
  L->inputReset = doubles[2];
  L->restV = doubles[3];
  L->thresholdV = doubles[4];
  L->weightMin = doubles[5];
  L->weightMax = doubles[6];
  L->potentiation = doubles[7];
  L->depression = doubles[8];
  L->learningRateMax = doubles[9];
  return NULL;
}

/*
 * stepLearn(k, src, n, bin, first, time, rate, applications, winnersAt): stepLog, then the
 * bin's spikes learned from (see learnBin) with the learning rate and applications so far, the
 * winners appended to the winners' log from winnersAt; the state array gets the bin's winners,
 * the learning rate and the applications after them. Returns as stepLog does; -4 (nothing
 * done) where `time` is not a bin of the input (0 … timeBins − 1) or no learner was set; -5 when the winners' log has no room (its
 * count is off: a broken caller; the bin's spikes are logged, nothing learned).
 */
static napi_value StepLearn(napi_env env, napi_callback_info info) {
  napi_value argv[9];
  Kernel *k = handleArgs(env, info, argv, 9, "stepLearn", "evspike native kernel", "a kernel");
  if (k == NULL) return NULL;
  int32_t a[4], at;
  double time, rate, applications;
  for (int i = 0; i < 4; i++) CHECK(napi_get_value_int32(env, argv[i + 1], &a[i]));
  CHECK(napi_get_value_double(env, argv[5], &time));
  CHECK(napi_get_value_double(env, argv[6], &rate));
  CHECK(napi_get_value_double(env, argv[7], &applications));
  CHECK(napi_get_value_int32(env, argv[8], &at));
  if (k->log.neuron == NULL || a[3] < 0 || (size_t)a[3] > k->log.room || at < 0) {
    napi_throw_range_error(env, NULL, "evspike native kernel: stepLearn without a log, or past its end");
    return NULL;
  }
  const Learner *L = k->learner;
  if (L == NULL || !(time >= 0 && time < L->timeBins && time == (double)(int32_t)time)) return int32Value(env, -4);
  const int32_t spiked = step(k, (const int32_t *)(k->base + a[0]), a[1], a[2]);
  if (spiked < 0) return int32Value(env, -1);
  if ((size_t)a[3] + (size_t)spiked > k->log.room) return int32Value(env, -3);
  appendSorted(k, a[3], spiked, time, &k->log);
  int32_t winners = 0;
  if (spiked > 0) {
    winners = learnBin(k, a[3], a[3] + spiked, (int32_t)time, &rate, &applications, at);
    if (winners < 0) return int32Value(env, -5);
  }
  L->state[0] = winners;
  L->state[1] = rate;
  L->state[2] = applications;
  return int32Value(env, spiked);
}

/* ---- The input (encoder.ts, engine.ts): a sample's encoding and its spikes by bin ---- */

#if X86
/* The indices of the non-zero bytes of pixels[0 … n), ascending, into nz; returns how many. */
AVX512 static int32_t nonZero512(const uint8_t *pixels, int32_t n, int32_t *nz) {
  int32_t k = 0;
  for (int32_t i = 0; i < n; i += 64) {
    const __mmask64 lanes = n - i >= 64 ? ~(__mmask64)0 : ((__mmask64)1 << (n - i)) - 1;
    const __m512i v = _mm512_maskz_loadu_epi8(lanes, pixels + i);
    for (uint64_t bits = _mm512_test_epi8_mask(v, v); bits != 0; bits &= bits - 1) nz[k++] = i + __builtin_ctzll(bits);
  }
  return k;
}
#endif

static int32_t nonZeroScalar(const uint8_t *pixels, int32_t n, int32_t *nz) {
  int32_t k = 0;
  for (int32_t i = 0; i < n; i++) {
    nz[k] = i;
    k += pixels[i] != 0;
  }
  return k;
}

/* The counting sort's ranks: each intensity's count (brightest first) replaced by the rank of
 * its first pixel; returns the pixels counted. */
static int32_t firstRanks(int32_t *counts) {
  int32_t rank = 0;
  for (int k = 0; k < 256; k++) {
    const int32_t c = counts[k];
    counts[k] = rank;
    rank += c;
  }
  return rank;
}

/* The images this encodes with its list of non-zero pixels on the stack; larger ones take the loop without. */
#define ENCODE_STACK 16384

/*
 * rankOrderEncode(pixels: Uint8Array, timeBins, out: Int32Array, simd): encoder.ts's
 * rankOrderEncode, the same bins: a counting sort by intensity (brightest first, ties in raster
 * order), the pixel of rank r in bin ceil(r / (N / (T − 1))) in float64, −1 for a zero pixel.
 * `simd` caps the vectors (0: none; tests). Returns N.
 */
static napi_value RankOrderEncode(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!callArgs(env, info, argv, 4, "rankOrderEncode")) return NULL;
  size_t np, no;
  const uint8_t *pixels = typedData(env, argv[0], napi_uint8_array, &np);
  int32_t *out = typedData(env, argv[2], napi_int32_array, &no);
  if (!pixels || !out) return NULL;
  int32_t T, simd;
  CHECK(napi_get_value_int32(env, argv[1], &T));
  CHECK(napi_get_value_int32(env, argv[3], &simd));
  if (no < np || np > 0x7fffffff) {
    napi_throw_range_error(env, NULL, "evspike native encoder: the output is shorter than the image");
    return NULL;
  }
  const int32_t n = (int32_t)np;
  int32_t counts[257] = {0};
  if (n > ENCODE_STACK) {
    for (int32_t i = 0; i < n; i++) counts[256 - pixels[i]]++;
    const int32_t rank = firstRanks(counts);
    const double binWidth = (double)rank / (double)(T - 1);
    for (int32_t i = 0; i < n; i++) out[i] = pixels[i] == 0 ? -1 : (int32_t)__builtin_ceil((double)counts[256 - pixels[i]]++ / binWidth);
    return int32Value(env, rank);
  }
  /* the non-zero pixels only (a digit is a fifth of its image), in raster order */
  int32_t nz[ENCODE_STACK];
#if X86
  const int32_t spikes = simd >= WITH_AVX512 && bestSimd() == WITH_AVX512 ? nonZero512(pixels, n, nz) : nonZeroScalar(pixels, n, nz);
#else
  const int32_t spikes = nonZeroScalar(pixels, n, nz);
#endif
  for (int32_t k = 0; k < spikes; k++) counts[256 - pixels[nz[k]]]++;
  firstRanks(counts);
  const double binWidth = (double)spikes / (double)(T - 1);
  memset(out, 0xff, (size_t)n * sizeof(int32_t)); /* −1: no spike */
  for (int32_t k = 0; k < spikes; k++) {
    const int32_t i = nz[k];
    out[i] = (int32_t)__builtin_ceil((double)counts[256 - pixels[i]]++ / binWidth);
  }
  return int32Value(env, spikes);
}

#if X86
/* The indices of the times ≥ 0 of times[0 … n), ascending, into out; returns how many. */
AVX512 static int32_t spikesOf512(const int32_t *times, int32_t n, int32_t *out) {
  int32_t k = 0;
  for (int32_t i = 0; i < n; i += 16) {
    const __mmask16 lanes = n - i >= 16 ? 0xffff : (__mmask16)((1u << (n - i)) - 1);
    const __m512i v = _mm512_maskz_loadu_epi32(lanes, times + i);
    for (uint32_t bits = _mm512_mask_cmpge_epi32_mask(lanes, v, _mm512_setzero_si512()); bits != 0; bits &= bits - 1) out[k++] = i + __builtin_ctz(bits);
  }
  return k;
}
#endif

/*
 * inputSample(spikeTimes: Int32Array, timeBins, spikeTime: Int32Array, neuron: Int32Array,
 * time: Float64Array, binStart: Int32Array, byBin: Int32Array, simd): what Engine.runSample does with
 * a sample's input spike times before the first layer (see there): the input layer's spike
 * time per neuron (−1: none) and its log of spikes in neuron order, and the spikes by bin, each
 * bin in neuron order (binStart: T + 1 bounds into byBin). Returns the number of spikes, or −1,
 * with nothing written, for a time that is neither −1 nor in [0, T). `simd` caps the vectors
 * (0: none; tests).
 */
static napi_value InputSample(napi_env env, napi_callback_info info) {
  napi_value argv[8];
  if (!callArgs(env, info, argv, 8, "inputSample")) return NULL;
  size_t n, ns, nn, nt, nb, nbb;
  const int32_t *times = typedData(env, argv[0], napi_int32_array, &n);
  int32_t *spikeTime = typedData(env, argv[2], napi_int32_array, &ns);
  int32_t *neuron = typedData(env, argv[3], napi_int32_array, &nn);
  double *time = typedData(env, argv[4], napi_float64_array, &nt);
  int32_t *binStart = typedData(env, argv[5], napi_int32_array, &nb);
  int32_t *byBin = typedData(env, argv[6], napi_int32_array, &nbb);
  if (!times || !spikeTime || !neuron || !time || !binStart || !byBin) return NULL;
  int32_t T, simd;
  CHECK(napi_get_value_int32(env, argv[1], &T));
  CHECK(napi_get_value_int32(env, argv[7], &simd));
  if (T < 1 || ns != n || nn < n || nt < n || nb < (size_t)T + 1 || nbb < n) {
    napi_throw_range_error(env, NULL, "evspike native input: inputSample's arrays do not fit");
    return NULL;
  }
  /* a time is −1 or in [0, T): t + 1 in [0, T], compared unsigned */
  for (size_t i = 0; i < n; i++) {
    if ((uint32_t)times[i] + 1u > (uint32_t)T) return int32Value(env, -1);
  }
  memcpy(spikeTime, times, n * sizeof(int32_t));
  for (int32_t t = 0; t <= T; t++) binStart[t] = 0;
  int32_t count = 0;
#if X86
  if (simd >= WITH_AVX512 && bestSimd() == WITH_AVX512) count = spikesOf512(times, (int32_t)n, neuron);
  else
#endif
    for (size_t i = 0; i < n; i++) {
      neuron[count] = (int32_t)i;
      count += times[i] >= 0;
    }
  for (int32_t s = 0; s < count; s++) {
    const int32_t t = times[neuron[s]];
    time[s] = t;
    binStart[t + 1]++;
  }
  for (int32_t t = 0; t < T; t++) binStart[t + 1] += binStart[t];
  /* a counting sort by bin, stable: each bin in neuron order (the spikes were in it); the
   * bounds serve as the bins' fill pointers, each left at the next bin's start, then put back */
  for (int32_t s = 0; s < count; s++) byBin[binStart[(int32_t)time[s]]++] = neuron[s];
  for (int32_t t = T - 1; t > 0; t--) binStart[t] = binStart[t - 1];
  binStart[0] = 0;
  return int32Value(env, count);
}

/* ---- The pool layer (pool.ts): a sample's bins in one call ---- */

/* A pool layer's tables and state: pointers into its memory (an ArrayBuffer kept alive here,
 * whose arrays the JavaScript side reads and writes too, bin by bin). */
typedef struct {
  napi_ref memory;
  /* one map's windows: input position p reaches out positions target[start[p] … start[p + 1]) */
  const int32_t *start, *target;
  uint32_t *firedSample, *pendingBin;
  int32_t *pending, *logNeuron;
  double *fireTime, *logTime;
  /* out: the call's synaptic and fan-out events, and the last bin's serial */
  double *result;
  int32_t inPerMap, outPerMap, inNeurons, neurons;
} Pool;

static void poolFinalize(napi_env env, void *data, void *hint) {
  (void)hint;
  Pool *p = data;
  napi_delete_reference(env, p->memory);
  free(p);
}

/*
 * poolCreate(memory: ArrayBuffer, offsets: number[9], inPerMap, outPerMap, inNeurons): the
 * regions in the order pool.ts lays them out (start, target, firedSample, pendingBin, pending
 * (one more entry than neurons: poolRunBins writes one past the bin's pending ones), fireTime,
 * log neurons, log times, result). The windows are checked here, once, so that
 * poolRunBins reads and writes inside the memory only.
 */
static napi_value PoolCreate(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  if (!callArgs(env, info, argv, 5, "poolCreate")) return NULL;
  void *memory;
  size_t length;
  CHECK(napi_get_arraybuffer_info(env, argv[0], &memory, &length));
  int32_t off[9], inPerMap, outPerMap, inNeurons;
  for (uint32_t i = 0; i < 9; i++) {
    napi_value e;
    CHECK(napi_get_element(env, argv[1], i, &e));
    CHECK(napi_get_value_int32(env, e, &off[i]));
  }
  CHECK(napi_get_value_int32(env, argv[2], &inPerMap));
  CHECK(napi_get_value_int32(env, argv[3], &outPerMap));
  CHECK(napi_get_value_int32(env, argv[4], &inNeurons));
  if (inPerMap < 1 || outPerMap < 1 || inNeurons < inPerMap || inNeurons % inPerMap != 0 || (int64_t)(inNeurons / inPerMap) * outPerMap > 0x7fffffff) {
    napi_throw_range_error(env, NULL, "evspike native pool: the layer's sizes do not fit");
    return NULL;
  }
  const int64_t neurons = (int64_t)(inNeurons / inPerMap) * outPerMap;
  /* each region's size in bytes (the windows' targets run to the next region) and alignment */
  const int64_t size[9] = {4 * ((int64_t)inPerMap + 1), (int64_t)off[2] - off[1], 4 * neurons, 4 * neurons, 4 * (neurons + 1), 8 * neurons, 4 * neurons, 8 * neurons, 8 * 3};
  const int align[9] = {4, 4, 4, 4, 4, 8, 4, 8, 8};
  for (int i = 0; i < 9; i++) {
    if (off[i] < 0 || size[i] < 0 || off[i] % align[i] != 0 || (int64_t)off[i] + size[i] > (int64_t)length) {
      napi_throw_range_error(env, NULL, "evspike native pool: a region lies outside the memory");
      return NULL;
    }
  }
  char *b = memory;
  const int32_t *start = (const int32_t *)(b + off[0]), *target = (const int32_t *)(b + off[1]);
  if (start[0] != 0 || start[inPerMap] > size[1] / 4) {
    napi_throw_range_error(env, NULL, "evspike native pool: the windows do not fit their table");
    return NULL;
  }
  for (int32_t i = 0; i < inPerMap; i++) {
    if (start[i + 1] < start[i]) {
      napi_throw_range_error(env, NULL, "evspike native pool: the windows' starts are not ascending");
      return NULL;
    }
  }
  for (int32_t i = 0; i < start[inPerMap]; i++) {
    if (target[i] < 0 || target[i] >= outPerMap) {
      napi_throw_range_error(env, NULL, "evspike native pool: a window's target lies outside the map");
      return NULL;
    }
  }
  Pool *p = calloc(1, sizeof(Pool));
  if (p == NULL) {
    napi_throw_error(env, NULL, "evspike native pool: out of memory");
    return NULL;
  }
  p->start = start;
  p->target = target;
  p->firedSample = (uint32_t *)(b + off[2]);
  p->pendingBin = (uint32_t *)(b + off[3]);
  p->pending = (int32_t *)(b + off[4]);
  p->fireTime = (double *)(b + off[5]);
  p->logNeuron = (int32_t *)(b + off[6]);
  p->logTime = (double *)(b + off[7]);
  p->result = (double *)(b + off[8]);
  p->inPerMap = inPerMap;
  p->outPerMap = outPerMap;
  p->inNeurons = inNeurons;
  p->neurons = (int32_t)neurons;
  return handleOf(env, argv[0], &p->memory, p, poolFinalize, free, "evspike native pool");
}

/*
 * poolRunBins(pool, sources: Int32Array, binStart: Int32Array, timeBins, sample, serial,
 * logCount): PoolLayer.runBins' loop (see there), the same spikes in the same order: in each
 * bin with input, every pool neuron reached that has not fired in the sample fires, the bin's
 * spikes appended to the log in ascending order. Returns the log's new count and leaves the
 * synaptic and fan-out events and the last bin's serial in the result region; -2, with
 * nothing changed, when a source is not a presynaptic neuron; -3 for more spikes than the log
 * holds (a neuron that fired twice: never, but for a broken kernel).
 */
static napi_value PoolRunBins(napi_env env, napi_callback_info info) {
  napi_value argv[7];
  Pool *p = handleArgs(env, info, argv, 7, "poolRunBins", "evspike native pool", "a pool");
  if (p == NULL) return NULL;
  int32_t T, count;
  uint32_t sample, serial;
  CHECK(napi_get_value_uint32(env, argv[4], &sample));
  CHECK(napi_get_value_uint32(env, argv[5], &serial));
  CHECK(napi_get_value_int32(env, argv[6], &count));
  if (count < 0 || count > p->neurons) {
    napi_throw_range_error(env, NULL, "evspike native pool: poolRunBins' arrays are too short");
    return NULL;
  }
  const int32_t *sources, *binStart;
  const int bins = binsArgs(env, argv, p->inNeurons, "evspike native pool", "poolRunBins", &sources, &binStart, &T);
  if (bins <= 0) return bins == 0 ? NULL : int32Value(env, -2);
  const int32_t *restrict start = p->start, *restrict target = p->target;
  uint32_t *restrict fired = p->firedSample, *restrict pendingBin = p->pendingBin;
  int32_t *restrict pending = p->pending, *restrict logNeuron = p->logNeuron;
  const int32_t inPerMap = p->inPerMap, outPerMap = p->outPerMap;
  int64_t synaptic = 0, fanout = 0;
  for (int32_t t = 0; t < T; t++) {
    const int32_t from = binStart[t], to = binStart[t + 1];
    if (from == to) continue;
    /* never 0 (the pending stamps' initial value), as pool.ts counts them */
    serial = serial == 0xffffffffu ? 1 : serial + 1;
    const uint32_t bin = serial;
    int32_t n = 0;
    for (int32_t s = from; s < to; s++) {
      const int32_t src = sources[s];
      const int32_t map = src / inPerMap, at = src - map * inPerMap;
      const int32_t base = map * outPerMap, end = start[at + 1];
      fanout += end - start[at];
      /* without branches on the data (whether a neuron fired already falls anywhere): a
       * neuron that fired takes the bin's stamp too, which nothing reads */
      for (int32_t k = start[at]; k < end; k++) {
        const int32_t j = base + target[k];
        const int32_t alive = fired[j] != sample;
        const int32_t fresh = alive & (pendingBin[j] != bin);
        pendingBin[j] = bin;
        synaptic += alive;
        pending[n] = j;
        n += fresh;
      }
    }
    /* the bin's spikes in ascending order (an insertion sort: a bin holds a few dozen); a pool
     * neuron fires once in a sample, so the log, one entry per neuron, has room */
    if (n > p->neurons - count) return int32Value(env, -3);
    const int32_t first = count;
    for (int32_t i = 0; i < n; i++) {
      const int32_t j = pending[i];
      fired[j] = sample;
      p->fireTime[j] = t;
      int32_t q = count - 1;
      for (; q >= first && logNeuron[q] > j; q--) logNeuron[q + 1] = logNeuron[q];
      logNeuron[q + 1] = j;
      p->logTime[count++] = t;
    }
  }
  p->result[0] = (double)synaptic;
  p->result[1] = (double)fanout;
  p->result[2] = serial;
  return int32Value(env, count);
}

/* ---- The readout (linear-svm.ts): the solver's shuffle and pass, the scores ---- */

/*
 * shuffleActive(index (Int32Array), n, state (Uint32Array [4])): the solver's shuffle of
 * index[0 … n) (trainBinarySvm: for each i, swap with i + nextInt(n − i)), drawing from
 * SeededRandom's sfc32 generator, whose state words it takes and gives back advanced: the same
 * numbers, the same swaps (util/random.ts's nextUint32 and nextInt, rejection included).
 */
static napi_value ShuffleActive(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!callArgs(env, info, argv, 3, "shuffleActive")) return NULL;
  size_t ni, ns;
  int32_t *index = typedData(env, argv[0], napi_int32_array, &ni);
  uint32_t *state = typedData(env, argv[2], napi_uint32_array, &ns);
  if (!index || !state) return NULL;
  int32_t n;
  CHECK(napi_get_value_int32(env, argv[1], &n));
  if (n < 0 || (size_t)n > ni || ns < 4) {
    napi_throw_range_error(env, NULL, "evspike native readout: shuffleActive's arrays are too short");
    return NULL;
  }
  uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
  for (int32_t i = 0; i < n; i++) {
    const uint32_t m = (uint32_t)(n - i);
    /* 2^32 − (2^32 mod m): the draws at or above it are drawn again */
    const uint64_t limit = 4294967296ull - 4294967296ull % m;
    uint32_t x;
    do {
      x = a + b + d;
      d = d + 1;
      a = b ^ (b >> 9);
      b = c + (c << 3);
      c = (c << 21) | (c >> 11);
      c = c + x;
    } while ((uint64_t)x >= limit);
    const int32_t j = i + (int32_t)(x % m);
    const int32_t t = index[i];
    index[i] = index[j];
    index[j] = t;
  }
  state[0] = a;
  state[1] = b;
  state[2] = c;
  state[3] = d;
  return NULL;
}

/*
 * svmPass(index, activeSize, offsets, indices (Uint16Array), y (Int8Array), alpha, qd, w, diag,
 * pgMaxOld, out (Float64Array [pgMaxNew, pgMinNew])): one pass of trainBinarySvm's loop over
 * index[0 … activeSize) for binary features, the same operations in the same order (see
 * there); returns the new activeSize. Two rows' dot products are summed side by side when the
 * first makes no update (each in its own order, w unchanged in between), which is what makes
 * this faster than the JavaScript loop, not a different arithmetic.
 */
/* How many rows ahead svmPass asks for a row's data. */
#define SVM_AHEAD 4

static napi_value SvmPass(napi_env env, napi_callback_info info) {
  napi_value argv[11];
  if (!callArgs(env, info, argv, 11, "svmPass")) return NULL;
  size_t rows, n, nnz, ny, na, nq, nw, no;
  int32_t *index = typedData(env, argv[0], napi_int32_array, &n);
  const int32_t *offsets = typedData(env, argv[2], napi_int32_array, &rows);
  const uint16_t *indices = typedData(env, argv[3], napi_uint16_array, &nnz);
  const int8_t *y = typedData(env, argv[4], napi_int8_array, &ny);
  double *alpha = typedData(env, argv[5], napi_float64_array, &na);
  const double *qd = typedData(env, argv[6], napi_float64_array, &nq);
  double *w = typedData(env, argv[7], napi_float64_array, &nw);
  double *out = typedData(env, argv[10], napi_float64_array, &no);
  if (!index || !offsets || !indices || !y || !alpha || !qd || !w || !out) return NULL;
  int32_t active;
  double diag, pgMaxOld;
  CHECK(napi_get_value_int32(env, argv[1], &active));
  CHECK(napi_get_value_double(env, argv[8], &diag));
  CHECK(napi_get_value_double(env, argv[9], &pgMaxOld));
  if (active < 0 || (size_t)active > n || rows < n + 1 || ny < n || na < n || nq < n || nw < 1 || no < 2 || (size_t)offsets[n] > nnz) {
    napi_throw_range_error(env, NULL, "evspike native readout: arrays of mismatched lengths");
    return NULL;
  }
  const size_t bias = nw - 1;
  double pgMaxNew = -__builtin_inf(), pgMinNew = __builtin_inf();
  int32_t aheadRow = -1;
  double aheadDot = 0;
  for (int32_t s = 0; s < active; s++) {
    /* the rows come in shuffled order, each from anywhere in megabytes of indices: ask for a
     * row a few ahead (its indices, α and diagonal) while this one is summed, so that it is in
     * cache when its turn comes (a hint: the arithmetic is untouched) */
    if (s + SVM_AHEAD < active) {
      const int32_t later = index[s + SVM_AHEAD];
      const char *from = (const char *)(indices + offsets[later]), *to = (const char *)(indices + offsets[later + 1]);
      for (const char *line = from; line < to; line += 64) __builtin_prefetch(line);
      __builtin_prefetch(alpha + later);
      __builtin_prefetch(qd + later);
    }
    const int32_t i = index[s];
    const double yi = y[i];
    const int32_t start = offsets[i], end = offsets[i + 1];
    double dot = w[bias];
    if (aheadRow == i) {
      dot = aheadDot;
    } else if (s + 1 < active) {
      const int32_t next = index[s + 1];
      int32_t k2 = offsets[next];
      const int32_t end2 = offsets[next + 1];
      double dot2 = dot;
      int32_t k = start;
      for (; k < end && k2 < end2; k++, k2++) {
        dot += w[indices[k]];
        dot2 += w[indices[k2]];
      }
      for (; k < end; k++) dot += w[indices[k]];
      for (; k2 < end2; k2++) dot2 += w[indices[k2]];
      aheadRow = next;
      aheadDot = dot2;
    } else {
      for (int32_t k = start; k < end; k++) dot += w[indices[k]];
    }
    const double g = yi * dot - 1 + alpha[i] * diag;
    double pg = 0;
    if (alpha[i] == 0) {
      if (g > pgMaxOld) {
        active--;
        index[s] = index[active];
        index[active] = i;
        s--;
        continue;
      } else if (g < 0) {
        pg = g;
      }
    } else {
      pg = g;
    }
    if (pg > pgMaxNew) pgMaxNew = pg;
    if (pg < pgMinNew) pgMinNew = pg;
    if (__builtin_fabs(pg) > 1e-12) {
      const double old = alpha[i];
      const double x = old - g / qd[i];
      const double next = x != x ? x : x > 0 ? x : 0.0; /* Math.max(x, 0) */
      alpha[i] = next;
      const double d = (next - old) * yi;
      if (d != 0) {
        aheadRow = -1; /* w changes: the sum ahead is stale */
        for (int32_t k = start; k < end; k++) w[indices[k]] += d;
        w[bias] += d;
      }
    }
  }
  out[0] = pgMaxNew;
  out[1] = pgMinNew;
  return int32Value(env, active);
}

#if X86
/* readoutScores' sums for up to 16 classes, in two registers (a lane a class) rather than in memory. */
AVX512 static void scores512(const int32_t *offsets, const int32_t *indices, const double *wt, const double *bias, size_t rows, int32_t nc, double *out) {
  const __mmask8 m0 = nc >= 8 ? 0xff : (__mmask8)((1u << nc) - 1);
  const __mmask8 m1 = nc <= 8 ? 0 : nc >= 16 ? 0xff : (__mmask8)((1u << (nc - 8)) - 1);
  for (size_t i = 0; i < rows; i++) {
    __m512d a0 = _mm512_maskz_loadu_pd(m0, bias), a1 = _mm512_maskz_loadu_pd(m1, bias + 8);
    for (int32_t k = offsets[i]; k < offsets[i + 1]; k++) {
      const double *r = wt + (size_t)indices[k] * nc;
      a0 = _mm512_add_pd(a0, _mm512_maskz_loadu_pd(m0, r));
      a1 = _mm512_add_pd(a1, _mm512_maskz_loadu_pd(m1, r + 8));
    }
    _mm512_mask_storeu_pd(out + i * nc, m0, a0);
    _mm512_mask_storeu_pd(out + i * nc + 8, m1, a1);
  }
}
#endif

/*
 * readoutScores(offsets (Int32Array, rows + 1), indices (Int32Array), wt (Float64Array,
 * [feature][class], the bias as feature `cols`), cols, classes, out (Float64Array,
 * [row][class])): the linear readout's scores of binary features, each class's sum in the
 * order linear-svm.ts's readoutScores makes it (the bias, then the row's features in order);
 * the classes side by side, as independent sums. Returns 0, or -1 for a feature index outside
 * [0, cols) (nothing is read there).
 */
static napi_value ReadoutScores(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  if (!callArgs(env, info, argv, 6, "readoutScores")) return NULL;
  size_t no, nnz, nw, ns;
  const int32_t *offsets = typedData(env, argv[0], napi_int32_array, &no);
  const int32_t *indices = typedData(env, argv[1], napi_int32_array, &nnz);
  const double *wt = typedData(env, argv[2], napi_float64_array, &nw);
  double *out = typedData(env, argv[5], napi_float64_array, &ns);
  if (!offsets || !indices || !wt || !out) return NULL;
  int32_t cols, nc;
  CHECK(napi_get_value_int32(env, argv[3], &cols));
  CHECK(napi_get_value_int32(env, argv[4], &nc));
  const size_t rows = no == 0 ? 0 : no - 1;
  if (cols < 0 || nc < 1 || nw < ((size_t)cols + 1) * (size_t)nc || ns < rows * (size_t)nc) {
    napi_throw_range_error(env, NULL, "evspike native readout: readoutScores' arrays are too short");
    return NULL;
  }
  if (!ascendingWithin(offsets, rows, nnz)) {
    napi_throw_range_error(env, NULL, "evspike native readout: readoutScores' offsets are not ascending within the indices");
    return NULL;
  }
  if (rows > 0 && !allBelow(indices, (size_t)offsets[0], (size_t)offsets[rows], cols)) return int32Value(env, -1);
  const double *bias = wt + (size_t)cols * nc;
#if X86
  if (nc <= 16 && bestSimd() == WITH_AVX512) {
    scores512(offsets, indices, wt, bias, rows, nc, out);
    return int32Value(env, 0);
  }
#endif
  for (size_t i = 0; i < rows; i++) {
    double *restrict s = out + i * nc;
    for (int32_t c = 0; c < nc; c++) s[c] = bias[c];
    for (int32_t k = offsets[i]; k < offsets[i + 1]; k++) {
      const double *restrict r = wt + (size_t)indices[k] * nc;
      for (int32_t c = 0; c < nc; c++) s[c] += r[c];
    }
  }
  return int32Value(env, 0);
}

NAPI_MODULE_INIT() {
  const struct {
    const char *name;
    napi_callback fn;
  } fns[] = {
      {"simd", Simd},           {"alignment", Alignment}, {"create", Create},       {"svmPass", SvmPass}, {"shuffleActive", ShuffleActive}, {"readoutScores", ReadoutScores},       {"step", Step},           {"beginSample", BeginSample},         {"settle", Settle},
      {"settleAll", SettleAll}, {"setMaxDeferred", SetMaxDeferred}, {"setCandidateSum", SetCandidateSum}, {"forgetBounds", ForgetBounds}, {"runBins", RunBins}, {"setLog", SetLog}, {"stepLog", StepLog}, {"setLearner", SetLearner}, {"stepLearn", StepLearn},
      {"poolCreate", PoolCreate}, {"poolRunBins", PoolRunBins}, {"rankOrderEncode", RankOrderEncode}, {"inputSample", InputSample},
  };
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value f;
    if (napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f) != napi_ok ||
        napi_set_named_property(env, exports, fns[i].name, f) != napi_ok)
      return NULL;
  }
  return exports;
}
