#include "cipherline/attest/snp/verify.hpp"

#include <algorithm>
#include <ctime>
#include <stdexcept>

#include "../der_reader.hpp"
#include "../hex_format.hpp"
#include "amd_roots.hpp"
#include "cipherline/attest/error.hpp"
#include "cipherline/crypto/crl.hpp"
#include "cipherline/crypto/hex.hpp"
#include "cipherline/crypto/sha256.hpp"

namespace cipherline::attest::snp {
namespace {

constexpr std::string_view kKdsOid = "1.3.6.1.4.1.3704.1.";

Error vcek_error(const std::string& why) {
  return Error(errc::malformed_evidence, "VCEK extensions: " + why);
}

Result<std::uint64_t, Error> integer_extension(const crypto::Certificate& vcek,
                                               std::string_view suffix, std::string_view name) {
  const std::string oid = std::string(kKdsOid) + std::string(suffix);
  const auto ext = vcek.extension(oid);
  if (!ext) return vcek_error(std::string(name) + " (" + oid + ") is missing");
  const auto value = attest::internal::der_single(*ext, 0x02);
  if (!value || value->empty() || value->size() > 9 ||
      (std::to_integer<std::uint8_t>((*value)[0]) & 0x80) != 0) {
    return vcek_error(std::string(name) + " (" + oid + ") is not a small non-negative INTEGER");
  }
  std::uint64_t n = 0;
  for (std::byte b : *value) n = (n << 8) | std::to_integer<std::uint64_t>(b);
  return n;
}

std::string hex(std::span<const std::byte> bytes) { return crypto::to_hex(bytes); }

std::string iso_time(std::chrono::system_clock::time_point t) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

// check_revocation adds "AMD CRL" and, when the CRL verified, "ASK
// revocation".
void check_revocation(const TrustedChain& chain, std::chrono::system_clock::time_point at,
                      const Revocation& revocation, VerificationReport& r) {
  const std::string signer = chain.key == SigningKey::vlek ? "ASVK" : "ASK";
  const std::string expected = "signed by the ARK, current at " + iso_time(at);
  if (revocation.crl.empty()) {
    const bool required = revocation.policy.require_crl;
    r.check("AMD CRL", required ? expected + " (required)" : expected,
            required ? "none given" : "none given: revocation not checked", !required);
    return;
  }
  auto crl = crypto::Crl::parse(revocation.crl);
  Result<void, Error> usable = crl ? crl->verify(chain.ark, at) : Result<void, Error>(crl.error());
  if (!usable) {
    const bool open = revocation.policy.fail_open;
    r.check("AMD CRL", open ? expected + " (fail open)" : expected,
            open ? usable.error().message() + ": revocation not checked" : usable.error().message(),
            open);
    return;
  }
  r.check("AMD CRL", expected,
          "verified (" + std::to_string(crl->revoked_count()) + " serials listed)", true);
  auto listed = crl->is_revoked(chain.ask);
  r.check(signer + " revocation", signer + " serial " + hex(chain.ask.serial()) + " not listed",
          !listed   ? listed.error().message()
          : *listed ? "revoked"
                    : "not listed",
          listed && !*listed);
}

}  // namespace

std::string_view amd_ark_fingerprint(Product product) noexcept {
  switch (product) {
    case Product::milan:
      return "69d063b45344d26a2e94e1f4210de49ef555308287d4c174445c95639a540bcd";
    case Product::genoa:
      return "4c6598d19c18719c5dfd4a7d335f674e5bfe1d8f800cea2cf270c10d103db2f1";
    case Product::turin:
      return "1f084161a44bb6d93778a904877d4819cafa5d05ef4193b2ded9dd9c73dd3f6a";
    case Product::unknown:
      break;
  }
  return {};
}

namespace {

// by_product picks one of three per-product values.
template <class T>
const T& by_product(Product product, const T& milan, const T& genoa, const T& turin,
                    const char* what) {
  switch (product) {
    case Product::milan:
      return milan;
    case Product::genoa:
      return genoa;
    case Product::turin:
      return turin;
    case Product::unknown:
      break;
  }
  throw std::invalid_argument(std::string("no built-in AMD ") + what + " for an unknown product");
}

}  // namespace

const TrustedChain& amd_chain(Product product) {
  static const auto load = [](Product p, const char* pem) {
    auto certs = crypto::Certificate::all_from_pem(pem).value();
    return TrustedChain{p, certs.at(0), certs.at(1), false};
  };
  static const TrustedChain milan = load(Product::milan, internal::kMilanChainPem);
  static const TrustedChain genoa = load(Product::genoa, internal::kGenoaChainPem);
  static const TrustedChain turin = load(Product::turin, internal::kTurinChainPem);
  return by_product(product, milan, genoa, turin, "chain");
}

const TrustedChain& amd_vlek_chain(Product product) {
  static const auto load = [](Product p, const char* asvk) {
    return TrustedChain{p, crypto::Certificate::from_pem(asvk).value(), amd_chain(p).ark, false,
                        SigningKey::vlek};
  };
  static const TrustedChain milan = load(Product::milan, internal::kMilanAsvkPem);
  static const TrustedChain genoa = load(Product::genoa, internal::kGenoaAsvkPem);
  static const TrustedChain turin = load(Product::turin, internal::kTurinAsvkPem);
  return by_product(product, milan, genoa, turin, "VLEK chain");
}

Result<VcekExtensions, Error> parse_vcek_extensions(const crypto::Certificate& vcek) {
  VcekExtensions x;
  if (auto v = integer_extension(vcek, "1", "structVersion"); v) {
    x.struct_version = static_cast<int>(*v);
  } else {
    return v.error();
  }
  const auto name = vcek.extension(std::string(kKdsOid) + "2");
  const auto name_value = name ? attest::internal::der_single(*name, 0x16) : std::nullopt;
  if (!name_value)
    return vcek_error("productName (" + std::string(kKdsOid) + "2) is missing or not an IA5String");
  x.product_name.assign(reinterpret_cast<const char*>(name_value->data()), name_value->size());
  const bool turin = product_from_name(x.product_name) == Product::turin;

  struct Part {
    std::string_view suffix;
    std::string_view name;
    std::uint8_t TcbVersion::*field;
  };
  const Part parts[] = {{"3.1", "blSPL", &TcbVersion::bootloader},
                        {"3.2", "teeSPL", &TcbVersion::tee},
                        {"3.3", "snpSPL", &TcbVersion::snp},
                        {"3.8", "ucodeSPL", &TcbVersion::microcode}};
  for (const Part& part : parts) {
    auto v = integer_extension(vcek, part.suffix, part.name);
    if (!v) return v.error();
    if (*v > 255)
      return vcek_error(std::string(part.name) + " " + std::to_string(*v) + " exceeds 255");
    x.tcb.*part.field = static_cast<std::uint8_t>(*v);
  }
  if (turin) {
    auto fmc = integer_extension(vcek, "3.9", "fmcSPL");
    if (!fmc) return fmc.error();
    if (*fmc > 255) return vcek_error("fmcSPL exceeds 255");
    x.tcb.fmc = static_cast<std::uint8_t>(*fmc);
  }
  // The raw word, in the product's layout, so it can be compared with the
  // report; Milan and Genoa VCEKs also carry the reserved bytes 2–5.
  x.tcb.raw = encode_tcb(x.tcb, turin ? Product::turin : Product::milan);
  if (!turin) {
    for (int i = 4; i <= 7; ++i) {  // spl4–spl7
      if (auto v = integer_extension(vcek, "3." + std::to_string(i), "spl" + std::to_string(i));
          v) {
        x.tcb.raw |= (*v & 0xFF) << (8 * (i - 2));
      }
    }
  }

  const auto hwid = vcek.extension(std::string(kKdsOid) + "4");
  if (!hwid) {
    // A VLEK names the cloud provider it was issued to instead of a chip.
    const auto csp = vcek.extension(std::string(kKdsOid) + "5");
    const auto csp_value = csp ? attest::internal::der_single(*csp, 0x16) : std::nullopt;
    if (!csp_value) {
      return vcek_error("neither hwID (" + std::string(kKdsOid) + "4) nor cspID (" +
                        std::string(kKdsOid) + "5) is present");
    }
    x.csp_id.assign(reinterpret_cast<const char*>(csp_value->data()), csp_value->size());
    return x;
  }
  const auto wrapped = attest::internal::der_single(*hwid, 0x04);
  const std::span<const std::byte> id = wrapped ? *wrapped : std::span<const std::byte>(*hwid);
  x.hwid.assign(id.begin(), id.end());
  if (x.hwid.size() != (turin ? 8u : 64u)) {
    return vcek_error("hwID has " + std::to_string(x.hwid.size()) + " bytes, expected " +
                      (turin ? "8" : "64"));
  }
  return x;
}

std::array<std::byte, 32> ChainCache::key_of(const crypto::Certificate& vcek,
                                             const TrustedChain& chain) {
  const auto v = vcek.fingerprint_sha256();
  const auto s = chain.ask.fingerprint_sha256();
  const auto a = chain.ark.fingerprint_sha256();
  return crypto::sha256({v, s, a});
}

bool ChainCache::contains(const crypto::Certificate& vcek, const TrustedChain& chain,
                          std::chrono::system_clock::time_point at) const {
  const auto key = key_of(vcek, chain);
  std::lock_guard lock(mutex_);
  return std::any_of(entries_.begin(), entries_.end(), [&](const Entry& e) {
    return e.key == key && at >= e.not_before && at <= e.not_after;
  });
}

void ChainCache::insert(const crypto::Certificate& vcek, const TrustedChain& chain) {
  Entry e{key_of(vcek, chain),
          std::max({vcek.not_before(), chain.ask.not_before(), chain.ark.not_before()}),
          std::min({vcek.not_after(), chain.ask.not_after(), chain.ark.not_after()})};
  std::lock_guard lock(mutex_);
  entries_.push_back(e);
  if (entries_.size() > capacity_) entries_.pop_front();
}

std::size_t ChainCache::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

VerificationReport verify_report(const AttestationReport& report, const crypto::Certificate& vcek,
                                 const TrustedChain& chain,
                                 std::chrono::system_clock::time_point at, ChainCache* cache,
                                 const Revocation& revocation) {
  VerificationReport r("AMD SEV-SNP attestation report");
  auto extensions = parse_vcek_extensions(vcek);
  const Product vcek_product =
      extensions ? product_from_name(extensions->product_name) : Product::unknown;
  const Product product = report.version >= 3 ? report.cpuid_product() : vcek_product;

  // Claims first: they describe the evidence whatever the checks say.
  r.claim("version", std::to_string(report.version));
  r.claim("product", std::string(product_name(product)));
  r.claim("measurement", hex(report.measurement));
  r.claim("report data", hex(report.report_data));
  r.claim("host data", hex(report.host_data));
  r.claim("chip ID", hex(report.chip_id));
  r.claim("policy", attest::internal::hex_word(report.policy));
  r.claim("VMPL", std::to_string(report.vmpl));
  r.claim("guest SVN", std::to_string(report.guest_svn));
  r.claim("platform info", attest::internal::hex_word(report.platform_info));
  r.claim("ID key digest", hex(report.id_key_digest));
  r.claim("current TCB", decode_tcb(report.current_tcb, product).to_string());
  r.claim("reported TCB", decode_tcb(report.reported_tcb, product).to_string());
  r.claim("committed TCB", decode_tcb(report.committed_tcb, product).to_string());
  r.claim("launch TCB", decode_tcb(report.launch_tcb, product).to_string());
  r.claim("current firmware", std::to_string(report.current_major) + "." +
                                  std::to_string(report.current_minor) + " build " +
                                  std::to_string(report.current_build));
  if (report.version >= 5) {
    r.claim("launch mitigation vector", attest::internal::hex_word(report.launch_mit_vector));
    r.claim("current mitigation vector", attest::internal::hex_word(report.current_mit_vector));
  }

  r.check_equal("product", std::string(product_name(chain.product)),
                std::string(product_name(product)));
  const auto key_name = [](SigningKey k) {
    return k == SigningKey::vcek ? "VCEK" : k == SigningKey::vlek ? "VLEK" : "none";
  };
  const std::string endorsement = key_name(chain.key);
  r.check_equal("signing key", endorsement, key_name(report.signing_key));
  const std::string ark_fingerprint = crypto::to_hex(chain.ark.fingerprint_sha256());
  if (chain.development) {
    r.check("ARK", "a development root (explicitly trusted)", ark_fingerprint, true);
  } else {
    r.check_equal("ARK", std::string(amd_ark_fingerprint(chain.product)), ark_fingerprint);
  }
  const crypto::Certificate intermediates[] = {chain.ask};
  const crypto::Certificate roots[] = {chain.ark};
  const std::string chain_name =
      chain.key == SigningKey::vlek ? "VLEK <- ASVK <- ARK" : "VCEK <- ASK <- ARK";
  if (cache != nullptr && cache->contains(vcek, chain, at)) {
    r.check("certificate chain", chain_name, "verified (cached)", true);
  } else {
    auto chained = crypto::verify_chain(vcek, intermediates, roots, at);
    r.check("certificate chain", chain_name, chained ? "verified" : chained.error().message(),
            chained.has_value());
    if (chained && cache != nullptr) cache->insert(vcek, chain);
  }
  check_revocation(chain, at, revocation, r);
  const auto key = vcek.public_key();
  const bool p384 = key && key->type() == crypto::PublicKey::Type::ec_p384;
  r.check(endorsement + " key", "ECDSA P-384",
          !key   ? key.error().message()
          : p384 ? "ECDSA P-384"
                 : key->description(),
          p384);
  auto signature =
      p384 ? crypto::verify_ecdsa(*key, crypto::Hash::sha384, report.signed_bytes(),
                                  report.signature_rs, crypto::SignatureFormat::raw)
           : Result<void, Error>(Error(errc::unsupported_evidence, "the VCEK key is not P-384"));
  r.check("report signature", "valid under the " + endorsement,
          signature ? "valid" : signature.error().message(), signature.has_value());

  if (!extensions) {
    r.check("VCEK extensions", "AMD KDS extensions", extensions.error().message(), false);
    return r;
  }
  const TcbVersion reported = decode_tcb(report.reported_tcb, product);
  r.check("reported TCB", extensions->tcb.to_string() + " (the VCEK's)", reported.to_string(),
          extensions->tcb.raw == report.reported_tcb);
  if (!extensions->csp_id.empty()) {
    r.claim("CSP ID", extensions->csp_id);
    r.check("chip ID", "not bound to a chip (VLEK)", "VLEK of " + extensions->csp_id, true);
  } else if (report.mask_chip_key) {
    const bool zero = std::all_of(report.chip_id.begin(), report.chip_id.end(),
                                  [](std::byte b) { return b == std::byte{0}; });
    r.check("chip ID", "all zero (MASK_CHIP_KEY)", zero ? "all zero" : hex(report.chip_id), zero);
  } else {
    // Turin uses the first 8 bytes; the other 56 must be zero.
    std::array<std::byte, 64> expected{};
    std::copy_n(extensions->hwid.begin(), std::min<std::size_t>(extensions->hwid.size(), 64),
                expected.begin());
    r.check_equal("chip ID", hex(expected), hex(report.chip_id));
  }
  const TcbVersion current = decode_tcb(report.current_tcb, product);
  const TcbVersion committed = decode_tcb(report.committed_tcb, product);
  r.check("committed TCB", "<= current TCB (" + current.to_string() + ")", committed.to_string(),
          tcb_at_least(current, committed));
  r.check("VCEK TCB", "<= current TCB (" + current.to_string() + ")", extensions->tcb.to_string(),
          tcb_at_least(current, extensions->tcb));
  return r;
}

}  // namespace cipherline::attest::snp
