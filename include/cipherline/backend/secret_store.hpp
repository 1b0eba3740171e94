// SecretStore: where the secret service puts inference secrets and workers
// find them (spec §3.3): create-only, with a time to live (3600 s).
//
//   MemorySecretStore store;
//   if (auto r = co_await store.put(secret, protocol::kSecretStoredFor); !r) ...  // secret_exists
//   auto s = co_await store.get(id);    // backend::errc::no_secret: "no secret for ID \"<id>\""
//
// Contract:
// - put stores a secret unless one with its ID exists and has not expired
//   (backend::errc::secret_exists, "secret \"<id>\" already exists"): a
//   replayed public key cannot overwrite a key in use.
// - get returns the secret while it lives; afterwards, or for an unknown ID,
//   backend::errc::no_secret with the message workers send: "no secret for
//   ID \"<id>\"" (the exact words clients match on).
// - Expired secrets are dropped lazily (on access) and by `purge`.
// - Loop thread only. Implementations: MemorySecretStore (the default; gone
//   at exit), FileSecretStore (survives restarts), and etcd (shared by
//   machines).
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>

#include "cipherline/protocol/inference_secret.hpp"
#include "cipherline/runtime/result.hpp"
#include "cipherline/runtime/task.hpp"

namespace cipherline::backend {

using SecretPtr = std::shared_ptr<const protocol::InferenceSecret>;

class SecretStore {
 public:
  virtual ~SecretStore() = default;
  virtual Task<Result<void, Error>> put(SecretPtr secret, std::chrono::seconds ttl) = 0;
  virtual Task<Result<SecretPtr, Error>> get(std::string_view id) = 0;
};

class MemorySecretStore : public SecretStore {
 public:
  using Clock = std::function<std::chrono::system_clock::time_point()>;
  // `clock` is for tests; by default the system clock.
  explicit MemorySecretStore(Clock clock = nullptr);

  Task<Result<void, Error>> put(SecretPtr secret, std::chrono::seconds ttl) override;
  Task<Result<SecretPtr, Error>> get(std::string_view id) override;

  // purge drops expired secrets; returns how many.
  std::size_t purge();
  std::size_t size() const noexcept { return entries_.size(); }

 protected:
  struct Entry {
    SecretPtr secret;
    std::chrono::system_clock::time_point expires;
  };
  Result<void, Error> insert(SecretPtr secret, std::chrono::system_clock::time_point expires);
  std::chrono::system_clock::time_point now() const;

  std::map<std::string, Entry, std::less<>> entries_;

 private:
  Clock clock_;
};

// FileSecretStore keeps the secrets in one file as well, so they survive a
// restart of the secret service: one line per secret, appended and
// fsync()ed before put completes; loading skips expired lines and rejects a
// malformed file with the line number. The file holds key material: it is
// created with mode 0600 and its directory must be private to the backend.
class FileSecretStore : public MemorySecretStore {
 public:
  static Result<std::unique_ptr<FileSecretStore>, Error> open(std::filesystem::path path,
                                                              Clock clock = nullptr);

  Task<Result<void, Error>> put(SecretPtr secret, std::chrono::seconds ttl) override;

 private:
  FileSecretStore(std::filesystem::path path, Clock clock)
      : MemorySecretStore(std::move(clock)), path_(std::move(path)) {}
  std::filesystem::path path_;
  std::set<std::string, std::less<>> pending_;  // IDs being written
};

}  // namespace cipherline::backend
