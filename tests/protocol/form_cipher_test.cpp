// The form traversal of spec §5.4: values then files, each in ascending key
// order and first per key; plain keys copied; every other value and every
// file one field-format message in that order; the server's opening, its
// forced usage flags, and tampered parts refused by name.
#include "cipherline/protocol/form_cipher.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cipherline/crypto/error.hpp"
#include "cipherline/crypto/secret_bytes.hpp"
#include "cipherline/http/error.hpp"
#include "cipherline/protocol/request_cipher.hpp"

namespace cipherline::protocol {
namespace {

using ::testing::HasSubstr;

const PlainFields kPlain = plain_request_fields(Route::audio_transcriptions);

std::shared_ptr<const InferenceSecret> make_secret() {
  const auto key = crypto::SecretBytes::random(32);
  return std::make_shared<const InferenceSecret>("form-secret", key.bytes());
}

constexpr char kAudioBytes[] = "RIFF\0\x01\x02\xff wav \r\n--not-a-boundary";
const std::string kAudio(kAudioBytes, sizeof kAudioBytes - 1);

// A client's form, in an order the traversal must fix, with repeated keys.
struct Form {
  std::string body;
  std::string type;
};
Form client_form(std::string_view stream = "false") {
  Form f;
  http::MultipartWriter w(f.body, "client-boundary");
  w.field("temperature", "0.2").value();
  w.file("file", "speech.wav", "audio/wav", kAudio).value();
  w.field("prompt", "Names: Ada, Grace").value();
  w.field("model", "synthetic").value();
  w.field("language", "de").value();
  w.field("language", "fr").value();  // only the first value counts
  w.file("file", "second.wav", "audio/wav", "ignored").value();
  w.file("aux", "aux.bin", "", "aux bytes").value();
  w.field("stream", stream).value();
  w.field("response_format", "verbose_json").value();
  w.finish();
  f.type = w.content_type();
  return f;
}

std::vector<http::FormPart> parts_of(const std::string& body, std::string_view type) {
  std::vector<http::FormPart> parts;
  const auto boundary = http::multipart_boundary(type).value();
  http::parse_multipart(body, boundary, parts).value();
  return parts;
}

struct Sealed {
  std::string body;
  std::string type;
};

Sealed seal(RequestCipher& rc, const Form& form) {
  auto ordered = OrderedForm::parse(form.type, form.body).value();
  Sealed s;
  s.type = seal_form(
               ordered, kPlain,
               [&rc](std::string_view v, std::string& out) { return rc.seal(v, out); }, s.body)
               .value();
  return s;
}

TEST(FormCipher, SealsValuesThenFilesInKeyOrderFirstPerKey) {
  auto secret = make_secret();
  RequestCipher rc(secret);
  const Form form = client_form();
  const Sealed sealed = seal(rc, form);

  // A new boundary.
  EXPECT_NE(http::multipart_boundary(sealed.type).value(), "client-boundary");
  const auto parts = parts_of(sealed.body, sealed.type);
  std::vector<std::string> names;
  for (const auto& p : parts) names.emplace_back(p.name);
  EXPECT_EQ(names, (std::vector<std::string>{"language", "model", "prompt", "response_format",
                                             "stream", "temperature", "aux", "file"}));

  // Plain keys are copied; everything else is the quoted ciphertext of the
  // raw bytes, one message each, numbered in this order.
  EXPECT_EQ(parts[1].content, "synthetic");
  EXPECT_EQ(parts[4].content, "false");
  const std::vector<std::pair<std::size_t, std::string>> sealed_parts = {
      {0, "de"},  {2, "Names: Ada, Grace"}, {3, "verbose_json"},
      {5, "0.2"}, {6, "aux bytes"},         {7, kAudio}};
  std::uint32_t sequence = 0;
  for (const auto& [index, plaintext] : sealed_parts) {
    const auto& part = parts[index];
    ASSERT_TRUE(part.content.starts_with("\"form-secret:")) << part.name;
    ASSERT_TRUE(part.content.ends_with("\"")) << part.name;
    auto field = parse_field(part.content).value();
    EXPECT_EQ(field.nonce, rc.nonce());
    std::string opened;
    ASSERT_TRUE(open_field(secret->aead(), field, rc.nonce(), sequence++, opened)) << part.name;
    EXPECT_EQ(opened, plaintext) << part.name;
    // (Short values such as "de" can occur in any hex ciphertext by chance.)
    if (plaintext.size() >= 8) {
      EXPECT_EQ(part.content.find(plaintext), std::string_view::npos) << part.name;
    }
  }
  // Values carry no filename; files carry their key as the filename, and
  // neither the original filename nor its type.
  for (std::size_t i = 0; i < 6; ++i) EXPECT_FALSE(parts[i].filename) << parts[i].name;
  EXPECT_EQ(parts[6].filename, "aux");
  EXPECT_EQ(parts[7].filename, "file");
  EXPECT_EQ(parts[7].content_type, "application/octet-stream");
  EXPECT_EQ(sealed.body.find("speech.wav"), std::string::npos);
  EXPECT_EQ(sealed.body.find("audio/wav"), std::string::npos);
  EXPECT_EQ(sealed.body.find("second.wav"), std::string::npos);
  EXPECT_EQ(sealed.body.find("Ada"), std::string::npos);
}

TEST(FormCipher, OpensWhatWasSealed) {
  auto secret = make_secret();
  RequestCipher rc(secret);
  const Sealed sealed = seal(rc, client_form());

  ResponseCipher server(secret);
  auto ordered = OrderedForm::parse(sealed.type, sealed.body).value();
  EXPECT_EQ(ordered.first_sealed(kPlain), ordered.value("language"));
  std::string opened;
  const auto type =
      open_form(
          ordered, kPlain,
          [&server](std::string_view v, std::string& out) { return server.open(v, out); }, opened)
          .value();
  auto back = OrderedForm::parse(type, opened).value();
  EXPECT_EQ(back.value("language"), "de");
  EXPECT_EQ(back.value("model"), "synthetic");
  EXPECT_EQ(back.value("prompt"), "Names: Ada, Grace");
  EXPECT_EQ(back.value("response_format"), "verbose_json");
  EXPECT_EQ(back.value("stream"), "false");
  EXPECT_EQ(back.value("temperature"), "0.2");
  EXPECT_EQ(back.value("stream_include_usage"), std::nullopt) << "no stream, nothing forced";
  ASSERT_NE(back.file("file"), nullptr);
  EXPECT_EQ(back.file("file")->content, kAudio);
  EXPECT_EQ(back.file("aux")->content, "aux bytes");
  EXPECT_EQ(back.values().size(), 6u);
  EXPECT_EQ(back.files().size(), 2u);

  // The response shares the exchange's nonce.
  std::string answer;
  ASSERT_TRUE(server.seal(R"({"text":"hi"})", answer));
  std::string plain_answer;
  ASSERT_TRUE(rc.open(answer, plain_answer));
  EXPECT_EQ(plain_answer, R"({"text":"hi"})");
}

TEST(FormCipher, TheServerForcesUsageFlagsOnAStream) {
  auto secret = make_secret();
  for (const std::string_view stream : {"true", "1", "True"}) {
    RequestCipher rc(secret);
    Form form;
    http::MultipartWriter w(form.body, "b");
    w.field("stream", stream).value();
    w.field("stream_include_usage", "false").value();  // overridden
    w.field("model", "synthetic").value();
    w.file("file", "a.wav", "", "bytes").value();
    w.finish();
    form.type = w.content_type();
    const Sealed sealed = seal(rc, form);

    ResponseCipher server(secret);
    auto ordered = OrderedForm::parse(sealed.type, sealed.body).value();
    std::string opened;
    const auto type =
        open_form(
            ordered, kPlain,
            [&server](std::string_view v, std::string& out) { return server.open(v, out); }, opened)
            .value();
    std::vector<std::string> names;
    for (const auto& p : parts_of(opened, type)) names.emplace_back(p.name);
    EXPECT_EQ(names, (std::vector<std::string>{"model", "stream", "stream_continuous_usage_stats",
                                               "stream_include_usage", "file"}))
        << stream;
    auto back = OrderedForm::parse(type, opened).value();
    EXPECT_EQ(back.value("stream_include_usage"), "true");
    EXPECT_EQ(back.value("stream_continuous_usage_stats"), "true");
    EXPECT_EQ(back.value("stream"), stream);
  }
}

TEST(FormCipher, ATamperedPartFailsNamingIt) {
  auto secret = make_secret();
  for (const std::string_view target : {"prompt", "file"}) {
    RequestCipher rc(secret);
    Sealed sealed = seal(rc, client_form());
    const auto parts = parts_of(sealed.body, sealed.type);
    for (const auto& p : parts) {
      if (p.name != target) continue;
      // Flip one hex digit of the ciphertext, just before the closing quote.
      const std::size_t at =
          static_cast<std::size_t>(p.content.data() - sealed.body.data()) + p.content.size() - 2;
      sealed.body[at] = sealed.body[at] == '0' ? '1' : '0';
    }
    ResponseCipher server(secret);
    auto ordered = OrderedForm::parse(sealed.type, sealed.body).value();
    std::string opened = "kept";
    auto r = open_form(
        ordered, kPlain,
        [&server](std::string_view v, std::string& out) { return server.open(v, out); }, opened);
    ASSERT_FALSE(r) << target;
    EXPECT_EQ(r.error(), crypto::errc::authentication_failed);
    EXPECT_THAT(r.error().message(),
                HasSubstr(std::string(target == "file" ? "form file \"" : "form value \"") +
                          std::string(target) + "\""));
    EXPECT_EQ(opened, "kept");
  }
}

TEST(FormCipher, APlaintextValueWhereCiphertextBelongsFails) {
  auto secret = make_secret();
  Form form;
  http::MultipartWriter w(form.body, "b");
  w.field("model", "synthetic").value();
  w.field("prompt", "not sealed").value();
  w.finish();
  form.type = w.content_type();
  ResponseCipher server(secret);
  auto ordered = OrderedForm::parse(form.type, form.body).value();
  std::string opened;
  auto r = open_form(
      ordered, kPlain,
      [&server](std::string_view v, std::string& out) { return server.open(v, out); }, opened);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), crypto::errc::malformed_field);
  EXPECT_THAT(r.error().message(), HasSubstr("form value \"prompt\""));
}

TEST(FormCipher, NotAFormIsMalformedMultipart) {
  auto r = OrderedForm::parse("application/json", "{}");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), http::errc::malformed_multipart);
  auto cut = OrderedForm::parse("multipart/form-data; boundary=b",
                                "--b\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nx");
  ASSERT_FALSE(cut);
  EXPECT_THAT(cut.error().message(), HasSubstr("part 0 (\"model\")"));
}

TEST(FormCipher, ParseBoolIsGos) {
  for (const auto t : {"1", "t", "T", "TRUE", "true", "True"}) EXPECT_EQ(parse_bool(t), true) << t;
  for (const auto f : {"0", "f", "F", "FALSE", "false", "False"}) EXPECT_EQ(parse_bool(f), false);
  for (const auto x : {"", "yes", "tRUE", " true"}) EXPECT_EQ(parse_bool(x), std::nullopt) << x;
}

}  // namespace
}  // namespace cipherline::protocol
