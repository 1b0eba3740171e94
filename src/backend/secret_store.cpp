#include "cipherline/backend/secret_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>

#include "cipherline/backend/error.hpp"
#include "cipherline/crypto/base64.hpp"
#include "cipherline/protocol/error_body.hpp"
#include "cipherline/runtime/offload.hpp"

namespace cipherline::backend {
namespace {

using std::chrono::system_clock;

Error io_error(const std::filesystem::path& path, const char* what) {
  return Error(errc::store_failed,
               std::string(what) + " " + path.string() + ": " + std::strerror(errno));
}

std::int64_t unix_seconds(system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

// A store line: "<expiry, unix seconds> <id> <base64 key>\n", built in
// locked memory.
crypto::SecretBytes line_for(const protocol::InferenceSecret& secret,
                             system_clock::time_point expires) {
  const std::string head = std::to_string(unix_seconds(expires)) + " " + secret.id() + " ";
  std::string key = crypto::to_base64(secret.key().bytes());
  crypto::SecretBytes line(head.size() + key.size() + 1);
  std::byte* at = line.writable_bytes().data();
  std::memcpy(at, head.data(), head.size());
  std::memcpy(at + head.size(), key.data(), key.size());
  at[head.size() + key.size()] = std::byte{'\n'};
  crypto::secure_wipe(std::as_writable_bytes(std::span(key.data(), key.size())));
  return line;
}

}  // namespace

MemorySecretStore::MemorySecretStore(Clock clock) : clock_(std::move(clock)) {}

system_clock::time_point MemorySecretStore::now() const {
  return clock_ ? clock_() : system_clock::now();
}

Result<void, Error> MemorySecretStore::insert(SecretPtr secret, system_clock::time_point expires) {
  const auto it = entries_.find(secret->id());
  if (it != entries_.end() && it->second.expires > now()) {
    return Error(errc::secret_exists, "secret \"" + secret->id() + "\" already exists");
  }
  const std::string id = secret->id();
  entries_.insert_or_assign(id, Entry{std::move(secret), expires});
  return {};
}

Task<Result<void, Error>> MemorySecretStore::put(SecretPtr secret, std::chrono::seconds ttl) {
  co_return insert(std::move(secret), now() + ttl);
}

Task<Result<SecretPtr, Error>> MemorySecretStore::get(std::string_view id) {
  const auto it = entries_.find(id);
  if (it == entries_.end() || it->second.expires <= now()) {
    if (it != entries_.end()) entries_.erase(it);
    co_return Error(errc::no_secret, protocol::no_secret_message(id));
  }
  co_return it->second.secret;
}

std::size_t MemorySecretStore::purge() {
  const auto t = now();
  return std::erase_if(entries_, [t](const auto& e) { return e.second.expires <= t; });
}

Result<std::unique_ptr<FileSecretStore>, Error> FileSecretStore::open(std::filesystem::path path,
                                                                      Clock clock) {
  std::unique_ptr<FileSecretStore> store(new FileSecretStore(path, std::move(clock)));
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return store;  // created by the first put
    return io_error(path, "opening");
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return io_error(path, "reading");
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 0777));
    return Error(errc::store_failed,
                 path.string() + " is readable by others (mode " + mode + "); expected 0600");
  }
  crypto::SecretBytes text(static_cast<std::size_t>(st.st_size));
  std::size_t got = 0;
  while (got < text.size()) {
    const ssize_t n = ::read(fd, text.writable_bytes().data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      return io_error(path, "reading");
    }
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);

  const std::string_view all(reinterpret_cast<const char*>(text.bytes().data()), text.size());
  std::size_t at = 0;
  std::size_t line_number = 0;
  const auto t = store->now();
  while (at < all.size()) {
    ++line_number;
    const std::size_t end = all.find('\n', at);
    if (end == std::string_view::npos) {
      // A torn last write (power loss mid-append): that secret was never
      // acknowledged, so it is dropped, and cut off so that the next
      // append starts on a line of its own.
      if (::truncate(path.c_str(), static_cast<off_t>(at)) != 0) {
        return io_error(path, "cutting off a torn last line of");
      }
      break;
    }
    const std::string_view line = all.substr(at, end - at);
    at = end + 1;
    const auto bad = [&](const char* why) {
      return Error(errc::store_failed,
                   path.string() + " line " + std::to_string(line_number) + ": " + why);
    };
    const auto first = line.find(' ');
    const auto second = first == std::string_view::npos ? first : line.find(' ', first + 1);
    if (second == std::string_view::npos) return bad("expected '<expiry> <id> <key>'");
    std::int64_t expiry = 0;
    const auto [ptr, ec] = std::from_chars(line.data(), line.data() + first, expiry);
    if (ec != std::errc{} || ptr != line.data() + first) return bad("expiry is not a number");
    const std::string id(line.substr(first + 1, second - first - 1));
    auto key = crypto::from_base64(line.substr(second + 1));
    if (!key || key->size() != 32) {
      if (key) crypto::secure_wipe(*key);
      return bad("key is not 32 bytes of base64");
    }
    const system_clock::time_point expires{std::chrono::seconds(expiry)};
    if (expires > t) {
      store->entries_.insert_or_assign(
          id, Entry{std::make_shared<const protocol::InferenceSecret>(id, *key), expires});
    }
    crypto::secure_wipe(*key);
  }
  return store;
}

Task<Result<void, Error>> FileSecretStore::put(SecretPtr secret, std::chrono::seconds ttl) {
  const auto expires = now() + ttl;
  if (auto it = entries_.find(secret->id());
      (it != entries_.end() && it->second.expires > now()) || pending_.contains(secret->id())) {
    co_return Error(errc::secret_exists, "secret \"" + secret->id() + "\" already exists");
  }
  pending_.insert(secret->id());
  // Durable first, then visible: a crash after the fsync keeps the secret.
  auto line = std::make_shared<crypto::SecretBytes>(line_for(*secret, expires));
  auto written = co_await offload([path = path_, line]() -> Result<void, Error> {
    const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return io_error(path, "opening");
    const auto bytes = line->bytes();
    std::size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        ::close(fd);
        return io_error(path, "writing");
      }
      done += static_cast<std::size_t>(n);
    }
    const bool synced = ::fsync(fd) == 0;
    ::close(fd);
    if (!synced) return io_error(path, "syncing");
    return {};
  });
  pending_.erase(secret->id());
  if (!written) co_return Error(written.error());
  if (!*written) co_return written->error();
  co_return insert(std::move(secret), expires);
}

}  // namespace cipherline::backend
