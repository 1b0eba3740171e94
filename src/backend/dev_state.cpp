#include "cipherline/backend/dev_state.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "cipherline/attest/contrast/manifest.hpp"
#include "cipherline/backend/error.hpp"
#include "cipherline/crypto/certificate_builder.hpp"
#include "cipherline/crypto/hex.hpp"
#include "cipherline/crypto/sha256.hpp"
#include "cipherline/json/writer.hpp"

namespace cipherline::backend {
namespace {

using namespace std::chrono;

Error bad(const std::filesystem::path& path, std::string_view what) {
  return Error(errc::bad_configuration, path.string() + ": " + std::string(what));
}

Result<void, Error> write_with_mode(const std::filesystem::path& path,
                                    std::span<const std::byte> bytes, mode_t mode) {
  const auto temporary = path.string() + ".tmp";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return bad(temporary, std::strerror(errno));
  std::size_t done = 0;
  while (done < bytes.size()) {
    const auto n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      return bad(temporary, why);
    }
    done += static_cast<std::size_t>(n);
  }
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!synced || ::rename(temporary.c_str(), path.c_str()) != 0) {
    return bad(path, std::strerror(errno));
  }
  return {};
}

Result<void, Error> make_private_dir(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return bad(dir, ec.message());
  if (::chmod(dir.c_str(), 0700) != 0) return bad(dir, std::strerror(errno));
  return {};
}

std::span<const std::byte> bytes_of(std::string_view s) { return std::as_bytes(std::span(s)); }

// Loads `file` with `parse`, or makes it with `make` and saves it (private).
template <class T, class Parse, class Make, class Save>
Result<T, Error> load_or_make(const std::filesystem::path& file, Parse parse, Make make,
                              Save save) {
  if (std::filesystem::exists(file)) {
    auto text = read_file(file);
    if (!text) return text.error();
    auto parsed = parse(bytes_of(*text));
    if (!parsed) return bad(file, parsed.error().message());
    return std::move(*parsed);
  }
  auto made = make();
  if (!made) return made.error();
  const crypto::SecretBytes pem = save(*made);
  if (auto r = write_private_file(file, pem.bytes()); !r) return r.error();
  return std::move(*made);
}

Result<std::pair<crypto::PrivateKey, crypto::Certificate>, Error> make_ca() {
  auto key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  if (!key) return key.error();
  const auto now = system_clock::now();
  auto ca = crypto::issue_certificate({.subject = {{"O", "cipherline development CA (NOT TRUSTED)"},
                                                   {"CN", "cipherline development CA"}},
                                       .public_key = key->public_key(),
                                       .not_before = now - hours(24),
                                       .not_after = now + hours(24 * 3650),
                                       .serial = 1,
                                       .ca = true},
                                      *key, nullptr, crypto::Signature::ecdsa_sha256);
  if (!ca) return ca.error();
  return std::pair{std::move(*key), std::move(*ca)};
}

}  // namespace

Result<std::string, Error> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return bad(path, "cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  return std::move(text).str();
}

Result<void, Error> write_private_file(const std::filesystem::path& path,
                                       std::span<const std::byte> bytes) {
  return write_with_mode(path, bytes, 0600);
}

Result<void, Error> write_public_file(const std::filesystem::path& path, std::string_view text) {
  return write_with_mode(path, bytes_of(text), 0644);
}

std::array<std::byte, 32> DevState::policy_hash(std::string_view role) {
  const std::string policy = "cipherline development policy: " + std::string(role);
  return crypto::sha256(bytes_of(policy));
}

std::string development_manifest(const std::array<std::byte, 48>& measurement,
                                 attest::snp::Product product) {
  std::string out;
  json::JsonWriter json(out);
  json.begin_object().key("Policies").begin_object();
  for (const auto role : kRoles) {
    json.key(crypto::to_hex(DevState::policy_hash(role)))
        .begin_object()
        .key("SANs")
        .begin_array()
        .string(role)
        .end_array()
        .key("WorkloadSecretID")
        .string(role)
        .key("Role")
        .string(role == "coordinator" ? "coordinator" : "")
        .end_object();
  }
  json.end_object()
      .key("ReferenceValues")
      .begin_object()
      .key("snp")
      .begin_array()
      .begin_object()
      .key("ProductName")
      .string(attest::snp::product_name(product))
      .key("TrustedMeasurement")
      .string(crypto::to_hex(measurement))
      .key("MinimumTCB")
      .begin_object()
      .key("BootloaderVersion")
      .number(10)
      .key("TEEVersion")
      .number(0)
      .key("SNPVersion")
      .number(28)
      .key("MicrocodeVersion")
      .number(88)
      .end_object()
      .key("GuestPolicy")
      .begin_object()
      .key("SMT")
      .boolean(true)
      .end_object()
      .key("PlatformInfo")
      .begin_object()
      .key("SMTEnabled")
      .boolean(true)
      .key("ECCEnabled")
      .boolean(true)
      .key("AliasCheckComplete")
      .boolean(true)
      .end_object()
      .end_object()
      .end_array()
      .end_object()
      .key("WorkloadOwnerKeyDigests")
      .begin_array()
      .end_array()
      .key("SeedshareOwnerPubKeys")
      .begin_array()
      .end_array()
      .end_object();
  out += '\n';
  return out;
}

Result<std::array<std::byte, 48>, Error> running_binary_measurement() {
  auto image = read_file("/proc/self/exe");
  if (!image) return image.error();
  return attest::sim::measurement_of(bytes_of(*image));
}

Result<DevState, Error> DevState::open(const std::filesystem::path& dir,
                                       const std::array<std::byte, 48>& measurement) {
  if (auto r = make_private_dir(dir); !r) return r.error();
  if (auto r = make_private_dir(dir / "private"); !r) return r.error();
  const auto now = system_clock::now();
  const auto priv = dir / "private";

  auto snp = load_or_make<attest::sim::DevelopmentSnpPki>(
      priv / "tee-snp.pem",
      [](std::span<const std::byte> pem) {
        return attest::sim::DevelopmentSnpPki::from_pem_bundle(pem);
      },
      [&] { return attest::sim::DevelopmentSnpPki::generate(attest::snp::Product::genoa, now); },
      [](const auto& pki) { return pki.to_pem_bundle(); });
  if (!snp) return snp.error();
  auto gpu = load_or_make<attest::sim::DevelopmentGpuPki>(
      priv / "tee-gpu.pem",
      [](std::span<const std::byte> pem) {
        return attest::sim::DevelopmentGpuPki::from_pem_bundle(pem);
      },
      [&] { return attest::sim::DevelopmentGpuPki::generate(now); },
      [](const auto& pki) { return pki.to_pem_bundle(); });
  if (!gpu) return gpu.error();

  // The development CA: key private, certificate public.
  const auto ca_key_file = priv / "dev-ca-key.pem";
  const auto ca_file = dir / "dev-ca.pem";
  std::optional<std::pair<crypto::PrivateKey, crypto::Certificate>> ca_pair;
  if (std::filesystem::exists(ca_key_file) && std::filesystem::exists(ca_file)) {
    auto key_pem = read_file(ca_key_file);
    if (!key_pem) return key_pem.error();
    auto key = crypto::PrivateKey::from_pem(bytes_of(*key_pem));
    crypto::secure_wipe(std::as_writable_bytes(std::span(key_pem->data(), key_pem->size())));
    if (!key) return bad(ca_key_file, key.error().message());
    auto ca_pem = read_file(ca_file);
    if (!ca_pem) return ca_pem.error();
    auto ca = crypto::Certificate::from_pem(*ca_pem);
    if (!ca) return bad(ca_file, ca.error().message());
    ca_pair.emplace(std::move(*key), std::move(*ca));
  } else {
    auto ca = make_ca();
    if (!ca) return ca.error();
    if (auto r = write_private_file(ca_key_file, ca->first.to_pem().bytes()); !r) return r.error();
    if (auto r = write_public_file(ca_file, crypto::to_pem(ca->second)); !r) return r.error();
    ca_pair = std::move(*ca);
  }
  DevState state{.dir = dir,
                 .manifest = {},
                 .measurement = measurement,
                 .snp = std::move(*snp),
                 .gpu = std::move(*gpu),
                 .ca_key = std::move(ca_pair->first),
                 .ca = std::move(ca_pair->second),
                 .gateway_certificate_file = {},
                 .gateway_key_file = {}};

  // The gateway's TLS identity, for localhost and the loopback addresses.
  state.gateway_certificate_file = priv / "gateway.pem";
  state.gateway_key_file = priv / "gateway-key.pem";
  if (!std::filesystem::exists(state.gateway_certificate_file) ||
      !std::filesystem::exists(state.gateway_key_file)) {
    auto key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
    if (!key) return key.error();
    auto certificate = crypto::issue_certificate(
        {.subject = {{"O", "cipherline development"}, {"CN", "localhost"}},
         .public_key = key->public_key(),
         .not_before = now - hours(1),
         .not_after = now + hours(24 * 365),
         .serial = static_cast<std::uint64_t>(now.time_since_epoch().count()) & 0x7fffffffffff,
         .dns_names = {"localhost"},
         .ip_addresses = {"127.0.0.1", "::1"}},
        state.ca_key, &state.ca, crypto::Signature::ecdsa_sha256);
    if (!certificate) return certificate.error();
    if (auto r = state.write_identity("gateway", {*certificate}, *key); !r) return r.error();
  }

  // The public half of the TEE roots, as `--dev-trust DIR` reads them.
  if (auto r = write_public_file(dir / "sev-snp-dev-cert-chain.pem",
                                 crypto::to_pem(state.snp.ask) + crypto::to_pem(state.snp.ark));
      !r) {
    return r.error();
  }

  const auto manifest_file = dir / "manifest.json";
  if (std::filesystem::exists(manifest_file)) {
    auto text = read_file(manifest_file);
    if (!text) return text.error();
    auto parsed = attest::contrast::parse_manifest(*text);
    if (!parsed) return bad(manifest_file, parsed.error().message());
    if (parsed->snp.empty() || parsed->snp.front().values.trusted_measurement != measurement) {
      return bad(manifest_file,
                 "written for another backend binary (measurement " +
                     (parsed->snp.empty()
                          ? std::string("none")
                          : crypto::to_hex(parsed->snp.front().values.trusted_measurement)) +
                     ", this binary " + crypto::to_hex(measurement) +
                     "); clients pinning it would reject this backend. Remove it to write a "
                     "new one, or use another --state directory");
    }
    const auto b = bytes_of(*text);
    state.manifest.assign(b.begin(), b.end());
  } else {
    const auto text = development_manifest(measurement, state.snp.product);
    if (auto r = write_public_file(manifest_file, text); !r) return r.error();
    const auto b = bytes_of(text);
    state.manifest.assign(b.begin(), b.end());
  }
  return state;
}

Result<std::pair<std::filesystem::path, std::filesystem::path>, Error> DevState::write_identity(
    const std::string& name, const std::vector<crypto::Certificate>& chain,
    const crypto::PrivateKey& key) const {
  const auto certificate_file = private_dir() / (name + ".pem");
  const auto key_file = private_dir() / (name + "-key.pem");
  std::string pem;
  for (const auto& c : chain) pem += crypto::to_pem(c);
  if (auto r = write_private_file(certificate_file, bytes_of(pem)); !r) return r.error();
  if (auto r = write_private_file(key_file, key.to_pem().bytes()); !r) return r.error();
  return std::pair{certificate_file, key_file};
}

}  // namespace cipherline::backend
