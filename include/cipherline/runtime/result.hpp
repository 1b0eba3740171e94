// Result<T>: a value or an error_code, for hot paths that must not throw.
//
// I/O awaitables (read, write, accept, connect, sleep, channel operations)
// complete with a Result so that expected conditions — end of stream,
// cancellation, a refused connection — are values, not exceptions. A caller
// that prefers exceptions calls `value()`, which throws std::system_error
// carrying the code:
//
//   Result<std::size_t> n = co_await stream.write(bytes);
//   if (!n) return n.error();          // propagate as a value
//   auto conn = (co_await TcpStream::connect(addr)).value();  // or throw
//
// Result is [[nodiscard]]: dropping one silently drops an error.
#pragma once

#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

#include "cipherline/runtime/error.hpp"

namespace cipherline {

template <class T>
class [[nodiscard]] Result {
  static_assert(!std::is_reference_v<T>, "Result<T&> is not supported");
  static_assert(!std::is_same_v<std::remove_cv_t<T>, std::error_code>,
                "Result<std::error_code> would be ambiguous");

 public:
  using value_type = T;

  template <class U = T>
  requires std::is_constructible_v<T, U&&> &&(!std::is_same_v<std::remove_cvref_t<U>, Result>)&&(
      !std::is_same_v<std::remove_cvref_t<U>,
                      std::error_code>)&&(!std::is_error_code_enum_v<std::remove_cvref_t<U>>)
      Result(U&& value)
      : storage_(std::in_place_index<0>, std::forward<U>(value)) {}

  Result(std::error_code error) : storage_(std::in_place_index<1>, error) {}

  template <class E>
  requires std::is_error_code_enum_v<E> Result(E error)
      : storage_(std::in_place_index<1>, make_error_code(error)) {}

  bool has_value() const noexcept { return storage_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  // value() returns the value or throws std::system_error with the error code.
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

  // operator* and operator-> require has_value(); they do not check.
  T& operator*() & noexcept { return *std::get_if<0>(&storage_); }
  const T& operator*() const& noexcept { return *std::get_if<0>(&storage_); }
  T&& operator*() && noexcept { return std::move(*std::get_if<0>(&storage_)); }
  T* operator->() noexcept { return std::get_if<0>(&storage_); }
  const T* operator->() const noexcept { return std::get_if<0>(&storage_); }

  // error() returns the error, or a default (zero) error_code on success.
  std::error_code error() const noexcept {
    const auto* e = std::get_if<1>(&storage_);
    return e ? *e : std::error_code{};
  }

 private:
  void check() const {
    if (storage_.index() != 0) throw std::system_error(*std::get_if<1>(&storage_));
  }

  std::variant<T, std::error_code> storage_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  using value_type = void;

  Result() noexcept = default;
  Result(std::error_code error) noexcept : error_(error) {}
  template <class E>
  requires std::is_error_code_enum_v<E> Result(E error)
  noexcept : error_(make_error_code(error)) {}

  bool has_value() const noexcept { return !error_; }
  explicit operator bool() const noexcept { return has_value(); }

  // value() throws std::system_error on error and does nothing otherwise.
  void value() const {
    if (error_) throw std::system_error(error_);
  }

  std::error_code error() const noexcept { return error_; }

 private:
  std::error_code error_;
};

template <class T>
inline constexpr bool is_result_v = false;
template <class T>
inline constexpr bool is_result_v<Result<T>> = true;

}  // namespace cipherline
