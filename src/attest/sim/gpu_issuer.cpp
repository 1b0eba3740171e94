#include "cipherline/attest/sim/gpu_issuer.hpp"

#include <cstring>
#include <string_view>
#include <utility>

#include "../assign_or_return.hpp"
#include "cipherline/attest/error.hpp"
#include "cipherline/crypto/certificate_builder.hpp"
#include "cipherline/crypto/random.hpp"
#include "pem_bundle.hpp"

namespace cipherline::attest::sim {
namespace {

using namespace std::chrono;

constexpr std::string_view kOrganization = "cipherline development TEE (NOT NVIDIA)";

// Little-endian SPDM encoding, appended to one buffer.
class Writer {
 public:
  void le(std::uint32_t v, std::size_t size) {
    for (std::size_t i = 0; i < size; ++i) out_.push_back(static_cast<std::byte>(v >> (8 * i)));
  }
  void bytes(std::span<const std::byte> b) { out_.insert(out_.end(), b.begin(), b.end()); }
  std::size_t size() const noexcept { return out_.size(); }
  std::vector<std::byte>& buffer() noexcept { return out_; }

 private:
  std::vector<std::byte> out_;
};

Error state_error(const std::string& why) {
  return Error(errc::malformed_evidence, "development GPU report: " + why);
}

// text_value is `text` with its NUL terminator, as NVIDIA's opaque fields
// carry text.
Result<std::vector<std::byte>, Error> text_value(std::string_view name, std::string_view text) {
  for (char c : text) {
    if (c < 0x20 || c > 0x7E) return state_error(std::string(name) + " is not printable ASCII");
  }
  std::vector<std::byte> out(text.size() + 1);
  std::memcpy(out.data(), text.data(), text.size());
  return out;
}

}  // namespace

std::vector<crypto::Sha384Digest> development_gpu_measurements() {
  std::vector<crypto::Sha384Digest> out;
  for (int i = 1; i <= 64; ++i) {
    const std::string label = "cipherline development GPU measurement " + std::to_string(i);
    out.push_back(crypto::sha384(std::as_bytes(std::span(label.data(), label.size()))));
  }
  return out;
}

Result<DevelopmentGpuPki, Error> DevelopmentGpuPki::generate(system_clock::time_point now) {
  ASSIGN_OR_RETURN(root_key, crypto::PrivateKey::generate(crypto::KeyType::ec_p384));
  ASSIGN_OR_RETURN(intermediate_key, crypto::PrivateKey::generate(crypto::KeyType::ec_p384));
  ASSIGN_OR_RETURN(leaf_key, crypto::PrivateKey::generate(crypto::KeyType::ec_p384));
  const auto from = now - hours(24);
  const auto to = now + hours(24 * 3650);
  const std::string organization(kOrganization);

  const crypto::CertificateSpec root_spec{
      .subject = {{"CN", "NVIDIA Device Identity CA"}, {"O", organization}},
      .public_key = root_key.public_key(),
      .not_before = from,
      .not_after = to,
      .serial = 1,
      .ca = true};
  ASSIGN_OR_RETURN(root, crypto::issue_certificate(root_spec, root_key, nullptr,
                                                   crypto::Signature::ecdsa_sha384));
  const crypto::CertificateSpec intermediate_spec{
      .subject = {{"CN", "NVIDIA GH100 Identity"}, {"O", organization}},
      .public_key = intermediate_key.public_key(),
      .not_before = from,
      .not_after = to,
      .serial = 2,
      .ca = true};
  ASSIGN_OR_RETURN(intermediate, crypto::issue_certificate(intermediate_spec, root_key, &root,
                                                           crypto::Signature::ecdsa_sha384));
  const crypto::CertificateSpec leaf_spec{
      .subject = {{"C", "US"}, {"O", organization}, {"CN", "GH100 A01 GSP FMC LF"}},
      .public_key = leaf_key.public_key(),
      .not_before = from,
      .not_after = to,
      .serial = 3};
  ASSIGN_OR_RETURN(leaf, crypto::issue_certificate(leaf_spec, intermediate_key, &intermediate,
                                                   crypto::Signature::ecdsa_sha384));
  return DevelopmentGpuPki{.root_key = root_key,
                           .intermediate_key = intermediate_key,
                           .leaf_key = leaf_key,
                           .root = root,
                           .intermediate = intermediate,
                           .leaf = leaf};
}

nvgpu::TrustedGpuRoot DevelopmentGpuPki::trusted_root() const {
  return nvgpu::TrustedGpuRoot{root, true};
}

std::vector<crypto::Certificate> DevelopmentGpuPki::certificate_chain() const {
  return {leaf, intermediate, root};
}

crypto::SecretBytes DevelopmentGpuPki::to_pem_bundle() const {
  const crypto::Certificate certs[] = {root, intermediate, leaf};
  const crypto::PrivateKey keys[] = {root_key, intermediate_key, leaf_key};
  return internal::write_pem_bundle(certs, keys);
}

Result<DevelopmentGpuPki, Error> DevelopmentGpuPki::from_pem_bundle(
    std::span<const std::byte> pem) {
  static constexpr const char* kRoles[] = {"root", "intermediate", "leaf"};
  ASSIGN_OR_RETURN(bundle, internal::read_pem_bundle(pem, "development GPU PKI", kRoles));
  const auto& certs = bundle.certificates;
  const auto& keys = bundle.keys;
  return DevelopmentGpuPki{.root_key = keys[0],
                           .intermediate_key = keys[1],
                           .leaf_key = keys[2],
                           .root = certs[0],
                           .intermediate = certs[1],
                           .leaf = certs[2]};
}

Result<nvgpu::AttestationReport, Error> issue_gpu_report(
    const DevelopmentGpuPki& pki, const GpuState& state,
    std::span<const std::byte, nvgpu::kNonceSize> nonce) {
  if (state.measurements.empty() || state.measurements.size() > 254) {
    return state_error(std::to_string(state.measurements.size()) +
                       " measurements, SPDM allows 1 to 254 blocks");
  }
  ASSIGN_OR_RETURN(vbios, nvgpu::encode_vbios_version(state.vbios_version));
  ASSIGN_OR_RETURN(driver, text_value("driver version", state.driver_version));
  ASSIGN_OR_RETURN(chip_sku, text_value("chip SKU", state.chip_sku));
  ASSIGN_OR_RETURN(project, text_value("project", state.project));
  ASSIGN_OR_RETURN(project_sku, text_value("project SKU", state.project_sku));
  const std::pair<nvgpu::OpaqueType, std::span<const std::byte>> opaque_fields[] = {
      {nvgpu::OpaqueType::driver_version, driver},   {nvgpu::OpaqueType::vbios_version, vbios},
      {nvgpu::OpaqueType::chip_sku, chip_sku},       {nvgpu::OpaqueType::project, project},
      {nvgpu::OpaqueType::project_sku, project_sku},
  };
  Writer opaque;
  for (const auto& [type, value] : opaque_fields) {
    opaque.le(static_cast<std::uint16_t>(type), 2);
    opaque.le(static_cast<std::uint32_t>(value.size()), 2);
    opaque.bytes(value);
  }
  if (opaque.size() > 1024) {
    return state_error("opaque data of " + std::to_string(opaque.size()) +
                       " bytes exceeds SPDM's 1024");
  }

  constexpr std::size_t kDigestSize = std::tuple_size_v<crypto::Sha384Digest>;
  constexpr std::size_t kBlockSize = 4 + 3 + kDigestSize;
  Writer w;
  // GET_MEASUREMENTS: SPDM 1.1, signature requested, every block, slot 0.
  w.le(nvgpu::kSpdmVersion, 1);
  w.le(nvgpu::kGetMeasurements, 1);
  w.le(0x01, 1);
  w.le(0xFF, 1);
  w.bytes(nonce);
  w.le(0, 1);
  // MEASUREMENTS.
  w.le(nvgpu::kSpdmVersion, 1);
  w.le(nvgpu::kMeasurements, 1);
  w.le(0, 1);
  w.le(0, 1);
  w.le(static_cast<std::uint32_t>(state.measurements.size()), 1);
  w.le(static_cast<std::uint32_t>(state.measurements.size() * kBlockSize), 3);
  for (std::size_t i = 0; i < state.measurements.size(); ++i) {
    w.le(static_cast<std::uint32_t>(i + 1), 1);  // Index
    w.le(0x01, 1);                               // MeasurementSpecification: DMTF
    w.le(3 + kDigestSize, 2);                    // MeasurementSize
    w.le(0x01, 1);                               // a digest of mutable firmware
    w.le(kDigestSize, 2);
    w.bytes(state.measurements[i]);
  }
  std::array<std::byte, nvgpu::kNonceSize> responder_nonce{};
  crypto::random_bytes(responder_nonce);
  w.bytes(responder_nonce);
  w.le(static_cast<std::uint32_t>(opaque.size()), 2);
  w.bytes(opaque.buffer());

  // SPDM 1.1 signs the transcript of this exchange: the request and the
  // response up to its signature.
  ASSIGN_OR_RETURN(signature, pki.leaf_key.sign_ecdsa(crypto::Hash::sha384, w.buffer(),
                                                      crypto::SignatureFormat::raw));
  if (signature.size() != nvgpu::kSignatureSize) {
    return state_error("the leaf key is not ECDSA P-384");
  }
  w.bytes(signature);
  return nvgpu::parse_report(w.buffer());
}

}  // namespace cipherline::attest::sim
