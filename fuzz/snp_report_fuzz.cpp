// Fuzz target: SEV-SNP report parsing. Whatever the input, parsing either
// fails with a message that names what was wrong, or succeeds on exactly
// 1184 bytes that it keeps unchanged, with a supported version and the
// signature's unused bytes zero.
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "cipherline/attest/snp/report.hpp"

using namespace cipherline::attest::snp;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto bytes = std::as_bytes(std::span(data, size));
  auto report = parse_report(bytes);
  if (!report) {
    if (report.error().message().find("SNP report") == std::string::npos) std::abort();
    return 0;
  }
  if (size != kReportSize || std::memcmp(report->raw.data(), data, size) != 0) std::abort();
  if (report->version < 2 || report->version > 5) std::abort();
  for (std::size_t i = 0x330; i < kReportSize; ++i) {
    if (data[i] != 0) std::abort();
  }
  // The decoders take any value.
  (void)decode_policy(report->policy);
  for (Product p : {Product::milan, Product::turin}) {
    if (decode_tcb(report->current_tcb, p).raw != report->current_tcb) std::abort();
  }
  return 0;
}
