// Barrot's own SHA-256: FIPS 180-4's vectors, the CPU's SHA extensions
// against the portable rounds at every length and split, and both against
// coreutils' sha256sum run on real files.
#include "support/test_util.h"
#include "util/sha256.h"

#include <catch2/catch.hpp>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

#include <cstdio>
#include <random>
#include <string>

using namespace barrot;
using namespace barrot::test;

namespace {

std::string concat_hex(std::string_view a, std::string_view b) {
  unsigned char d[32];
  util::sha256_concat(a, b, d);
  std::string out;
  util::append_hex(&out, d, sizeof d);
  return out;
}

std::string
hex_with(util::sha256_detail::Compress compress, std::string_view text, std::size_t piece) {
  util::Sha256 h(compress);
  for (std::size_t at = 0; at < text.size(); at += piece) {
    h.update(text.substr(at, piece));
  }
  return h.hex_digest();
}

std::string random_bytes(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) {
    c = static_cast<char>(rng());
  }
  return s;
}

} // namespace

TEST_CASE("SHA-256 gives FIPS 180-4's digests", "[sha256]") {
  CHECK(util::sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(util::sha256_hex("abc") ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(concat_hex("a", "bc") == util::sha256_hex("abc"));
  CHECK(concat_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  const std::string million(1000000, 'a');
  CHECK(util::sha256_hex(million) ==
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  CHECK(hex_with(nullptr, million, 997) ==
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

#if defined(__x86_64__)
TEST_CASE("the SHA extensions are used exactly when the CPU has them", "[sha256]") {
  // Barrot asks glibc, which read CPUID at start-up; this asks CPUID itself.
  unsigned a = 0, b = 0, c = 0, d = 0;
  bool has = __get_cpuid(1, &a, &b, &c, &d) != 0 && (c & bit_SSSE3) != 0 && (c & bit_SSE4_1) != 0;
  has = has && __get_cpuid_count(7, 0, &a, &b, &c, &d) != 0 && (b & bit_SHA) != 0;
  CHECK((util::sha256_detail::accelerated_compress() != nullptr) == has);
}
#endif

TEST_CASE("SHA-256 on the CPU's SHA extensions agrees with the portable rounds", "[sha256]") {
  const util::sha256_detail::Compress accelerated = util::sha256_detail::accelerated_compress();
  if (accelerated == nullptr) {
    WARN("this CPU has no SHA extensions: only the portable rounds are checked");
  }
  // Every length around the block and padding edges and beyond, fed whole,
  // a byte at a time, and in pieces that straddle blocks.
  const std::string text = random_bytes(1100, 7);
  for (std::size_t n = 0; n <= text.size(); ++n) {
    const std::string_view t = std::string_view(text).substr(0, n);
    const std::string want = hex_with(nullptr, t, std::max<std::size_t>(n, 1));
    INFO("length " << n);
    CHECK(hex_with(nullptr, t, 1) == want);
    CHECK(hex_with(nullptr, t, 63) == want);
    CHECK(concat_hex(t.substr(0, n / 3), t.substr(n / 3)) == want);
    if (accelerated != nullptr) {
      CHECK(hex_with(accelerated, t, std::max<std::size_t>(n, 1)) == want);
      CHECK(hex_with(accelerated, t, 65) == want);
      CHECK(hex_with(accelerated, t, 1) == want);
    }
  }
}

TEST_CASE("SHA-256 agrees with coreutils' sha256sum on real files", "[sha256]") {
  TempDir dir;
  for (std::size_t n : {std::size_t{0},
                        std::size_t{55},
                        std::size_t{56},
                        std::size_t{64},
                        std::size_t{(1u << 20) + 17},
                        std::size_t{8u << 20}}) {
    const std::string data = random_bytes(n, static_cast<unsigned>(n) + 1);
    const std::string path = dir / ("data-" + std::to_string(n));
    write_text(path, data);
    std::FILE* p = ::popen(("sha256sum '" + path + "'").c_str(), "r");
    REQUIRE(p != nullptr);
    char line[256] = {};
    const bool read = std::fgets(line, sizeof line, p) != nullptr;
    REQUIRE(::pclose(p) == 0);
    REQUIRE(read);
    INFO(n << " bytes");
    CHECK(util::sha256_hex(data) == std::string(line, 64));
    CHECK(hex_with(nullptr, data, 4096 + 3) == std::string(line, 64));
  }
}
