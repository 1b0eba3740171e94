// Fuzz target: JsonWriter. The input is a program of writer calls (one
// opcode byte, then its operand bytes). A model of the JSON grammar predicts
// which calls are misuse: exactly those must throw std::logic_error, leaving
// the output unchanged. Once all containers are closed the output must be
// valid UTF-8 and parse with simdjson; every string must read back as
// written when it was valid UTF-8.
#include <simdjson.h>

#include <bit>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "cipherline/json/writer.hpp"

namespace {

using cipherline::json::JsonWriter;

struct Model {
  std::vector<bool> objects;  // open containers, true = object
  bool after_key = false;
  bool done = false;

  bool value_allowed() const {
    if (objects.empty()) return !done;
    return objects.back() ? after_key : true;
  }
  bool key_allowed() const { return !objects.empty() && objects.back() && !after_key; }
  bool end_allowed(bool object) const {
    return !objects.empty() && objects.back() == object && !after_key;
  }
  void value() {
    after_key = false;
    if (objects.empty()) done = true;
  }
};

class Program {
 public:
  Program(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  bool more() const { return pos_ < size_; }
  std::uint8_t byte() { return pos_ < size_ ? data_[pos_++] : 0; }
  std::string_view bytes(std::size_t n) {
    n = std::min(n, size_ - pos_);
    const std::string_view s(reinterpret_cast<const char*>(data_ + pos_), n);
    pos_ += n;
    return s;
  }
  std::uint64_t word() {
    std::uint64_t w = 0;
    const auto b = bytes(8);
    std::memcpy(&w, b.data(), b.size());
    return w;
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

// call runs `op` on the writer; it must throw std::logic_error exactly when
// `allowed` is false, and then leave the output as it was.
template <class Op>
bool call(JsonWriter& w, bool allowed, Op op) {
  const std::size_t before = w.out().size();
  try {
    op();
  } catch (const std::logic_error&) {
    if (allowed || w.out().size() != before) std::abort();
    return false;
  }
  if (!allowed) std::abort();
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Program program(data, size);
  JsonWriter w;
  Model m;
  std::vector<std::string> strings;  // valid UTF-8 strings written as values, in order
  while (program.more()) {
    const std::uint8_t op = program.byte();
    switch (op % 9) {
      case 0:
        if (m.objects.size() >= 500) break;
        if (call(w, m.value_allowed(), [&] { w.begin_object(); })) {
          m.after_key = false;
          m.objects.push_back(true);
        }
        break;
      case 1:
        if (m.objects.size() >= 500) break;
        if (call(w, m.value_allowed(), [&] { w.begin_array(); })) {
          m.after_key = false;
          m.objects.push_back(false);
        }
        break;
      case 2:
      case 3: {
        const bool object = op % 9 == 2;
        if (call(w, m.end_allowed(object), [&] {
              if (object) {
                w.end_object();
              } else {
                w.end_array();
              }
            })) {
          m.objects.pop_back();
          m.value();
        }
        break;
      }
      case 4: {
        const std::string_view s = program.bytes(program.byte() % 48);
        if (call(w, m.value_allowed(), [&] { w.string(s); })) {
          m.value();
          if (simdjson::validate_utf8(s.data(), s.size())) strings.emplace_back(s);
        }
        break;
      }
      case 5: {
        const std::string_view s = program.bytes(program.byte() % 16);
        if (call(w, m.key_allowed(), [&] { w.key(s); })) m.after_key = true;
        break;
      }
      case 6: {
        const auto v = static_cast<std::int64_t>(program.word());
        if (call(w, m.value_allowed(), [&] { w.number(v); })) m.value();
        break;
      }
      case 7: {
        const double v = std::bit_cast<double>(program.word());
        if (call(w, m.value_allowed(), [&] { w.number(v); })) m.value();
        break;
      }
      case 8: {
        const std::uint8_t kind = program.byte() % 4;
        if (call(w, m.value_allowed(), [&] {
              if (kind == 0) w.null();
              if (kind == 1) w.boolean(true);
              if (kind == 2) w.number(std::uint64_t{0xFFFFFFFFFFFFFFFF});
              if (kind == 3) w.raw(R"({"raw":[1,"x"]})");
            })) {
          m.value();
        }
        break;
      }
    }
  }
  // Finish the document.
  if (m.objects.empty() && !m.done) {
    w.null();
    m.value();
  }
  while (!m.objects.empty()) {
    if (m.after_key) {
      w.null();
      m.value();
    }
    if (m.objects.back()) {
      w.end_object();
    } else {
      w.end_array();
    }
    m.objects.pop_back();
    m.value();
  }
  if (!w.complete()) std::abort();
  const std::string json = w.take();
  if (!simdjson::validate_utf8(json)) std::abort();

  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(json).get(doc) != simdjson::SUCCESS) std::abort();

  // The valid strings come back in document order (between them may be
  // replaced invalid ones and the raw splice's "x").
  std::size_t next = 0;
  std::vector<simdjson::dom::element> stack = {doc};
  while (!stack.empty()) {
    const simdjson::dom::element e = stack.back();
    stack.pop_back();
    if (e.is_string()) {
      const std::string_view s = e.get_string().value_unsafe();
      if (next < strings.size() && s == strings[next]) ++next;
    } else if (e.is_array()) {
      const simdjson::dom::array array = e.get_array().value_unsafe();
      std::vector<simdjson::dom::element> children(array.begin(), array.end());
      for (auto it = children.rbegin(); it != children.rend(); ++it) stack.push_back(*it);
    } else if (e.is_object()) {
      const simdjson::dom::object object = e.get_object().value_unsafe();
      std::vector<simdjson::dom::element> children;
      for (const auto field : object) children.push_back(field.value);
      for (auto it = children.rbegin(); it != children.rend(); ++it) stack.push_back(*it);
    }
  }
  if (next != strings.size()) std::abort();
  return 0;
}
