// random_bytes: distinct outputs, every byte value reachable, threads and
// forked children get independent streams.
#include "cipherline/crypto/random.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <set>
#include <thread>
#include <vector>

namespace cipherline::crypto {
namespace {

using Block = std::array<std::byte, 16>;

TEST(Random, OutputsDoNotRepeat) {
  std::set<Block> seen;
  for (int i = 0; i < 10'000; ++i) {
    Block b;
    random_bytes(b);
    EXPECT_TRUE(seen.insert(b).second) << "repeated 128-bit output";
  }
}

TEST(Random, LargeRequestsAreFullyRandom) {
  std::vector<std::byte> big(1 << 20);
  random_bytes(big);
  std::array<int, 256> counts{};
  for (std::byte b : big) ++counts[static_cast<unsigned char>(b)];
  // Each value expected 4096 times; 5 standard deviations is ±320.
  for (int c : counts) {
    EXPECT_GT(c, 4096 - 400);
    EXPECT_LT(c, 4096 + 400);
  }
}

TEST(Random, ThreadsGetDifferentStreams) {
  Block a, b;
  std::thread t1([&] { random_bytes(a); });
  std::thread t2([&] { random_bytes(b); });
  t1.join();
  t2.join();
  EXPECT_NE(a, b);
}

TEST(Random, ForkedChildReseeds) {
  Block warm;
  random_bytes(warm);  // the parent's generator is seeded and has buffered output
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    Block c;
    random_bytes(c);
    _exit(write(fds[1], c.data(), c.size()) == static_cast<ssize_t>(c.size()) ? 0 : 1);
  }
  close(fds[1]);
  Block from_child;
  ASSERT_EQ(read(fds[0], from_child.data(), from_child.size()), 16);
  close(fds[0]);
  waitpid(child, nullptr, 0);
  Block parent_next;
  random_bytes(parent_next);
  EXPECT_NE(from_child, parent_next) << "child repeated the parent's stream";
}

}  // namespace
}  // namespace cipherline::crypto
