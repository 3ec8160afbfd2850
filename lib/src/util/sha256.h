// SHA-256 (OpenSSL's libcrypto, which uses the CPU's SHA extensions where
// present), as lowercase hex: what `sha256sum` prints.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace barrot::util {

class Sha256 {
public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(std::string_view data);
  // The digest of everything updated so far, as 64 hex digits. Once only.
  std::string hex_digest();

private:
  struct Ctx;
  std::unique_ptr<Ctx> m_ctx;
};

std::string sha256_hex(std::string_view data);

// Appends `n` bytes as lowercase hex, two digits a byte (how sha256sum
// prints a digest).
void append_hex(std::string* out, const unsigned char* data, std::size_t n);

// The digest of `a` followed by `b`, as 32 raw bytes into `out`: the hash
// chain's, once per snapshot written or checked. Computed here, without
// OpenSSL, whose first digest in a process costs about a millisecond of
// provider setup (a fifth of a `barrot track`).
void sha256_concat(std::string_view a, std::string_view b, unsigned char out[32]);

} // namespace barrot::util
