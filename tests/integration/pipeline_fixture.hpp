// Test support for the pipeline tests: a development backend on loopback,
// run by a test task, with its state directory shared by the tests of a
// suite (the software TEE's RSA roots are made once), and clients for it.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "cipherline/backend/dev_backend.hpp"
#include "cipherline/client/client.hpp"
#include "cipherline/http/json_writer.hpp"
#include "cipherline/runtime/sync_wait.hpp"
#include "cipherline/runtime/task_scope.hpp"

namespace cipherline::testing {

inline const std::filesystem::path& shared_state_dir() {
  static const std::filesystem::path dir = [] {
    auto d = std::filesystem::temp_directory_path() /
             ("cipherline-pipeline-" + std::to_string(::getpid()));
    std::filesystem::remove_all(d);
    return d;
  }();
  return dir;
}

// Removes the shared state directory when the test program ends.
struct StateDirCleanup : ::testing::Environment {
  void TearDown() override { std::filesystem::remove_all(shared_state_dir()); }
};

inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return std::move(text).str();
}

inline std::vector<std::byte> bytes_of(std::string_view s) {
  const auto b = std::as_bytes(std::span(s.data(), s.size()));
  return {b.begin(), b.end()};
}

// client_options: a client that trusts exactly the backend's development
// roots and CA, and pins its manifest.
inline client::ClientOptions client_options(const backend::DevBackend& b,
                                            std::string api_key = "dev") {
  client::ClientOptions o;
  o.session.endpoint = {.scheme = "https", .host = "127.0.0.1", .port = b.address().port()};
  o.session.manifest = bytes_of(read_text(b.state_dir() / "manifest.json"));
  o.session.development = client::DevelopmentTrust::load(b.state_dir()).value();
  o.session.api_key = std::move(api_key);
  return o;
}

// with_backend creates a backend, serves it while `body` runs, then stops it.
template <class Body>
Task<void> with_backend(backend::DevBackendOptions options, Body body) {
  if (options.state.empty()) options.state = shared_state_dir();
  auto created = co_await backend::DevBackend::create(std::move(options));
  EXPECT_TRUE(created) << (created ? "" : created.error().message());
  if (!created) co_return;
  auto& b = **created;
  std::stop_source stop;
  TaskScope scope;
  scope.spawn(with_stop_token(b.serve(), stop.get_token()));
  std::exception_ptr failure;
  try {
    co_await body(b);
  } catch (...) {
    failure = std::current_exception();
  }
  stop.request_stop();
  co_await scope.join();
  if (failure) std::rethrow_exception(failure);
}

// A chat request with one user message (no "stream": stream_chat adds it).
inline std::string chat_request(std::string_view prompt) {
  std::string body;
  http::JsonWriter(body)
      .begin_object()
      .key("model")
      .string("synthetic")
      .key("messages")
      .begin_array()
      .begin_object()
      .key("role")
      .string("user")
      .key("content")
      .string(prompt)
      .end_object()
      .end_array()
      .end_object();
  return body;
}

// The words of a streamed chat: the content deltas of each chunk, joined.
inline std::string content_of_chunks(const std::vector<std::string>& chunks) {
  std::string text;
  for (const auto& c : chunks) {
    const auto at = c.find("\"content\":\"");
    if (at == std::string::npos) continue;
    const auto start = at + 11;
    text += c.substr(start, c.find('"', start) - start);
  }
  return text;
}

}  // namespace cipherline::testing
