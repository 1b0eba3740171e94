// Secret stores: create-only with a time to live, "no secret for ID", and
// the file store's durability, permissions and malformed files.
#include "cipherline/backend/secret_store.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "cipherline/backend/error.hpp"
#include "cipherline/runtime/sync_wait.hpp"
#include "cipherline/runtime/task_scope.hpp"

namespace cipherline::backend {
namespace {

using namespace std::chrono;

SecretPtr secret(const std::string& id, std::uint8_t fill) {
  std::vector<std::byte> key(32, static_cast<std::byte>(fill));
  return std::make_shared<const protocol::InferenceSecret>(id, key);
}

// A clock the test moves.
struct FakeClock {
  system_clock::time_point t = system_clock::time_point{seconds(1'800'000'000)};
  MemorySecretStore::Clock fn() {
    return [this] { return t; };
  }
};

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/cipherline-secrets-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp");
    path_ = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::filesystem::path file() const { return path_ / "secrets"; }

 private:
  std::filesystem::path path_;
};

TEST(MemorySecretStore, CreateOnlyWithTimeToLive) {
  Loop loop;
  FakeClock clock;
  MemorySecretStore store(clock.fn());
  sync_wait(loop, [&]() -> Task<void> {
    EXPECT_TRUE(co_await store.put(secret("a", 1), seconds(3600)));
    auto again = co_await store.put(secret("a", 2), seconds(3600));
    EXPECT_FALSE(again);
    if (again) co_return;
    EXPECT_EQ(again.error(), errc::secret_exists);
    EXPECT_EQ(again.error().message(), "secret \"a\" already exists");
    EXPECT_EQ((co_await store.get("a")).value()->key().bytes()[0], std::byte{1});  // not replaced
    auto missing = co_await store.get("b");
    EXPECT_FALSE(missing);
    if (missing) co_return;
    EXPECT_EQ(missing.error(), errc::no_secret);
    EXPECT_EQ(missing.error().message(), "no secret for ID \"b\"");

    clock.t += seconds(3599);
    EXPECT_TRUE(co_await store.get("a"));
    clock.t += seconds(1);  // the TTL has run out
    EXPECT_EQ((co_await store.get("a")).error(), errc::no_secret);
    EXPECT_TRUE(co_await store.put(secret("a", 3), seconds(10)));  // the ID is free again
    EXPECT_TRUE(co_await store.put(secret("c", 4), seconds(5)));
    clock.t += seconds(20);
    EXPECT_EQ(store.purge(), 2u);
    EXPECT_EQ(store.size(), 0u);
  }());
}

TEST(FileSecretStore, SecretsSurviveAReopenAndExpire) {
  Loop loop;
  FakeClock clock;
  TempDir dir;
  sync_wait(loop, [&]() -> Task<void> {
    auto store = FileSecretStore::open(dir.file(), clock.fn()).value();
    EXPECT_TRUE(co_await store->put(secret("long/+=", 7), seconds(3600)));
    EXPECT_TRUE(co_await store->put(secret("short", 8), seconds(60)));
    EXPECT_EQ((co_await store->put(secret("short", 9), seconds(60))).error(), errc::secret_exists);
  }());
  struct stat st {};
  ASSERT_EQ(::stat(dir.file().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  clock.t += seconds(120);  // "short" has expired by the restart
  sync_wait(loop, [&]() -> Task<void> {
    auto reopened = FileSecretStore::open(dir.file(), clock.fn()).value();
    EXPECT_EQ(reopened->size(), 1u);
    auto kept = co_await reopened->get("long/+=");
    EXPECT_TRUE(kept);
    if (!kept) co_return;
    EXPECT_EQ((*kept)->key().bytes()[31], std::byte{7});
    EXPECT_EQ((co_await reopened->get("short")).error(), errc::no_secret);
    EXPECT_EQ((co_await reopened->put(secret("long/+=", 1), seconds(60))).error(),
              errc::secret_exists);  // create-only across restarts
  }());
}

TEST(FileSecretStore, ConcurrentPutsOfOneIdCreateOnce) {
  Loop loop;
  TempDir dir;
  sync_wait(loop, [&]() -> Task<void> {
    auto store = FileSecretStore::open(dir.file()).value();
    // Independent tasks (when_all would cancel one when the other fails).
    std::optional<Result<void, Error>> first, second;
    TaskScope scope;
    scope.spawn([](FileSecretStore& s, std::optional<Result<void, Error>>& out) -> Task<void> {
      out = co_await s.put(secret("x", 1), seconds(60));
    }(*store, first));
    scope.spawn([](FileSecretStore& s, std::optional<Result<void, Error>>& out) -> Task<void> {
      out = co_await s.put(secret("x", 2), seconds(60));
    }(*store, second));
    co_await scope.join();
    EXPECT_NE(first->has_value(), second->has_value())
        << (*first ? "ok" : first->error().message()) << " / "
        << (*second ? "ok" : second->error().message());
  }());
  std::ifstream in(dir.file());
  const std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1);
}

TEST(FileSecretStore, BadFilesAreRefusedWithTheReason) {
  TempDir dir;
  const auto write = [&](const std::string& text, mode_t mode) {
    { std::ofstream(dir.file()) << text; }
    ::chmod(dir.file().c_str(), mode);
  };
  write("", 0644);
  auto open_error = FileSecretStore::open(dir.file());
  ASSERT_FALSE(open_error);
  EXPECT_NE(open_error.error().message().find("readable by others (mode 0644)"), std::string::npos)
      << open_error.error().message();

  write("4000000000 id QUJD\n", 0600);
  EXPECT_NE(FileSecretStore::open(dir.file()).error().message().find("line 1: key is not 32 bytes"),
            std::string::npos);
  write("4000000000 ok " + std::string(43, 'A') + "=\nsoon id key\n", 0600);
  EXPECT_NE(
      FileSecretStore::open(dir.file()).error().message().find("line 2: expiry is not a number"),
      std::string::npos);
  // A torn last line (a crash mid-append) is dropped, the rest kept; it is
  // cut off, so the next secret is a line of its own and the file opens
  // again.
  write("4000000000 ok " + std::string(43, 'A') + "=\n4000000000 torn AAA", 0600);
  auto store = FileSecretStore::open(dir.file());
  ASSERT_TRUE(store) << store.error().message();
  EXPECT_EQ((*store)->size(), 1u);
  Loop loop;
  sync_wait(loop, [&]() -> Task<void> {
    EXPECT_TRUE(co_await (*store)->put(secret("after", 9), seconds(3600)));
  }());
  auto reopened = FileSecretStore::open(dir.file());
  ASSERT_TRUE(reopened) << reopened.error().message();
  EXPECT_EQ((*reopened)->size(), 2u);
}

}  // namespace
}  // namespace cipherline::backend
