// Test support: hex literals to bytes, and reading vector files.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "cipherline/crypto/hex.hpp"

namespace cipherline::testing {

inline std::vector<std::byte> bytes(std::string_view hex) {
  auto r = crypto::from_hex(hex);
  if (!r) throw std::invalid_argument("bad hex in a test: " + r.error().message());
  return *r;
}

inline std::span<const std::byte> text_bytes(std::string_view s) {
  return std::as_bytes(std::span(s));
}

inline std::string read_vector_file(const std::string& name) {
  std::ifstream in(std::string(CIPHERLINE_TEST_VECTORS) + "/" + name, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read test vector file " + name);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace cipherline::testing
