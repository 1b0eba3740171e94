// The protobuf reader and writer: every wire type read back, and malformed
// messages named by message, field and offset.
#include "cipherline/attest/contrast/protobuf.hpp"

#include <gtest/gtest.h>

#include "cipherline/attest/error.hpp"

namespace cipherline::attest::contrast {
namespace {

std::vector<std::byte> bytes(std::initializer_list<int> values) {
  std::vector<std::byte> out;
  for (int v : values) out.push_back(static_cast<std::byte>(v));
  return out;
}

TEST(Protobuf, WriterAndReaderAgree) {
  const std::string text = "hello";
  ProtobufWriter nested;
  nested.varint(1, 7);
  ProtobufWriter w;
  w.varint(1, 300).varint(2, UINT64_MAX).fixed64(3, 0x1122334455667788ULL);
  w.bytes(4, std::as_bytes(std::span(text.data(), text.size()))).message(5, nested);
  // 300 is the classic two-byte varint: ac 02.
  EXPECT_EQ(w.data()[1], std::byte{0xac});
  EXPECT_EQ(w.data()[2], std::byte{0x02});

  ProtobufReader in(w.data(), "test.Message");
  std::vector<ProtobufField> fields;
  while (true) {
    auto f = in.next().value();
    if (!f) break;
    fields.push_back(*f);
  }
  ASSERT_EQ(fields.size(), 5u);
  EXPECT_EQ(fields[0].varint, 300u);
  EXPECT_EQ(fields[1].varint, UINT64_MAX);
  EXPECT_EQ(fields[2].type, WireType::fixed64);
  EXPECT_EQ(fields[2].varint, 0x1122334455667788ULL);
  EXPECT_EQ(
      std::string(reinterpret_cast<const char*>(fields[3].bytes.data()), fields[3].bytes.size()),
      "hello");
  ProtobufReader inner(fields[4].bytes, "test.Nested");
  EXPECT_EQ(inner.next().value()->varint, 7u);
  EXPECT_EQ(fields[4].offset, w.data().size() - 4);
}

TEST(Protobuf, Fixed32IsRead) {
  const auto msg = bytes({0x0d, 0x01, 0x02, 0x03, 0x04});  // field 1, wire type 5
  ProtobufReader in(msg, "m");
  const auto f = in.next().value();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->type, WireType::fixed32);
  EXPECT_EQ(f->varint, 0x04030201u);
}

TEST(Protobuf, MalformedMessagesSayWhereAndWhy) {
  const auto failure = [](std::vector<std::byte> msg) {
    ProtobufReader in(msg, "sevsnp.Report");
    while (true) {
      auto f = in.next();
      if (!f) {
        EXPECT_EQ(f.error(), errc::malformed_evidence);
        return f.error().message();
      }
      if (!*f) return std::string("no error");
    }
  };
  EXPECT_EQ(failure(bytes({0x08, 0x01, 0x12, 0x05, 0x61})),
            "sevsnp.Report: field 2 at offset 0x2: length 5 runs past the end (1 bytes left)");
  EXPECT_EQ(failure(bytes({0x08, 0x80})),
            "sevsnp.Report: a varint value at offset 0x1 is cut short");
  EXPECT_EQ(failure(bytes({0x0b})),
            "sevsnp.Report: field 1 at offset 0x0: unsupported wire type 3");
  EXPECT_EQ(failure(bytes({0x00, 0x01})),
            "sevsnp.Report: field 0 at offset 0x0: invalid field number");
  EXPECT_EQ(failure(bytes({0x09, 0x01, 0x02})),
            "sevsnp.Report: field 1 at offset 0x0: fixed-size value cut short");
  EXPECT_EQ(failure(bytes({0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02})),
            "sevsnp.Report: a varint value at offset 0x1 is too long");
}

}  // namespace
}  // namespace cipherline::attest::contrast
