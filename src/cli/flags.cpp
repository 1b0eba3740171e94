#include "flags.hpp"

#include "cipherline/crypto/hex.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <optional>

namespace cipherline::cli {

Flags::Flags(std::string command, std::string summary)
    : command_(std::move(command)), summary_(std::move(summary)) {}

Flags& Flags::option(std::string name, std::string value_name, std::string help,
                     std::string default_value) {
  order_.push_back(name);
  specs_.emplace(std::move(name),
                 Spec{std::move(value_name), std::move(help), std::move(default_value)});
  return *this;
}

Flags& Flags::toggle(std::string name, std::string help) {
  order_.push_back(name);
  specs_.emplace(std::move(name), Spec{{}, std::move(help), {}});
  return *this;
}

Flags& Flags::repeatable(std::string name, std::string value_name, std::string help) {
  order_.push_back(name);
  specs_.emplace(std::move(name),
                 Spec{std::move(value_name), std::move(help) + " (repeatable)", "none", true});
  return *this;
}

std::string Flags::usage() const {
  std::string out = "usage: cipherline " + command_ + " [flags]\n\n" + summary_ + "\n\nflags:\n";
  for (const auto& name : order_) {
    const Spec& s = specs_.at(name);
    std::string left = "  --" + name + (s.value_name.empty() ? "" : " " + s.value_name);
    if (left.size() < 28) left.resize(28, ' ');
    out += left + " " + s.help;
    if (!s.default_value.empty()) out += " (default " + s.default_value + ")";
    out += "\n";
  }
  out += "  --help                       show this text\n";
  return out;
}

bool Flags::parse(std::span<const std::string_view> args) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(usage().c_str(), stdout);
      return false;
    }
    if (!arg.starts_with("--") || arg.size() == 2) {
      throw UsageError("unexpected argument '" + std::string(arg) + "' (flags start with --)");
    }
    arg.remove_prefix(2);
    std::string_view name = arg;
    std::optional<std::string_view> value;
    if (const auto eq = arg.find('='); eq != std::string_view::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
    }
    const auto it = specs_.find(name);
    if (it == specs_.end()) throw UsageError("unknown flag --" + std::string(name));
    if (it->second.value_name.empty()) {
      if (value) throw UsageError("--" + std::string(name) + " takes no value");
      values_[std::string(name)] = "true";
      continue;
    }
    if (!value) {
      if (i + 1 >= args.size()) {
        throw UsageError("--" + std::string(name) + " needs a value (" + it->second.value_name +
                         ")");
      }
      value = args[++i];
    }
    auto& stored = values_[std::string(name)];
    stored = it->second.repeat && !stored.empty() ? stored + "," + std::string(*value)
                                                  : std::string(*value);
  }
  for (const auto& [name, s] : specs_) {
    if (!s.value_name.empty() && s.default_value.empty() && !values_.contains(name)) {
      throw UsageError("--" + name + " is required");
    }
  }
  return true;
}

const Flags::Spec& Flags::spec(std::string_view name) const {
  const auto it = specs_.find(name);
  if (it == specs_.end()) throw std::logic_error("undeclared flag --" + std::string(name));
  return it->second;
}

const std::string& Flags::text(std::string_view name) const {
  const Spec& s = spec(name);
  const auto it = values_.find(name);
  return it != values_.end() ? it->second : s.default_value;
}

bool Flags::is_set(std::string_view name) const {
  spec(name);
  return values_.contains(name);
}

namespace {

std::string range_text(std::uint64_t min, std::uint64_t max) {
  return std::to_string(min) + ".." + std::to_string(max);
}

}  // namespace

std::uint64_t Flags::unsigned_integer(std::string_view name, std::uint64_t min,
                                      std::uint64_t max) const {
  const std::string& v = text(name);
  std::uint64_t n = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc{} || end != v.data() + v.size() || v.empty()) {
    throw UsageError("--" + std::string(name) + " expects a whole number, got '" + v + "'");
  }
  if (n < min || n > max) {
    throw UsageError("--" + std::string(name) + " must be in " + range_text(min, max) + ", got " +
                     v);
  }
  return n;
}

std::uint64_t Flags::byte_size(std::string_view name, std::uint64_t min, std::uint64_t max) const {
  const std::string& v = text(name);
  std::uint64_t n = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  const std::string_view suffix(end, static_cast<std::size_t>(v.data() + v.size() - end));
  std::uint64_t scale = 0;
  if (suffix.empty()) {
    scale = 1;
  } else if (suffix == "K" || suffix == "k") {
    scale = 1024;
  } else if (suffix == "M") {
    scale = 1024 * 1024;
  } else if (suffix == "G") {
    scale = 1024 * 1024 * 1024;
  }
  if (ec != std::errc{} || end == v.data() || scale == 0) {
    throw UsageError("--" + std::string(name) + " expects a size like 4096, 16K or 1M, got '" + v +
                     "'");
  }
  if (n > max / scale || n * scale < min) {
    throw UsageError("--" + std::string(name) + " must be between " + std::to_string(min) +
                     " and " + std::to_string(max) + " bytes, got " + v);
  }
  return n * scale;
}

double Flags::seconds(std::string_view name, double min, double max) const {
  const std::string& v = text(name);
  double s = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), s);
  if (ec != std::errc{} || end != v.data() + v.size() || v.empty() || !std::isfinite(s)) {
    throw UsageError("--" + std::string(name) + " expects a number of seconds, got '" + v + "'");
  }
  if (s < min || s > max) {
    throw UsageError("--" + std::string(name) + " must be between " + std::to_string(min) +
                     " and " + std::to_string(max) + " seconds, got " + v);
  }
  return s;
}

std::vector<std::byte> Flags::hex(std::string_view name, std::size_t size) const {
  auto bytes = crypto::from_hex(text(name));
  if (!bytes) throw UsageError("--" + std::string(name) + ": " + bytes.error().message());
  if (size != 0 && bytes->size() != size) {
    throw UsageError("--" + std::string(name) + " must be " + std::to_string(size) + " bytes (" +
                     std::to_string(2 * size) + " hex digits), got " +
                     std::to_string(bytes->size()));
  }
  return std::move(*bytes);
}

}  // namespace cipherline::cli

namespace cipherline::cli {

std::vector<std::string> Flags::list(std::string_view name) const {
  if (spec(name).repeat && !is_set(name)) return {};
  const std::string& text = this->text(name);
  std::vector<std::string> out;
  for (std::size_t at = 0; at <= text.size();) {
    const auto comma = std::min(text.find(',', at), text.size());
    if (comma > at) out.push_back(text.substr(at, comma - at));
    at = comma + 1;
  }
  return out;
}

SocketAddress Flags::address(std::string_view name) const {
  const auto address = SocketAddress::try_parse(text(name));
  if (!address) {
    throw UsageError("--" + std::string(name) +
                     " expects a numeric IP:PORT like 127.0.0.1:8080, got '" + text(name) + "'");
  }
  return *address;
}

}  // namespace cipherline::cli
