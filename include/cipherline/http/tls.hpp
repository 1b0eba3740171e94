// TLS for the HTTP layer: OpenSSL over a TcpStream through memory BIOs, so
// that all I/O stays on the runtime's loop.
//
//   auto ctx = TlsClientConfig{}.build().value();                 // system roots
//   auto tls = co_await TlsStream::connect(std::move(tcp), ctx, "api.example.com");
//   if (!tls) ... tls.error().message()   // "TLS handshake with api.example.com failed:
//                                         //  certificate verify failed (hostname mismatch)"
//
// Contract:
// - TLS 1.2 and 1.3 only. Clients verify the server's chain against the
//   configured roots (the system store by default, plus an optional CA file)
//   and its name (DNS name or IP address) and send SNI for DNS names.
//   Failures name the reason OpenSSL found: hostname mismatch, expired
//   certificate, unknown CA (unable to get local issuer certificate), …
// - `insecure` disables verification; it is an explicit switch and prints a
//   warning on stderr whenever a context is built with it.
// - Client certificates (mTLS) on both sides: a client context may carry a
//   certificate and key; a server context with a client CA requires and
//   verifies them.
// - A server context reloads its certificate and key when the files change
//   (checked at most once a second, on the next accept); connections keep
//   the context they started with.
// - TlsStream is a ByteStream: one reader and one writer at a time, loop
//   thread only. Reads return plaintext views valid until the next read.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "cipherline/crypto/certificate.hpp"
#include "cipherline/http/byte_stream.hpp"

struct ssl_ctx_st;
struct ssl_st;
struct bio_st;

namespace cipherline::http {

class TlsContext {
 public:
  explicit TlsContext(ssl_ctx_st* ctx, std::size_t record_size = 16 * 1024) noexcept;
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;
  ~TlsContext();
  ssl_ctx_st* native() const noexcept { return ctx_; }
  // The largest record plaintext connections of this context expect; a
  // TlsStream's plaintext buffer has this size.
  std::size_t record_size() const noexcept { return record_size_; }

 private:
  ssl_ctx_st* ctx_;
  std::size_t record_size_;
};

struct TlsClientConfig {
  bool use_system_roots = true;
  std::string ca_file;           // extra trusted roots (PEM)
  std::string certificate_file;  // client certificate chain for mTLS (PEM)
  std::string key_file;          // its private key (PEM)
  bool insecure = false;         // no verification at all (loud)
  // Small records for many long-lived, low-rate connections (token
  // streams): asks the server for 4 KiB records (RFC 6066 max fragment
  // length; servers that ignore it keep 16 KiB) and lets OpenSSL release
  // its record buffers while a connection is idle. About 40 KiB less per
  // connection; slower for bulk transfers.
  bool small_records = false;

  Result<std::shared_ptr<TlsContext>, Error> build() const;
};

class TlsServerContext {
 public:
  struct Config {
    std::string certificate_file;  // chain, leaf first (PEM)
    std::string key_file;          // private key (PEM)
    std::string client_ca_file;    // if set: require client certificates issued by it
    std::chrono::milliseconds reload_check_interval{1000};
  };

  static Result<std::shared_ptr<TlsServerContext>, Error> create(Config config);

  // current returns the context for a new connection, rebuilding it first
  // if the certificate or key file changed since it was loaded.
  std::shared_ptr<TlsContext> current();
  std::uint64_t reloads() const noexcept { return reloads_; }

 private:
  explicit TlsServerContext(Config config) : config_(std::move(config)) {}
  Result<std::shared_ptr<TlsContext>, Error> load();
  std::filesystem::file_time_type stamp() const;

  Config config_;
  std::shared_ptr<TlsContext> context_;
  std::filesystem::file_time_type loaded_stamp_{};
  std::chrono::steady_clock::time_point checked_{};
  std::uint64_t reloads_ = 0;
};

class TlsStream final : public ByteStream {
 public:
  ~TlsStream() override;

  // connect runs the client handshake over `tcp`, verifying `server_name`
  // (a DNS name or an IP address).
  static Task<Result<std::unique_ptr<TlsStream>, Error>> connect(
      TcpStream tcp, std::shared_ptr<TlsContext> context, std::string server_name);
  // accept runs the server handshake.
  static Task<Result<std::unique_ptr<TlsStream>, Error>> accept(
      TcpStream tcp, std::shared_ptr<TlsContext> context);

  Task<Result<ConstBuffer>> read_before(Clock::time_point deadline) override;
  Task<Result<void>> write(std::span<const ConstBuffer> buffers) override;
  Task<Result<void>> shutdown() override;
  void close() noexcept override;
  bool is_open() const noexcept override { return tcp_.is_open(); }
  bool at_rest() const noexcept override;

  // The peer's certificate, if it sent one (and it verified).
  std::optional<crypto::Certificate> peer_certificate() const;
  std::string protocol() const;  // "TLSv1.3", …

 private:
  TlsStream(TcpStream tcp, std::shared_ptr<TlsContext> context);
  Task<Result<void, Error>> handshake(const std::string& peer);
  // flush sends whatever OpenSSL has queued for the network.
  Task<Result<void>> flush();
  // shrink_buffers replaces emptied memory BIOs that grew large.
  void shrink_buffers() noexcept;
  // fill reads from the network into OpenSSL; end_of_stream at TCP EOF.
  Task<Result<void>> fill(Clock::time_point deadline = kNoDeadline);

  TcpStream tcp_;
  std::shared_ptr<TlsContext> context_;
  ssl_st* ssl_ = nullptr;
  bio_st* network_ = nullptr;  // our end of the BIO pair
  std::unique_ptr<std::byte[]> plaintext_;
  bool eof_ = false;
};

}  // namespace cipherline::http
