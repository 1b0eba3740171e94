#include "cipherline/client/rfc3339.hpp"

#include <cctype>
#include <ctime>

namespace cipherline::client {

using namespace std::chrono;

namespace {

int two_digits(std::string_view s, std::size_t at) {
  if (at + 2 > s.size() || !std::isdigit(static_cast<unsigned char>(s[at])) ||
      !std::isdigit(static_cast<unsigned char>(s[at + 1]))) {
    return -1;
  }
  return (s[at] - '0') * 10 + (s[at + 1] - '0');
}

}  // namespace

std::string format_rfc3339(system_clock::time_point t) {
  const auto seconds_since = system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&seconds_since, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

std::optional<system_clock::time_point> parse_rfc3339(std::string_view s) {
  if (s.size() < 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
  const int century = two_digits(s, 0), year_in = two_digits(s, 2);
  const int month_value = two_digits(s, 5), day_value = two_digits(s, 8);
  if (century < 0 || year_in < 0 || month_value < 0 || day_value < 0) return std::nullopt;
  // Within what the clock can hold (nanoseconds since 1970: ±292 years).
  if (century < 19 || century > 21) return std::nullopt;
  const year_month_day date{year{century * 100 + year_in},
                            month{static_cast<unsigned>(month_value)},
                            day{static_cast<unsigned>(day_value)}};
  if (!date.ok()) return std::nullopt;
  system_clock::time_point t = sys_days(date);
  if (s.size() == 10) return t;
  if (s.size() < 20 || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || s[13] != ':' ||
      s[16] != ':') {
    return std::nullopt;
  }
  const int h = two_digits(s, 11), m = two_digits(s, 14), sec = two_digits(s, 17);
  if (h < 0 || h > 23 || m < 0 || m > 59 || sec < 0 || sec > 60) return std::nullopt;
  t += hours{h} + minutes{m} + seconds{sec};
  std::size_t at = 19;
  if (at < s.size() && s[at] == '.') {  // fractional seconds: ignored
    ++at;
    while (at < s.size() && std::isdigit(static_cast<unsigned char>(s[at]))) ++at;
  }
  const std::string_view zone = s.substr(at);
  if (zone == "Z" || zone == "z") return t;
  if (zone.size() != 6 || (zone[0] != '+' && zone[0] != '-') || zone[3] != ':') {
    return std::nullopt;
  }
  const int zh = two_digits(zone, 1), zm = two_digits(zone, 4);
  if (zh < 0 || zh > 23 || zm < 0 || zm > 59) return std::nullopt;
  const auto offset = hours{zh} + minutes{zm};
  return zone[0] == '+' ? t - offset : t + offset;
}

}  // namespace cipherline::client
