#include "cipherline/protocol/form_cipher.hpp"

#include <algorithm>
#include <array>

namespace cipherline::protocol {
namespace {

constexpr std::string_view kFileType = "application/octet-stream";
constexpr std::string_view kStream = "stream";
// The flags the server forces on a stream, in key order.
constexpr std::array<std::string_view, 2> kForcedOnStream = {"stream_continuous_usage_stats",
                                                             "stream_include_usage"};

// Sorted by key (byte-wise), the first part of each key kept: stable_sort
// keeps the body's order among equal keys.
void order_first_per_key(std::vector<http::FormPart>& parts) {
  const auto by_name = [](const http::FormPart& a, const http::FormPart& b) {
    return a.name < b.name;
  };
  std::stable_sort(parts.begin(), parts.end(), by_name);
  const auto same = [](const http::FormPart& a, const http::FormPart& b) {
    return a.name == b.name;
  };
  parts.erase(std::unique(parts.begin(), parts.end(), same), parts.end());
}

const http::FormPart* find_part(std::span<const http::FormPart> parts,
                                std::string_view key) noexcept {
  const auto at =
      std::lower_bound(parts.begin(), parts.end(), key,
                       [](const http::FormPart& p, std::string_view k) { return p.name < k; });
  return at != parts.end() && at->name == key ? &*at : nullptr;
}

std::string label(bool file, std::string_view key) {
  return std::string(file ? "form file \"" : "form value \"") + std::string(key) + "\"";
}

enum class Direction { seal, open };

Result<std::string, Error> transform_form(const OrderedForm& form, const PlainFields& plain,
                                          const FieldTransform& transform, std::string& out,
                                          Direction direction) {
  const std::size_t start = out.size();
  http::MultipartWriter writer(out, http::random_boundary());
  const auto fail = [&](const Error& e, bool file, std::string_view key) {
    out.resize(start);
    return Error(e.code(), label(file, key) + ": " + e.message());
  };
  // The part's content replaced by transform(content), written in place.
  const auto sealed_part = [&](const http::FormPart& part, bool file) -> Result<void, Error> {
    std::string& content =
        writer.begin_part(part.name, file ? std::optional(part.name) : std::nullopt,
                          file ? kFileType : std::string_view());
    // Transforms append only, so the content goes straight into `out`.
    if (auto r = transform(part.content, content); !r) return fail(r.error(), file, part.name);
    if (auto r = writer.end_part(); !r) return fail(r.error(), file, part.name);
    return {};
  };
  const auto plain_part = [&](std::string_view key, std::string_view value) -> Result<void, Error> {
    if (auto r = writer.field(key, value); !r) return fail(r.error(), false, key);
    return {};
  };

  // The server forces usage reporting on a stream (spec §5.4).
  const bool force =
      direction == Direction::open && parse_bool(form.value(kStream).value_or("")).value_or(false);
  std::size_t forced = 0;  // kForcedOnStream entries written so far
  const auto write_forced_before = [&](std::string_view key) -> Result<void, Error> {
    while (force && forced < kForcedOnStream.size() && kForcedOnStream[forced] < key) {
      if (auto r = plain_part(kForcedOnStream[forced], "true"); !r) return r;
      ++forced;
    }
    return {};
  };

  for (const http::FormPart& part : form.values()) {
    if (auto r = write_forced_before(part.name); !r) return r.error();
    if (force && forced < kForcedOnStream.size() && kForcedOnStream[forced] == part.name) {
      if (auto r = plain_part(part.name, "true"); !r) return r.error();
      ++forced;
    } else if (plain.contains(part.name)) {
      if (auto r = plain_part(part.name, part.content); !r) return r.error();
    } else if (auto r = sealed_part(part, false); !r) {
      return r.error();
    }
  }
  // "\x7f" sorts after every key that the forced ones could precede.
  if (auto r = write_forced_before("\x7f"); !r) return r.error();
  for (const http::FormPart& part : form.files()) {
    if (auto r = sealed_part(part, true); !r) return r.error();
  }
  writer.finish();
  return writer.content_type();
}

}  // namespace

Result<OrderedForm, Error> OrderedForm::parse(std::string_view content_type, std::string_view body,
                                              const http::MultipartLimits& limits) {
  auto boundary = http::multipart_boundary(content_type);
  if (!boundary) return boundary.error();
  std::vector<http::FormPart> parts;
  if (auto r = http::parse_multipart(body, *boundary, parts, limits); !r) return r.error();
  OrderedForm form;
  for (const auto& part : parts) (part.is_file() ? form.files_ : form.values_).push_back(part);
  order_first_per_key(form.values_);
  order_first_per_key(form.files_);
  return form;
}

std::optional<std::string_view> OrderedForm::value(std::string_view key) const noexcept {
  if (const auto* part = find_part(values_, key)) return part->content;
  return std::nullopt;
}

const http::FormPart* OrderedForm::file(std::string_view key) const noexcept {
  return find_part(files_, key);
}

std::optional<std::string_view> OrderedForm::first_sealed(const PlainFields& plain) const noexcept {
  for (const auto& part : values_) {
    if (!plain.contains(part.name)) return part.content;
  }
  if (!files_.empty()) return files_.front().content;
  return std::nullopt;
}

std::optional<bool> parse_bool(std::string_view text) noexcept {
  for (const std::string_view t : {"1", "t", "T", "TRUE", "true", "True"}) {
    if (text == t) return true;
  }
  for (const std::string_view f : {"0", "f", "F", "FALSE", "false", "False"}) {
    if (text == f) return false;
  }
  return std::nullopt;
}

Result<std::string, Error> seal_form(const OrderedForm& form, const PlainFields& plain,
                                     const FieldTransform& transform, std::string& out) {
  return transform_form(form, plain, transform, out, Direction::seal);
}

Result<std::string, Error> open_form(const OrderedForm& form, const PlainFields& plain,
                                     const FieldTransform& transform, std::string& out) {
  return transform_form(form, plain, transform, out, Direction::open);
}

}  // namespace cipherline::protocol
