// JsonWriter: structural misuse throws std::logic_error naming the mistake,
// before anything is written.
#include "cipherline/json/writer.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace cipherline::json {
namespace {

// expect_misuse runs `prepare`, then checks that `misuse` throws
// std::logic_error whose message contains `what`, leaving the output as it
// was.
void expect_misuse(const std::function<void(JsonWriter&)>& prepare,
                   const std::function<void(JsonWriter&)>& misuse, std::string_view what) {
  JsonWriter w;
  prepare(w);
  const std::string before = w.out();
  try {
    misuse(w);
    ADD_FAILURE() << "no exception; expected one mentioning: " << what;
  } catch (const std::logic_error& e) {
    EXPECT_NE(std::string_view(e.what()).find(what), std::string_view::npos)
        << "message: " << e.what();
    EXPECT_EQ(std::string_view(e.what()).substr(0, 12), "JsonWriter: ") << e.what();
  }
  EXPECT_EQ(w.out(), before);
}

TEST(JsonWriterMisuse, ValueWhereAKeyIsExpected) {
  const auto in_object = [](JsonWriter& w) { w.begin_object(); };
  expect_misuse(
      in_object, [](JsonWriter& w) { w.string("v"); },
      "string() where an object key is expected (call key() first)");
  expect_misuse(
      in_object, [](JsonWriter& w) { w.number(1); }, "number() where an object key");
  expect_misuse(
      in_object, [](JsonWriter& w) { w.number(1.5); }, "number() where an object key");
  expect_misuse(
      in_object, [](JsonWriter& w) { w.boolean(true); }, "boolean() where an object key");
  expect_misuse(
      in_object, [](JsonWriter& w) { w.null(); }, "null() where an object key");
  expect_misuse(
      in_object, [](JsonWriter& w) { w.raw("1"); }, "raw() where an object key");
  expect_misuse(
      in_object, [](JsonWriter& w) { w.begin_array(); }, "begin_array() where an object key");
  expect_misuse([](JsonWriter& w) { w.begin_object().key("a").number(1); },
                [](JsonWriter& w) { w.begin_object(); }, "begin_object() where an object key");
}

TEST(JsonWriterMisuse, KeyOutsideAnObject) {
  expect_misuse([](JsonWriter&) {}, [](JsonWriter& w) { w.key("k"); }, "key() outside an object");
  expect_misuse([](JsonWriter& w) { w.begin_array(); }, [](JsonWriter& w) { w.key("k"); },
                "key() outside an object");
  expect_misuse([](JsonWriter& w) { w.begin_object().key("a").begin_array(); },
                [](JsonWriter& w) { w.key("k"); }, "key() outside an object");
}

TEST(JsonWriterMisuse, KeyAfterKey) {
  expect_misuse([](JsonWriter& w) { w.begin_object().key("a"); }, [](JsonWriter& w) { w.key("b"); },
                "key() right after key(): the previous key has no value");
}

TEST(JsonWriterMisuse, UnbalancedEnds) {
  expect_misuse([](JsonWriter&) {}, [](JsonWriter& w) { w.end_object(); },
                "end_object() with no open object");
  expect_misuse([](JsonWriter&) {}, [](JsonWriter& w) { w.end_array(); },
                "end_array() with no open array");
  expect_misuse([](JsonWriter& w) { w.begin_array(); }, [](JsonWriter& w) { w.end_object(); },
                "end_object() while an array is open (call end_array())");
  expect_misuse([](JsonWriter& w) { w.begin_object(); }, [](JsonWriter& w) { w.end_array(); },
                "end_array() while an object is open (call end_object())");
  expect_misuse([](JsonWriter& w) { w.begin_object().key("a"); },
                [](JsonWriter& w) { w.end_object(); },
                "end_object() right after key(): the key has no value");
  expect_misuse([](JsonWriter& w) { w.begin_array().end_array(); },
                [](JsonWriter& w) { w.end_array(); }, "end_array() with no open array");
}

TEST(JsonWriterMisuse, SecondTopLevelValue) {
  expect_misuse([](JsonWriter& w) { w.number(1); }, [](JsonWriter& w) { w.number(2); },
                "number() after the top-level value");
  expect_misuse([](JsonWriter& w) { w.begin_object().end_object(); },
                [](JsonWriter& w) { w.begin_array(); }, "begin_array() after the top-level value");
}

TEST(JsonWriterMisuse, TakeOfAnUnfinishedDocument) {
  expect_misuse([](JsonWriter&) {}, [](JsonWriter& w) { (void)w.take(); },
                "take() before any value was written");
  expect_misuse([](JsonWriter& w) { w.begin_array().begin_object(); },
                [](JsonWriter& w) { (void)w.take(); }, "take() with 2 container(s) still open");
}

TEST(JsonWriterMisuse, EmptyRaw) {
  expect_misuse([](JsonWriter& w) { w.begin_array(); }, [](JsonWriter& w) { w.raw(""); },
                "raw() with empty text");
}

TEST(JsonWriterMisuse, WriterStaysUsableAfterAMisuse) {
  JsonWriter w;
  w.begin_object();
  EXPECT_THROW(w.string("oops"), std::logic_error);
  EXPECT_THROW(w.end_array(), std::logic_error);
  w.key("a").string("ok").end_object();
  EXPECT_EQ(w.take(), R"({"a":"ok"})");
}

}  // namespace
}  // namespace cipherline::json
