#include "cipherline/attest/verification_report.hpp"

#include "cipherline/json/writer.hpp"

namespace cipherline::attest {

bool VerificationReport::check(std::string name, std::string expected, std::string actual,
                               bool passed) {
  checks_.push_back({std::move(name), std::move(expected), std::move(actual), passed});
  return passed;
}

bool VerificationReport::check_equal(std::string name, std::string expected, std::string actual) {
  const bool passed = expected == actual;
  return check(std::move(name), std::move(expected), std::move(actual), passed);
}

void VerificationReport::claim(std::string name, std::string value) {
  claims_.push_back({std::move(name), std::move(value)});
}

void VerificationReport::merge(const VerificationReport& other, const std::string& prefix) {
  for (const Check& c : other.checks_) {
    checks_.push_back({prefix + c.name, c.expected, c.actual, c.passed});
  }
  for (const Claim& c : other.claims_) claims_.push_back({prefix + c.name, c.value});
}

bool VerificationReport::passed() const noexcept {
  return !checks_.empty() && first_failure() == nullptr;
}

const Check* VerificationReport::first_failure() const noexcept {
  for (const Check& c : checks_) {
    if (!c.passed) return &c;
  }
  return nullptr;
}

const std::string* VerificationReport::find_claim(std::string_view name) const noexcept {
  for (const Claim& c : claims_) {
    if (c.name == name) return &c.value;
  }
  return nullptr;
}

std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c != 0x7f) {
      out += ch;
      continue;
    }
    constexpr char kHex[] = "0123456789abcdef";
    out += "\\x";
    out += kHex[c >> 4];
    out += kHex[c & 0xf];
  }
  return out;
}

std::string VerificationReport::to_text() const {
  std::string out = printable(subject_) + ": " + (passed() ? "verified" : "NOT verified") + "\n";
  for (const Check& c : checks_) {
    out += c.passed ? "  PASS " : "  FAIL ";
    out += printable(c.name) + ": ";
    out += printable(c.passed ? c.actual : "expected " + c.expected + ", got " + c.actual);
    out += '\n';
  }
  if (!claims_.empty()) out += "  claims:\n";
  for (const Claim& c : claims_)
    out += "    " + printable(c.name) + ": " + printable(c.value) + "\n";
  return out;
}

std::string VerificationReport::to_json() const {
  std::string out;
  json::JsonWriter w(out);
  w.begin_object().key("subject").string(subject_).key("passed").boolean(passed());
  w.key("checks").begin_array();
  for (const Check& c : checks_) {
    w.begin_object()
        .key("name")
        .string(c.name)
        .key("expected")
        .string(c.expected)
        .key("actual")
        .string(c.actual)
        .key("passed")
        .boolean(c.passed)
        .end_object();
  }
  w.end_array().key("claims").begin_object();
  for (const Claim& c : claims_) w.key(c.name).string(c.value);
  w.end_object().end_object();
  return out;
}

}  // namespace cipherline::attest
