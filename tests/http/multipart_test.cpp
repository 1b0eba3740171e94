// multipart/form-data (RFC 7578): the boundary from Content-Type, parts as
// views into the body, the writer's output parsing back, and malformed
// forms refused with the part and the problem named.
#include "cipherline/http/multipart.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cipherline/http/error.hpp"

namespace cipherline::http {
namespace {

using ::testing::HasSubstr;

// A form as curl -F writes it.
constexpr char kCurlFormText[] =
    "--------------------------d74496d66958873e\r\n"
    "Content-Disposition: form-data; name=\"model\"\r\n"
    "\r\n"
    "whisper-1\r\n"
    "--------------------------d74496d66958873e\r\n"
    "Content-Disposition: form-data; name=\"file\"; filename=\"hello.wav\"\r\n"
    "Content-Type: audio/wav\r\n"
    "\r\n"
    "RIFF\0\0\r\nbytes\r\n"
    "--------------------------d74496d66958873e--\r\n";
// (sized by the array: the form holds NUL bytes)
constexpr std::string_view kCurlForm(kCurlFormText, sizeof kCurlFormText - 1);
constexpr std::string_view kCurlBoundary = "------------------------d74496d66958873e";

std::vector<FormPart> parse_ok(std::string_view body, std::string_view boundary) {
  std::vector<FormPart> parts;
  auto r = parse_multipart(body, boundary, parts);
  EXPECT_TRUE(r) << r.error().message();
  return parts;
}

std::string parse_error(std::string_view body, std::string_view boundary = "B",
                        MultipartLimits limits = {}) {
  std::vector<FormPart> parts;
  auto r = parse_multipart(body, boundary, parts, limits);
  EXPECT_FALSE(r);
  if (r) return {};
  EXPECT_EQ(r.error(), errc::malformed_multipart);
  return r.error().message();
}

TEST(MultipartBoundary, FromContentType) {
  EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=abc").value(), "abc");
  EXPECT_EQ(multipart_boundary("Multipart/Form-Data;boundary=\"a b:c\"").value(), "a b:c");
  EXPECT_EQ(multipart_boundary("multipart/form-data; charset=utf-8; BOUNDARY=x-1").value(), "x-1");
}

TEST(MultipartBoundary, RefusesWhatIsNotAFormBoundary) {
  const auto error = [](std::string_view type) {
    auto r = multipart_boundary(type);
    EXPECT_FALSE(r) << type;
    return r ? std::string() : r.error().message();
  };
  EXPECT_THAT(error("application/json"), HasSubstr("is not multipart/form-data"));
  EXPECT_THAT(error("multipart/mixed; boundary=a"), HasSubstr("is not multipart/form-data"));
  EXPECT_THAT(error("multipart/form-data"), HasSubstr("no boundary parameter"));
  EXPECT_THAT(error("multipart/form-data; boundary="), HasSubstr("empty value"));
  EXPECT_THAT(error("multipart/form-data; boundary=\"abc"), HasSubstr("no closing quote"));
  EXPECT_THAT(error("multipart/form-data; boundary=a; boundary=b"), HasSubstr("two boundary"));
  EXPECT_THAT(error("multipart/form-data; boundary=\"" + std::string(71, 'a') + "\""),
              HasSubstr("71 characters"));
  EXPECT_THAT(error("multipart/form-data; boundary=\"a<b\""), HasSubstr("does not allow"));
}

TEST(Multipart, ParsesACurlForm) {
  const std::string body(kCurlForm);  // the literal holds NUL bytes
  const auto parts = parse_ok(body, kCurlBoundary);
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0].name, "model");
  EXPECT_FALSE(parts[0].filename);
  EXPECT_FALSE(parts[0].is_file());
  EXPECT_EQ(parts[0].content, "whisper-1");
  EXPECT_EQ(parts[1].name, "file");
  EXPECT_EQ(parts[1].filename, "hello.wav");
  EXPECT_TRUE(parts[1].is_file());
  EXPECT_EQ(parts[1].content_type, "audio/wav");
  EXPECT_EQ(parts[1].content, std::string_view("RIFF\0\0\r\nbytes", 13));
}

TEST(Multipart, ViewsPointIntoTheBody) {
  const std::string body(kCurlForm);
  const auto parts = parse_ok(body, kCurlBoundary);
  ASSERT_EQ(parts.size(), 2u);
  for (const auto& p : parts) {
    EXPECT_GE(p.content.data(), body.data());
    EXPECT_LE(p.content.data() + p.content.size(), body.data() + body.size());
    EXPECT_GE(p.name.data(), body.data());
    EXPECT_LE(p.name.data() + p.name.size(), body.data() + body.size());
  }
}

TEST(Multipart, PreambleEpiloguePaddingAndEmptyParts) {
  const std::string body =
      "this is a preamble\r\n--B \t\r\n"
      "content-disposition: FORM-DATA; name=a\r\n"
      "X-Other: ignored\r\n"
      "\r\n"
      "\r\n--B\r\n"
      "Content-Disposition: form-data; name=\"b\"; filename=\"\"\r\n"
      "\r\n"
      "x\r\n--B--\r\nepilogue --B\r\n";
  const auto parts = parse_ok(body, "B");
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0].name, "a");
  EXPECT_EQ(parts[0].content, "");
  EXPECT_EQ(parts[1].name, "b");
  EXPECT_EQ(parts[1].filename, "");
  EXPECT_FALSE(parts[1].is_file()) << "an empty filename is a value, as Go reads it";
  EXPECT_EQ(parts[1].content, "x");
}

TEST(Multipart, ABoundaryPrefixInsideContentIsContent) {
  // "--Bx" is not the boundary B: only "--B" then CRLF, padding or "--" is.
  const std::string body =
      "--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--Bx\r\n2\r\n--B--";
  const auto parts = parse_ok(body, "B");
  ASSERT_EQ(parts.size(), 1u);
  EXPECT_EQ(parts[0].content, "1\r\n--Bx\r\n2");
}

TEST(Multipart, AnEmptyForm) { EXPECT_TRUE(parse_ok("--B--\r\n", "B").empty()); }

TEST(Multipart, MalformedFormsNameThePartAndTheProblem) {
  const std::string head = "--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n";
  EXPECT_THAT(parse_error("no boundary at all"), HasSubstr("no boundary line \"--B\""));
  EXPECT_THAT(parse_error(head + "--B"), HasSubstr("ends after a boundary line"));
  EXPECT_THAT(parse_error(head), HasSubstr("part 0 (\"a\"): no boundary after its content"));
  EXPECT_THAT(parse_error("--B\r\nContent-Disposition: form-data; name=\"a\"\r\n"),
              HasSubstr("part 0: the body ends inside its headers"));
  EXPECT_THAT(parse_error(head + "--B\r\nContent-Type: text/plain\r\n\r\ny\r\n--B--"),
              HasSubstr("part 1: no Content-Disposition header"));
  EXPECT_THAT(parse_error(head + "--B\r\n\r\ny\r\n--B--"),
              HasSubstr("part 1: no Content-Disposition header"));
  EXPECT_THAT(
      parse_error("--B\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\nx\r\n--B--"),
      HasSubstr("part 0: Content-Disposition is \"attachment; name=\"a\"\", not form-data"));
  EXPECT_THAT(parse_error("--B\r\nContent-Disposition: form-data\r\n\r\nx\r\n--B--"),
              HasSubstr("part 0: Content-Disposition has no name"));
  EXPECT_THAT(parse_error("--B\r\nContent-Disposition: form-data; name=\"\"\r\n\r\nx\r\n--B--"),
              HasSubstr("part 0: Content-Disposition has no name"));
  EXPECT_THAT(
      parse_error("--B\r\nContent-Disposition: form-data; name=\"a\\\"b\"\r\n\r\nx\r\n--B--"),
      HasSubstr("backslash escape"));
  EXPECT_THAT(parse_error("--B\r\nContent-Disposition: form-data; name=\"a\r\n\r\nx\r\n--B--"),
              HasSubstr("no closing quote"));
  EXPECT_THAT(parse_error("--B\r\nContent-Disposition: form-data; name=\"a\"; name=\"b\"\r\n\r\n"
                          "x\r\n--B--"),
              HasSubstr("part 0 (\"a\"): two name parameters"));
  EXPECT_THAT(parse_error("--B\r\nContent-Disposition: form-data; name=\"a\"\r\n"
                          "Content-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--B--"),
              HasSubstr("part 0 (\"a\"): two Content-Disposition headers"));
  EXPECT_THAT(
      parse_error("--B\r\nContent-Disposition: form-data;\r\n name=\"a\"\r\n\r\nx\r\n--B--"),
      HasSubstr("a folded header line"));
  EXPECT_THAT(parse_error("--B\r\nno colon here\r\n\r\nx\r\n--B--"),
              HasSubstr("not \"Name: value\""));
  // "--Bjunk" is no boundary line, so all before the last line is preamble.
  EXPECT_TRUE(parse_ok("--Bjunk\r\n" + head.substr(5) + "--B--", "B").empty());
  EXPECT_THAT(parse_error(head + "--B junk\r\n"), HasSubstr("no boundary after its content"));
  EXPECT_THAT(parse_error(head + "--B--", "bad<boundary"), HasSubstr("does not allow"));
}

TEST(Multipart, Limits) {
  std::string body;
  for (int i = 0; i < 3; ++i) {
    body +=
        "--B\r\nContent-Disposition: form-data; name=\"p" + std::to_string(i) + "\"\r\n\r\nx\r\n";
  }
  body += "--B--\r\n";
  EXPECT_THAT(parse_error(body, "B", {.max_parts = 2}), HasSubstr("more than 2 parts"));
  EXPECT_EQ(parse_ok(body, "B").size(), 3u);

  const std::string big_header =
      "--B\r\nContent-Disposition: form-data; name=\"a\"\r\nX-Pad: " + std::string(200, 'p') +
      "\r\n\r\nx\r\n--B--";
  EXPECT_THAT(parse_error(big_header, "B", {.max_header_size = 100}),
              HasSubstr("part 0: its headers are larger than 100 bytes"));
  std::vector<FormPart> parts;
  EXPECT_TRUE(parse_multipart(big_header, "B", parts, {.max_header_size = 300}));
}

TEST(MultipartWriter, WritesAFormThatParsesBack) {
  std::string out;
  MultipartWriter form(out, "cipherline-test");
  ASSERT_TRUE(form.field("model", "whisper-1"));
  ASSERT_TRUE(form.field("prompt", std::string_view("a\r\nb\0c", 6)));
  ASSERT_TRUE(form.file("file", "x.wav", "audio/wav", "\r\n--cipherline-tes\r\n"));
  form.finish();
  EXPECT_EQ(form.content_type(), "multipart/form-data; boundary=cipherline-test");
  EXPECT_TRUE(
      out.starts_with("--cipherline-test\r\nContent-Disposition: form-data; name=\"model\"\r\n"
                      "\r\nwhisper-1\r\n--cipherline-test\r\n"));
  EXPECT_TRUE(out.ends_with("\r\n--cipherline-test--\r\n"));

  const auto parts = parse_ok(out, multipart_boundary(form.content_type()).value());
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0].name, "model");
  EXPECT_EQ(parts[0].content, "whisper-1");
  EXPECT_EQ(parts[1].content, std::string_view("a\r\nb\0c", 6));
  EXPECT_EQ(parts[2].filename, "x.wav");
  EXPECT_EQ(parts[2].content_type, "audio/wav");
  EXPECT_EQ(parts[2].content, "\r\n--cipherline-tes\r\n");
}

TEST(MultipartWriter, PercentEncodesQuotesAndLineBreaksInNames) {
  std::string out;
  MultipartWriter form(out, "B");
  ASSERT_TRUE(form.file("a\"b", "c\r\nd", "", "x"));
  form.finish();
  EXPECT_THAT(out, HasSubstr("name=\"a%22b\"; filename=\"c%0D%0Ad\"\r\n\r\nx"));
  const auto parts = parse_ok(out, "B");
  ASSERT_EQ(parts.size(), 1u);
  EXPECT_EQ(parts[0].name, "a%22b");
}

TEST(MultipartWriter, RefusesContentHoldingTheDelimiterAndRemovesThePart) {
  std::string out;
  MultipartWriter form(out, "B");
  ASSERT_TRUE(form.field("a", "1"));
  const std::string before = out;
  auto r = form.field("b", "x\r\n--B--\r\n");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::malformed_multipart);
  EXPECT_THAT(r.error().message(), HasSubstr("part 1: its content contains the form's boundary"));
  EXPECT_EQ(out, before);
  ASSERT_TRUE(form.field("c", "3"));
  form.finish();
  const auto parts = parse_ok(out, "B");
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[1].name, "c");
}

TEST(MultipartWriter, QuotesABoundaryThatIsNotAToken) {
  std::string out;
  MultipartWriter form(out, "a b:c");
  form.finish();
  EXPECT_EQ(form.content_type(), "multipart/form-data; boundary=\"a b:c\"");
  EXPECT_EQ(multipart_boundary(form.content_type()).value(), "a b:c");
  EXPECT_TRUE(parse_ok(out, "a b:c").empty());
}

TEST(MultipartWriter, RandomBoundariesDiffer) {
  const auto a = random_boundary();
  EXPECT_TRUE(a.starts_with("cipherline-"));
  EXPECT_EQ(a.size(), 11u + 32u);
  EXPECT_NE(a, random_boundary());
  std::string out;
  EXPECT_THROW(MultipartWriter form(out, ""), std::invalid_argument);
  EXPECT_THROW(MultipartWriter form(out, "bad<"), std::invalid_argument);
}

}  // namespace
}  // namespace cipherline::http
