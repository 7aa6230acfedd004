#pragma once
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

// What a room command answers: its result, or why not. The faults are the domain's own; each
// adapter maps them once (xmpp/muc_errors.cpp to stanza errors, web/api.cpp to HTTP statuses).
namespace perch::chat {

enum class Fault {
    bad_request,     // malformed or contradictory input
    bad_address,     // a nickname or address that cannot be used
    not_found,       // no such room, occupant or message, or one the caller may not learn of
    forbidden,       // it exists, but not for the caller
    members_only,    // the room admits members only, and the caller is not one
    not_allowed,     // the room's or its category's switches say no
    not_acceptable,  // a value out of range or over a limit
    conflict,        // a nickname in use, a name taken
    not_occupant,    // only occupants may do this
    busy,            // a queue is full: try again
    too_fast,        // the sender goes faster than its rate limit allows: slow down
    internal,        // the store failed; nothing was changed
};
std::string_view to_string(Fault f);

struct Error {
    Fault fault = Fault::internal;
    std::string text;
};

// The answer of a command without a value.
struct Ok {};

template <class T>
class Result {
  public:
    Result(T value) : v_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
    Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }
    T& value() { return std::get<0>(v_); }
    const T& value() const { return std::get<0>(v_); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    const Error& error() const { return std::get<1>(v_); }

  private:
    std::variant<T, Error> v_;
};

// Where a command's answer goes. For commands on a room it runs on the room's shard, after
// the events the command caused have been published; for queries it may run on a store
// thread.
template <class T>
using Reply = std::function<void(Result<T>)>;

inline Error error(Fault f, std::string text = {}) {
    return Error{f, std::move(text)};
}

}  // namespace perch::chat
