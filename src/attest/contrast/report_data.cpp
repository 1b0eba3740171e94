#include "cipherline/attest/contrast/report_data.hpp"

#include <algorithm>

#include "cipherline/crypto/sha256.hpp"

namespace cipherline::attest::contrast {
namespace {

std::span<const std::byte> bytes_of(std::string_view s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

}  // namespace

std::array<std::byte, 32> transition_hash(std::span<const std::vector<std::byte>> manifests) {
  std::array<std::byte, 32> t{};
  for (const auto& manifest : manifests) t = crypto::sha256({crypto::sha256(manifest), t});
  return t;
}

std::array<std::byte, 64> coordinator_report_data(
    std::span<const std::byte> nonce, std::span<const std::vector<std::byte>> manifests,
    std::string_view root_ca_pem, std::string_view mesh_ca_pem,
    std::optional<std::span<const std::byte>> capabilities_body) {
  const auto t = transition_hash(manifests);
  const auto root = crypto::sha256(bytes_of(root_ca_pem));
  const auto mesh = crypto::sha256(bytes_of(mesh_ca_pem));
  const auto digest =
      capabilities_body ? crypto::sha256({nonce, t, root, mesh, crypto::sha256(*capabilities_body)})
                        : crypto::sha256({nonce, t, root, mesh});
  std::array<std::byte, 64> out{};
  std::copy(digest.begin(), digest.end(), out.begin());
  return out;
}

}  // namespace cipherline::attest::contrast
