#include "util/sha256.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <new>
#include <openssl/evp.h>
#include <stdexcept>

namespace barrot::util {

struct Sha256::Ctx {
  EVP_MD_CTX* md = nullptr;
  ~Ctx() { EVP_MD_CTX_free(md); }
};

Sha256::Sha256() : m_ctx(std::make_unique<Ctx>()) {
  m_ctx->md = EVP_MD_CTX_new();
  if (m_ctx->md == nullptr || EVP_DigestInit_ex(m_ctx->md, EVP_sha256(), nullptr) != 1) {
    throw std::bad_alloc();
  }
}

Sha256::~Sha256() = default;

void Sha256::update(std::string_view data) {
  if (!data.empty()) {
    EVP_DigestUpdate(m_ctx->md, data.data(), data.size());
  }
}

std::string Sha256::hex_digest() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(m_ctx->md, digest, &len) != 1) {
    throw std::runtime_error("SHA-256 failed");
  }
  std::string out;
  append_hex(&out, digest, len);
  return out;
}

void append_hex(std::string* out, const unsigned char* data, std::size_t n) {
  static constexpr char k_hex[] = "0123456789abcdef";
  out->reserve(out->size() + 2 * n);
  for (std::size_t i = 0; i < n; ++i) {
    *out += k_hex[data[i] >> 4];
    *out += k_hex[data[i] & 0xf];
  }
}

namespace {

// SHA-256 (FIPS 180-4), plainly, for the short inputs of the hash chain:
// OpenSSL 3 spends about a millisecond setting up its providers on its
// first digest in a process, a fifth of a whole `barrot track`; this needs
// none and hashes a snapshot in about a microsecond.
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

void compress(std::uint32_t state[8], const unsigned char block[64]) {
  std::uint32_t w[64];
  for (int i = 0; i < 16; ++i) {
    w[i] = std::uint32_t{block[4 * i]} << 24 | std::uint32_t{block[4 * i + 1]} << 16 |
           std::uint32_t{block[4 * i + 2]} << 8 | std::uint32_t{block[4 * i + 3]};
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

} // namespace

void sha256_concat(std::string_view a, std::string_view b, unsigned char out[32]) {
  std::uint32_t state[8] = {0x6a09e667,
                            0xbb67ae85,
                            0x3c6ef372,
                            0xa54ff53a,
                            0x510e527f,
                            0x9b05688c,
                            0x1f83d9ab,
                            0x5be0cd19};
  unsigned char block[64];
  std::size_t filled = 0;
  for (std::string_view part : {a, b}) {
    const auto* p = reinterpret_cast<const unsigned char*>(part.data());
    std::size_t n = part.size();
    while (n > 0) {
      if (filled == 0 && n >= 64) {
        compress(state, p);
        p += 64;
        n -= 64;
        continue;
      }
      const std::size_t take = std::min(n, 64 - filled);
      std::memcpy(block + filled, p, take);
      filled += take;
      p += take;
      n -= take;
      if (filled == 64) {
        compress(state, block);
        filled = 0;
      }
    }
  }
  const std::uint64_t bits = (std::uint64_t{a.size()} + b.size()) * 8;
  block[filled++] = 0x80;
  if (filled > 56) {
    std::memset(block + filled, 0, 64 - filled);
    compress(state, block);
    filled = 0;
  }
  std::memset(block + filled, 0, 56 - filled);
  for (int i = 0; i < 8; ++i) {
    block[56 + i] = static_cast<unsigned char>(bits >> (56 - 8 * i));
  }
  compress(state, block);
  for (int i = 0; i < 8; ++i) {
    out[4 * i] = static_cast<unsigned char>(state[i] >> 24);
    out[4 * i + 1] = static_cast<unsigned char>(state[i] >> 16);
    out[4 * i + 2] = static_cast<unsigned char>(state[i] >> 8);
    out[4 * i + 3] = static_cast<unsigned char>(state[i]);
  }
}

std::string sha256_hex(std::string_view data) {
  Sha256 h;
  h.update(data);
  return h.hex_digest();
}

} // namespace barrot::util
