// Test support for the pipeline tests: a development backend on loopback,
// run by a test task, with its state directory shared by the tests of a
// suite (the software TEE's RSA roots are made once), and clients for it.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cipherline/backend/dev_backend.hpp"
#include "cipherline/client/client.hpp"
#include "cipherline/client/proxy.hpp"
#include "cipherline/client/proxy_metrics.hpp"
#include "cipherline/http/server.hpp"
#include "cipherline/json/writer.hpp"
#include "cipherline/runtime/offload.hpp"
#include "cipherline/runtime/sleep.hpp"
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
  json::JsonWriter(body)
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

// A relay between client and gateway, as an attacker on the path (or a
// misbehaving gateway) could run: `inject` may answer a request itself
// (status, Retry-After) instead of forwarding it; `tamper` may change the
// gateway's answers; `observe_request` sees each request as it goes by.
// The frames of an OAE body (uint32_be length ‖ sealed message), as the
// gateway sees them: offsets of each frame's first byte.
inline std::vector<std::size_t> oae_frames(std::string_view body) {
  std::vector<std::size_t> at;
  for (std::size_t pos = 0; pos + 4 <= body.size();) {
    const auto* p = reinterpret_cast<const unsigned char*>(body.data() + pos);
    const std::size_t length =
        (std::size_t{p[0]} << 24) | (std::size_t{p[1]} << 16) | (std::size_t{p[2]} << 8) | p[3];
    at.push_back(pos);
    pos += 4 + length;
  }
  return at;
}

// drop_last_frame cuts an OAE body before its final frame: what a gateway
// that ends a stream early would send.
inline bool drop_last_frame(std::string& body) {
  const auto frames = oae_frames(body);
  if (frames.size() < 2) return false;
  body.erase(frames.back());
  return true;
}

struct Relay {
  struct Injected {
    int status;
    std::string retry_after{};
  };
  std::function<std::optional<Injected>(std::string_view path)> inject{};
  std::function<void(std::string_view path, std::string& body)> tamper{};
  std::function<void(std::string_view path, std::string_view body)> observe_request{};
  // forge_headers rewrites the headers of a relayed answer.
  std::function<void(std::string_view path, http::Headers& headers)> forge_headers{};

  template <class Body>
  Task<void> run(backend::DevBackend& b, Body body) {
    http::HttpClient upstream({.tls = client::tls_config(client_options(b).session).build().value(),
                               .proxy = http::ProxySettings{}});
    const http::Origin gateway{.scheme = "https", .host = "127.0.0.1", .port = b.address().port()};
    http::Router router;
    router.add_prefix(
        "*", "/", [&](http::Request& request, http::ResponseWriter& writer) -> Task<void> {
          auto in = co_await request.body.read_all();
          if (observe_request && in) observe_request(request.head.path(), *in);
          if (inject) {
            if (auto answer = inject(request.head.path())) {
              http::Headers h{{"Content-Type", "application/json"},
                              {"Privatemode-Encrypted", "false"}};
              if (!answer->retry_after.empty()) h.add("Retry-After", answer->retry_after);
              (void)co_await writer.respond(answer->status, std::move(h),
                                            R"({"error":{"message":"injected","type":""}})");
              co_return;
            }
          }
          http::ClientRequest forward{.method = request.head.method,
                                      .target = request.head.target,
                                      .headers = request.head.headers,
                                      .body = in.value()};
          forward.headers.remove("Content-Length");
          forward.headers.remove("Host");
          auto response = co_await upstream.request(gateway, std::move(forward));
          if (!response) co_return;
          auto text = (co_await response->body().read_all()).value();
          if (tamper) tamper(request.head.path(), text);
          http::Headers h;
          for (const auto& [name, value] : response->head().headers.fields()) {
            if (http::header_name_equals(name, "Content-Type") ||
                (name.size() > 12 &&
                 http::header_name_equals(name.substr(0, 12), "Privatemode-"))) {
              h.add(name, value);
            }
          }
          if (forge_headers) forge_headers(request.head.path(), h);
          (void)co_await writer.respond(response->status(), std::move(h), text);
        });
    http::HttpServer server(std::move(router));
    auto listener = TcpListener::bind(SocketAddress::parse("127.0.0.1:0"));
    auto tls = http::TlsServerContext::create(
                   {.certificate_file = (b.state_dir() / "private" / "gateway.pem").string(),
                    .key_file = (b.state_dir() / "private" / "gateway-key.pem").string()})
                   .value();
    std::stop_source stop;
    TaskScope scope;
    scope.spawn(with_stop_token(server.serve_tls(listener, tls), stop.get_token()));
    auto options = client_options(b);
    options.session.endpoint.port = listener.local_address().port();
    co_await body(options);
    stop.request_stop();
    co_await scope.join();
  }
};

// with_proxy runs a Proxy for `options` on a loopback port (its local
// callers: that address) while `body(proxy, address)` runs.
template <class Body>
Task<void> with_proxy(client::ProxyOptions options, Body body) {
  auto listener = TcpListener::bind(SocketAddress::parse("127.0.0.1:0"));
  options.callers = options.callers.listening_on(listener.local_address());
  client::ProxyMetrics metrics;
  client::Proxy proxy(std::move(options), metrics);
  http::HttpServer server(proxy.router());
  std::stop_source stop;
  TaskScope scope;
  scope.spawn(with_stop_token(server.serve(listener), stop.get_token()));
  scope.spawn(with_stop_token(proxy.verify_until_ready(), stop.get_token()));
  co_await body(proxy, listener.local_address());
  stop.request_stop();
  co_await scope.join();
  co_await proxy.close();
}

// wait_verified: until the proxy has verified the backend (at most 4 s).
inline Task<void> wait_verified(client::Proxy& proxy) {
  for (int i = 0; i < 200 && !proxy.verified(); ++i) {
    (void)co_await sleep_for(std::chrono::milliseconds(20));
  }
}

// run_command: a shell command's standard output, run off the loop.
inline Task<std::string> run_command(std::string command) {
  auto job = [command] {
    std::string out;
    if (FILE* p = ::popen(command.c_str(), "r")) {
      char buffer[4096];
      while (const std::size_t n = std::fread(buffer, 1, sizeof buffer, p)) out.append(buffer, n);
      ::pclose(p);
    }
    return out;
  };
  auto out = co_await offload(std::move(job));
  co_return out ? std::move(*out) : std::string();
}

}  // namespace cipherline::testing
