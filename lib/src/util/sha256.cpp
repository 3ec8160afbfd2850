#include "util/sha256.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
// glibc 2.33+ keeps what its start-up read with CPUID. Its header declares
// C's _Bool, which g++ accepts in C++ and clang++ does not: clang builds
// (the fuzz targets) ask CPUID themselves.
#if defined(__has_include) && !defined(__clang__) && __has_include(<sys/platform/x86.h>)
#include <sys/platform/x86.h>
#define BARROT_GLIBC_CPU_FEATURES 1
#else
#include <cpuid.h>
#endif
#endif

namespace barrot::util {

void append_hex(std::string* out, const unsigned char* data, std::size_t n) {
  static constexpr char k_hex[] = "0123456789abcdef";
  out->reserve(out->size() + 2 * n);
  for (std::size_t i = 0; i < n; ++i) {
    *out += k_hex[data[i] >> 4];
    *out += k_hex[data[i] & 0xf];
  }
}

namespace sha256_detail {
namespace {

constexpr std::uint32_t k_round[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

constexpr std::uint32_t rotr(std::uint32_t x, int n) {
  return (x >> n) | (x << (32 - n));
}

#if defined(__x86_64__)
// The same 64 rounds on the SHA extensions (Intel SHA-NI, AMD since Zen).
// Registers are named high lane first, as Intel's manual names them. The
// eight state words live in two registers ordered as the instructions want
// them, ABEF and CDGH; each sha256rnds2 does two rounds with the two
// message-plus-constant words in the low half of its third operand. The
// schedule's next four words come from msg1 (w[t-16] + sigma0(w[t-15])), the
// words t-7 (an alignr of the two previous groups) and msg2 (+ sigma1(w[t-2])).
__attribute__((target("sha,sse4.1,ssse3"))) void
compress_shani(std::uint32_t state[8], const unsigned char* p, std::size_t blocks) {
  const __m128i byte_swap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
  const __m128i dcba = _mm_loadu_si128(reinterpret_cast<const __m128i*>(state));
  const __m128i hgfe = _mm_loadu_si128(reinterpret_cast<const __m128i*>(state + 4));
  const __m128i cdab = _mm_shuffle_epi32(dcba, 0xB1);
  const __m128i efgh = _mm_shuffle_epi32(hgfe, 0x1B);
  __m128i abef = _mm_alignr_epi8(cdab, efgh, 8);
  __m128i cdgh = _mm_blend_epi16(efgh, cdab, 0xF0);
  for (; blocks > 0; --blocks, p += 64) {
    const __m128i abef_in = abef;
    const __m128i cdgh_in = cdgh;
    __m128i w[4];
    for (int i = 0; i < 16; ++i) {
      __m128i& wi = w[i % 4];
      if (i < 4) {
        wi = _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * i)),
                              byte_swap);
      } else {
        const __m128i& w1 = w[(i + 3) % 4]; // group i-1
        const __m128i& w2 = w[(i + 2) % 4]; // group i-2
        const __m128i& w3 = w[(i + 1) % 4]; // group i-3
        wi = _mm_sha256msg2_epu32(
            _mm_add_epi32(_mm_sha256msg1_epu32(wi, w3), _mm_alignr_epi8(w1, w2, 4)), w1);
      }
      __m128i wk =
          _mm_add_epi32(wi, _mm_loadu_si128(reinterpret_cast<const __m128i*>(k_round + 4 * i)));
      cdgh = _mm_sha256rnds2_epu32(cdgh, abef, wk);
      wk = _mm_shuffle_epi32(wk, 0x0E);
      abef = _mm_sha256rnds2_epu32(abef, cdgh, wk);
    }
    abef = _mm_add_epi32(abef, abef_in);
    cdgh = _mm_add_epi32(cdgh, cdgh_in);
  }
  const __m128i feba = _mm_shuffle_epi32(abef, 0x1B);
  const __m128i dchg = _mm_shuffle_epi32(cdgh, 0xB1);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(state), _mm_blend_epi16(feba, dchg, 0xF0));  // dcba
  _mm_storeu_si128(reinterpret_cast<__m128i*>(state + 4), _mm_alignr_epi8(dchg, feba, 8)); // hgfe
}

bool cpu_has_sha() {
#if defined(BARROT_GLIBC_CPU_FEATURES)
  // glibc ran CPUID when the process started and kept the answers. Asking
  // again costs ~3.7 us a CPUID in a virtual machine (each one traps to the
  // hypervisor): four of them were 15 us of every `barrot track`.
  return CPU_FEATURE_ACTIVE(SSSE3) && CPU_FEATURE_ACTIVE(SSE4_1) && CPU_FEATURE_ACTIVE(SHA);
#else
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (__get_cpuid(1, &a, &b, &c, &d) == 0 || (c & bit_SSSE3) == 0 || (c & bit_SSE4_1) == 0) {
    return false;
  }
  return __get_cpuid_count(7, 0, &a, &b, &c, &d) != 0 && (b & bit_SHA) != 0;
#endif
}
#endif

} // namespace

void compress_portable(std::uint32_t state[8], const unsigned char* p, std::size_t blocks) {
  for (; blocks > 0; --blocks, p += 64) {
    std::uint32_t w[64];
    for (int i = 0; i < 16; ++i) {
      w[i] = std::uint32_t{p[4 * i]} << 24 | std::uint32_t{p[4 * i + 1]} << 16 |
             std::uint32_t{p[4 * i + 2]} << 8 | std::uint32_t{p[4 * i + 3]};
    }
    for (int i = 16; i < 64; ++i) {
      const std::uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
      const std::uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    std::uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
    std::uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
    for (int i = 0; i < 64; ++i) {
      const std::uint32_t t1 =
          h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + k_round[i] + w[i];
      const std::uint32_t t2 =
          (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
      h = g;
      g = f;
      f = e;
      e = d + t1;
      d = c;
      c = b;
      b = a;
      a = t1 + t2;
    }
    state[0] += a;
    state[1] += b;
    state[2] += c;
    state[3] += d;
    state[4] += e;
    state[5] += f;
    state[6] += g;
    state[7] += h;
  }
}

Compress accelerated_compress() {
#if defined(__x86_64__)
  static const bool has_sha = cpu_has_sha();
  if (has_sha) {
    return &compress_shani;
  }
#endif
  return nullptr;
}

} // namespace sha256_detail

Sha256::Sha256() : Sha256(sha256_detail::accelerated_compress()) {}

Sha256::Sha256(sha256_detail::Compress compress)
    : m_compress(compress != nullptr ? compress : &sha256_detail::compress_portable),
      m_state{0x6a09e667,
              0xbb67ae85,
              0x3c6ef372,
              0xa54ff53a,
              0x510e527f,
              0x9b05688c,
              0x1f83d9ab,
              0x5be0cd19} {}

void Sha256::update(std::string_view data) {
  if (data.empty()) {
    return; // (its data() may be null, which memcpy must not see)
  }
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  std::size_t n = data.size();
  m_bytes += n;
  if (m_filled > 0) {
    const std::size_t take = std::min(n, sizeof m_block - m_filled);
    std::memcpy(m_block + m_filled, p, take);
    m_filled += take;
    p += take;
    n -= take;
    if (m_filled < sizeof m_block) {
      return;
    }
    m_compress(m_state, m_block, 1);
    m_filled = 0;
  }
  if (n >= 64) {
    m_compress(m_state, p, n / 64);
    p += n / 64 * 64;
    n %= 64;
  }
  std::memcpy(m_block, p, n);
  m_filled = n;
}

void Sha256::digest(unsigned char out[32]) {
  const std::uint64_t bits = m_bytes * 8;
  m_block[m_filled++] = 0x80;
  if (m_filled > 56) {
    std::memset(m_block + m_filled, 0, 64 - m_filled);
    m_compress(m_state, m_block, 1);
    m_filled = 0;
  }
  std::memset(m_block + m_filled, 0, 56 - m_filled);
  for (int i = 0; i < 8; ++i) {
    m_block[56 + i] = static_cast<unsigned char>(bits >> (56 - 8 * i));
  }
  m_compress(m_state, m_block, 1);
  for (int i = 0; i < 8; ++i) {
    out[4 * i] = static_cast<unsigned char>(m_state[i] >> 24);
    out[4 * i + 1] = static_cast<unsigned char>(m_state[i] >> 16);
    out[4 * i + 2] = static_cast<unsigned char>(m_state[i] >> 8);
    out[4 * i + 3] = static_cast<unsigned char>(m_state[i]);
  }
}

std::string Sha256::hex_digest() {
  unsigned char d[32];
  digest(d);
  std::string out;
  append_hex(&out, d, sizeof d);
  return out;
}

void sha256_concat(std::string_view a, std::string_view b, unsigned char out[32]) {
  Sha256 h;
  h.update(a);
  h.update(b);
  h.digest(out);
}

std::string sha256_hex(std::string_view data) {
  Sha256 h;
  h.update(data);
  return h.hex_digest();
}

} // namespace barrot::util
