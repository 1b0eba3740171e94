#include "cipherline/protocol/event_fields.hpp"

namespace cipherline::protocol {

Result<void, Error> seal_event(std::string_view type, std::string_view data,
                               const PlainFields& plain, const FieldTransform& transform,
                               std::string& out) {
  if (!type.empty() && type != "message") {
    out += "event: ";
    out += type;
    out += '\n';
  }
  out += "data: ";
  if (is_done_event(data)) {
    out += data;
  } else if (auto r = seal_json_fields(data, plain, transform, out); !r) {
    return r.error();
  }
  out += "\n\n";
  return {};
}

Result<void, Error> open_event_data(std::string_view data, const PlainFields& plain,
                                    const FieldTransform& transform, std::string& out) {
  if (is_done_event(data)) {
    out += data;
    return {};
  }
  return open_json_fields(data, plain, transform, out);
}

}  // namespace cipherline::protocol
