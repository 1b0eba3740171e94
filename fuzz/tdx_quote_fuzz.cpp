// Fuzz target: TDX quote parsing. Whatever the input, parsing either fails
// with a message that names the quote, or succeeds with a supported
// version, lengths that agree, and the input's own bytes: the signed bytes
// are a prefix of the input (header and body), and the PCK chain text and
// its NUL padding end the signature data. Parsing the chain's certificates
// must not crash either.
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "cipherline/attest/tdx/quote.hpp"
#include "cipherline/attest/tdx/verify.hpp"

using namespace cipherline::attest::tdx;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto bytes = std::as_bytes(std::span(data, size));
  auto quote = parse_quote(bytes);
  if (!quote) {
    if (quote.error().message().rfind("TDX quote: ", 0) != 0) std::abort();
    return 0;
  }
  const Quote& q = *quote;
  if (q.header.version != 4 && q.header.version != 5) std::abort();
  const std::size_t body_size = q.body.type == BodyType::tdx15 ? kTdx15BodySize : kTdx10BodySize;
  const std::size_t descriptor = q.header.version == 5 ? 6 : 0;
  if (q.signed_size != kHeaderSize + descriptor + body_size) std::abort();
  if (q.raw.size() + q.trailing_size != size) std::abort();
  if (q.raw.size() <= q.signed_size || std::memcmp(q.raw.data(), data, q.raw.size()) != 0) {
    std::abort();
  }
  // Signature data: 128 bytes of signature and key, 6 of certification
  // data header, the QE report, its signature, auth data, 6 more of header,
  // and the PEM text with its NUL padding, which ends the signature data.
  const std::size_t pem_size = q.pck_chain_pem.size() + q.pck_chain_padding;
  const std::size_t minimum =
      q.signed_size + 4 + 128 + 6 + kQeReportSize + 64 + 2 + q.qe_auth_data.size() + 6 + pem_size;
  if (q.raw.size() < minimum || q.pck_chain_pem.empty()) std::abort();
  const std::uint8_t* pem = data + q.raw.size() - pem_size;
  if (std::memcmp(pem, q.pck_chain_pem.data(), q.pck_chain_pem.size()) != 0) std::abort();
  for (std::size_t i = q.pck_chain_pem.size(); i < pem_size; ++i) {
    if (pem[i] != 0) std::abort();
  }
  if (std::memcmp(q.qe_report.raw.data(), q.raw.data() + q.signed_size + 4 + 134, kQeReportSize) !=
      0) {
    std::abort();
  }
  (void)parse_pck_chain(q);
  return 0;
}
