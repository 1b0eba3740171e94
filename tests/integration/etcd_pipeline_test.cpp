// The backend past one machine's memory: the secret service and two
// workers each with their own etcd client on one real etcd cluster. A secret
// exchanged once reaches both workers (the watch, or a read on a miss); one
// worker is restarted mid-run and requests keep succeeding, with no new key
// exchange — the restarted worker finds the secret in etcd.
#include <gtest/gtest.h>

#include "../backend/etcd_process.hpp"
#include "cipherline/json/writer.hpp"
#include "pipeline_fixture.hpp"

namespace cipherline {
namespace {

using testing::chat_request;
using testing::client_options;
using testing::with_backend;

const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new testing::StateDirCleanup);

TEST(EtcdPipeline, TwoWorkersShareSecretsAndOneRestartsMidRun) {
  backend::testing::with_etcd([](backend::testing::Etcd& etcd) -> Task<void> {
    co_await with_backend(
        {.workers = 2, .etcd_endpoint = etcd.endpoint()}, [](backend::DevBackend& b) -> Task<void> {
          EXPECT_TRUE(b.worker_active(0) && b.worker_active(1));
          client::Client client(client_options(b));
          auto connected = co_await client.connect();
          EXPECT_TRUE(connected) << (connected ? "" : connected.error().message());
          if (!connected) co_return;

          // Requests alternate between the workers (round robin) while worker 1
          // restarts in the middle of the run.
          TaskScope restarts;
          bool restarted = false;
          int answered = 0;
          constexpr int kRequests = 40;
          for (int i = 0; i < kRequests; ++i) {
            if (i == 10) {
              restarts.spawn([](backend::DevBackend& b, bool& done) -> Task<void> {
                auto r = co_await b.restart_worker(1);
                EXPECT_TRUE(r) << (r ? "" : r.error().message());
                done = true;
              }(b, restarted));
            }
            const std::string prompt = "request number " + std::to_string(i);
            auto r = co_await client.chat(chat_request(prompt));
            EXPECT_TRUE(r) << i << ": " << (r ? "" : r.error().message());
            if (r && r->find("\"content\":\"" + prompt + "\"") != std::string::npos) ++answered;
          }
          co_await restarts.join();
          EXPECT_TRUE(restarted);
          EXPECT_TRUE(b.worker_active(1));
          // The restarted worker (fresh store, empty cache) serves the secret
          // exchanged before its restart.
          for (int i = 0; i < 4; ++i) {
            auto r = co_await client.chat(chat_request("after the restart"));
            EXPECT_TRUE(r) << (r ? "" : r.error().message());
            if (r) ++answered;
          }
          EXPECT_EQ(answered, kRequests + 4);  // nothing lost
          EXPECT_EQ(client.session().exchanges(), 1u);
          EXPECT_EQ(client.counters().retries, 0u);
          co_await client.close();
        });
  });
}

}  // namespace
}  // namespace cipherline
