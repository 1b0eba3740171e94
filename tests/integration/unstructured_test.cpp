// Unstructured documents end to end (spec §5.6): the whole body sealed as
// one message through the in-process Client, the gateway and the worker to
// the synthetic model, whose element array comes back one sealed message
// per element; the gateway sees neither the document nor the elements; then
// the proxy's /unstructured/ subtree with curl -F.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <simdjson.h>

#include <cstdio>

#include "../http/server_fixture.hpp"
#include "cipherline/client/proxy.hpp"
#include "cipherline/http/multipart.hpp"
#include "cipherline/http/server.hpp"
#include "cipherline/runtime/offload.hpp"
#include "cipherline/runtime/sleep.hpp"
#include "pipeline_fixture.hpp"

namespace cipherline {
namespace {

using testing::client_options;
using ::testing::HasSubstr;
using testing::with_backend;

const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new testing::StateDirCleanup);

// Words with letters outside hex, so that ciphertext cannot spell them.
constexpr std::string_view kDocument =
    "Quokka report\r\nzebra quartz lantern\n\n  \nlast jumpy line";

std::vector<std::string> texts_of(std::string_view json, std::string* filename = nullptr) {
  std::vector<std::string> out;
  simdjson::dom::parser parser;
  simdjson::dom::array elements;
  if (parser.parse(json).get(elements) != simdjson::SUCCESS) {
    ADD_FAILURE() << "not a JSON array: " << json;
    return out;
  }
  for (const auto element : elements) {
    out.emplace_back(std::string_view(element["text"]));
    if (filename) *filename = std::string(std::string_view(element["metadata"]["filename"]));
  }
  return out;
}

const std::vector<std::string> kLines = {"Quokka report", "zebra quartz lantern",
                                         "last jumpy line"};

TEST(Unstructured, ThroughTheClientSealedOnTheWire) {
  Loop loop;
  std::string request_wire, response_wire;
  sync_wait(
      loop,
      with_backend(
          {.gateway_tap =
               [&](std::string_view direction, std::string_view path, std::string_view bytes) {
                 if (!path.starts_with("/unstructured/")) return;
                 (direction == "request" ? request_wire : response_wire).append(bytes);
               }},
          [&](backend::DevBackend& b) -> Task<void> {
            client::Client client(client_options(b));
            EXPECT_TRUE(co_await client.connect());

            // A raw text body.
            auto r = co_await client.send(protocol::Route::unstructured, std::string(kDocument),
                                          {{"Content-Type", "text/plain"}});
            EXPECT_TRUE(r) << (r ? "" : r.error().message());
            if (!r) co_return;
            EXPECT_EQ(r->status(), 200);
            auto text = co_await r->read_all();
            EXPECT_TRUE(text) << (text ? "" : text.error().message());
            if (text) EXPECT_EQ(texts_of(*text), kLines) << *text;

            // A form with the document as "files", at an explicit path.
            std::string form;
            http::MultipartWriter w(form, http::random_boundary());
            w.field("strategy", "fast").value();
            w.file("files", "notes.txt", "text/plain", kDocument).value();
            w.finish();
            auto f = co_await client.send_unstructured("/unstructured/general/v0/general", form,
                                                       {{"Content-Type", w.content_type()}});
            EXPECT_TRUE(f) << (f ? "" : f.error().message());
            if (f) {
              auto body = co_await f->read_all();
              EXPECT_TRUE(body);
              std::string filename;
              if (body) EXPECT_EQ(texts_of(*body, &filename), kLines);
              EXPECT_EQ(filename, "notes.txt");
            }

            // The model's refusal travels sealed and is opened.
            auto empty = co_await client.send(protocol::Route::unstructured, "\n \n",
                                              {{"Content-Type", "text/plain"}});
            EXPECT_TRUE(empty);
            if (empty) {
              EXPECT_EQ(empty->status(), 400);
              auto body = co_await empty->read_all();
              EXPECT_TRUE(body);
              if (body) EXPECT_THAT(*body, HasSubstr("the document has no text"));
            }
            auto elsewhere = co_await client.send_unstructured("/v1/chat/completions", "x", {});
            EXPECT_FALSE(elsewhere);
            co_await client.close();
          }));
  ASSERT_GT(request_wire.size(), 2 * kDocument.size());
  for (const char* word : {"Quokka", "zebra", "jumpy", "notes.txt", "strategy"}) {
    EXPECT_EQ(request_wire.find(word), std::string::npos) << word << " in the request";
    EXPECT_EQ(response_wire.find(word), std::string::npos) << word << " in the answer";
  }
  // Each body is one quoted field; each answer an array of them.
  EXPECT_TRUE(request_wire.starts_with("\"")) << request_wire.substr(0, 80);
  EXPECT_TRUE(response_wire.starts_with("[\"")) << response_wire.substr(0, 80);
  EXPECT_EQ(response_wire.find("Title"), std::string::npos);
  EXPECT_EQ(response_wire.find("element_id"), std::string::npos);
}

TEST(Unstructured, ThroughTheProxysSubtreeWithCurl) {
  if (std::system("command -v curl >/dev/null 2>&1") != 0) GTEST_SKIP() << "no curl";
  const auto dir = std::filesystem::temp_directory_path() /
                   ("cipherline-unstructured-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto doc = dir / "doc.txt";
  {
    std::ofstream out(doc, std::ios::binary);
    out << kDocument;
  }
  Loop loop;
  sync_wait(loop, with_backend({}, [&](backend::DevBackend& b) -> Task<void> {
              client::ProxyOptions options{.client = client_options(b)};
              co_await testing::with_proxy(
                  options, [&](client::Proxy& proxy, SocketAddress at) -> Task<void> {
                    co_await testing::wait_verified(proxy);
                    const std::string base = "http://" + at.to_string();
                    const std::string curl = "curl -s --noproxy '*' -w '\\n%{http_code}' ";
                    auto ok =
                        co_await testing::run_command(curl + "-F 'files=@" + doc.string() + "' " +
                                                      base + "/unstructured/general/v0/general");
                    EXPECT_TRUE(ok.ends_with("\n200")) << ok;
                    const std::string json = ok.substr(0, ok.rfind('\n'));
                    std::string filename;
                    EXPECT_EQ(texts_of(json, &filename), kLines) << ok;
                    EXPECT_EQ(filename, "doc.txt");
                  });
            }));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace cipherline
