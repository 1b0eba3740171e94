// --api-key KEY|@FILE, for the commands that call the gateway: the flag,
// else the CIPHERLINE_API_KEY environment variable (same forms), else the
// command's fallback. @FILE reads the key from FILE, trailing whitespace
// (the newline) trimmed; an unreadable or empty file is a usage error
// naming the file (exit 2).
#pragma once

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "flags.hpp"

namespace cipherline::cli {

inline constexpr const char* kApiKeyEnvironment = "CIPHERLINE_API_KEY";

inline std::string api_key_flag(const Flags& flags, std::string fallback) {
  std::string key;
  std::string from;
  if (flags.is_set("api-key")) {
    key = flags.text("api-key");
    from = "--api-key";
  } else if (const char* env = std::getenv(kApiKeyEnvironment)) {
    key = env;
    from = kApiKeyEnvironment;
  } else {
    return fallback;
  }
  if (key.starts_with("@")) {
    const std::string path = key.substr(1);
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    if (in) text << in.rdbuf();
    if (!in || in.bad()) throw UsageError(from + ": cannot read the key file " + path);
    key = std::move(text).str();
    while (!key.empty() && std::isspace(static_cast<unsigned char>(key.back()))) key.pop_back();
    if (key.empty()) throw UsageError(from + ": the key file " + path + " is empty");
  }
  if (key.empty()) throw UsageError(from + " is empty");
  return key;
}

}  // namespace cipherline::cli
