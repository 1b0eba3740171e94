// SecretBytes: key material in locked, guarded memory.
//
//   SecretBytes key = SecretBytes::random(32);
//   cipher.rekey(key.bytes());
//
// Contract:
// - Storage is locked into RAM (never swapped, best effort) and zeroed when
//   freed: secrets of up to 512 bytes come from slabs of sodium_malloc memory
//   (guard pages around each slab, no system call per allocation), larger
//   ones from sodium_malloc itself (guard pages around each). Allocation
//   takes a mutex: fine per exchange, not meant per message.
// - Move-only; a moved-from SecretBytes is empty. There is no conversion to
//   a string and no stream output, so a secret cannot be logged by accident;
//   hex-encode `bytes()` deliberately where a tool must show one.
// - operator== compares in constant time for equal sizes (sizes are not
//   secret).
// - Not thread-safe for concurrent mutation; concurrent reads are fine.
#pragma once

#include <cstddef>
#include <span>

namespace cipherline::crypto {

class SecretBytes {
 public:
  SecretBytes() noexcept = default;
  // A zero-filled secret of `size` bytes; throws std::bad_alloc.
  explicit SecretBytes(std::size_t size);
  static SecretBytes copy_of(std::span<const std::byte> bytes);
  // random(n): n bytes from the process CSPRNG (see random.hpp).
  static SecretBytes random(std::size_t size);

  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  ~SecretBytes();

  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  std::span<const std::byte> bytes() const noexcept { return {data_, size_}; }
  std::span<std::byte> writable_bytes() noexcept { return {data_, size_}; }

  friend bool operator==(const SecretBytes& a, const SecretBytes& b) noexcept;

 private:
  std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

// constant_time_equal compares two byte strings of equal length in time
// that depends only on the length; false for different lengths.
bool constant_time_equal(std::span<const std::byte> a, std::span<const std::byte> b) noexcept;

// secure_wipe zeroes `bytes` in a way the compiler cannot elide, for
// transient copies of key material outside SecretBytes.
void secure_wipe(std::span<std::byte> bytes) noexcept;

}  // namespace cipherline::crypto
