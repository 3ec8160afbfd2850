// SHA-256 (FIPS 180-4), as raw bytes or as lowercase hex (what `sha256sum`
// prints). Barrot's own: on the CPU's SHA extensions where it has them
// (x86-64 SHA-NI: an archive hashes at memory speed), plainly elsewhere. It
// needs no set-up, so a process's first digest costs what any other does
// (OpenSSL 3 spent about a millisecond on its providers first, and linked
// whole into `barrot` a fifth of its start; docs/performance.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace barrot::util {

namespace sha256_detail {
// Runs the compression function over `blocks` 64-byte blocks from `p`.
using Compress = void (*)(std::uint32_t state[8], const unsigned char* p, std::size_t blocks);
void compress_portable(std::uint32_t state[8], const unsigned char* p, std::size_t blocks);
// The CPU's own (SHA-NI), or nullptr where it has none. Asked once.
Compress accelerated_compress();
} // namespace sha256_detail

class Sha256 {
public:
  Sha256();
  // With the given compression function (the tests check each against the
  // other); nullptr means the portable one.
  explicit Sha256(sha256_detail::Compress compress);
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(std::string_view data);
  // The digest of everything updated so far. Once only.
  void digest(unsigned char out[32]);
  std::string hex_digest();

private:
  sha256_detail::Compress m_compress;
  std::uint32_t m_state[8];
  unsigned char m_block[64];
  std::size_t m_filled = 0;
  std::uint64_t m_bytes = 0;
};

std::string sha256_hex(std::string_view data);

// Appends `n` bytes as lowercase hex, two digits a byte (how sha256sum
// prints a digest).
void append_hex(std::string* out, const unsigned char* data, std::size_t n);

// The digest of `a` followed by `b`, as 32 raw bytes into `out`: the hash
// chain's, once per snapshot written or checked.
void sha256_concat(std::string_view a, std::string_view b, unsigned char out[32]);

} // namespace barrot::util
