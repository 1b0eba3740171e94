#include "cipherline/crypto/sha512.hpp"

#include <openssl/evp.h>

#include <cstdlib>

namespace cipherline::crypto {
namespace {

template <std::size_t N>
std::array<std::byte, N> digest(const EVP_MD* md,
                                std::initializer_list<std::span<const std::byte>> parts) noexcept {
  std::array<std::byte, N> out{};
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  // Allocation failure of a digest context leaves nothing sensible to return.
  if (ctx == nullptr || EVP_DigestInit_ex(ctx, md, nullptr) != 1) std::abort();
  for (auto part : parts) EVP_DigestUpdate(ctx, part.data(), part.size());
  unsigned length = 0;
  EVP_DigestFinal_ex(ctx, reinterpret_cast<unsigned char*>(out.data()), &length);
  EVP_MD_CTX_free(ctx);
  return out;
}

}  // namespace

Sha384Digest sha384(std::initializer_list<std::span<const std::byte>> parts) noexcept {
  return digest<48>(EVP_sha384(), parts);
}

Sha512Digest sha512(std::initializer_list<std::span<const std::byte>> parts) noexcept {
  return digest<64>(EVP_sha512(), parts);
}

}  // namespace cipherline::crypto
