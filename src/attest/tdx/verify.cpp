#include "cipherline/attest/tdx/verify.hpp"

#include <algorithm>

#include "../der_reader.hpp"
#include "cipherline/attest/error.hpp"
#include "cipherline/crypto/hex.hpp"
#include "cipherline/crypto/sha256.hpp"
#include "intel_root.hpp"

namespace cipherline::attest::tdx {
namespace {

using attest::internal::DerReader;
using attest::internal::Tlv;

constexpr std::string_view kSgxExtensionOid = "1.2.840.113741.1.13.1";

std::string hex(std::span<const std::byte> bytes) { return crypto::to_hex(bytes); }

// decode_oid renders an OBJECT IDENTIFIER's contents in dotted form.
std::optional<std::string> decode_oid(std::span<const std::byte> value) {
  if (value.empty() || (std::to_integer<unsigned>(value.back()) & 0x80) != 0) return std::nullopt;
  std::string out;
  std::uint64_t arc = 0;
  bool first = true;
  for (std::byte b : value) {
    const auto v = std::to_integer<unsigned>(b);
    if (arc == 0 && v == 0x80) return std::nullopt;  // non-minimal arc
    arc = (arc << 7) | (v & 0x7F);
    if (arc > 0xFFFFFFFF) return std::nullopt;
    if (v & 0x80) continue;
    if (first) {
      const std::uint64_t top = arc < 40 ? 0 : arc < 80 ? 1 : 2;
      out = std::to_string(top) + "." + std::to_string(arc - 40 * top);
      first = false;
    } else {
      out += "." + std::to_string(arc);
    }
    arc = 0;
  }
  return out;
}

struct Entry {
  std::string oid;
  Tlv value;
};

Error extension_error(std::string_view oid, std::string_view name, const std::string& why) {
  return Error(errc::malformed_evidence,
               "PCK extension: " + std::string(oid) + " (" + std::string(name) + "): " + why);
}

// entries reads the contents of a SEQUENCE OF SEQUENCE { OBJECT IDENTIFIER,
// value }, the shape of the SGX extension and of its TCB and configuration
// parts. An OID that appears twice is an error.
Result<std::vector<Entry>, Error> entries(std::span<const std::byte> contents, std::string_view oid,
                                          std::string_view name) {
  std::vector<Entry> out;
  DerReader in(contents);
  while (!in.empty()) {
    const auto pair = in.next();
    if (!pair || pair->tag != 0x30) return extension_error(oid, name, "an entry is not a SEQUENCE");
    DerReader fields(pair->value);
    const auto id = fields.next();
    const auto value = fields.next();
    const auto dotted = id && id->tag == 0x06 ? decode_oid(id->value) : std::nullopt;
    if (!dotted || !value || !fields.empty()) {
      return extension_error(oid, name, "an entry is not { OBJECT IDENTIFIER, value }");
    }
    if (std::any_of(out.begin(), out.end(), [&](const Entry& e) { return e.oid == *dotted; })) {
      return extension_error(*dotted, name, "appears twice");
    }
    out.push_back({*dotted, *value});
  }
  return out;
}

// Fields looks entries up by OID and reads their values, naming the OID
// and the field in every error.
class Fields {
 public:
  Fields(std::vector<Entry> entries, std::string prefix)
      : entries_(std::move(entries)), prefix_(std::move(prefix)) {}

  std::string oid(std::string_view arc) const { return prefix_ + "." + std::string(arc); }

  // find returns the entry, or null when it is absent.
  const Entry* find(std::string_view arc) const {
    const std::string id = oid(arc);
    for (const Entry& e : entries_) {
      if (e.oid == id) return &e;
    }
    return nullptr;
  }

  Result<Tlv, Error> required(std::string_view arc, std::string_view name, std::uint8_t tag) const {
    const Entry* e = find(arc);
    if (e == nullptr) return extension_error(oid(arc), name, "is missing");
    if (e->value.tag != tag) {
      return extension_error(
          oid(arc), name,
          "has tag " + std::to_string(e->value.tag) + ", expected " + std::to_string(tag));
    }
    return e->value;
  }

  template <std::size_t N>
  Result<void, Error> octets(std::string_view arc, std::string_view name,
                             std::array<std::byte, N>& out) const {
    auto v = required(arc, name, 0x04);
    if (!v) return v.error();
    if (v->value.size() != N) {
      return extension_error(
          oid(arc), name,
          std::to_string(v->value.size()) + " bytes, expected " + std::to_string(N));
    }
    std::copy(v->value.begin(), v->value.end(), out.begin());
    return {};
  }

  // integer reads a non-negative INTEGER (or ENUMERATED) of at most `max`.
  Result<std::uint32_t, Error> integer(std::string_view arc, std::string_view name,
                                       std::uint32_t max, std::uint8_t tag = 0x02) const {
    auto v = required(arc, name, tag);
    if (!v) return v.error();
    const auto bytes = v->value;
    if (bytes.empty() || bytes.size() > 4 || (std::to_integer<unsigned>(bytes[0]) & 0x80) != 0 ||
        (bytes.size() > 1 && bytes[0] == std::byte{0} &&
         (std::to_integer<unsigned>(bytes[1]) & 0x80) == 0)) {
      return extension_error(oid(arc), name, "is not a small non-negative DER INTEGER");
    }
    std::uint64_t n = 0;
    for (std::byte b : bytes) n = (n << 8) | std::to_integer<std::uint64_t>(b);
    if (n > max) {
      return extension_error(oid(arc), name, std::to_string(n) + " exceeds " + std::to_string(max));
    }
    return static_cast<std::uint32_t>(n);
  }

  // boolean reads an optional BOOLEAN (DER: 0x00 or 0xFF).
  Result<std::optional<bool>, Error> boolean(std::string_view arc, std::string_view name) const {
    if (find(arc) == nullptr) return std::optional<bool>();
    auto v = required(arc, name, 0x01);
    if (!v) return v.error();
    if (v->value.size() != 1 || (v->value[0] != std::byte{0} && v->value[0] != std::byte{0xFF})) {
      return extension_error(oid(arc), name, "is not a DER BOOLEAN");
    }
    return std::optional<bool>(v->value[0] == std::byte{0xFF});
  }

 private:
  std::vector<Entry> entries_;
  std::string prefix_;
};

std::string components_text(std::span<const std::uint8_t> svns) {
  std::string out;
  for (std::uint8_t v : svns) out += (out.empty() ? "" : " ") + std::to_string(v);
  return out;
}

}  // namespace

std::string_view intel_root_fingerprint() noexcept {
  return "44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3";
}

const TrustedRoot& intel_root() {
  static const TrustedRoot root{crypto::Certificate::from_pem(internal::kIntelSgxRootCaPem).value(),
                                false};
  return root;
}

std::string_view sgx_type_name(SgxType type) noexcept {
  switch (type) {
    case SgxType::standard:
      return "Standard";
    case SgxType::scalable:
      return "Scalable";
    case SgxType::scalable_with_integrity:
      return "Scalable with integrity";
  }
  return "unknown";
}

Result<PckChain, Error> parse_pck_chain(const Quote& quote) {
  auto certs = crypto::Certificate::all_from_pem(quote.pck_chain_pem);
  if (!certs) {
    return Error(errc::malformed_evidence, "PCK certificate chain: " + certs.error().message());
  }
  PckChain chain{certs->front(), {}};
  for (std::size_t i = 1; i < certs->size(); ++i) {
    const crypto::Certificate& c = (*certs)[i];
    if (c.subject() != c.issuer()) chain.intermediates.push_back(c);
  }
  return chain;
}

Result<PckExtensions, Error> parse_pck_extensions(const crypto::Certificate& pck) {
  const std::string root_oid(kSgxExtensionOid);
  const auto extension = pck.extension(root_oid);
  if (!extension) return extension_error(root_oid, "SGX extensions", "is missing");
  DerReader outer(*extension);
  const auto sequence = outer.next();
  if (!sequence || sequence->tag != 0x30 || !outer.empty()) {
    return extension_error(root_oid, "SGX extensions", "is not a DER SEQUENCE");
  }
  auto top_entries = entries(sequence->value, root_oid, "SGX extensions");
  if (!top_entries) return top_entries.error();
  const Fields top(std::move(*top_entries), root_oid);

  PckExtensions x;
  if (auto r = top.octets("1", "PPID", x.ppid); !r) return r.error();

  auto tcb = top.required("2", "TCB", 0x30);
  if (!tcb) return tcb.error();
  auto tcb_entries = entries(tcb->value, top.oid("2"), "TCB");
  if (!tcb_entries) return tcb_entries.error();
  const Fields tcb_fields(std::move(*tcb_entries), top.oid("2"));
  for (std::size_t i = 0; i < x.sgx_tcb_components.size(); ++i) {
    const std::string arc = std::to_string(i + 1);
    auto svn = tcb_fields.integer(arc, "SGX TCB component " + arc + " SVN", 255);
    if (!svn) return svn.error();
    x.sgx_tcb_components[i] = static_cast<std::uint8_t>(*svn);
  }
  auto pcesvn = tcb_fields.integer("17", "PCESVN", 0xFFFF);
  if (!pcesvn) return pcesvn.error();
  x.pcesvn = static_cast<std::uint16_t>(*pcesvn);
  if (auto r = tcb_fields.octets("18", "CPUSVN", x.cpusvn); !r) return r.error();

  if (auto r = top.octets("3", "PCE-ID", x.pce_id); !r) return r.error();
  if (auto r = top.octets("4", "FMSPC", x.fmspc); !r) return r.error();
  auto type = top.integer("5", "SGX type", 2, 0x0A);
  if (!type) return type.error();
  x.sgx_type = static_cast<SgxType>(*type);

  if (top.find("6") != nullptr) {
    std::array<std::byte, 16> piid{};
    if (auto r = top.octets("6", "PlatformInstanceID", piid); !r) return r.error();
    x.platform_instance_id = piid;
  }
  if (top.find("7") != nullptr) {
    auto configuration = top.required("7", "configuration", 0x30);
    if (!configuration) return configuration.error();
    auto config_entries = entries(configuration->value, top.oid("7"), "configuration");
    if (!config_entries) return config_entries.error();
    const Fields config(std::move(*config_entries), top.oid("7"));
    auto dynamic = config.boolean("1", "dynamicPlatform");
    auto cached = config.boolean("2", "cachedKeys");
    auto smt = config.boolean("3", "SMTEnabled");
    if (!dynamic) return dynamic.error();
    if (!cached) return cached.error();
    if (!smt) return smt.error();
    x.dynamic_platform = *dynamic;
    x.cached_keys = *cached;
    x.smt_enabled = *smt;
  }
  return x;
}

VerificationReport verify_quote(const Quote& quote, const TrustedRoot& root,
                                std::chrono::system_clock::time_point at) {
  VerificationReport r("Intel TDX quote");
  const TdQuoteBody& body = quote.body;
  auto chain = parse_pck_chain(quote);
  auto extensions =
      chain ? parse_pck_extensions(chain->leaf) : Result<PckExtensions, Error>(chain.error());

  // Claims first: they describe the evidence whatever the checks say.
  r.claim("version", std::to_string(quote.header.version));
  r.claim("body type", std::string(body_type_name(body.type)));
  r.claim("MRTD", hex(body.mr_td));
  for (std::size_t i = 0; i < body.rtmrs.size(); ++i) {
    r.claim("RTMR" + std::to_string(i), hex(body.rtmrs[i]));
  }
  r.claim("MRSEAM", hex(body.mr_seam));
  r.claim("MRSIGNERSEAM", hex(body.mr_signer_seam));
  r.claim("SEAMATTRIBUTES", hex(body.seam_attributes));
  r.claim("TD attributes", hex(body.td_attributes));
  r.claim("TD attributes flags", describe_td_attributes(body.td_attributes_word()));
  r.claim("XFAM", hex(body.xfam));
  r.claim("MRCONFIGID", hex(body.mr_config_id));
  r.claim("MROWNER", hex(body.mr_owner));
  r.claim("MROWNERCONFIG", hex(body.mr_owner_config));
  r.claim("REPORTDATA", hex(body.report_data));
  r.claim("TEE_TCB_SVN", hex(body.tee_tcb_svn));
  if (body.type == BodyType::tdx15) {
    r.claim("TEE_TCB_SVN2", hex(body.tee_tcb_svn2));
    r.claim("MRSERVICETD", hex(body.mr_service_td));
  }
  r.claim("QE ISVSVN", std::to_string(quote.qe_report.isv_svn));
  if (chain) r.claim("PCK issuer", chain->leaf.issuer());
  if (extensions) {
    r.claim("FMSPC", hex(extensions->fmspc));
    r.claim("PCE-ID", hex(extensions->pce_id));
    r.claim("PCESVN", std::to_string(extensions->pcesvn));
    r.claim("SGX TCB components", components_text(extensions->sgx_tcb_components));
    r.claim("SGX type", std::string(sgx_type_name(extensions->sgx_type)));
    if (extensions->platform_instance_id) r.claim("PIID", hex(*extensions->platform_instance_id));
  }

  r.check_equal("QE vendor ID", hex(kIntelQeVendorId), hex(quote.header.qe_vendor_id));
  const std::string root_fingerprint = hex(root.certificate.fingerprint_sha256());
  if (root.development) {
    r.check("Intel root", "a development root (explicitly trusted)", root_fingerprint, true);
  } else {
    r.check_equal("Intel root", std::string(intel_root_fingerprint()), root_fingerprint);
  }

  const crypto::Certificate roots[] = {root.certificate};
  auto chained = chain ? crypto::verify_chain(chain->leaf, chain->intermediates, roots, at)
                       : Result<void, Error>(chain.error());
  r.check("PCK certificate chain", "PCK <- PCK CA <- trusted root",
          chained ? "verified" : chained.error().message(), chained.has_value());

  // The PCK key is only worth examining, and the QE report only worth
  // checking under it, once the chain vouches for the certificate.
  std::optional<crypto::PublicKey> pck_key;
  std::string no_pck_key = "no PCK certificate";
  if (chain && !chained) {
    no_pck_key = "not examined: the PCK certificate chain did not verify";
  } else if (chain) {
    auto key = chain->leaf.public_key();
    if (key)
      pck_key = *key;
    else
      no_pck_key = key.error().message();
  }
  const bool p256 = pck_key && pck_key->type() == crypto::PublicKey::Type::ec_p256;
  r.check("PCK key", "ECDSA P-256",
          !pck_key ? no_pck_key
          : p256   ? "ECDSA P-256"
                   : pck_key->description(),
          p256);
  auto qe_signature =
      p256 ? crypto::verify_ecdsa(*pck_key, crypto::Hash::sha256, quote.qe_report.raw,
                                  quote.qe_report_signature, crypto::SignatureFormat::raw)
           : Result<void, Error>(Error(errc::unsupported_evidence,
                                       chained ? "no P-256 PCK key" : "no verified PCK key"));
  r.check("QE report signature", "valid under the PCK key",
          qe_signature ? "valid" : qe_signature.error().message(), qe_signature.has_value());

  // The QE binds the attestation key it certified into its own report.
  std::array<std::byte, 64> binding{};
  const crypto::Sha256Digest digest = crypto::sha256({quote.attestation_key, quote.qe_auth_data});
  std::copy(digest.begin(), digest.end(), binding.begin());
  r.check_equal("QE report data", hex(binding), hex(quote.qe_report.report_data));

  auto attestation_key =
      crypto::PublicKey::from_ec_point(crypto::Curve::p256, quote.attestation_key);
  auto quote_signature =
      attestation_key
          ? crypto::verify_ecdsa(*attestation_key, crypto::Hash::sha256, quote.signed_bytes(),
                                 quote.signature, crypto::SignatureFormat::raw)
          : Result<void, Error>(attestation_key.error());
  r.check("quote signature", "valid under the attestation key",
          quote_signature ? "valid" : quote_signature.error().message(),
          quote_signature.has_value());

  r.check("PCK extensions", "the Intel SGX extension",
          extensions ? "parsed" : extensions.error().message(), extensions.has_value());
  return r;
}

void check_reference_values(const Quote& quote, const ReferenceValues& expected,
                            VerificationReport& report) {
  const TdQuoteBody& body = quote.body;
  const auto compare = [&report](std::string name, std::span<const std::byte> want,
                                 std::span<const std::byte> have) {
    report.check_equal(std::move(name), hex(want), hex(have));
  };
  if (expected.mr_td) compare("MRTD", *expected.mr_td, body.mr_td);
  for (std::size_t i = 0; i < expected.rtmrs.size(); ++i) {
    if (expected.rtmrs[i]) compare("RTMR" + std::to_string(i), *expected.rtmrs[i], body.rtmrs[i]);
  }
  if (expected.mr_seam) compare("MRSEAM", *expected.mr_seam, body.mr_seam);
  if (expected.xfam) compare("XFAM", *expected.xfam, body.xfam);
  if (expected.td_attributes) compare("TD attributes", *expected.td_attributes, body.td_attributes);
  if (expected.mr_config_id_prefix) {
    compare("MRCONFIGID[0:32]", *expected.mr_config_id_prefix,
            std::span(body.mr_config_id).first(32));
  }
}

}  // namespace cipherline::attest::tdx
