#include "util/sha256.h"

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
  static constexpr char k_hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    out += k_hex[digest[i] >> 4];
    out += k_hex[digest[i] & 0xf];
  }
  return out;
}

void sha256_concat(std::string_view a, std::string_view b, unsigned char out[32]) {
  struct ThreadCtx {
    EVP_MD_CTX* md = EVP_MD_CTX_new();
    ~ThreadCtx() { EVP_MD_CTX_free(md); }
  };
  thread_local ThreadCtx ctx;
  unsigned int len = 0;
  if (ctx.md == nullptr || EVP_DigestInit_ex(ctx.md, EVP_sha256(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx.md, a.data(), a.size()) != 1 ||
      EVP_DigestUpdate(ctx.md, b.data(), b.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.md, out, &len) != 1 || len != 32) {
    throw std::runtime_error("SHA-256 failed");
  }
}

std::string sha256_hex(std::string_view data) {
  Sha256 h;
  h.update(data);
  return h.hex_digest();
}

} // namespace barrot::util
