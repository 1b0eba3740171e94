#include "cipherline/attest/contrast/manifest.hpp"

#include <simdjson.h>

#include <algorithm>
#include <cctype>

#include "../assign_or_return.hpp"
#include "cipherline/attest/error.hpp"
#include "cipherline/crypto/hex.hpp"

namespace cipherline::attest::contrast {
namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::object;

Error manifest_error(const std::string& path, const std::string& why) {
  return Error(errc::malformed_evidence, "manifest: " + path + ": " + why);
}

// fixed_hex decodes exactly N bytes of hex (either case).
template <std::size_t N>
Result<std::array<std::byte, N>, Error> fixed_hex(const std::string& path, std::string_view text) {
  if (text.size() != 2 * N) {
    return manifest_error(
        path, std::to_string(text.size()) + " hex digits, expected " + std::to_string(2 * N));
  }
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  auto bytes = crypto::from_hex(lower);
  if (!bytes) return manifest_error(path, "not hex (" + bytes.error().message() + ")");
  std::array<std::byte, N> out{};
  std::copy(bytes->begin(), bytes->end(), out.begin());
  return out;
}

// Field access with errors that name the path.
class Fields {
 public:
  Fields(object o, std::string path) : o_(o), path_(std::move(path)) {}
  std::string at(std::string_view name) const { return path_ + "." + std::string(name); }

  Result<std::string_view, Error> text(std::string_view name, bool required = true) const {
    std::string_view v;
    const auto err = o_[name].get(v);
    if (err == simdjson::NO_SUCH_FIELD && !required) return std::string_view{};
    if (err == simdjson::NO_SUCH_FIELD) return manifest_error(at(name), "missing");
    if (err != simdjson::SUCCESS) return manifest_error(at(name), "not a string");
    return v;
  }
  Result<bool, Error> flag(std::string_view name) const {
    bool v = false;
    const auto err = o_[name].get(v);
    if (err == simdjson::NO_SUCH_FIELD) return false;
    if (err != simdjson::SUCCESS) return manifest_error(at(name), "not a boolean");
    return v;
  }
  Result<std::uint64_t, Error> number(std::string_view name, bool required,
                                      std::uint64_t max = UINT64_MAX) const {
    std::uint64_t v = 0;
    const auto err = o_[name].get(v);
    if (err == simdjson::NO_SUCH_FIELD && !required) return std::uint64_t{0};
    if (err == simdjson::NO_SUCH_FIELD) return manifest_error(at(name), "missing");
    if (err != simdjson::SUCCESS) return manifest_error(at(name), "not a non-negative integer");
    if (v > max)
      return manifest_error(at(name), std::to_string(v) + " exceeds " + std::to_string(max));
    return v;
  }
  Result<std::optional<object>, Error> child(std::string_view name) const {
    object v;
    const auto err = o_[name].get(v);
    if (err == simdjson::NO_SUCH_FIELD) return std::optional<object>{};
    if (err != simdjson::SUCCESS) return manifest_error(at(name), "not an object");
    return std::optional<object>(v);
  }
  Result<std::optional<array>, Error> list(std::string_view name) const {
    array v;
    const auto err = o_[name].get(v);
    if (err == simdjson::NO_SUCH_FIELD) return std::optional<array>{};
    if (err == simdjson::INCORRECT_TYPE) {
      if (o_[name].is_null()) return std::optional<array>{};  // Go writes nil slices as null
      return manifest_error(at(name), "not an array");
    }
    if (err != simdjson::SUCCESS) return manifest_error(at(name), "not an array");
    return std::optional<array>(v);
  }

 private:
  object o_;
  std::string path_;
};

Result<std::vector<std::string>, Error> strings(const Fields& f, std::string_view name) {
  ASSIGN_OR_RETURN(maybe, f.list(name));
  std::vector<std::string> out;
  if (!maybe) return out;
  std::size_t i = 0;
  for (element item : *maybe) {
    std::string_view v;
    if (item.get(v) != simdjson::SUCCESS) {
      return manifest_error(f.at(name) + "[" + std::to_string(i) + "]", "not a string");
    }
    out.emplace_back(v);
    ++i;
  }
  return out;
}

Result<SnpReferenceEntry, Error> snp_entry(object o, const std::string& path) {
  const Fields f(o, path);
  SnpReferenceEntry e;
  ASSIGN_OR_RETURN(platform, f.text("Platform", false));
  e.platform = std::string(platform);
  ASSIGN_OR_RETURN(cpus, f.number("CPUs", false, 1u << 16));
  e.cpus = static_cast<unsigned>(cpus);
  snp::ReferenceValues& v = e.values;

  ASSIGN_OR_RETURN(product, f.text("ProductName"));
  v.product = snp::product_from_name(product);
  if (v.product == snp::Product::unknown || product.find('-') != std::string_view::npos) {
    return manifest_error(f.at("ProductName"),
                          "'" + std::string(product) + "' is not Milan, Genoa or Turin");
  }
  ASSIGN_OR_RETURN(measurement_text, f.text("TrustedMeasurement"));
  ASSIGN_OR_RETURN(measurement, fixed_hex<48>(f.at("TrustedMeasurement"), measurement_text));
  v.trusted_measurement = measurement;

  ASSIGN_OR_RETURN(tcb_object, f.child("MinimumTCB"));
  if (!tcb_object) return manifest_error(f.at("MinimumTCB"), "missing");
  const Fields tcb(*tcb_object, f.at("MinimumTCB"));
  const struct {
    const char* name;
    std::uint8_t snp::TcbVersion::*part;
  } parts[] = {{"BootloaderVersion", &snp::TcbVersion::bootloader},
               {"TEEVersion", &snp::TcbVersion::tee},
               {"SNPVersion", &snp::TcbVersion::snp},
               {"MicrocodeVersion", &snp::TcbVersion::microcode}};
  for (const auto& part : parts) {
    ASSIGN_OR_RETURN(n, tcb.number(part.name, true, 255));
    v.minimum_tcb.*part.part = static_cast<std::uint8_t>(n);
  }

  ASSIGN_OR_RETURN(policy_object, f.child("GuestPolicy"));
  if (policy_object) {
    const Fields p(*policy_object, f.at("GuestPolicy"));
    snp::GuestPolicy& g = v.guest_policy;
    ASSIGN_OR_RETURN(abi_minor, p.number("ABIMinor", false, 255));
    ASSIGN_OR_RETURN(abi_major, p.number("ABIMajor", false, 255));
    g.abi_minor = static_cast<std::uint8_t>(abi_minor);
    g.abi_major = static_cast<std::uint8_t>(abi_major);
    const struct {
      const char* name;
      bool snp::GuestPolicy::*bit;
      bool must;  // the only value Contrast accepts
    } bits[] = {{"SMT", &snp::GuestPolicy::smt, true},
                {"MigrateMA", &snp::GuestPolicy::migrate_ma, false},
                {"Debug", &snp::GuestPolicy::debug, false},
                {"SingleSocket", &snp::GuestPolicy::single_socket, false},
                {"CXLAllowed", &snp::GuestPolicy::cxl_allow, false},
                {"MemAES256XTS", &snp::GuestPolicy::mem_aes_256_xts, false},
                {"RAPLDis", &snp::GuestPolicy::rapl_dis, false},
                {"CipherTextHidingDRAM", &snp::GuestPolicy::ciphertext_hiding, false}};
    for (const auto& b : bits) {
      ASSIGN_OR_RETURN(on, p.flag(b.name));
      if (on != b.must) {
        return manifest_error(p.at(b.name), std::string("must be ") + (b.must ? "true" : "false"));
      }
      g.*b.bit = on;
    }
    ASSIGN_OR_RETURN(page_swap, p.flag("PageSwapDisable"));
    g.page_swap_disable = page_swap;
    if (g.abi_major != 0) return manifest_error(p.at("ABIMajor"), "must be 0");
  } else {
    return manifest_error(f.at("GuestPolicy"), "missing");
  }

  ASSIGN_OR_RETURN(info_object, f.child("PlatformInfo"));
  if (info_object) {
    const Fields p(*info_object, f.at("PlatformInfo"));
    snp::PlatformInfoReference& info = v.platform_info;
    const struct {
      const char* name;
      bool snp::PlatformInfoReference::*bit;
    } bits[] = {
        {"SMTEnabled", &snp::PlatformInfoReference::smt_enabled},
        {"TSMEEnabled", &snp::PlatformInfoReference::tsme_enabled},
        {"ECCEnabled", &snp::PlatformInfoReference::ecc_enabled},
        {"RAPLDisabled", &snp::PlatformInfoReference::rapl_disabled},
        {"CiphertextHidingDRAMEnabled", &snp::PlatformInfoReference::ciphertext_hiding_enabled},
        {"AliasCheckComplete", &snp::PlatformInfoReference::alias_check_complete},
        {"TIOEnabled", &snp::PlatformInfoReference::tio_enabled}};
    for (const auto& b : bits) {
      ASSIGN_OR_RETURN(on, p.flag(b.name));
      info.*b.bit = on;
    }
  }
  ASSIGN_OR_RETURN(mitigation, f.number("MinimumMitigationVector", false));
  v.minimum_mitigation_vector = mitigation;
  ASSIGN_OR_RETURN(chip_ids, strings(f, "AllowedChipIDs"));
  for (std::size_t i = 0; i < chip_ids.size(); ++i) {
    ASSIGN_OR_RETURN(
        id, fixed_hex<64>(f.at("AllowedChipIDs") + "[" + std::to_string(i) + "]", chip_ids[i]));
    v.allowed_chip_ids.push_back(id);
  }
  v.require_id_block = true;
  return e;
}

Result<TdxReferenceEntry, Error> tdx_entry(object o, const std::string& path);

}  // namespace

std::vector<std::array<std::byte, 32>> Manifest::coordinator_policy_hashes() const {
  std::vector<std::array<std::byte, 32>> out;
  for (const auto& p : policies) {
    if (p.role == "coordinator") out.push_back(p.hash);
  }
  return out;
}

Result<Manifest, Error> parse_manifest(std::string_view json) {
  simdjson::dom::parser parser;
  element root;
  if (auto err = parser.parse(json.data(), json.size()).get(root); err) {
    return Error(errc::malformed_evidence,
                 std::string("manifest: not JSON: ") + simdjson::error_message(err));
  }
  object top;
  if (root.get(top) != simdjson::SUCCESS) {
    return Error(errc::malformed_evidence, "manifest: not a JSON object");
  }
  const Fields f(top, "manifest");
  Manifest m;

  ASSIGN_OR_RETURN(policies, f.child("Policies"));
  if (policies) {
    for (auto [key, value] : *policies) {
      const std::string path = "Policies." + std::string(key);
      ASSIGN_OR_RETURN(hash, fixed_hex<32>(path, key));
      object entry;
      if (value.get(entry) != simdjson::SUCCESS) return manifest_error(path, "not an object");
      const Fields p(entry, path);
      ManifestPolicy policy;
      policy.hash = hash;
      ASSIGN_OR_RETURN(sans, strings(p, "SANs"));
      policy.sans = std::move(sans);
      ASSIGN_OR_RETURN(secret_id, p.text("WorkloadSecretID", false));
      policy.workload_secret_id = std::string(secret_id);
      ASSIGN_OR_RETURN(role, p.text("Role", false));
      if (role != "" && role != "coordinator") {
        return manifest_error(p.at("Role"), "'" + std::string(role) + "' is not a valid role");
      }
      policy.role = std::string(role);
      m.policies.push_back(std::move(policy));
    }
  }
  if (m.coordinator_policy_hashes().empty()) {
    return manifest_error("Policies", "no policy has the coordinator role");
  }

  ASSIGN_OR_RETURN(reference, f.child("ReferenceValues"));
  if (reference) {
    const Fields r(*reference, "ReferenceValues");
    ASSIGN_OR_RETURN(snp_list, r.list("snp"));
    if (snp_list) {
      std::size_t i = 0;
      for (element item : *snp_list) {
        const std::string path = "ReferenceValues.snp[" + std::to_string(i++) + "]";
        object entry;
        if (item.get(entry) != simdjson::SUCCESS) return manifest_error(path, "not an object");
        ASSIGN_OR_RETURN(parsed, snp_entry(entry, path));
        m.snp.push_back(std::move(parsed));
      }
    }
    ASSIGN_OR_RETURN(tdx_list, r.list("tdx"));
    if (tdx_list) {
      std::size_t i = 0;
      for (element item : *tdx_list) {
        const std::string path = "ReferenceValues.tdx[" + std::to_string(i++) + "]";
        object entry;
        if (item.get(entry) != simdjson::SUCCESS) return manifest_error(path, "not an object");
        ASSIGN_OR_RETURN(parsed, tdx_entry(entry, path));
        m.tdx.push_back(std::move(parsed));
      }
    }
  }
  if (m.snp.empty() && m.tdx.empty()) {
    return manifest_error("ReferenceValues", "no reference values");
  }
  ASSIGN_OR_RETURN(owner_keys, strings(f, "WorkloadOwnerPubKeys"));
  m.workload_owner_pub_keys = std::move(owner_keys);
  ASSIGN_OR_RETURN(seedshare_keys, strings(f, "SeedshareOwnerPubKeys"));
  m.seedshare_owner_pub_keys = std::move(seedshare_keys);
  return m;
}

Result<SnpReferenceEntry, Error> parse_snp_reference_entry(std::string_view json) {
  simdjson::dom::parser parser;
  element root;
  if (auto err = parser.parse(json.data(), json.size()).get(root); err) {
    return Error(errc::malformed_evidence,
                 std::string("SNP reference values: not JSON: ") + simdjson::error_message(err));
  }
  object entry;
  if (root.get(entry) != simdjson::SUCCESS) {
    return Error(errc::malformed_evidence, "SNP reference values: not a JSON object");
  }
  return snp_entry(entry, "snp");
}

namespace {

Result<TdxReferenceEntry, Error> tdx_entry(object o, const std::string& path) {
  const Fields f(o, path);
  TdxReferenceEntry e;
  ASSIGN_OR_RETURN(platform, f.text("Platform", false));
  e.platform = std::string(platform);
  ASSIGN_OR_RETURN(evaluation, f.number("MinTCBEvaluationDataNumber", false, UINT32_MAX));
  e.min_tcb_evaluation_data_number = static_cast<std::uint32_t>(evaluation);
  ASSIGN_OR_RETURN(mr_td_text, f.text("MrTd"));
  ASSIGN_OR_RETURN(mr_td, fixed_hex<48>(f.at("MrTd"), mr_td_text));
  e.values.mr_td = mr_td;
  ASSIGN_OR_RETURN(mr_seam_text, f.text("MrSeam", false));
  if (!mr_seam_text.empty()) {
    ASSIGN_OR_RETURN(mr_seam, fixed_hex<48>(f.at("MrSeam"), mr_seam_text));
    e.values.mr_seam = mr_seam;
  }
  ASSIGN_OR_RETURN(rtmrs, strings(f, "Rtmrs"));
  if (rtmrs.size() != 4) {
    return manifest_error(f.at("Rtmrs"), std::to_string(rtmrs.size()) + " entries, expected 4");
  }
  for (std::size_t i = 0; i < 4; ++i) {
    ASSIGN_OR_RETURN(rtmr, fixed_hex<48>(f.at("Rtmrs") + "[" + std::to_string(i) + "]", rtmrs[i]));
    e.values.rtmrs[i] = rtmr;
  }
  ASSIGN_OR_RETURN(xfam_text, f.text("Xfam", false));
  if (!xfam_text.empty()) {
    ASSIGN_OR_RETURN(xfam, fixed_hex<8>(f.at("Xfam"), xfam_text));
    e.values.xfam = xfam;
  }
  e.values.td_attributes =
      std::array<std::byte, 8>{std::byte{0}, std::byte{0}, std::byte{0}, std::byte{0x10},
                               std::byte{0}, std::byte{0}, std::byte{0}, std::byte{0}};
  ASSIGN_OR_RETURN(piids, strings(f, "AllowedPIIDs"));
  for (std::size_t i = 0; i < piids.size(); ++i) {
    ASSIGN_OR_RETURN(piid,
                     fixed_hex<16>(f.at("AllowedPIIDs") + "[" + std::to_string(i) + "]", piids[i]));
    e.allowed_piids.push_back(piid);
  }
  ASSIGN_OR_RETURN(memory_integrity, f.flag("MemoryIntegrity"));
  ASSIGN_OR_RETURN(smt_disabled, f.flag("SMTDisabled"));
  ASSIGN_OR_RETURN(static_platform, f.flag("StaticPlatform"));
  e.memory_integrity = memory_integrity;
  e.smt_disabled = smt_disabled;
  e.static_platform = static_platform;
  return e;
}

}  // namespace

Result<TdxReferenceEntry, Error> parse_tdx_reference_entry(std::string_view json) {
  simdjson::dom::parser parser;
  element root;
  if (auto err = parser.parse(json.data(), json.size()).get(root); err) {
    return Error(errc::malformed_evidence,
                 std::string("TDX reference values: not JSON: ") + simdjson::error_message(err));
  }
  object entry;
  if (root.get(entry) != simdjson::SUCCESS) {
    return Error(errc::malformed_evidence, "TDX reference values: not a JSON object");
  }
  return tdx_entry(entry, "tdx");
}

}  // namespace cipherline::attest::contrast
