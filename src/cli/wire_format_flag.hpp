// --wire-format: the encrypted format of chat completions (the other routes
// have only the field format), for the commands that send requests.
#pragma once

#include "cipherline/protocol/oae_carriage.hpp"
#include "flags.hpp"

namespace cipherline::cli {

inline constexpr const char* kWireFormatHelp =
    "chat completions as oae (whole-body streams) or fields (v1.40)";

inline protocol::WireFormat wire_format_flag(const Flags& flags) {
  const std::string& name = flags.text("wire-format");
  if (auto format = protocol::parse_wire_format(name)) return *format;
  throw UsageError("--wire-format expects oae or fields, got '" + name + "'");
}

}  // namespace cipherline::cli
