#include "cipherline/backend/synthetic_model.hpp"

#include <simdjson.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "cipherline/backend/error_response.hpp"
#include "cipherline/backend/synthetic_audio.hpp"
#include "cipherline/backend/synthetic_unstructured.hpp"
#include "cipherline/crypto/base64.hpp"
#include "cipherline/crypto/sha256.hpp"
#include "cipherline/http/sse_writer.hpp"
#include "cipherline/json/writer.hpp"
#include "cipherline/protocol/error_body.hpp"
#include "cipherline/runtime/sleep.hpp"

namespace cipherline::backend {
namespace {

using simdjson::dom::element;

enum class Api { chat, completion, anthropic };

// Bounds on what a request may ask for (OpenAI's own limits where it has
// them).
constexpr std::int64_t kMaxChoices = 128;
constexpr std::int64_t kMaxTopLogprobs = 20;
constexpr std::int64_t kMaxLegacyLogprobs = 5;
constexpr std::int64_t kMaxDimensions = 4096;
constexpr int kMaxSchemaDepth = 16;
// JSON content and tool arguments stream in pieces of about this many bytes.
constexpr std::size_t kPieceBytes = 8;
// What one answer may build from schemas, in all (a schema may ask for the
// text many times over, or nest itself); beyond it values are null.
constexpr std::size_t kMaxBuiltJson = 4 << 20;
// What n choices may echo, in all.
constexpr std::size_t kMaxEchoBytes = 64 << 20;
constexpr std::size_t kMaxTools = 128;

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

// The tokens of a text: each word with the whitespace after it, whitespace
// before the first word going with it, so that the tokens join to the text
// (a text without a word has none).
std::vector<std::string> tokens_of(std::string_view text) {
  std::vector<std::size_t> starts;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (!is_space(text[i]) && (i == 0 || is_space(text[i - 1]))) starts.push_back(i);
  }
  std::vector<std::string> out;
  for (std::size_t w = 0; w < starts.size(); ++w) {
    const std::size_t begin = w == 0 ? 0 : starts[w];
    const std::size_t end = w + 1 < starts.size() ? starts[w + 1] : text.size();
    out.emplace_back(text.substr(begin, end - begin));
  }
  return out;
}

std::size_t count_words(std::string_view text) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    n += !is_space(text[i]) && (i == 0 || is_space(text[i - 1])) ? 1 : 0;
  }
  return n;
}

// pieces_of splits text into pieces of about kPieceBytes, never inside a
// UTF-8 sequence (a cut one would not survive as a JSON string).
std::vector<std::string> pieces_of(std::string_view text) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (at < text.size()) {
    std::size_t end = std::min(at + kPieceBytes, text.size());
    while (end < text.size() && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) ++end;
    out.emplace_back(text.substr(at, end - at));
    at = end;
  }
  return out;
}

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += p;
  return out;
}

// The text of a message's content: a string, or the text parts of an array.
std::string content_text(element content) {
  std::string_view s;
  if (content.get(s) == simdjson::SUCCESS) return std::string(s);
  std::string out;
  simdjson::dom::array parts;
  if (content.get(parts) != simdjson::SUCCESS) return out;
  for (element part : parts) {
    std::string_view text;
    if (part["text"].get(text) == simdjson::SUCCESS)
      out += (out.empty() ? "" : " ") + std::string(text);
  }
  return out;
}

// field: the member `key` of `object`, or nullopt when it is absent or null
// (SDKs send null for options left unset).
std::optional<element> field(element object, std::string_view key) {
  element e;
  if (object[key].get(e) != simdjson::SUCCESS || e.is_null()) return std::nullopt;
  return e;
}

struct Tool {
  std::string name;
  std::optional<element> schema;  // parameters / input_schema
};

enum class ToolMode { none, automatic, required, named };

// What a request asks for, read and checked.
struct Request {
  std::string reply;  // what is echoed: the last user message, or the prompt
  std::size_t prompt_tokens = 0;
  bool stream = false;
  bool include_usage = false;
  std::size_t n = 1;
  std::vector<Tool> tools;
  ToolMode tool_mode = ToolMode::none;
  std::string named_tool;
  bool parallel_tool_calls = true;
  bool json = false;                   // response_format json_object or json_schema
  std::optional<element> json_schema;  // json_schema's schema
  bool logprobs = false;
  std::size_t top_logprobs = 0;
  std::string reasoning_effort;    // set and not "none": the answer reasons first
  bool after_tool_result = false;  // the last message gives a tool's result
};

// is_tool_result: an OpenAI "tool" message, or an Anthropic message with a
// tool_result block.
bool is_tool_result(element message) {
  std::string_view s;
  if (message["role"].get(s) == simdjson::SUCCESS && s == "tool") return true;
  simdjson::dom::array blocks;
  if (message["content"].get(blocks) != simdjson::SUCCESS) return false;
  for (element block : blocks) {
    if (block["type"].get(s) == simdjson::SUCCESS && s == "tool_result") return true;
  }
  return false;
}

using ParseResult = Result<Request, std::string>;

std::optional<std::string> check_echo_size(const Request& r) {
  // What the answer holds: n copies of the reply and, with logprobs, per
  // token (top_logprobs + 1) entries of about three times its bytes (text,
  // byte values) and 64 bytes of keys and numbers.
  std::size_t total = r.n * (r.reply.size() + 8);
  if (r.logprobs) {
    total += r.n * (r.top_logprobs + 1) * (3 * r.reply.size() + 64 * count_words(r.reply));
  }
  if (total > kMaxEchoBytes) {
    return "\"n\": " + std::to_string(r.n) + " choices of a " + std::to_string(r.reply.size()) +
           "-byte message" + (r.logprobs ? " with logprobs" : "") + " exceed " +
           std::to_string(kMaxEchoBytes >> 20) + " MiB";
  }
  return std::nullopt;
}

Result<std::size_t, std::string> bounded_integer(element root, std::string_view key,
                                                 std::int64_t low, std::int64_t high,
                                                 std::size_t fallback) {
  const auto e = field(root, key);
  if (!e) return fallback;
  std::int64_t v = 0;
  if (e->get(v) != simdjson::SUCCESS || v < low || v > high) {
    return "\"" + std::string(key) + "\" must be an integer from " + std::to_string(low) + " to " +
           std::to_string(high);
  }
  return static_cast<std::size_t>(v);
}

Result<bool, std::string> optional_bool(element root, std::string_view key, bool fallback) {
  const auto e = field(root, key);
  if (!e) return fallback;
  bool v = false;
  if (e->get(v) != simdjson::SUCCESS) return "\"" + std::string(key) + "\" must be a boolean";
  return v;
}

// read_tools reads OpenAI's tools ([{"type":"function","function":{"name",
// "parameters"}}]) or Anthropic's ([{"name","input_schema"}]).
Result<std::vector<Tool>, std::string> read_tools(element root, Api api) {
  std::vector<Tool> tools;
  const auto e = field(root, "tools");
  if (!e) return tools;
  simdjson::dom::array list;
  if (e->get(list) != simdjson::SUCCESS || list.size() > kMaxTools) {
    return "\"tools\" must be an array of at most " + std::to_string(kMaxTools) + " tools";
  }
  std::size_t i = 0;
  for (element t : list) {
    const std::string at = "\"tools[" + std::to_string(i++) + "]";
    Tool tool;
    std::string_view name;
    if (api == Api::anthropic) {
      if (t["name"].get(name) != simdjson::SUCCESS || name.empty()) {
        return at + ".name\" must be a non-empty string";
      }
      tool.schema = field(t, "input_schema");
    } else {
      std::string_view type;
      if (t["type"].get(type) != simdjson::SUCCESS || type != "function") {
        return at + ".type\" must be \"function\"";
      }
      if (t["function"]["name"].get(name) != simdjson::SUCCESS || name.empty()) {
        return at + ".function.name\" must be a non-empty string";
      }
      tool.schema = field(t["function"].value_unsafe(), "parameters");
    }
    tool.name = name;
    tools.push_back(std::move(tool));
  }
  return tools;
}

std::optional<std::string> check_tool_name(const Request& r, std::string_view key) {
  for (const auto& t : r.tools) {
    if (t.name == r.named_tool) return std::nullopt;
  }
  return "\"" + std::string(key) + "\" names no tool in \"tools\": \"" + r.named_tool + "\"";
}

// read_tool_choice: OpenAI's "none" | "auto" | "required" |
// {"type":"function","function":{"name"}}, or Anthropic's {"type": "auto" |
// "any" | "tool" | "none", "name", "disable_parallel_tool_use"}.
std::optional<std::string> read_tool_choice(element root, Api api, Request& r) {
  const auto choice = field(root, "tool_choice");
  if (!r.tools.empty()) r.tool_mode = ToolMode::automatic;
  if (!choice) return std::nullopt;
  if (r.tools.empty()) return std::string("\"tool_choice\" needs \"tools\"");
  std::string_view s;
  if (api == Api::anthropic) {
    if ((*choice)["type"].get(s) != simdjson::SUCCESS) {
      return std::string("\"tool_choice.type\" must be \"auto\", \"any\", \"tool\" or \"none\"");
    }
    if (auto p = optional_bool(*choice, "disable_parallel_tool_use", false); !p) {
      return "\"tool_choice." + p.error().substr(1);
    } else {
      r.parallel_tool_calls = !*p;
    }
    if (s == "auto") {
      r.tool_mode = ToolMode::automatic;
    } else if (s == "any") {
      r.tool_mode = ToolMode::required;
    } else if (s == "none") {
      r.tool_mode = ToolMode::none;
    } else if (s == "tool") {
      if ((*choice)["name"].get(s) != simdjson::SUCCESS) {
        return std::string("\"tool_choice.name\" must be a string");
      }
      r.tool_mode = ToolMode::named;
      r.named_tool = s;
      return check_tool_name(r, "tool_choice.name");
    } else {
      return std::string("\"tool_choice.type\" must be \"auto\", \"any\", \"tool\" or \"none\"");
    }
    return std::nullopt;
  }
  if (choice->get(s) == simdjson::SUCCESS) {
    if (s == "none") {
      r.tool_mode = ToolMode::none;
    } else if (s == "auto") {
      r.tool_mode = ToolMode::automatic;
    } else if (s == "required") {
      r.tool_mode = ToolMode::required;
    } else {
      return std::string(
          "\"tool_choice\" must be \"none\", \"auto\", \"required\" or "
          "{\"type\":\"function\",\"function\":{\"name\":…}}");
    }
    return std::nullopt;
  }
  std::string_view type;
  if ((*choice)["type"].get(type) != simdjson::SUCCESS || type != "function") {
    return std::string("\"tool_choice.type\" must be \"function\"");
  }
  if ((*choice)["function"]["name"].get(s) != simdjson::SUCCESS) {
    return std::string("\"tool_choice.function.name\" must be a string");
  }
  r.tool_mode = ToolMode::named;
  r.named_tool = s;
  return check_tool_name(r, "tool_choice.function.name");
}

std::optional<std::string> read_response_format(element root, Request& r) {
  const auto format = field(root, "response_format");
  if (!format) return std::nullopt;
  std::string_view type;
  if ((*format)["type"].get(type) != simdjson::SUCCESS ||
      (type != "text" && type != "json_object" && type != "json_schema")) {
    return std::string(
        "\"response_format.type\" must be \"text\", \"json_object\" or \"json_schema\"");
  }
  r.json = type != "text";
  if (type != "json_schema") return std::nullopt;
  simdjson::dom::object spec;
  std::string_view name;
  if ((*format)["json_schema"].get(spec) != simdjson::SUCCESS ||
      spec["name"].get(name) != simdjson::SUCCESS) {
    return std::string("\"response_format.json_schema\" must be an object with a \"name\"");
  }
  element schema;
  if (spec["schema"].get(schema) == simdjson::SUCCESS && !schema.is_null()) {
    if (!schema.is_object()) {
      return std::string("\"response_format.json_schema.schema\" must be an object");
    }
    r.json_schema = schema;
  }
  return std::nullopt;
}

ParseResult read_request(element root, Api api) {
  std::string_view model;
  if (root["model"].get(model) != simdjson::SUCCESS) return std::string("missing \"model\"");
  if (model != SyntheticModel::kName) {
    return "unknown model \"" + std::string(model) + "\" (this backend serves \"synthetic\")";
  }
  Request r;
  if (auto v = optional_bool(root, "stream", false); !v) {
    return v.error();
  } else {
    r.stream = *v;
  }
  bool include_usage = false;
  if (root["stream_options"]["include_usage"].get(include_usage) == simdjson::SUCCESS) {
    r.include_usage = include_usage;
  }
  if (api != Api::anthropic) {
    auto n = bounded_integer(root, "n", 1, kMaxChoices, 1);
    if (!n) return n.error();
    r.n = *n;
  }
  if (api == Api::completion) {
    std::string_view prompt;
    simdjson::dom::array prompts;
    if (root["prompt"].get(prompt) == simdjson::SUCCESS) {
      r.reply = std::string(prompt);
    } else if (root["prompt"].get(prompts) == simdjson::SUCCESS && prompts.size() > 0) {
      for (element e : prompts) {
        std::string_view s;
        if (e.get(s) == simdjson::SUCCESS) r.reply = std::string(s);
      }
    } else {
      return std::string("missing \"prompt\"");
    }
    r.prompt_tokens = count_words(r.reply);
    // Legacy logprobs: how many alternatives per token (0-5), or none.
    auto top = bounded_integer(root, "logprobs", 0, kMaxLegacyLogprobs, 0);
    if (!top) return top.error();
    r.logprobs = field(root, "logprobs").has_value();
    r.top_logprobs = *top;
    if (auto e = check_echo_size(r)) return *e;
    return r;
  }

  auto tools = read_tools(root, api);
  if (!tools) return tools.error();
  r.tools = std::move(*tools);
  if (auto e = read_tool_choice(root, api, r)) return *e;
  if (api == Api::chat) {
    if (auto p = optional_bool(root, "parallel_tool_calls", true); !p) {
      return p.error();
    } else {
      r.parallel_tool_calls = *p;
    }
    if (auto e = read_response_format(root, r)) return *e;
    if (auto v = optional_bool(root, "logprobs", false); !v) {
      return v.error();
    } else {
      r.logprobs = *v;
    }
    auto top = bounded_integer(root, "top_logprobs", 0, kMaxTopLogprobs, 0);
    if (!top) return top.error();
    if (*top > 0 && !r.logprobs) return std::string("\"top_logprobs\" needs \"logprobs\": true");
    r.top_logprobs = *top;
    if (const auto effort = field(root, "reasoning_effort")) {
      std::string_view s;
      if (effort->get(s) != simdjson::SUCCESS ||
          (s != "none" && s != "minimal" && s != "low" && s != "medium" && s != "high")) {
        return std::string(
            "\"reasoning_effort\" must be \"none\", \"minimal\", \"low\", \"medium\" or "
            "\"high\"");
      }
      if (s != "none") r.reasoning_effort = s;
    }
  }

  simdjson::dom::array messages;
  if (root["messages"].get(messages) != simdjson::SUCCESS || messages.size() == 0) {
    return std::string("\"messages\" must be a non-empty array");
  }
  // The reply is the last user message with text (an Anthropic user
  // message of tool_result blocks has none).
  bool found = false;
  for (element m : messages) {
    const std::string text = content_text(m["content"]);
    r.prompt_tokens += count_words(text);
    std::string_view role;
    if (m["role"].get(role) == simdjson::SUCCESS && role == "user" &&
        (!found || count_words(text) > 0)) {
      r.reply = text;
      found = true;
    }
  }
  if (!found) return std::string("no message has the role \"user\"");
  if (auto e = check_echo_size(r)) return *e;
  r.after_tool_result = is_tool_result(messages.at(messages.size() - 1).value_unsafe());
  return r;
}

// --- JSON built to a schema -------------------------------------------------

// What schema-built values are made of: a choice's text and its word count.
struct Filling {
  std::string_view text;
  std::size_t words = 0;
  std::string_view default_key;  // of an object with no properties
  element root;                  // the schema's root, for "$ref": "#/…"
  std::size_t limit = 0;         // bytes the built JSON may take
};

// room: whether `more` bytes still fit the filling's limit.
bool room(const json::JsonWriter& w, const Filling& f, std::size_t more) {
  return w.out().size() + more <= f.limit;
}

void write_text(json::JsonWriter& w, const Filling& f) {
  if (room(w, f, f.text.size() + 2)) {
    w.string(f.text);
  } else {
    w.null();
  }
}

void write_for_schema(json::JsonWriter& w, element schema, const Filling& f, int depth);

// write_object writes every property of an object schema (none: the
// filling's text under its default key, unless additionalProperties is
// false).
void write_object(json::JsonWriter& w, std::optional<simdjson::dom::object> schema,
                  const Filling& f, int depth) {
  w.begin_object();
  simdjson::dom::object properties;
  bool additional = true;
  if (!schema) {
    w.key(f.default_key);
    write_text(w, f);
  } else if ((*schema)["properties"].get(properties) == simdjson::SUCCESS &&
             properties.size() > 0) {
    for (const auto member : properties) {
      if (!room(w, f, member.key.size() + 8)) break;
      w.key(member.key);
      write_for_schema(w, member.value, f, depth + 1);
    }
  } else if ((*schema)["additionalProperties"].get(additional) != simdjson::SUCCESS || additional) {
    w.key(f.default_key);
    write_text(w, f);
  }
  w.end_object();
}

// write_for_schema writes a value `schema` accepts, made of the filling:
// strings are the text, numbers its word count, booleans true, enums and
// consts their first value, arrays one item, objects every property.
void write_for_schema(json::JsonWriter& w, element schema, const Filling& f, int depth) {
  simdjson::dom::object s;
  if (!room(w, f, 8)) {
    w.null();
    return;
  }
  if (depth > kMaxSchemaDepth || schema.get(s) != simdjson::SUCCESS) {
    write_text(w, f);
    return;
  }
  std::string_view ref;
  if (s["$ref"].get(ref) == simdjson::SUCCESS && ref.starts_with("#")) {
    element target;
    if (f.root.at_pointer(ref.substr(1)).get(target) == simdjson::SUCCESS) {
      write_for_schema(w, target, f, depth + 1);
    } else {
      write_text(w, f);
    }
    return;
  }
  element e;
  simdjson::dom::array list;
  if (s["const"].get(e) == simdjson::SUCCESS ||
      (s["enum"].get(list) == simdjson::SUCCESS && list.size() > 0 &&
       list.at(0).get(e) == simdjson::SUCCESS)) {
    const std::string value = simdjson::minify(e);
    if (room(w, f, value.size())) {
      w.raw(value);
    } else {
      w.null();
    }
    return;
  }
  for (const char* key : {"anyOf", "oneOf", "allOf"}) {
    if (s[key].get(list) != simdjson::SUCCESS || list.size() == 0) continue;
    // The first alternative that is not just null.
    element pick = list.at(0).value_unsafe();
    for (element alt : list) {
      std::string_view t;
      if (alt["type"].get(t) != simdjson::SUCCESS || t != "null") {
        pick = alt;
        break;
      }
    }
    write_for_schema(w, pick, f, depth + 1);
    return;
  }
  std::string_view type;
  if (s["type"].get(type) != simdjson::SUCCESS && s["type"].get(list) == simdjson::SUCCESS) {
    for (element t : list) {
      std::string_view name;
      if (t.get(name) == simdjson::SUCCESS && name != "null") {
        type = name;
        break;
      }
    }
  }
  if (type.empty()) {
    type = s["properties"].error() == simdjson::SUCCESS ? "object"
           : s["items"].error() == simdjson::SUCCESS    ? "array"
                                                        : "string";
  }
  if (type == "object") {
    write_object(w, s, f, depth);
  } else if (type == "array") {
    w.begin_array();
    element items;
    if (s["items"].get(items) == simdjson::SUCCESS) {
      write_for_schema(w, items, f, depth + 1);
    } else {
      write_text(w, f);
    }
    w.end_array();
  } else if (type == "integer" || type == "number") {
    w.number(static_cast<std::uint64_t>(f.words));
  } else if (type == "boolean") {
    w.boolean(true);
  } else if (type == "null") {
    w.null();
  } else {
    write_text(w, f);
  }
}

// json_text: a JSON object made of the filling, to `schema` if there is one
// and it makes an object (else the filling under its default key); what it
// takes is counted off `budget`.
std::string json_text(std::optional<element> schema, Filling f, std::size_t& budget) {
  std::string out;
  f.limit = budget;
  if (schema) {
    f.root = *schema;
    json::JsonWriter w(out);
    write_for_schema(w, *schema, f, 0);
  }
  if (out.empty() || out.front() != '{') {
    out.clear();
    json::JsonWriter w(out);
    write_object(w, std::nullopt, f, 0);
  }
  budget -= std::min(budget, out.size());
  return out;
}

// --- The answer ---------------------------------------------------------------

struct ToolCall {
  std::string id, name, arguments;
  std::vector<std::string> pieces;  // of the arguments, as streamed
};

// One choice of the answer: what it says, in tokens as streamed.
struct Choice {
  std::vector<std::string> reasoning;
  std::vector<std::string> content;
  std::vector<ToolCall> calls;

  std::size_t tokens() const {
    std::size_t n = reasoning.size() + content.size();
    for (const auto& c : calls) n += c.pieces.size();
    return n;
  }
};

struct Answer {
  std::vector<Choice> choices;
  std::size_t completion_tokens = 0;
  std::size_t reasoning_tokens = 0;
};

// choice_text: choice 0 echoes the reply; choice k > 0 adds " [k]", so that
// the choices of one answer differ.
std::string choice_text(const Request& r, std::size_t k) {
  return k == 0 ? r.reply : r.reply + " [" + std::to_string(k) + "]";
}

// called_tools: which tools the answer calls. A named tool_choice calls that
// tool; "auto" calls every tool whose name the reply mentions (none: a text
// answer), and none once the last message is a tool's result, so that an
// SDK's tool runner comes to an end; "required" / "any" call the mentioned
// tools, or the first tool when none is mentioned. Without parallel tool
// calls, only the first of them.
std::vector<const Tool*> called_tools(const Request& r) {
  std::vector<const Tool*> out;
  if (r.tool_mode == ToolMode::automatic && r.after_tool_result) return out;
  for (const auto& t : r.tools) {
    const bool call = r.tool_mode == ToolMode::named  ? t.name == r.named_tool
                      : r.tool_mode == ToolMode::none ? false
                                                      : r.reply.find(t.name) != std::string::npos;
    if (call) out.push_back(&t);
  }
  if (out.empty() && r.tool_mode == ToolMode::required) out.push_back(&r.tools.front());
  if (!r.parallel_tool_calls && out.size() > 1) out.resize(1);
  return out;
}

Answer plan(const Request& r, Api api) {
  Answer a;
  const auto tools = called_tools(r);
  std::size_t budget = kMaxBuiltJson;
  for (std::size_t k = 0; k < r.n; ++k) {
    Choice c;
    const std::string text = choice_text(r, k);
    const Filling filling{.text = text, .words = count_words(text), .default_key = "reply"};
    if (!r.reasoning_effort.empty()) {
      c.reasoning =
          tokens_of("The answer echoes the " + std::to_string(filling.words) +
                    " words of the last user message (" + r.reasoning_effort + " effort).");
    }
    for (std::size_t j = 0; j < tools.size(); ++j) {
      ToolCall call;
      call.id = (api == Api::anthropic ? "toolu_synthetic_" : "call_synthetic_") +
                std::to_string(k) + "_" + std::to_string(j);
      call.name = tools[j]->name;
      Filling args = filling;
      args.default_key = "input";
      call.arguments = json_text(tools[j]->schema, args, budget);
      call.pieces = pieces_of(call.arguments);
      c.calls.push_back(std::move(call));
    }
    if (c.calls.empty()) {
      c.content = r.json ? pieces_of(json_text(r.json_schema, filling, budget)) : tokens_of(text);
    }
    a.completion_tokens += c.tokens();
    a.reasoning_tokens += c.reasoning.size();
    a.choices.push_back(std::move(c));
  }
  return a;
}

// --- Logprobs -------------------------------------------------------------------

constexpr std::string_view kAlternatives[] = {"the", "a",    "and", "of",  "to",   "in",   "is",
                                              "it",  "that", "on",  "for", "as",   "at",   "by",
                                              "an",  "be",   "or",  "if",  "from", "with", "this"};

// A deterministic logprob in (-4, 0] for a token at a position.
double logprob_of(std::string_view token, std::size_t position) {
  std::uint64_t h = 14695981039346656037ull;  // FNV-1a
  for (const char c : token) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  h = (h ^ position) * 1099511628211ull;
  return -static_cast<double>(h % 4000) / 1000.0;
}

void write_token(json::JsonWriter& w, std::string_view token, double logprob) {
  w.key("token").string(token).key("logprob").number(logprob).key("bytes").begin_array();
  for (const char c : token) w.number(static_cast<int>(static_cast<unsigned char>(c)));
  w.end_array();
}

// A logprobs.content entry: the token with its logprob and bytes, and
// `top` top_logprobs (the token itself first, then alternatives, each less
// likely than the one before).
void write_logprob(json::JsonWriter& w, std::string_view token, std::size_t position,
                   std::size_t top) {
  const double lp = logprob_of(token, position);
  w.begin_object();
  write_token(w, token, lp);
  w.key("top_logprobs").begin_array();
  std::size_t written = 0;
  for (std::size_t alt = 0; written < top; ++alt) {
    const std::string_view t = alt == 0 ? token : kAlternatives[alt - 1];
    if (alt > 0 && t == token) continue;
    w.begin_object();
    write_token(w, t, lp - static_cast<double>(written));
    w.end_object();
    ++written;
  }
  w.end_array().end_object();
}

// Legacy completions' logprobs for tokens [begin, end) of a choice:
// {tokens, token_logprobs, top_logprobs (token → logprob), text_offset}.
void write_legacy_logprobs(json::JsonWriter& w, const std::vector<std::string>& tokens,
                           std::size_t begin, std::size_t end, std::size_t top) {
  std::size_t offset = 0;
  for (std::size_t i = 0; i < begin; ++i) offset += tokens[i].size();
  w.begin_object().key("tokens").begin_array();
  for (std::size_t i = begin; i < end; ++i) w.string(tokens[i]);
  w.end_array().key("token_logprobs").begin_array();
  for (std::size_t i = begin; i < end; ++i) w.number(logprob_of(tokens[i], i));
  w.end_array().key("top_logprobs").begin_array();
  for (std::size_t i = begin; i < end; ++i) {
    const double lp = logprob_of(tokens[i], i);
    w.begin_object();
    std::size_t written = 0;
    for (std::size_t alt = 0; written < top; ++alt) {
      const std::string_view t = alt == 0 ? std::string_view(tokens[i]) : kAlternatives[alt - 1];
      if (alt > 0 && t == tokens[i]) continue;
      w.key(t).number(lp - static_cast<double>(written));
      ++written;
    }
    w.end_object();
  }
  w.end_array().key("text_offset").begin_array();
  for (std::size_t i = begin; i < end; ++i) {
    w.number(offset);
    offset += tokens[i].size();
  }
  w.end_array().end_object();
}

// --- OpenAI shapes ----------------------------------------------------------------

void usage(json::JsonWriter& w, Api api, const Request& r, const Answer& a) {
  w.key("usage").begin_object();
  if (api == Api::anthropic) {
    w.key("input_tokens").number(r.prompt_tokens);
    w.key("cache_creation_input_tokens").number(0).key("cache_read_input_tokens").number(0);
    w.key("output_tokens").number(a.completion_tokens);
  } else {
    w.key("prompt_tokens")
        .number(r.prompt_tokens)
        .key("completion_tokens")
        .number(a.completion_tokens)
        .key("total_tokens")
        .number(r.prompt_tokens + a.completion_tokens);
    if (a.reasoning_tokens > 0) {
      w.key("completion_tokens_details")
          .begin_object()
          .key("reasoning_tokens")
          .number(a.reasoning_tokens)
          .end_object();
    }
  }
  w.end_object();
}

void openai_head(json::JsonWriter& w, Api api, bool chunk, std::int64_t created) {
  w.key("id").string(api == Api::chat ? "chatcmpl-synthetic" : "cmpl-synthetic");
  w.key("object").string(api == Api::completion ? "text_completion"
                         : chunk                ? "chat.completion.chunk"
                                                : "chat.completion");
  w.key("created").number(created).key("model").string(SyntheticModel::kName);
}

std::string_view finish_reason(const Choice& c, Api api) {
  if (!c.calls.empty()) return api == Api::anthropic ? "tool_use" : "tool_calls";
  return api == Api::anthropic ? "end_turn" : "stop";
}

std::string whole_openai(Api api, const Request& r, const Answer& a, std::int64_t created) {
  std::string out;
  json::JsonWriter w(out);
  w.begin_object();
  openai_head(w, api, false, created);
  w.key("choices").begin_array();
  for (std::size_t k = 0; k < a.choices.size(); ++k) {
    const Choice& c = a.choices[k];
    w.begin_object().key("index").number(k);
    if (api == Api::completion) {
      w.key("text").string(join(c.content));
    } else {
      w.key("message").begin_object().key("role").string("assistant").key("content");
      if (c.calls.empty()) {
        w.string(join(c.content));
      } else {
        w.null();
      }
      if (!c.reasoning.empty()) {
        const std::string reasoning = join(c.reasoning);
        w.key("reasoning_content").string(reasoning).key("reasoning").string(reasoning);
      }
      if (!c.calls.empty()) {
        w.key("tool_calls").begin_array();
        for (const auto& call : c.calls) {
          w.begin_object().key("id").string(call.id).key("type").string("function");
          w.key("function").begin_object().key("name").string(call.name);
          w.key("arguments").string(call.arguments).end_object().end_object();
        }
        w.end_array();
      }
      w.end_object();
    }
    w.key("logprobs");
    if (r.logprobs && api == Api::completion) {
      write_legacy_logprobs(w, c.content, 0, c.content.size(), r.top_logprobs);
    } else if (r.logprobs) {
      w.begin_object().key("content");
      if (c.calls.empty()) {
        w.begin_array();
        for (std::size_t i = 0; i < c.content.size(); ++i) {
          write_logprob(w, c.content[i], i, r.top_logprobs);
        }
        w.end_array();
      } else {
        w.null();
      }
      w.key("refusal").null().end_object();
    } else {
      w.null();
    }
    w.key("finish_reason").string(finish_reason(c, api)).end_object();
  }
  w.end_array();
  usage(w, api, r, a);
  w.end_object();
  return out;
}

// One streamed step of a choice: a reasoning or content token, the start of
// a tool call or a piece of its arguments, or the end.
struct Step {
  enum class Kind : std::uint8_t { open, reasoning, content, call_start, call_piece, finish };
  Kind kind;
  std::uint32_t item = 0;  // token or tool call
  std::uint32_t piece = 0;
};

// steps_of: the steps of a choice's stream. With chat logprobs the choice
// opens with a chunk of its role alone, as OpenAI's streams do: the OpenAI
// Node SDK's stream helper counts the logprobs of a choice's first chunk
// twice.
std::vector<Step> steps_of(const Choice& c, bool open) {
  std::vector<Step> out;
  using K = Step::Kind;
  if (open) out.push_back({K::open});
  for (std::uint32_t i = 0; i < c.reasoning.size(); ++i) out.push_back({K::reasoning, i});
  for (std::uint32_t i = 0; i < c.content.size(); ++i) out.push_back({K::content, i});
  for (std::uint32_t j = 0; j < c.calls.size(); ++j) {
    out.push_back({K::call_start, j});
    for (std::uint32_t p = 0; p < c.calls[j].pieces.size(); ++p) {
      out.push_back({K::call_piece, j, p});
    }
  }
  out.push_back({K::finish});
  return out;
}

// openai_chunk writes one chunk: step `s` of choice `k` (`first`: the
// choice's first chunk, which carries the role).
void openai_chunk(std::string& out, Api api, const Request& r, const Choice& c, std::size_t k,
                  Step s, bool first, std::int64_t created) {
  out.clear();
  json::JsonWriter w(out);
  w.begin_object();
  openai_head(w, api, true, created);
  w.key("choices").begin_array().begin_object().key("index").number(k);
  using K = Step::Kind;
  if (api == Api::completion) {
    w.key("text").string(s.kind == K::content ? std::string_view(c.content[s.item]) : "");
  } else {
    w.key("delta").begin_object();
    if (first) w.key("role").string("assistant");
    if (s.kind == K::open) {
      w.key("content").string("");
    } else if (s.kind == K::reasoning) {
      w.key("reasoning_content").string(c.reasoning[s.item]);
      w.key("reasoning").string(c.reasoning[s.item]);
    } else if (s.kind == K::content) {
      w.key("content").string(c.content[s.item]);
    } else if (s.kind == K::call_start || s.kind == K::call_piece) {
      const ToolCall& call = c.calls[s.item];
      if (first) w.key("content").null();
      w.key("tool_calls").begin_array().begin_object().key("index").number(s.item);
      if (s.kind == K::call_start) {
        w.key("id").string(call.id).key("type").string("function");
        w.key("function").begin_object().key("name").string(call.name);
        w.key("arguments").string("").end_object();
      } else {
        w.key("function").begin_object().key("arguments").string(call.pieces[s.piece]);
        w.end_object();
      }
      w.end_object().end_array();
    }
    w.end_object();
  }
  w.key("logprobs");
  if (r.logprobs && api == Api::completion && s.kind == K::content) {
    write_legacy_logprobs(w, c.content, s.item, s.item + 1, r.top_logprobs);
  } else if (r.logprobs && (s.kind == K::content || s.kind == K::open)) {
    w.begin_object().key("content").begin_array();
    if (s.kind == K::content) write_logprob(w, c.content[s.item], s.item, r.top_logprobs);
    w.end_array().key("refusal").null().end_object();
  } else {
    w.null();
  }
  w.key("finish_reason");
  if (s.kind == K::finish) {
    w.string(finish_reason(c, api));
  } else {
    w.null();
  }
  w.end_object().end_array().end_object();
}

// --- Anthropic shapes ---------------------------------------------------------------

std::string whole_anthropic(const Request& r, const Answer& a) {
  const Choice& c = a.choices.front();
  std::string out;
  json::JsonWriter w(out);
  w.begin_object().key("id").string("msg_synthetic").key("type").string("message");
  w.key("role").string("assistant").key("model").string(SyntheticModel::kName);
  w.key("content").begin_array();
  if (c.calls.empty()) {
    w.begin_object().key("type").string("text").key("text").string(join(c.content)).end_object();
  }
  for (const auto& call : c.calls) {
    w.begin_object().key("type").string("tool_use").key("id").string(call.id);
    w.key("name").string(call.name).key("input").raw(call.arguments).end_object();
  }
  w.end_array();
  w.key("stop_reason").string(finish_reason(c, Api::anthropic)).key("stop_sequence").null();
  usage(w, Api::anthropic, r, a);
  w.end_object();
  return out;
}

// The events of an Anthropic stream, in order.
struct AnthropicEvent {
  enum class Kind : std::uint8_t {
    message_start,
    block_start,
    text_delta,
    json_delta,
    block_stop,
    message_delta,
    message_stop
  };
  Kind kind;
  std::uint32_t block = 0;
  std::uint32_t piece = 0;
};

std::vector<AnthropicEvent> anthropic_events(const Choice& c) {
  using K = AnthropicEvent::Kind;
  std::vector<AnthropicEvent> out{{K::message_start}};
  if (c.calls.empty()) {
    out.push_back({K::block_start});
    for (std::uint32_t i = 0; i < c.content.size(); ++i) out.push_back({K::text_delta, 0, i});
    out.push_back({K::block_stop});
  }
  for (std::uint32_t j = 0; j < c.calls.size(); ++j) {
    out.push_back({K::block_start, j});
    for (std::uint32_t p = 0; p < c.calls[j].pieces.size(); ++p) {
      out.push_back({K::json_delta, j, p});
    }
    out.push_back({K::block_stop, j});
  }
  out.push_back({K::message_delta});
  out.push_back({K::message_stop});
  return out;
}

std::string_view anthropic_type(AnthropicEvent::Kind kind) {
  using K = AnthropicEvent::Kind;
  switch (kind) {
    case K::message_start:
      return "message_start";
    case K::block_start:
      return "content_block_start";
    case K::text_delta:
    case K::json_delta:
      return "content_block_delta";
    case K::block_stop:
      return "content_block_stop";
    case K::message_delta:
      return "message_delta";
    case K::message_stop:
      return "message_stop";
  }
  return {};
}

void anthropic_event(std::string& out, const Request& r, const Answer& a, AnthropicEvent e) {
  using K = AnthropicEvent::Kind;
  const Choice& c = a.choices.front();
  out.clear();
  json::JsonWriter w(out);
  w.begin_object().key("type").string(anthropic_type(e.kind));
  switch (e.kind) {
    case K::message_start:
      w.key("message").begin_object().key("id").string("msg_synthetic");
      w.key("type").string("message").key("role").string("assistant");
      w.key("model").string(SyntheticModel::kName).key("content").begin_array().end_array();
      w.key("stop_reason").null().key("stop_sequence").null();
      usage(w, Api::anthropic, r, Answer{});
      w.end_object();
      break;
    case K::block_start:
      w.key("index").number(e.block).key("content_block").begin_object();
      if (c.calls.empty()) {
        w.key("type").string("text").key("text").string("");
      } else {
        const ToolCall& call = c.calls[e.block];
        w.key("type").string("tool_use").key("id").string(call.id).key("name").string(call.name);
        w.key("input").begin_object().end_object();
      }
      w.end_object();
      break;
    case K::text_delta:
      w.key("index").number(0).key("delta").begin_object().key("type").string("text_delta");
      w.key("text").string(c.content[e.piece]).end_object();
      break;
    case K::json_delta:
      w.key("index").number(e.block).key("delta").begin_object();
      w.key("type").string("input_json_delta");
      w.key("partial_json").string(c.calls[e.block].pieces[e.piece]).end_object();
      break;
    case K::block_stop:
      w.key("index").number(e.block);
      break;
    case K::message_delta:
      w.key("delta").begin_object().key("stop_reason").string(finish_reason(c, Api::anthropic));
      w.key("stop_sequence").null().end_object();
      w.key("usage").begin_object().key("input_tokens").number(r.prompt_tokens);
      w.key("output_tokens").number(a.completion_tokens).end_object();
      break;
    case K::message_stop:
      break;
  }
  w.end_object();
}

// --- Embeddings ---------------------------------------------------------------------

// The embedding of `input`: `dimensions` values in [-1, 1], each exactly a
// float32 ((2b - 255) / 256 for a byte b of SHA-256 of the input, re-hashed
// every 32 values), so that the float and base64 encodings agree exactly,
// and value d does not depend on how many follow it.
std::vector<float> embedding_of(std::string_view input, std::size_t dimensions) {
  std::vector<float> out;
  out.reserve(dimensions);
  auto digest = crypto::sha256(std::as_bytes(std::span(input.data(), input.size())));
  for (std::size_t d = 0; d < dimensions; ++d) {
    if (d > 0 && d % digest.size() == 0) digest = crypto::sha256(digest);
    const int b = std::to_integer<int>(digest[d % digest.size()]);
    out.push_back(static_cast<float>(2 * b - 255) / 256.0f);
  }
  return out;
}

// base64 of the values as little-endian float32, as OpenAI sends them.
std::string base64_of(const std::vector<float>& values) {
  std::vector<std::byte> bytes;
  bytes.reserve(values.size() * 4);
  for (const float v : values) {
    std::uint32_t u = 0;
    std::memcpy(&u, &v, sizeof u);
    for (int i = 0; i < 4; ++i) bytes.push_back(static_cast<std::byte>((u >> (8 * i)) & 0xFF));
  }
  return crypto::to_base64(bytes);
}

// read_json parses the request body with `parser`; on failure it answers
// 400 and returns nullopt.
Task<std::optional<element>> read_json(http::Request& request, http::ResponseWriter& writer,
                                       simdjson::dom::parser& parser) {
  auto body = co_await request.body.read_all(16 << 20);
  element root;
  if (!body || parser.parse(*body).get(root) != simdjson::SUCCESS) {
    co_await respond_error(request, writer, 400, "the request body is not valid JSON");
    co_return std::nullopt;
  }
  co_return root;
}

Task<void> list_models(http::Request&, http::ResponseWriter& writer) {
  std::string out;
  json::JsonWriter(out)
      .begin_object()
      .key("object")
      .string("list")
      .key("data")
      .begin_array()
      .begin_object()
      .key("id")
      .string(SyntheticModel::kName)
      .key("object")
      .string("model")
      .key("created")
      .number(0)
      .key("owned_by")
      .string("cipherline")
      .end_object()
      .end_array()
      .end_object();
  (void)co_await writer.respond(200, {{"Content-Type", "application/json"}}, out);
}

Task<void> generate(const SyntheticModelOptions& options, Api api, http::Request& request,
                    http::ResponseWriter& writer);
Task<void> embed(const SyntheticModelOptions& options, http::Request& request,
                 http::ResponseWriter& writer);

}  // namespace

void SyntheticModel::add_routes(http::Router& router) {
  add_synthetic_audio_routes(router);
  add_synthetic_unstructured_routes(router);
  router.add("GET", "/v1/models", list_models);
  router.add("POST", "/v1/chat/completions",
             [this](http::Request& request, http::ResponseWriter& writer) {
               return generate(options_, Api::chat, request, writer);
             });
  router.add("POST", "/v1/completions",
             [this](http::Request& request, http::ResponseWriter& writer) {
               return generate(options_, Api::completion, request, writer);
             });
  router.add("POST", "/v1/messages", [this](http::Request& request, http::ResponseWriter& writer) {
    return generate(options_, Api::anthropic, request, writer);
  });
  // One model: GET /v1/models/{id}.
  router.add_prefix(
      "GET", "/v1/models/", [](http::Request& request, http::ResponseWriter& w) -> Task<void> {
        const auto id = request.head.path().substr(std::string_view("/v1/models/").size());
        if (id != kName) {
          co_await respond_error(request, w, 404,
                                 "The model \"" + std::string(id) + "\" does not exist",
                                 protocol::kCodeModelNotFound);
          co_return;
        }
        std::string out;
        json::JsonWriter(out)
            .begin_object()
            .key("id")
            .string(kName)
            .key("object")
            .string("model")
            .key("created")
            .number(0)
            .key("owned_by")
            .string("cipherline")
            .end_object();
        (void)co_await w.respond(200, {{"Content-Type", "application/json"}}, out);
      });

  router.add("POST", "/v1/embeddings",
             [this](http::Request& request, http::ResponseWriter& writer) {
               return embed(options_, request, writer);
             });
}

namespace {

// generate answers one chat, completion or Anthropic request; `options`
// (the model's) outlives it.
Task<void> generate(const SyntheticModelOptions& options, Api api, http::Request& request,
                    http::ResponseWriter& writer) {
  simdjson::dom::parser parser;
  const auto parsed = co_await read_json(request, writer, parser);
  if (!parsed) co_return;
  auto read = read_request(*parsed, api);
  if (!read) {
    co_await respond_error(request, writer, 400, read.error());
    co_return;
  }
  const Request& r = *read;
  const Answer answer = plan(r, api);
  const auto created = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
  if (options.first_token_delay.count() > 0) (void)co_await sleep_for(options.first_token_delay);
  if (!r.stream) {
    (void)co_await writer.respond(
        200, {{"Content-Type", "application/json"}},
        api == Api::anthropic ? whole_anthropic(r, answer) : whole_openai(api, r, answer, created));
    co_return;
  }
  http::SseWriter sse(writer);
  if (!co_await sse.start()) co_return;
  const auto pause =
      options.tokens_per_second > 0
          ? std::chrono::nanoseconds(static_cast<std::int64_t>(1e9 / options.tokens_per_second))
          : std::chrono::nanoseconds(0);
  std::string event;  // reused: one buffer for the whole stream

  if (api == Api::anthropic) {
    using K = AnthropicEvent::Kind;
    bool delta_before = false;
    for (const AnthropicEvent e : anthropic_events(answer.choices.front())) {
      const bool delta = e.kind == K::text_delta || e.kind == K::json_delta;
      if (delta && delta_before && pause.count() > 0) (void)co_await sleep_for(pause);
      delta_before = delta_before || delta;
      anthropic_event(event, r, answer, e);
      if (!co_await sse.send(event, anthropic_type(e.kind))) co_return;  // the client went away
    }
    (void)co_await sse.finish();
    co_return;
  }

  // The choices' chunks interleaved: step s of every choice, then step s+1.
  std::vector<std::vector<Step>> steps;
  std::size_t longest = 0;
  for (const auto& c : answer.choices) {
    steps.push_back(steps_of(c, r.logprobs && api == Api::chat));
    longest = std::max(longest, steps.back().size());
  }
  bool sent_one = false;
  for (std::size_t s = 0; s < longest; ++s) {
    for (std::size_t k = 0; k < steps.size(); ++k) {
      if (s >= steps[k].size()) continue;
      const Step step = steps[k][s];
      if (step.kind != Step::Kind::finish) {
        if (sent_one && pause.count() > 0) (void)co_await sleep_for(pause);
        sent_one = true;
      }
      openai_chunk(event, api, r, answer.choices[k], k, step, s == 0, created);
      if (!co_await sse.send(event)) co_return;  // the client went away
    }
  }
  if (r.include_usage) {
    event.clear();
    json::JsonWriter w(event);
    w.begin_object();
    openai_head(w, api, true, created);
    w.key("choices").begin_array().end_array();
    usage(w, api, r, answer);
    w.end_object();
    if (!co_await sse.send(event)) co_return;
  }
  (void)co_await sse.send("[DONE]");
  (void)co_await sse.finish();
}

Task<void> embed(const SyntheticModelOptions& options, http::Request& request,
                 http::ResponseWriter& writer) {
  simdjson::dom::parser parser;
  const auto parsed = co_await read_json(request, writer, parser);
  if (!parsed) co_return;
  const element root = *parsed;
  std::string_view model;
  if (root["model"].get(model) != simdjson::SUCCESS || model != SyntheticModel::kName) {
    co_await respond_error(request, writer, 400, "\"model\" must be \"synthetic\"");
    co_return;
  }
  std::vector<std::string> inputs;
  std::string_view single;
  simdjson::dom::array many;
  if (root["input"].get(single) == simdjson::SUCCESS) {
    inputs.emplace_back(single);
  } else if (root["input"].get(many) == simdjson::SUCCESS) {
    for (element e : many) {
      std::string_view s;
      if (e.get(s) != simdjson::SUCCESS) {
        co_await respond_error(request, writer, 400, "\"input\" must be a string or strings");
        co_return;
      }
      inputs.emplace_back(s);
    }
  }
  if (inputs.empty()) {
    co_await respond_error(request, writer, 400, "missing \"input\"");
    co_return;
  }
  bool base64 = false;
  if (const auto format = field(root, "encoding_format")) {
    std::string_view s;
    if (format->get(s) != simdjson::SUCCESS || (s != "float" && s != "base64")) {
      co_await respond_error(request, writer, 400,
                             "\"encoding_format\" must be \"float\" or \"base64\"");
      co_return;
    }
    base64 = s == "base64";
  }
  auto dimensions = bounded_integer(root, "dimensions", 1, kMaxDimensions, options.embedding_size);
  if (!dimensions) {
    co_await respond_error(request, writer, 400, dimensions.error());
    co_return;
  }
  std::string out;
  json::JsonWriter w(out);
  w.begin_object().key("object").string("list").key("model").string(SyntheticModel::kName);
  w.key("data").begin_array();
  std::size_t tokens = 0;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    tokens += count_words(inputs[i]);
    const auto values = embedding_of(inputs[i], *dimensions);
    w.begin_object().key("object").string("embedding").key("index").number(i);
    w.key("embedding");
    if (base64) {
      w.string(base64_of(values));
    } else {
      w.begin_array();
      for (const float v : values) w.number(static_cast<double>(v));
      w.end_array();
    }
    w.end_object();
  }
  w.end_array().key("usage").begin_object().key("prompt_tokens").number(tokens);
  w.key("total_tokens").number(tokens).end_object().end_object();
  (void)co_await writer.respond(200, {{"Content-Type", "application/json"}}, out);
}

}  // namespace
}  // namespace cipherline::backend
