// Text of OpenSSL's error queue (private), for error messages.
#pragma once

#include <openssl/err.h>

#include <string>

namespace cipherline::crypto {

// openssl_reason drains the calling thread's OpenSSL error queue and
// returns its most recent reason ("" if empty).
inline std::string openssl_reason() {
  unsigned long last = 0;
  while (const unsigned long e = ERR_get_error()) last = e;
  if (last == 0) return {};
  char text[256];
  ERR_error_string_n(last, text, sizeof text);
  return text;
}

}  // namespace cipherline::crypto
