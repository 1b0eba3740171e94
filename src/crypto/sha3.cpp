#include "cipherline/crypto/sha3.hpp"

#include <openssl/evp.h>

#include <memory>
#include <stdexcept>

namespace cipherline::crypto {
namespace {

using DigestContext = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;

DigestContext start(const EVP_MD* md) {
  DigestContext ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1) {
    throw std::runtime_error("OpenSSL digest initialisation failed");
  }
  return ctx;
}

}  // namespace

std::array<std::byte, 32> sha3_256(std::initializer_list<std::span<const std::byte>> parts) {
  DigestContext ctx = start(EVP_sha3_256());
  for (auto part : parts) {
    if (EVP_DigestUpdate(ctx.get(), part.data(), part.size()) != 1) {
      throw std::runtime_error("SHA3-256 failed");
    }
  }
  std::array<std::byte, 32> out;
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len) != 1 ||
      len != out.size()) {
    throw std::runtime_error("SHA3-256 failed");
  }
  return out;
}

void shake256(std::span<const std::byte> input, std::span<std::byte> out) {
  DigestContext ctx = start(EVP_shake256());
  if (EVP_DigestUpdate(ctx.get(), input.data(), input.size()) != 1 ||
      EVP_DigestFinalXOF(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), out.size()) !=
          1) {
    throw std::runtime_error("SHAKE256 failed");
  }
}

}  // namespace cipherline::crypto
