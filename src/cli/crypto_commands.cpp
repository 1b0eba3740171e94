// `cipherline crypto …`: interoperability and debugging tools for the
// Privatemode field format and the X-Wing HPKE key exchange. Stable
// contract: exit 0 on success, 1 when a check fails (message on stderr), 2
// on a usage error.
#include <cstdio>
#include <iostream>
#include <iterator>
#include <string>

#include <simdjson.h>

#include "cipherline/crypto/base64.hpp"
#include "cipherline/crypto/error.hpp"
#include "cipherline/crypto/hex.hpp"
#include "cipherline/crypto/hpke.hpp"
#include "cipherline/crypto/oae.hpp"
#include "cipherline/crypto/xwing.hpp"
#include "cipherline/json/writer.hpp"
#include "cipherline/protocol/field_cipher.hpp"
#include "cipherline/protocol/inference_secret.hpp"
#include "commands.hpp"
#include "flags.hpp"

namespace cipherline::cli {
namespace {

std::string read_stdin() {
  std::string data;
  char buffer[65536];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, stdin)) > 0) data.append(buffer, n);
  if (std::ferror(stdin)) throw std::runtime_error("cannot read standard input");
  return data;
}

// A failed check: message on stderr, exit status 1.
int check_failed(const std::string& message) {
  std::fprintf(stderr, "cipherline: %s\n", message.c_str());
  return 1;
}

// Flag values decoded from base64; a malformed one is a usage error.
std::vector<std::byte> base64_flag(const Flags& flags, std::string_view name) {
  auto bytes = crypto::from_base64(flags.text(name));
  if (!bytes) throw UsageError("--" + std::string(name) + ": " + bytes.error().message());
  return *bytes;
}

std::uint32_t sequence_flag(const Flags& flags) {
  return static_cast<std::uint32_t>(flags.unsigned_integer("seq", 0, UINT32_MAX));
}

std::size_t length_flag(const Flags& flags) {
  return static_cast<std::size_t>(flags.unsigned_integer("length", 1, 255 * 32));
}

protocol::FieldNonce nonce_flag(const Flags& flags) {
  const auto bytes = flags.hex("nonce", 12);
  protocol::FieldNonce nonce{};
  std::copy(bytes.begin(), bytes.end(), nonce.begin());
  return nonce;
}

crypto::Aes256Gcm key_flag(const Flags& flags) { return crypto::Aes256Gcm(flags.hex("key", 32)); }

crypto::OaeHeader oae_header_flag(const Flags& flags, std::string_view name) {
  const auto bytes = flags.hex(name, crypto::kOaeHeaderSize);
  crypto::OaeHeader header;
  std::copy(bytes.begin(), bytes.end(), header.begin());
  return header;
}

bool read_line(std::string& line) {
  line.clear();
  int c = 0;
  while ((c = std::fgetc(stdin)) != EOF && c != '\n') line += static_cast<char>(c);
  if (std::ferror(stdin)) throw std::runtime_error("cannot read standard input");
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return c != EOF || !line.empty();
}

void print_line(std::string_view text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

// An OAE failure: "cipherline: <what> (<detail>)", exit status 1; the
// first word is the failure's name (truncated, authentication failed,
// malformed, closed).
int oae_failed(const Error& e) { return check_failed(e.code().message() + ": " + e.message()); }

}  // namespace

int crypto_seal_field(std::span<const std::string_view> args) {
  Flags flags("crypto seal-field",
              "Encrypts standard input as one Privatemode field and prints the quoted field.");
  flags.option("key", "HEX", "32-byte AES-256 key")
      .option("id", "ID", "secret ID to name in the field")
      .option("nonce", "HEX", "12-byte request nonce")
      .option("seq", "N", "sequence number of the field");
  if (!flags.parse(args)) return 0;
  const crypto::Aes256Gcm aead = key_flag(flags);
  const auto nonce = nonce_flag(flags);
  const std::uint32_t seq = sequence_flag(flags);
  const std::string& id = flags.text("id");
  if (id.empty() || id.find(':') != std::string::npos || id.find('"') != std::string::npos) {
    throw UsageError("--id must be non-empty and contain no ':' or '\"'");
  }
  const std::string plaintext = read_stdin();
  std::string field;
  protocol::seal_field(aead, id, nonce, seq, std::as_bytes(std::span(plaintext)), field);
  field += '\n';
  std::fwrite(field.data(), 1, field.size(), stdout);
  return 0;
}

int crypto_open_field(std::span<const std::string_view> args) {
  Flags flags("crypto open-field",
              "Decrypts one quoted Privatemode field from standard input and prints the plaintext\n"
              "bytes exactly.");
  flags.option("key", "HEX", "32-byte AES-256 key")
      .option("nonce", "HEX", "12-byte request nonce used in the AAD")
      .option("seq", "N", "sequence number of the field");
  if (!flags.parse(args)) return 0;
  const crypto::Aes256Gcm aead = key_flag(flags);
  const auto nonce = nonce_flag(flags);
  const std::uint32_t seq = sequence_flag(flags);
  const std::string input = read_stdin();
  auto field = protocol::parse_field(input);
  if (!field) return check_failed(field.error().message());
  std::string plaintext;
  if (auto r = protocol::open_field(aead, *field, nonce, seq, plaintext); !r) {
    return check_failed(r.error().message());
  }
  std::fwrite(plaintext.data(), 1, plaintext.size(), stdout);
  return 0;
}

int crypto_oae_seal(std::span<const std::string_view> args) {
  Flags flags("crypto oae-seal",
              "Seals one OAE stream. Reads one JSON string per line on standard input (the\n"
              "plaintexts in order; the last is sealed as the final message) and prints the\n"
              "stream's header in hex, then one sealed message per line in hex. Without\n"
              "--request-header it seals a request stream (as the requester) and the header is\n"
              "the request header; with it, a response stream (as the responder) and the header\n"
              "is the response header.");
  flags.option("secret", "HEX", "32-byte shared secret")
      .option("request-header", "HEX", "32-byte request header: seal the response stream", "none");
  if (!flags.parse(args)) return 0;
  const auto secret = crypto::SecretBytes::copy_of(flags.hex("secret", crypto::kOaeSecretSize));
  std::optional<crypto::OaeRequester> requester;
  std::optional<crypto::OaeResponder> responder;
  crypto::OaeSealer* sealer = nullptr;
  if (flags.is_set("request-header")) {
    auto r = crypto::OaeResponder::create(secret.bytes(), oae_header_flag(flags, "request-header"));
    if (!r) return oae_failed(r.error());
    responder.emplace(std::move(*r));
    print_line(crypto::to_hex(responder->response_header()));
    sealer = &responder->response();
  } else {
    requester.emplace(secret.bytes());
    print_line(crypto::to_hex(requester->request_header()));
    sealer = &requester->request();
  }
  // Read one line ahead: the last plaintext is the final message.
  simdjson::dom::parser parser;
  std::optional<std::string> pending;
  std::string line;
  std::size_t number = 0;
  while (true) {
    const bool more = read_line(line);
    if (more) {
      ++number;
      std::string_view plaintext;
      if (parser.parse(line).get(plaintext) != simdjson::SUCCESS) {
        throw UsageError("standard input, line " + std::to_string(number) +
                         ": expected one JSON string");
      }
      if (pending) {
        std::string sealed;
        if (auto r = sealer->seal(*pending, false, sealed); !r) return oae_failed(r.error());
        print_line(crypto::to_hex(std::as_bytes(std::span(sealed))));
      }
      pending = std::string(plaintext);
      continue;
    }
    if (!pending) throw UsageError("standard input holds no plaintext to seal");
    std::string sealed;
    if (auto r = sealer->seal(*pending, true, sealed); !r) return oae_failed(r.error());
    print_line(crypto::to_hex(std::as_bytes(std::span(sealed))));
    return 0;
  }
}

int crypto_oae_open(std::span<const std::string_view> args) {
  Flags flags("crypto oae-open",
              "Opens one OAE stream: reads one sealed message per line in hex on standard input\n"
              "and prints each plaintext as one JSON string per line. Without --response-header\n"
              "it opens the request stream (as the responder); with it, the response stream (as\n"
              "the requester). Exit 0 only when the stream ended with its final message; 1 with\n"
              "the failure named (truncated, authentication failed, malformed, closed).");
  flags.option("secret", "HEX", "32-byte shared secret")
      .option("request-header", "HEX", "32-byte request header")
      .option("response-header", "HEX", "32-byte response header: open the response stream",
              "none");
  if (!flags.parse(args)) return 0;
  const auto secret = crypto::SecretBytes::copy_of(flags.hex("secret", crypto::kOaeSecretSize));
  const auto request_header = oae_header_flag(flags, "request-header");
  std::optional<crypto::OaeResponder> responder;
  std::optional<crypto::OaeOpener> response;
  crypto::OaeOpener* opener = nullptr;
  if (flags.is_set("response-header")) {
    crypto::OaeRequester requester(secret.bytes(), request_header);
    auto r = requester.accept_response(oae_header_flag(flags, "response-header"));
    if (!r) return oae_failed(r.error());
    response.emplace(std::move(*r));
    opener = &*response;
  } else {
    auto r = crypto::OaeResponder::create(secret.bytes(), request_header);
    if (!r) return oae_failed(r.error());
    responder.emplace(std::move(*r));
    opener = &responder->request();
  }
  std::string line, plaintext, json;
  std::size_t number = 0;
  while (read_line(line)) {
    ++number;
    auto message = crypto::from_hex(line);
    if (!message) {
      throw UsageError("standard input, line " + std::to_string(number) + ": " +
                       message.error().message());
    }
    plaintext.clear();
    if (auto r = opener->open(*message, plaintext); !r) return oae_failed(r.error());
    json.clear();
    json::JsonWriter(json).string(plaintext);
    print_line(json);
  }
  if (auto r = opener->finish(); !r) return oae_failed(r.error());
  return 0;
}

int crypto_xwing_keygen(std::span<const std::string_view> args) {
  Flags flags("crypto xwing-keygen",
              "Prints an X-Wing key pair as {\"seed\":\"<hex>\",\"public_key\":\"<base64>\"}.");
  flags.option("seed", "HEX", "32-byte seed to derive the key pair from (default: random)",
               "random");
  if (!flags.parse(args)) return 0;
  crypto::SecretBytes seed = flags.is_set("seed")
                                 ? crypto::SecretBytes::copy_of(flags.hex("seed", 32))
                                 : crypto::SecretBytes::random(32);
  const auto public_key = crypto::xwing_public_key(seed.bytes()).value();
  std::printf("{\"seed\":\"%s\",\"public_key\":\"%s\"}\n", crypto::to_hex(seed.bytes()).c_str(),
              crypto::to_base64(public_key).c_str());
  return 0;
}

int crypto_hpke_encap(std::span<const std::string_view> args) {
  Flags flags("crypto hpke-encap",
              "X-Wing HPKE sender (base mode, export-only, empty info and exporter context):\n"
              "prints {\"enc\":\"<base64>\",\"secret\":\"<hex>\"}.");
  flags.option("public-key", "BASE64", "recipient's 1216-byte X-Wing public key")
      .option("length", "N", "exported secret length in bytes", "32");
  if (!flags.parse(args)) return 0;
  const auto public_key = base64_flag(flags, "public-key");
  const std::size_t length = length_flag(flags);
  auto sender = crypto::hpke_setup_sender(crypto::HpkeKem::xwing, public_key, {});
  if (!sender) return check_failed(sender.error().message());
  const auto secret = sender->context.export_secret({}, length);
  std::printf("{\"enc\":\"%s\",\"secret\":\"%s\"}\n", crypto::to_base64(sender->enc).c_str(),
              crypto::to_hex(secret.bytes()).c_str());
  return 0;
}

int crypto_hpke_decap(std::span<const std::string_view> args) {
  Flags flags("crypto hpke-decap",
              "X-Wing HPKE recipient (base mode, export-only, empty info and exporter context):\n"
              "prints {\"secret\":\"<hex>\"}.");
  flags.option("seed", "HEX", "recipient's 32-byte X-Wing seed (private key)")
      .option("enc", "BASE64", "1120-byte encapsulated key")
      .option("length", "N", "exported secret length in bytes", "32");
  if (!flags.parse(args)) return 0;
  const crypto::SecretBytes seed = crypto::SecretBytes::copy_of(flags.hex("seed", 32));
  const auto enc = base64_flag(flags, "enc");
  const std::size_t length = length_flag(flags);
  auto context = crypto::hpke_setup_recipient(crypto::HpkeKem::xwing, enc, seed.bytes(), {});
  if (!context) return check_failed(context.error().message());
  std::printf("{\"secret\":\"%s\"}\n",
              crypto::to_hex(context->export_secret({}, length).bytes()).c_str());
  return 0;
}

int crypto_secret_id(std::span<const std::string_view> args) {
  Flags flags("crypto secret-id",
              "Prints the secret ID of a public key: base64(SHA-256(public key)).");
  flags.option("public-key", "BASE64", "the client's X-Wing public key");
  if (!flags.parse(args)) return 0;
  std::printf("%s\n", protocol::secret_id_for(base64_flag(flags, "public-key")).c_str());
  return 0;
}

}  // namespace cipherline::cli
