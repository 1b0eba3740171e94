// Test support: reading the files in tests/attest/vectors.
#pragma once

#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

namespace cipherline::attest::testing {

inline std::vector<std::byte> read_vector(const std::string& name) {
  std::ifstream in(std::string(CIPHERLINE_ATTEST_VECTORS) + "/" + name, std::ios::binary);
  if (!in) throw std::runtime_error("missing test vector " + name);
  std::vector<char> chars((std::istreambuf_iterator<char>(in)), {});
  std::vector<std::byte> out(chars.size());
  for (std::size_t i = 0; i < chars.size(); ++i) out[i] = static_cast<std::byte>(chars[i]);
  return out;
}

inline std::string read_text(const std::string& name) {
  const auto bytes = read_vector(name);
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

}  // namespace cipherline::attest::testing
