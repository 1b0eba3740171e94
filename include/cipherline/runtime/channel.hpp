// Channel<T>: a bounded queue between tasks of one loop, with backpressure.
//
//   Channel<Event> events(64);
//   producer: if (!co_await events.send(std::move(e))) break;   // closed or cancelled
//   consumer: while (auto e = co_await events.receive()) handle(*e);
//
// Contract:
// - Capacity N ≥ 0 values are buffered; a sender waits while the buffer is
//   full (capacity 0: until a receiver takes the value). Waiting senders and
//   receivers are served in FIFO order. Any number of producers and consumers.
// - `close()` ends the channel: waiting and later senders get
//   errc::channel_closed (their values are dropped); receivers first drain
//   the buffered values, then get errc::channel_closed.
// - Every wait honours the awaiting task's stop token
//   (errc::operation_cancelled; a cancelled send has not enqueued its value).
// - A woken task is resumed from the loop's ready queue, not inside the
//   call that woke it.
// - Thread affinity: one loop. Cross-loop hand-off goes through Loop::post.
//   The channel must outlive its waiting tasks.
#pragma once

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <optional>
#include <utility>

#include "cipherline/runtime/internal/operation.hpp"

namespace cipherline {

template <class T>
class Channel {
  template <class Op>
  struct WaitList;

 public:
  explicit Channel(std::size_t capacity) : capacity_(capacity) {}
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;
  ~Channel() {
    if (senders_.head != nullptr || receivers_.head != nullptr) {
      std::fputs("cipherline: Channel destroyed while tasks wait on it\n", stderr);
      std::abort();
    }
  }

  class [[nodiscard]] Send : public internal::Operation<Send, void> {
   public:
    Send(Channel& channel, T value) : channel_(channel), value_(std::move(value)) {}
    Send(Send&&) noexcept(std::is_nothrow_move_constructible_v<T>) = default;
    ~Send() {
      if (this->pending()) channel_.senders_.remove(this);
    }

   private:
    friend class internal::Operation<Send, void>;
    friend class Channel;
    friend struct WaitList<Send>;

    bool start() {
      if (channel_.closed_) {
        this->set_result(errc::channel_closed);
        return false;
      }
      if (auto* receiver = channel_.receivers_.pop()) {
        receiver->complete_later(std::move(value_));
        this->set_result();
        return false;
      }
      if (channel_.buffer_.size() < channel_.capacity_) {
        channel_.buffer_.push_back(std::move(value_));
        this->set_result();
        return false;
      }
      channel_.senders_.push(this);
      return true;
    }

    bool cancel() noexcept {
      channel_.senders_.remove(this);
      return true;
    }

    Channel& channel_;
    T value_;
    Send* prev_ = nullptr;
    Send* next_ = nullptr;
  };

  class [[nodiscard]] Receive : public internal::Operation<Receive, T> {
   public:
    explicit Receive(Channel& channel) noexcept : channel_(channel) {}
    Receive(Receive&&) noexcept = default;
    ~Receive() {
      if (this->pending()) channel_.receivers_.remove(this);
    }

   private:
    friend class internal::Operation<Receive, T>;
    friend class Channel;
    friend struct WaitList<Receive>;

    bool start() {
      if (auto value = channel_.try_receive()) {
        this->set_result(std::move(*value));
        return false;
      }
      if (channel_.closed_) {
        this->set_result(errc::channel_closed);
        return false;
      }
      channel_.receivers_.push(this);
      return true;
    }

    bool cancel() noexcept {
      channel_.receivers_.remove(this);
      return true;
    }

    Channel& channel_;
    Receive* prev_ = nullptr;
    Receive* next_ = nullptr;
  };

  // send completes when the value is buffered or handed to a receiver.
  Send send(T value) { return Send(*this, std::move(value)); }
  // receive completes with the next value, or channel_closed once drained.
  Receive receive() noexcept { return Receive(*this); }

  // try_send enqueues without waiting; false (value untouched) if the channel
  // is full or closed.
  bool try_send(T& value) {
    if (closed_) return false;
    if (auto* receiver = receivers_.pop()) {
      receiver->complete_later(std::move(value));
      return true;
    }
    if (buffer_.size() >= capacity_) return false;
    buffer_.push_back(std::move(value));
    return true;
  }

  // try_receive takes a value without waiting, if one is available.
  std::optional<T> try_receive() {
    if (!buffer_.empty()) {
      std::optional<T> value(std::move(buffer_.front()));
      buffer_.pop_front();
      if (auto* sender = senders_.pop()) {
        buffer_.push_back(std::move(sender->value_));
        sender->complete_later();
      }
      return value;
    }
    if (auto* sender = senders_.pop()) {
      std::optional<T> value(std::move(sender->value_));
      sender->complete_later();
      return value;
    }
    return std::nullopt;
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    while (auto* r = receivers_.pop()) r->complete_later(errc::channel_closed);
    while (auto* s = senders_.pop()) s->complete_later(errc::channel_closed);
  }

  bool closed() const noexcept { return closed_; }
  std::size_t size() const noexcept { return buffer_.size(); }
  std::size_t capacity() const noexcept { return capacity_; }

 private:
  // Intrusive FIFO of waiting operations.
  template <class Op>
  struct WaitList {
    Op* head = nullptr;
    Op* tail = nullptr;

    void push(Op* op) noexcept {
      op->prev_ = tail;
      op->next_ = nullptr;
      (tail ? tail->next_ : head) = op;
      tail = op;
    }
    Op* pop() noexcept {
      Op* op = head;
      if (op != nullptr) remove(op);
      return op;
    }
    void remove(Op* op) noexcept {
      (op->prev_ ? op->prev_->next_ : head) = op->next_;
      (op->next_ ? op->next_->prev_ : tail) = op->prev_;
      op->prev_ = op->next_ = nullptr;
    }
  };

  std::size_t capacity_;
  std::deque<T> buffer_;
  WaitList<Send> senders_;
  WaitList<Receive> receivers_;
  bool closed_ = false;
};

}  // namespace cipherline
