// Fuzz target: NVIDIA SPDM report parsing. Whatever the input, parsing
// either fails with a message that names the message and field that were
// wrong, or succeeds with a report whose parts add up: the request is 37
// bytes with a signature requested, the blocks have unique indices 1–254,
// the response ends with the 96-byte signature, and the decoded bytes are
// the input (or its hex decoding) unchanged.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "cipherline/attest/nvgpu/spdm.hpp"

using namespace cipherline::attest::nvgpu;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto bytes = std::as_bytes(std::span(data, size));
  auto report = parse_report(bytes);
  if (!report) {
    const std::string message = report.error().message();
    if (message.rfind("SPDM request: ", 0) != 0 && message.rfind("SPDM response: ", 0) != 0 &&
        message.rfind("SPDM report: hex text: ", 0) != 0) {
      std::abort();
    }
    return 0;
  }
  const AttestationReport& r = *report;
  const bool binary = r.raw.size() == size && std::memcmp(r.raw.data(), data, size) == 0;
  if (!binary && r.raw.size() * 2 > size) std::abort();  // hex text is twice as long, at least
  if (r.raw.size() < kRequestSize + 8 + kNonceSize + 2 + kSignatureSize) std::abort();
  if (r.request.version != kSpdmVersion || (r.request.attributes & 1) == 0) std::abort();
  if (r.response.version != r.request.version || r.request.slot_id > 7) std::abort();
  if (std::memcmp(r.request.nonce.data(), r.raw.data() + 4, kNonceSize) != 0) std::abort();
  if (std::memcmp(r.response.signature.data(), r.raw.data() + r.raw.size() - kSignatureSize,
                  kSignatureSize) != 0) {
    std::abort();
  }
  bool seen[256] = {};
  for (const MeasurementBlock& b : r.response.blocks) {
    if (b.index == 0 || b.index == 0xFF || seen[b.index]) std::abort();
    seen[b.index] = true;
    if (r.block(b.index) != &b) std::abort();
  }
  for (const OpaqueField& f : r.response.opaque) {
    if (r.opaque(static_cast<OpaqueType>(f.type)) != &f) std::abort();
  }
  if (const OpaqueField* vbios = r.opaque(OpaqueType::vbios_version)) {
    // The rendering is the field's, and it reads back to the same bytes.
    auto again = encode_vbios_version(r.vbios_version);
    if (!again || std::memcmp(again->data(), vbios->value.data(), 8) != 0) std::abort();
  }
  return 0;
}
