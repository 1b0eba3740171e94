// AttestationLog: pruning order and byte budget, crash leftovers, symbolic
// links, and the reading side's refusal of what is not a regular file.
#include "cipherline/client/attestation_log.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <set>

namespace cipherline::client {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

class AttestationLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/attestation_log_test.XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  // record: one snp-report capture, accepted or rejected, with `padding`
  // bytes of evidence.
  Result<std::string, Error> record(AttestationLog& log, bool accepted, std::size_t padding = 16) {
    attest::VerificationReport report("test");
    report.check("measurement", "a", accepted ? "a" : "b", accepted);
    Capture capture{.kind = CaptureKind::snp_report,
                    .judged_at = std::chrono::system_clock::now(),
                    .nonce = std::vector<std::byte>(8, std::byte{++counter_}),
                    .evidence = {{"report.bin", std::vector<std::byte>(padding, std::byte{7})}},
                    .manifest = {std::byte{'{'}, std::byte{'}'}},
                    .report = &report};
    return log.record(capture);
  }

  std::set<std::string> capture_dirs() const {
    std::set<std::string> out;
    for (const auto& e : fs::directory_iterator(dir_ / "captures")) {
      out.insert(e.path().filename().string());
    }
    return out;
  }

  fs::path dir_;
  unsigned char counter_ = 0;
};

TEST_F(AttestationLogTest, RejectedCapturesArePrunedBeforeAcceptedOnes) {
  AttestationLog log(dir_, {.capture = true, .keep = 3});
  const auto accepted1 = record(log, true);
  const auto rejected1 = record(log, false);
  const auto accepted2 = record(log, true);
  const auto rejected2 = record(log, false);  // four live: rejected1 goes
  const auto rejected3 = record(log, false);  // four live: rejected2 goes
  ASSERT_TRUE(accepted1 && rejected1 && accepted2 && rejected2 && rejected3);
  EXPECT_EQ(capture_dirs(), (std::set{*accepted1, *accepted2, *rejected3}));
  const auto accepted3 = record(log, true);  // rejected3 goes
  ASSERT_TRUE(accepted3);
  EXPECT_EQ(capture_dirs(), (std::set{*accepted1, *accepted2, *accepted3}));
  // Only accepted ones left: the oldest goes.
  const auto accepted4 = record(log, true);
  ASSERT_TRUE(accepted4);
  EXPECT_EQ(capture_dirs(), (std::set{*accepted2, *accepted3, *accepted4}));

  auto index = read_index(dir_);
  ASSERT_TRUE(index);
  attest::VerificationReport r("index");
  check_index(dir_, *index, r);
  EXPECT_TRUE(r.passed()) << r.to_text();
  std::size_t pruned = 0;
  for (const auto& line : index->lines) pruned += line.type == IndexLine::Type::pruned;
  EXPECT_EQ(pruned, 4u);
}

TEST_F(AttestationLogTest, TheByteBudgetPrunesButKeepsTheNewest) {
  AttestationLog log(dir_, {.capture = true, .keep = 100, .keep_bytes = 10'000});
  const auto first = record(log, true, 4'000);
  const auto second = record(log, true, 4'000);
  ASSERT_TRUE(first && second);
  EXPECT_EQ(capture_dirs(), (std::set{*first, *second}));
  const auto third = record(log, true, 4'000);  // over 10,000 bytes: the first goes
  ASSERT_TRUE(third);
  EXPECT_EQ(capture_dirs(), (std::set{*second, *third}));
  const auto huge = record(log, true, 50'000);  // alone over the budget: it stays
  ASSERT_TRUE(huge);
  EXPECT_EQ(capture_dirs(), (std::set{*huge}));
}

TEST_F(AttestationLogTest, WhatACrashLeftIsRemovedByTheNextRecord) {
  AttestationLog log(dir_, {.capture = true, .keep = 10});
  const auto first = record(log, true);
  ASSERT_TRUE(first);
  // A staged capture, an unindexed one, and an append cut short.
  fs::create_directories(dir_ / "captures" / ".staging-0011223344556677");
  fs::copy(dir_ / "captures" / *first, dir_ / "captures" / std::string(64, 'a'),
           fs::copy_options::recursive);
  const auto log_file = dir_ / "manifests" / "log.txt";
  const std::string before = slurp(log_file);
  std::ofstream(log_file, std::ios::app) << "2026-12-03T10:00:00Z 00ff";

  AttestationLog restarted(dir_, {.capture = true, .keep = 10});
  const auto second = record(restarted, true);
  ASSERT_TRUE(second) << second.error().message();
  EXPECT_EQ(capture_dirs(), (std::set{*first, *second}));
  const std::string after = slurp(log_file);
  ASSERT_GT(after.size(), before.size());
  EXPECT_EQ(after.substr(0, before.size()), before);
  EXPECT_EQ(after.find("00ff"), std::string::npos);
  auto index = read_index(dir_);
  ASSERT_TRUE(index) << index.error().message();
  EXPECT_EQ(index->lines.size(), 2u);
}

TEST_F(AttestationLogTest, SymbolicLinksAreNeverWrittenThrough) {
  const auto target = dir_ / "precious";
  std::ofstream(target) << "do not overwrite";
  fs::create_directories(dir_ / "manifests");
  // The manifest file the next line would write, planted as a link.
  fs::create_symlink(target, dir_ / "manifests" / "1.json");
  AttestationLog log(dir_, {.capture = false});
  auto r = record(log, true);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("1.json"), std::string::npos) << r.error().message();
  EXPECT_EQ(slurp(target), "do not overwrite");

  // A linked captures directory is refused outright.
  const auto other = dir_ / "elsewhere";
  fs::create_directories(other);
  const auto ws = dir_ / "ws";
  fs::create_directories(ws);
  fs::create_directory_symlink(other, ws / "captures");
  AttestationLog linked(ws, {.capture = true});
  auto refused = record(linked, true);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message().find("symbolic link"), std::string::npos)
      << refused.error().message();
  EXPECT_TRUE(fs::is_empty(other));
}

TEST_F(AttestationLogTest, ReadersNameLinksAndSpecialFilesInsteadOfFollowingThem) {
  AttestationLog log(dir_, {.capture = true});
  const auto id = record(log, true);
  ASSERT_TRUE(id);
  const auto root = dir_ / "captures" / *id;
  {
    attest::VerificationReport r("capture");
    ASSERT_TRUE(read_capture(dir_, *id, r));
    EXPECT_TRUE(r.passed()) << r.to_text();
  }
  // report.bin replaced by a link to a file with the same bytes.
  fs::rename(root / "report.bin", dir_ / "report.bin");
  fs::create_symlink(dir_ / "report.bin", root / "report.bin");
  {
    attest::VerificationReport r("capture");
    ASSERT_TRUE(read_capture(dir_, *id, r));
    EXPECT_FALSE(r.passed());
    EXPECT_NE(r.to_text().find("FAIL file report.bin: expected SHA-256"), std::string::npos);
    EXPECT_NE(r.to_text().find("a symbolic link"), std::string::npos) << r.to_text();
  }
  // A FIFO does not make the reader wait.
  fs::remove(root / "report.bin");
  ASSERT_EQ(::mkfifo((root / "report.bin").c_str(), 0600), 0);
  {
    attest::VerificationReport r("capture");
    ASSERT_TRUE(read_capture(dir_, *id, r));
    EXPECT_NE(r.to_text().find("not a regular file"), std::string::npos) << r.to_text();
  }
  // An unlisted link counts as an unlisted file.
  fs::remove(root / "report.bin");
  fs::rename(dir_ / "report.bin", root / "report.bin");
  fs::create_symlink("/etc/hostname", root / "extra");
  {
    attest::VerificationReport r("capture");
    ASSERT_TRUE(read_capture(dir_, *id, r));
    EXPECT_NE(r.to_text().find("FAIL no unlisted files"), std::string::npos) << r.to_text();
  }
}

TEST(VerificationReportPrintable, ControlCharactersAreShownNotObeyed) {
  attest::VerificationReport r("subject\x1b[2J");
  r.check("name\n  PASS forged", "e", "a\r", true);
  r.claim("endpoint", std::string("x\0y", 3));
  const auto text = r.to_text();
  EXPECT_EQ(text.find('\x1b'), std::string::npos);
  EXPECT_EQ(text.find('\r'), std::string::npos);
  EXPECT_NE(text.find("subject\\x1b[2J"), std::string::npos);
  EXPECT_NE(text.find("name\\x0a  PASS forged: a\\x0d"), std::string::npos) << text;
  EXPECT_NE(text.find("x\\x00y"), std::string::npos);
}

}  // namespace
}  // namespace cipherline::client
