// The Coordinator's REPORT_DATA: the binding of its evidence to the
// client's nonce, the manifest history and the CA certificates it returns
// (spec: contrast-attestation §1.3).
//
//   auto expected = contrast::coordinator_report_data(nonce, doc.manifests, doc.root_ca_pem,
//                                                     doc.mesh_ca_pem);
//
// - transition_hash: T_0 = 32 zero bytes, T_i = SHA-256(SHA-256(m_i) ‖ T_{i−1})
//   over the manifests oldest first.
// - coordinator_report_data: SHA-256(nonce ‖ T_n ‖ SHA-256(root CA PEM) ‖
//   SHA-256(mesh CA PEM) [‖ SHA-256(capabilities body)]) ‖ 32 zero bytes.
//   The four-input form is the one of the Coordinator generation Privatemode
//   uses; the five-input form is that of the versioned `/v1/attest` API.
// Pure functions.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace cipherline::attest::contrast {

std::array<std::byte, 32> transition_hash(std::span<const std::vector<std::byte>> manifests);

std::array<std::byte, 64> coordinator_report_data(
    std::span<const std::byte> nonce, std::span<const std::vector<std::byte>> manifests,
    std::string_view root_ca_pem, std::string_view mesh_ca_pem,
    std::optional<std::span<const std::byte>> capabilities_body = std::nullopt);

}  // namespace cipherline::attest::contrast
