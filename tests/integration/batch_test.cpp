// run_batch in process: a backend that answers 429 (with Retry-After) and
// then 500 for a while, before it serves: every request retried until it
// succeeds; a backend that never recovers: each request given up after its
// retries, with the error in its output line; streams cut short (no
// [DONE]) retried, never written as answers; an output whose last line a
// crash tore in half, resumed; streamed answers with several choices, tool
// calls, logprobs and reasoning assembled into what the unary answer says.
#include "cipherline/client/batch.hpp"

#include <gtest/gtest.h>

#include <simdjson.h>

#include <atomic>
#include <map>

#include "pipeline_fixture.hpp"

namespace cipherline {
namespace {

using namespace std::chrono;
using testing::Relay;
using testing::with_backend;

const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new testing::StateDirCleanup);

struct Files {
  std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("cipherline-batch-" + std::to_string(::getpid()));
  Files() {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
  }
  ~Files() { std::filesystem::remove_all(dir); }
  std::filesystem::path input(int lines) const {
    const auto path = dir / "in.jsonl";
    std::ofstream out(path);
    for (int i = 0; i < lines; ++i) {
      out << R"({"custom_id":"r)" << i
          << R"(","method":"POST","url":"/v1/chat/completions","body":{"model":"synthetic","messages":[{"role":"user","content":"retry me )"
          << i << R"("}]}})" << '\n';
    }
    return path;
  }
};

std::vector<std::string> lines_of(const std::filesystem::path& path) {
  std::vector<std::string> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// run_through runs a batch through `relay` in front of a backend.
Result<client::BatchProgress, Error> run_through(Relay& relay, client::BatchOptions options) {
  Result<client::BatchProgress, Error> summary =
      Error(std::make_error_code(std::errc::io_error), "did not run");
  Loop loop;
  sync_wait(loop, with_backend({}, [&](backend::DevBackend& b) -> Task<void> {
              co_await relay.run(b, [&](client::ClientOptions client_options) -> Task<void> {
                client::Client client(client_options);
                EXPECT_TRUE(co_await client.connect());
                summary = co_await client::run_batch(client, options);
                co_await client.close();
              });
            }));
  return summary;
}

TEST(Batch, RetriesThrottlingAndServerErrorsUntilTheyPass) {
  Files files;
  std::atomic<int> inference_calls{0};
  Relay relay{.inject = [&](std::string_view path) -> std::optional<Relay::Injected> {
    if (path != "/v1/chat/completions") return std::nullopt;
    const int n = inference_calls++;
    if (n == 0) return Relay::Injected{429, "1"};  // honoured: the run takes a second
    if (n < 15) return Relay::Injected{429, "0"};
    if (n < 30) return Relay::Injected{n % 2 == 0 ? 500 : 503};
    return std::nullopt;
  }};
  std::vector<std::uint64_t> totals;  // of each progress report
  auto summary = run_through(relay, {.input = files.input(20),
                                     .output = files.dir / "out.jsonl",
                                     .concurrency = 4,
                                     .max_retries = 20,
                                     .backoff_base = milliseconds(5),
                                     .backoff_max = milliseconds(50),
                                     .progress_interval = milliseconds(100),
                                     .progress = [&](const client::BatchProgress& p) {
                                       totals.push_back(p.total_lines);
                                     }});
  // The total is known from the first report on (the input is counted
  // first), so that progress and ETA mean something.
  EXPECT_GE(totals.size(), 3u);
  for (const auto t : totals) EXPECT_EQ(t, 20u);
  EXPECT_TRUE(summary) << (summary ? "" : summary.error().message());
  if (summary) {
    EXPECT_EQ(summary->succeeded, 20u);
    EXPECT_EQ(summary->failed, 0u);
    EXPECT_EQ(summary->retried, 30u);         // every injected answer retried
    EXPECT_GE(summary->elapsed, seconds(1));  // Retry-After: 1 was waited out
    // Percentiles of the 20 answered latencies, in order, within the run.
    EXPECT_GT(summary->latency_p50, 0);
    EXPECT_LE(summary->latency_p50, summary->latency_p95);
    EXPECT_LE(summary->latency_p95, summary->latency_p99);
    EXPECT_LT(summary->latency_p99, (duration<double, std::micro>(summary->elapsed).count()));
  }
  const auto out = lines_of(files.dir / "out.jsonl");
  EXPECT_EQ(out.size(), 20u);
  for (const auto& line : out) {
    EXPECT_NE(line.find(R"("status_code":200)"), std::string::npos) << line;
    EXPECT_NE(line.find(R"("error":null)"), std::string::npos) << line;
  }
}

TEST(Batch, GivesUpAfterItsRetriesAndSaysWhy) {
  Files files;
  Relay relay{.inject = [](std::string_view path) -> std::optional<Relay::Injected> {
    if (path == "/v1/chat/completions") return Relay::Injected{503};
    return std::nullopt;
  }};
  auto summary = run_through(relay, {.input = files.input(3),
                                     .output = files.dir / "out.jsonl",
                                     .concurrency = 3,
                                     .max_retries = 2,
                                     .backoff_base = milliseconds(1),
                                     .backoff_max = milliseconds(5)});
  EXPECT_TRUE(summary) << (summary ? "" : summary.error().message());
  if (summary) {
    EXPECT_EQ(summary->failed, 3u);
    EXPECT_EQ(summary->retried, 6u);
  }
  const auto out = lines_of(files.dir / "out.jsonl");
  EXPECT_EQ(out.size(), 3u);
  for (const auto& line : out) {
    EXPECT_NE(line.find(R"("status_code":503)"), std::string::npos) << line;
    EXPECT_NE(line.find(R"("code":"retries_exhausted")"), std::string::npos) << line;
    EXPECT_NE(line.find("after 3 attempts"), std::string::npos) << line;
  }
}

TEST(Batch, RetriesStreamsThatEndWithoutDone) {
  Files files;
  std::atomic<int> cut{0};
  Relay relay{.tamper = [&](std::string_view path, std::string& body) {
    if (path != "/v1/chat/completions" || cut >= 5) return;
    ASSERT_TRUE(testing::drop_last_frame(body));  // the stream stops before its end
    ++cut;
  }};
  auto summary = run_through(relay, {.input = files.input(4),
                                     .output = files.dir / "out.jsonl",
                                     .concurrency = 2,
                                     .max_retries = 10,
                                     .stream = true,
                                     .backoff_base = milliseconds(1),
                                     .backoff_max = milliseconds(5)});
  ASSERT_TRUE(summary) << summary.error().message();
  EXPECT_EQ(summary->succeeded, 4u);
  EXPECT_EQ(summary->retried, 5u);
  const auto out = lines_of(files.dir / "out.jsonl");
  ASSERT_EQ(out.size(), 4u);
  for (const auto& line : out) {
    EXPECT_NE(line.find(R"("error":null)"), std::string::npos) << line;
    const auto id = line.find(R"("custom_id":"r)");
    ASSERT_NE(id, std::string::npos) << line;
    const auto n = line.substr(id + 14, line.find('"', id + 14) - id - 14);
    EXPECT_NE(line.find("retry me " + n), std::string::npos) << line;  // the whole answer
  }
}

TEST(Batch, ResumesAfterATornLastLine) {
  Files files;
  const auto output = files.dir / "out.jsonl";
  const client::BatchOptions options{.input = files.input(3), .output = output, .concurrency = 1};
  Relay relay;
  ASSERT_TRUE(run_through(relay, options));
  auto out = lines_of(output);
  ASSERT_EQ(out.size(), 3u);
  // A crash in the middle of writing the third answer.
  const std::string torn = out[2].substr(0, out[2].size() / 2);
  {
    std::ofstream rewrite(output, std::ios::trunc);
    rewrite << out[0] << '\n' << out[1] << '\n' << torn;
  }
  auto summary = run_through(relay, options);
  ASSERT_TRUE(summary) << summary.error().message();
  EXPECT_EQ(summary->skipped, 2u);
  EXPECT_EQ(summary->succeeded, 1u);
  out = lines_of(output);
  ASSERT_EQ(out.size(), 3u);  // the torn half is gone, the third line answered once
  EXPECT_EQ(out[2].find(torn), std::string::npos);
  EXPECT_NE(out[2].find(R"("custom_id":"r2")"), std::string::npos) << out[2];
  EXPECT_NE(out[2].find(R"("error":null)"), std::string::npos) << out[2];
}

// The response bodies of an output file, by custom_id.
std::map<std::string, std::string> bodies_of(const std::filesystem::path& path) {
  std::map<std::string, std::string> out;
  for (const auto& line : lines_of(path)) {
    simdjson::dom::parser parser;
    simdjson::dom::element e = parser.parse(line);
    EXPECT_TRUE(e["error"].is_null()) << line;
    out[std::string(std::string_view(e["custom_id"]))] =
        simdjson::minify(e["response"]["body"].value());
  }
  return out;
}

std::string minified(simdjson::dom::element e, std::string_view key) {
  simdjson::dom::element v;
  return e[key].get(v) == simdjson::SUCCESS ? simdjson::minify(v) : "(absent)";
}

TEST(Batch, StreamedChoicesToolCallsLogprobsAndReasoningAssembleAsWhole) {
  Files files;
  const auto input = files.dir / "features.jsonl";
  {
    const std::string tools =
        R"("tools":[{"type":"function","function":{"name":"get_weather","parameters":)"
        R"({"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer"}}}}},)"
        R"({"type":"function","function":{"name":"lookup"}}])";
    std::ofstream out(input);
    const auto line = [&](std::string id, std::string url, std::string body) {
      out << R"({"custom_id":")" << id << R"(","method":"POST","url":")" << url << R"(","body":)"
          << body << "}\n";
    };
    line(
        "n2", "/v1/chat/completions",
        R"({"model":"synthetic","n":2,"messages":[{"role":"user","content":"two choices here"}]})");
    line("tools", "/v1/chat/completions",
         R"({"model":"synthetic","n":2,"tool_choice":"required",)" + tools +
             R"(,"messages":[{"role":"user","content":"lookup and get_weather please"}]})");
    line("mixed", "/v1/chat/completions",
         R"({"model":"synthetic","n":3,"logprobs":true,"top_logprobs":2,"reasoning_effort":"low",)"
         R"("messages":[{"role":"user","content":"think then answer"}]})");
    line("json", "/v1/chat/completions",
         R"({"model":"synthetic","response_format":{"type":"json_object"},)"
         R"("messages":[{"role":"user","content":"as json"}]})");
    line("legacy", "/v1/completions",
         R"({"model":"synthetic","n":2,"logprobs":1,"prompt":"old style"})");
  }
  Relay relay;
  const client::BatchOptions whole{
      .input = input, .output = files.dir / "whole.jsonl", .concurrency = 2};
  client::BatchOptions streamed = whole;
  streamed.output = files.dir / "streamed.jsonl";
  streamed.stream = true;
  auto a = run_through(relay, whole);
  ASSERT_TRUE(a) << a.error().message();
  auto b = run_through(relay, streamed);
  ASSERT_TRUE(b) << b.error().message();
  EXPECT_EQ(a->succeeded, 5u);
  EXPECT_EQ(b->succeeded, 5u);
  EXPECT_EQ(a->tokens_out, b->tokens_out);

  const auto unary = bodies_of(whole.output);
  const auto assembled = bodies_of(streamed.output);
  ASSERT_EQ(unary.size(), 5u);
  ASSERT_EQ(assembled.size(), 5u);
  const std::map<std::string, std::size_t> choices = {
      {"n2", 2}, {"tools", 2}, {"mixed", 3}, {"json", 1}, {"legacy", 2}};
  for (const auto& [id, count] : choices) {
    SCOPED_TRACE(id);
    simdjson::dom::parser pu, ps;
    const simdjson::dom::element u = pu.parse(unary.at(id));
    const simdjson::dom::element s = ps.parse(assembled.at(id));
    EXPECT_EQ(minified(u, "usage"), minified(s, "usage"));
    const simdjson::dom::array uc = u["choices"];
    const simdjson::dom::array sc = s["choices"];
    // The unary body keeps every choice, and so does the assembled one.
    EXPECT_EQ(uc.size(), count) << unary.at(id);
    EXPECT_EQ(sc.size(), count) << assembled.at(id);
    if (uc.size() != count || sc.size() != count) continue;
    for (std::size_t k = 0; k < count; ++k) {
      SCOPED_TRACE(k);
      const simdjson::dom::element x = uc.at(k);
      const simdjson::dom::element y = sc.at(k);
      EXPECT_EQ(std::int64_t(y["index"]), std::int64_t(k));
      EXPECT_EQ(minified(x, "finish_reason"), minified(y, "finish_reason"));
      if (id == "legacy") {
        EXPECT_EQ(minified(x, "text"), minified(y, "text"));
        EXPECT_EQ(minified(x, "logprobs"), minified(y, "logprobs"));
        continue;
      }
      const simdjson::dom::element xm = x["message"];
      const simdjson::dom::element ym = y["message"];
      for (const char* key : {"content", "tool_calls", "reasoning_content", "reasoning"}) {
        EXPECT_EQ(minified(xm, key), minified(ym, key)) << key << "\n" << assembled.at(id);
      }
      EXPECT_EQ(minified(x["logprobs"], "content"), minified(y["logprobs"], "content"));
    }
  }
  // What the features produced, checked once more on the assembled side.
  simdjson::dom::parser p;
  const simdjson::dom::element tools = p.parse(assembled.at("tools"));
  const simdjson::dom::array calls = tools["choices"].at(1)["message"]["tool_calls"];
  EXPECT_EQ(calls.size(), 2u);
  EXPECT_EQ(std::string_view(calls.at(0)["id"]), "call_synthetic_1_0");
  simdjson::dom::parser q;
  const simdjson::dom::element arguments =
      q.parse(std::string(std::string_view(calls.at(0)["function"]["arguments"])));
  EXPECT_EQ(std::string_view(arguments["city"]), "lookup and get_weather please [1]");
  EXPECT_EQ(std::string_view(tools["choices"].at(0)["finish_reason"]), "tool_calls");
  EXPECT_NE(assembled.at("n2").find(R"("content":"two choices here [1]")"), std::string::npos);
  EXPECT_NE(assembled.at("mixed").find(R"("reasoning_content":")"), std::string::npos);
  EXPECT_NE(assembled.at("mixed").find(R"("top_logprobs":[{)"), std::string::npos);
}

}  // namespace
}  // namespace cipherline
