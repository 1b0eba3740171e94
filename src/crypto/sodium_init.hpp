// ensure_sodium: libsodium's one-time initialisation (private).
//
// sodium_init() is thread-safe and idempotent but not free; every crypto
// entry point that uses libsodium calls ensure_sodium() first, which costs
// one predictable branch after the first call.
#pragma once

#include <sodium.h>

#include <cstdlib>

namespace cipherline::crypto {

inline void ensure_sodium() noexcept {
  static const bool ready = [] {
    if (sodium_init() < 0) std::abort();  // no entropy source: nothing can be secure
    return true;
  }();
  (void)ready;
}

}  // namespace cipherline::crypto
