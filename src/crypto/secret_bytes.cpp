#include "cipherline/crypto/secret_bytes.hpp"

#include <sodium.h>

#include <cstring>
#include <new>
#include <utility>

#include "cipherline/crypto/random.hpp"
#include "locked_pool.hpp"
#include "sodium_init.hpp"

namespace cipherline::crypto {

SecretBytes::SecretBytes(std::size_t size) {
  if (size == 0) return;
  data_ = static_cast<std::byte*>(internal::locked_alloc(size));
  size_ = size;
}

SecretBytes SecretBytes::copy_of(std::span<const std::byte> bytes) {
  SecretBytes s(bytes.size());
  if (!bytes.empty()) std::memcpy(s.data_, bytes.data(), bytes.size());
  return s;
}

SecretBytes SecretBytes::random(std::size_t size) {
  SecretBytes s(size);
  random_bytes(s.writable_bytes());
  return s;
}

SecretBytes::SecretBytes(SecretBytes&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    internal::locked_free(data_, size_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

SecretBytes::~SecretBytes() {
  internal::locked_free(data_, size_);  // zeroes it
}

bool operator==(const SecretBytes& a, const SecretBytes& b) noexcept {
  return constant_time_equal(a.bytes(), b.bytes());
}

bool constant_time_equal(std::span<const std::byte> a, std::span<const std::byte> b) noexcept {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

void secure_wipe(std::span<std::byte> bytes) noexcept {
  sodium_memzero(bytes.data(), bytes.size());
}

}  // namespace cipherline::crypto
