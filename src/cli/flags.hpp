// Command-line flags of the `cipherline` subcommands.
//
// Each subcommand declares its flags with a name, a value name, a default and
// a help line, then parses argv. Both `--name value` and `--name=value` are
// accepted; `--help` prints the generated usage. Every mistake (an unknown
// flag, a missing value, a value of the wrong form or out of range) raises a
// UsageError whose message says which flag and why; `main` prints it and
// exits with status 2.
#pragma once

#include "cipherline/runtime/socket_address.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace cipherline::cli {

class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Flags {
 public:
  Flags(std::string command, std::string summary);

  // option declares `--name VALUE`; an empty default makes it required.
  Flags& option(std::string name, std::string value_name, std::string help,
                std::string default_value = {});
  // toggle declares a switch without a value.
  Flags& toggle(std::string name, std::string help);
  // repeatable declares `--name VALUE` that may be given several times;
  // list() returns every value (each also split at commas).
  Flags& repeatable(std::string name, std::string value_name, std::string help);

  // parse reads `args` (without the command words). Returns false if --help
  // was given (usage has been printed to stdout).
  bool parse(std::span<const std::string_view> args);

  std::string usage() const;

  const std::string& text(std::string_view name) const;
  bool is_set(std::string_view name) const;
  std::uint64_t unsigned_integer(std::string_view name, std::uint64_t min, std::uint64_t max) const;
  // byte_size accepts a number with an optional K, M or G suffix (powers of 1024).
  std::uint64_t byte_size(std::string_view name, std::uint64_t min, std::uint64_t max) const;
  // hex decodes a hex value, of exactly `size` bytes unless size is 0.
  std::vector<std::byte> hex(std::string_view name, std::size_t size = 0) const;
  // list splits a comma-separated value ("a,b,,c" → a, b, c).
  std::vector<std::string> list(std::string_view name) const;
  // address accepts a numeric IP:PORT ("127.0.0.1:8080", "[::1]:0").
  SocketAddress address(std::string_view name) const;
  // seconds accepts a positive decimal number of seconds ("2", "0.5").
  double seconds(std::string_view name, double min, double max) const;

 private:
  struct Spec {
    std::string value_name;  // empty for toggles
    std::string help;
    std::string default_value;
    bool repeat = false;
  };

  const Spec& spec(std::string_view name) const;

  std::string command_;
  std::string summary_;
  std::vector<std::string> order_;
  std::map<std::string, Spec, std::less<>> specs_;
  std::map<std::string, std::string, std::less<>> values_;
};

}  // namespace cipherline::cli
