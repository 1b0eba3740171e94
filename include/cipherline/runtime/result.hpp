// Result<T, E>: a value or an error, for hot paths that must not throw.
//
// I/O awaitables (read, write, accept, connect, sleep, channel operations)
// complete with a Result so that expected conditions — end of stream,
// cancellation, a refused connection — are values, not exceptions. A caller
// that prefers exceptions calls `value()`, which throws std::system_error
// carrying the error:
//
//   Result<std::size_t> n = co_await stream.write(bytes);
//   if (!n) return n.error();          // propagate as a value
//   auto conn = (co_await TcpStream::connect(addr)).value();  // or throw
//
// The error type E is std::error_code by default; parsers that can say more
// (which field, which byte offset) use `Error`, an error_code with a detail
// message. Result is [[nodiscard]]: dropping one silently drops an error.
#pragma once

#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

#include "cipherline/runtime/error.hpp"

namespace cipherline {

// Error: an error code with a message that names what was wrong and where
// ("nonce: invalid hex digit at position 5"). Built only on failure paths.
class Error {
 public:
  Error() = default;
  Error(std::error_code code, std::string detail = {}) : code_(code), detail_(std::move(detail)) {}
  template <class E>
  requires std::is_error_code_enum_v<E> Error(E code, std::string detail = {})
      : code_(make_error_code(code)), detail_(std::move(detail)) {}

  std::error_code code() const noexcept { return code_; }
  explicit operator bool() const noexcept { return static_cast<bool>(code_); }
  // message() is the detail when there is one, else the code's message.
  std::string message() const { return detail_.empty() ? code_.message() : detail_; }

  friend bool operator==(const Error& e, std::error_code c) noexcept { return e.code_ == c; }
  template <class E>
  requires std::is_error_code_enum_v<E>
  friend bool operator==(const Error& e, E c) noexcept { return e.code_ == make_error_code(c); }
  // Comparison with a portable condition: `e == std::errc::connection_refused`.
  template <class E>
  requires std::is_error_condition_enum_v<E>
  friend bool operator==(const Error& e, E c) noexcept { return e.code_ == c; }

 private:
  std::error_code code_;
  std::string detail_;
};

namespace internal {

[[noreturn]] inline void throw_error(const std::error_code& e) { throw std::system_error(e); }
[[noreturn]] inline void throw_error(const Error& e) {
  throw std::system_error(e.code(), e.message());
}

template <class U, class T, class E>
concept ResultValue = std::is_constructible_v<T, U&&> && !std::is_convertible_v<U&&, E> &&
                      !std::is_error_code_enum_v<std::remove_cvref_t<U>>;

template <class C, class E>
concept ErrorCodeEnumFor = std::is_error_code_enum_v<C> && std::is_constructible_v<E, C>;

}  // namespace internal

template <class T, class E = std::error_code>
class [[nodiscard]] Result {
  static_assert(!std::is_reference_v<T>, "Result<T&> is not supported");
  static_assert(!std::is_convertible_v<T, E>, "a value type convertible to the error is ambiguous");

 public:
  using value_type = T;
  using error_type = E;

  template <internal::ResultValue<T, E> U = T>
  Result(U&& value) : storage_(std::in_place_index<0>, std::forward<U>(value)) {}

  Result(E error) : storage_(std::in_place_index<1>, std::move(error)) {}

  template <internal::ErrorCodeEnumFor<E> C>
  Result(C error) : storage_(std::in_place_index<1>, E(make_error_code(error))) {}

  bool has_value() const noexcept { return storage_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  // value() returns the value or throws std::system_error with the error.
  T& value() & {
    check();
    return std::get<0>(storage_);
  }
  const T& value() const& {
    check();
    return std::get<0>(storage_);
  }
  T&& value() && {
    check();
    return std::get<0>(std::move(storage_));
  }

  // value_or returns the value, or `fallback` on error.
  template <class U>
  T value_or(U&& fallback) const& {
    return has_value() ? std::get<0>(storage_) : static_cast<T>(std::forward<U>(fallback));
  }
  template <class U>
  T value_or(U&& fallback) && {
    return has_value() ? std::get<0>(std::move(storage_))
                       : static_cast<T>(std::forward<U>(fallback));
  }

  // operator* and operator-> require has_value(); they do not check.
  T& operator*() & noexcept { return *std::get_if<0>(&storage_); }
  const T& operator*() const& noexcept { return *std::get_if<0>(&storage_); }
  T&& operator*() && noexcept { return std::move(*std::get_if<0>(&storage_)); }
  T* operator->() noexcept { return std::get_if<0>(&storage_); }
  const T* operator->() const noexcept { return std::get_if<0>(&storage_); }

  // error() returns the error, or a default (empty) one on success.
  E error() const {
    const auto* e = std::get_if<1>(&storage_);
    return e ? *e : E{};
  }

 private:
  void check() const {
    if (storage_.index() != 0) internal::throw_error(*std::get_if<1>(&storage_));
  }

  std::variant<T, E> storage_;
};

template <class E>
class [[nodiscard]] Result<void, E> {
 public:
  using value_type = void;
  using error_type = E;

  Result() = default;
  Result(E error) : error_(std::move(error)) {}
  template <internal::ErrorCodeEnumFor<E> C>
  Result(C error) : error_(make_error_code(error)) {}

  bool has_value() const noexcept { return !error_; }
  explicit operator bool() const noexcept { return has_value(); }

  // value() throws std::system_error on error and does nothing otherwise.
  void value() const {
    if (error_) internal::throw_error(error_);
  }

  E error() const { return error_; }

 private:
  E error_{};
};

template <class T>
inline constexpr bool is_result_v = false;
template <class T, class E>
inline constexpr bool is_result_v<Result<T, E>> = true;

}  // namespace cipherline
