// EvidenceFile: one named piece of evidence or collateral, as the bytes a
// verifier used ("vcek.der", "tcb_info.json", …) — what a capture stores so
// that the verification can be run again.
//
// Value type; no I/O.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace cipherline::attest {

struct EvidenceFile {
  std::string name;
  std::vector<std::byte> bytes;
};

}  // namespace cipherline::attest
