// VerificationReport: what a verifier checked and what it found.
//
//   VerificationReport r("AMD SEV-SNP attestation report");
//   r.check("report signature", "valid under the VCEK", "valid", true);
//   r.check_equal("VMPL", "0", std::to_string(report.vmpl));
//   r.claim("measurement", hex(report.measurement));
//   if (!r.passed()) log(r.first_failure()->name);
//   std::cout << r.to_text();          // or r.to_json()
//
// Contract:
// - Checks are kept in the order they ran, each with its name, the expected
//   and the actual value (text), and whether it passed. `passed()` is true
//   only when at least one check ran and none failed: an empty report never
//   passes.
// - Claims are the facts extracted from the evidence (measurement, TCB, chip
//   ID, report data, …), whether or not the checks passed; callers decide
//   what to use, and use nothing from a report that did not pass.
// - Value type; no I/O.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace cipherline::attest {

// printable: `text` with control characters (and DEL) shown as \xNN, so
// text from evidence cannot forge or hide lines on a terminal. to_text
// applies it to everything it prints.
std::string printable(std::string_view text);

struct Check {
  std::string name;
  std::string expected;
  std::string actual;
  bool passed = false;
};

struct Claim {
  std::string name;
  std::string value;
};

class VerificationReport {
 public:
  explicit VerificationReport(std::string subject) : subject_(std::move(subject)) {}

  // check records a check; returns `passed`.
  bool check(std::string name, std::string expected, std::string actual, bool passed);
  // check_equal records a check that passes when the two texts are equal.
  bool check_equal(std::string name, std::string expected, std::string actual);
  void claim(std::string name, std::string value);
  // merge appends another report's checks and claims, their names prefixed
  // with `prefix` (for evidence that nests other evidence).
  void merge(const VerificationReport& other, const std::string& prefix);

  const std::string& subject() const noexcept { return subject_; }
  const std::vector<Check>& checks() const noexcept { return checks_; }
  const std::vector<Claim>& claims() const noexcept { return claims_; }
  bool passed() const noexcept;
  // The first failed check, or null.
  const Check* first_failure() const noexcept;
  // find_claim returns the claim's value, or null.
  const std::string* find_claim(std::string_view name) const noexcept;

  // to_text renders one line per check ("PASS name: actual" or
  // "FAIL name: expected …, got …"), then the claims.
  std::string to_text() const;
  // to_json renders {"subject", "passed", "checks": [...], "claims": {...}}.
  std::string to_json() const;

 private:
  std::string subject_;
  std::vector<Check> checks_;
  std::vector<Claim> claims_;
};

}  // namespace cipherline::attest
