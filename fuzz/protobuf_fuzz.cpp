// Fuzz target: the protobuf reader and the SNP evidence decoder. Whatever
// the input, reading either ends cleanly or fails with a message naming the
// message and offset; decoding a go-sev-guest Attestation either fails so,
// or yields a report that re-encodes to evidence decoding to the same
// report.
#include <cstdint>
#include <cstdlib>

#include "cipherline/attest/contrast/protobuf.hpp"
#include "cipherline/attest/contrast/snp_evidence.hpp"

using namespace cipherline::attest::contrast;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto bytes = std::as_bytes(std::span(data, size));
  ProtobufReader reader(bytes, "fuzz.Message");
  std::size_t consumed = 0;
  while (true) {
    auto field = reader.next();
    if (!field) {
      if (field.error().message().find("fuzz.Message") == std::string::npos) std::abort();
      break;
    }
    if (!*field) break;
    if ((*field)->offset < consumed && consumed != 0) std::abort();  // offsets only grow
    consumed = (*field)->offset + 1;
    if ((*field)->bytes.size() > size) std::abort();
  }
  auto evidence = decode_snp_attestation(bytes);
  if (!evidence) {
    if (evidence.error().message().empty()) std::abort();
    return 0;
  }
  auto again = decode_snp_attestation(encode_snp_attestation(*evidence));
  if (!again || again->report.raw != evidence->report.raw) std::abort();
  return 0;
}
