#include "cipherline/http/tls.hpp"

#include <arpa/inet.h>
#include <openssl/buffer.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <vector>

#include "cipherline/http/error.hpp"

namespace cipherline::http {
namespace {

constexpr std::size_t kSmallRecord = 4 * 1024;

std::string openssl_reason() {
  unsigned long last = 0;
  while (const unsigned long e = ERR_get_error()) last = e;
  if (last == 0) return "unknown TLS error";
  const char* reason = ERR_reason_error_string(last);
  return reason != nullptr ? reason : "unknown TLS error";
}

Error tls_error(const std::string& what) {
  return Error(errc::tls_failed, what + ": " + openssl_reason());
}

bool is_ip_address(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

std::error_code io_error() { return std::make_error_code(std::errc::protocol_error); }

// A memory BIO keeps the largest size it ever held (a handshake flight, a
// burst of records). An emptied one holding more than this is replaced, so
// an idle connection holds kilobytes, not tens of them.
constexpr std::size_t kKeepBioCapacity = 4 * 1024;

BIO* new_memory_bio(bool incoming) {
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio == nullptr) throw std::bad_alloc();
  if (incoming) BIO_set_mem_eof_return(bio, -1);  // empty means "wait for more", not EOF
  return bio;
}

bool oversized_and_empty(BIO* bio) {
  if (BIO_pending(bio) != 0) return false;
  BUF_MEM* memory = nullptr;
  BIO_get_mem_ptr(bio, &memory);
  return memory != nullptr && memory->max > kKeepBioCapacity;
}

// Records are at most 16 KiB of plaintext (RFC 8446 §5.1).
constexpr std::size_t kMaxRecord = 16 * 1024;

// FlushBuffers: the loop thread's buffers for ciphertext on its way to the
// socket. A flush takes one and gives it back once the socket has the
// bytes, so a connection holds none between writes and a steady stream of
// small writes allocates nothing.
class FlushBuffers {
 public:
  std::vector<std::byte> take(std::size_t size) {
    std::vector<std::byte> b;
    if (!free_.empty()) {
      b = std::move(free_.back());
      free_.pop_back();
    }
    b.resize(size);
    return b;
  }
  void give_back(std::vector<std::byte> b) {
    if (b.capacity() <= kKeepCapacity && free_.size() < kKeepBuffers) free_.push_back(std::move(b));
  }

 private:
  static constexpr std::size_t kKeepCapacity = 64 * 1024;
  static constexpr std::size_t kKeepBuffers = 16;
  std::vector<std::vector<std::byte>> free_;
};

thread_local FlushBuffers flush_buffers;

}  // namespace

TlsContext::TlsContext(ssl_ctx_st* ctx, std::size_t record_size) noexcept
    : ctx_(ctx), record_size_(record_size) {}
TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

Result<std::shared_ptr<TlsContext>, Error> TlsClientConfig::build() const {
  SSL_CTX* raw = SSL_CTX_new(TLS_client_method());
  if (raw == nullptr) return tls_error("cannot create a TLS client context");
  auto ctx = std::make_shared<TlsContext>(raw, small_records ? kSmallRecord : 16 * 1024);
  SSL_CTX_set_min_proto_version(raw, TLS1_2_VERSION);
  if (small_records) {
    SSL_CTX_set_tlsext_max_fragment_length(raw, TLSEXT_max_fragment_length_4096);
    SSL_CTX_set_mode(raw, SSL_MODE_RELEASE_BUFFERS);
  }
  if (insecure) {
    std::fputs(
        "cipherline: WARNING: TLS certificate verification is DISABLED (insecure); "
        "the server's identity is not checked\n",
        stderr);
    SSL_CTX_set_verify(raw, SSL_VERIFY_NONE, nullptr);
  } else {
    SSL_CTX_set_verify(raw, SSL_VERIFY_PEER, nullptr);
    if (use_system_roots && SSL_CTX_set_default_verify_paths(raw) != 1) {
      return tls_error("cannot load the system's trusted certificates");
    }
    if (!ca_file.empty() && SSL_CTX_load_verify_locations(raw, ca_file.c_str(), nullptr) != 1) {
      return tls_error("cannot load CA file '" + ca_file + "'");
    }
  }
  if (!certificate_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(raw, certificate_file.c_str()) != 1) {
      return tls_error("cannot load client certificate '" + certificate_file + "'");
    }
    if (SSL_CTX_use_PrivateKey_file(raw, key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(raw) != 1) {
      return tls_error("cannot load client key '" + key_file + "'");
    }
  }
  return ctx;
}

// TlsServerContext -------------------------------------------------------------

Result<std::shared_ptr<TlsServerContext>, Error> TlsServerContext::create(Config config) {
  std::shared_ptr<TlsServerContext> s(new TlsServerContext(std::move(config)));
  auto ctx = s->load();
  if (!ctx) return ctx.error();
  s->context_ = std::move(*ctx);
  s->loaded_stamp_ = s->stamp();
  s->checked_ = std::chrono::steady_clock::now();
  return s;
}

std::filesystem::file_time_type TlsServerContext::stamp() const {
  std::error_code ec;
  auto a = std::filesystem::last_write_time(config_.certificate_file, ec);
  auto b = std::filesystem::last_write_time(config_.key_file, ec);
  return std::max(a, b);
}

Result<std::shared_ptr<TlsContext>, Error> TlsServerContext::load() {
  SSL_CTX* raw = SSL_CTX_new(TLS_server_method());
  if (raw == nullptr) return tls_error("cannot create a TLS server context");
  auto ctx = std::make_shared<TlsContext>(raw);
  SSL_CTX_set_min_proto_version(raw, TLS1_2_VERSION);
  if (SSL_CTX_use_certificate_chain_file(raw, config_.certificate_file.c_str()) != 1) {
    return tls_error("cannot load server certificate '" + config_.certificate_file + "'");
  }
  if (SSL_CTX_use_PrivateKey_file(raw, config_.key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(raw) != 1) {
    return tls_error("cannot load server key '" + config_.key_file + "'");
  }
  if (!config_.client_ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(raw, config_.client_ca_file.c_str(), nullptr) != 1) {
      return tls_error("cannot load client CA file '" + config_.client_ca_file + "'");
    }
    SSL_CTX_set_verify(raw, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  return ctx;
}

std::shared_ptr<TlsContext> TlsServerContext::current() {
  const auto now = std::chrono::steady_clock::now();
  if (now - checked_ >= config_.reload_check_interval) {
    checked_ = now;
    if (const auto s = stamp(); s != loaded_stamp_) {
      // A half-written pair fails to load; keep serving the old one then.
      if (auto fresh = load()) {
        context_ = std::move(*fresh);
        loaded_stamp_ = s;
        ++reloads_;
      }
    }
  }
  return context_;
}

// TlsStream ----------------------------------------------------------------------

TlsStream::TlsStream(TcpStream tcp, std::shared_ptr<TlsContext> context)
    : tcp_(std::move(tcp)),
      context_(std::move(context)),
      plaintext_(std::make_unique_for_overwrite<std::byte[]>(context_->record_size())) {
  ssl_ = SSL_new(context_->native());
  if (ssl_ == nullptr) throw std::bad_alloc();
  BIO* incoming = new_memory_bio(true);
  BIO* outgoing = new_memory_bio(false);
  SSL_set_bio(ssl_, incoming, outgoing);
  network_ = outgoing;
}

void TlsStream::shrink_buffers() noexcept {
  if (oversized_and_empty(SSL_get_rbio(ssl_))) SSL_set0_rbio(ssl_, new_memory_bio(true));
  if (oversized_and_empty(network_)) {
    network_ = new_memory_bio(false);
    SSL_set0_wbio(ssl_, network_);
  }
}

TlsStream::~TlsStream() { SSL_free(ssl_); }

Task<Result<std::unique_ptr<TlsStream>, Error>> TlsStream::connect(
    TcpStream tcp, std::shared_ptr<TlsContext> context, std::string server_name) {
  std::unique_ptr<TlsStream> s(new TlsStream(std::move(tcp), std::move(context)));
  SSL_set_connect_state(s->ssl_);
  if (is_ip_address(server_name)) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(s->ssl_), server_name.c_str());
  } else {
    SSL_set_tlsext_host_name(s->ssl_, server_name.c_str());
    SSL_set1_host(s->ssl_, server_name.c_str());
  }
  if (auto r = co_await s->handshake(server_name); !r) co_return r.error();
  co_return std::move(s);
}

Task<Result<std::unique_ptr<TlsStream>, Error>> TlsStream::accept(
    TcpStream tcp, std::shared_ptr<TlsContext> context) {
  std::unique_ptr<TlsStream> s(new TlsStream(std::move(tcp), std::move(context)));
  SSL_set_accept_state(s->ssl_);
  if (auto r = co_await s->handshake("client"); !r) co_return r.error();
  co_return std::move(s);
}

Task<Result<void, Error>> TlsStream::handshake(const std::string& peer) {
  while (true) {
    ERR_clear_error();
    const int r = SSL_do_handshake(ssl_);
    const int err = r == 1 ? SSL_ERROR_NONE : SSL_get_error(ssl_, r);
    std::string failure;
    if (err != SSL_ERROR_NONE && err != SSL_ERROR_WANT_READ) {
      const long verify = SSL_get_verify_result(ssl_);
      failure = verify != X509_V_OK ? std::string("certificate verify failed (") +
                                          X509_verify_cert_error_string(verify) + ")"
                                    : openssl_reason();
    }
    // Handshake messages, or the alert explaining a failure, go out first.
    if (auto flushed = co_await flush(); !flushed && failure.empty()) {
      co_return Error(flushed.error(),
                      "TLS handshake with " + peer + ": " + flushed.error().message());
    }
    if (err == SSL_ERROR_NONE) {
      shrink_buffers();  // the handshake's flights are done with
      co_return Result<void, Error>{};
    }
    if (!failure.empty()) {
      tcp_.close();
      co_return Error(errc::tls_failed, "TLS handshake with " + peer + " failed: " + failure);
    }
    if (auto filled = co_await fill(); !filled) {
      co_return Error(filled.error(), "TLS handshake with " + peer + ": " +
                                          (filled.error() == cipherline::errc::end_of_stream
                                               ? std::string("connection closed by the peer")
                                               : filled.error().message()));
    }
  }
}

Task<Result<void>> TlsStream::flush() {
  const int pending = BIO_pending(network_);
  if (pending <= 0) co_return Result<void>{};
  auto bytes = flush_buffers.take(static_cast<std::size_t>(pending));
  BIO_read(network_, bytes.data(), pending);
  shrink_buffers();
  auto written = co_await tcp_.write(ConstBuffer(bytes));
  flush_buffers.give_back(std::move(bytes));
  co_return written;
}

Task<Result<void>> TlsStream::fill(Clock::time_point deadline) {
  auto bytes =
      co_await (deadline == kNoDeadline ? tcp_.read() : tcp_.read_for(time_left(deadline)));
  if (!bytes) co_return bytes.error();
  BIO_write(SSL_get_rbio(ssl_), bytes->data(), static_cast<int>(bytes->size()));
  co_return Result<void>{};
}

Task<Result<ConstBuffer>> TlsStream::read_before(Clock::time_point deadline) {
  if (eof_) co_return cipherline::errc::read_after_end_of_stream;
  while (true) {
    ERR_clear_error();
    const int n = SSL_read(ssl_, plaintext_.get(), static_cast<int>(context_->record_size()));
    if (n > 0) {
      if (BIO_pending(network_) > 0) (void)co_await flush();  // post-handshake replies
      shrink_buffers();
      co_return ConstBuffer(plaintext_.get(), static_cast<std::size_t>(n));
    }
    switch (SSL_get_error(ssl_, n)) {
      case SSL_ERROR_WANT_READ: {
        if (auto f = co_await flush(); !f) co_return f.error();
        if (auto filled = co_await fill(deadline); !filled) {
          if (filled.error() == cipherline::errc::end_of_stream) eof_ = true;
          co_return filled.error();
        }
        break;
      }
      case SSL_ERROR_ZERO_RETURN:  // close_notify
        eof_ = true;
        co_return cipherline::errc::end_of_stream;
      default:
        ERR_clear_error();
        co_return io_error();
    }
  }
}

Task<Result<void>> TlsStream::write(std::span<const ConstBuffer> buffers) {
  // Buffers that fit one record together go out as one (a chunk's size
  // line, data and CRLF: one AEAD seal and one record header, not three);
  // SSL_write encrypts before it returns, so one scratch buffer per thread
  // serves every stream.
  thread_local std::array<std::byte, kMaxRecord> gathered;
  std::size_t total = 0;
  for (ConstBuffer b : buffers) total += b.size();
  ConstBuffer one;
  if (buffers.size() > 1 && total <= std::min(kMaxRecord, context_->record_size())) {
    std::size_t at = 0;
    for (ConstBuffer b : buffers) {
      if (!b.empty()) std::memcpy(gathered.data() + at, b.data(), b.size());
      at += b.size();
    }
    one = ConstBuffer(gathered.data(), total);
    buffers = std::span(&one, 1);
  }
  bool written = true;
  for (ConstBuffer b : buffers) {
    if (b.empty()) continue;
    ERR_clear_error();
    if (SSL_write(ssl_, b.data(), static_cast<int>(b.size())) <= 0) {
      ERR_clear_error();
      written = false;
      break;
    }
  }
  // The scratch record held plaintext (request heads carry API keys).
  if (!one.empty()) OPENSSL_cleanse(gathered.data(), one.size());
  if (!written) co_return io_error();
  co_return co_await flush();
}

Task<Result<void>> TlsStream::shutdown() {
  SSL_shutdown(ssl_);
  if (auto f = co_await flush(); !f) co_return f.error();
  co_return co_await tcp_.shutdown();
}

void TlsStream::close() noexcept { tcp_.close(); }

bool TlsStream::at_rest() const noexcept {
  // Nothing decrypted and unread, no record waiting in OpenSSL, none on
  // the socket: an alert or close_notify received while idle means not.
  return !eof_ && ssl_ != nullptr && SSL_pending(ssl_) == 0 &&
         BIO_ctrl_pending(SSL_get_rbio(ssl_)) == 0 && tcp_.at_rest();
}

std::optional<crypto::Certificate> TlsStream::peer_certificate() const {
  X509* cert = SSL_get1_peer_certificate(ssl_);
  if (cert == nullptr) return std::nullopt;
  unsigned char* der = nullptr;
  const int len = i2d_X509(cert, &der);
  X509_free(cert);
  auto parsed = crypto::Certificate::from_der(
      std::span(reinterpret_cast<const std::byte*>(der), static_cast<std::size_t>(len)));
  OPENSSL_free(der);
  if (!parsed) return std::nullopt;
  return *parsed;
}

std::string TlsStream::protocol() const { return SSL_get_version(ssl_); }

}  // namespace cipherline::http
