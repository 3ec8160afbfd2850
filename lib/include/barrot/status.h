// Status and Result<T>: the one error type at the library boundary.
//
// Every fallible library call returns a Status or a Result<T>; no exception
// escapes the library but std::bad_alloc, on the caller's own thread, when
// memory runs out (docs/architecture.md, "Error handling"). A Status is OK or carries a code and a
// message that names the problem (the file, the id, the field) so it can be shown to a user as is.
//
// Thread-safety: values; safe to copy between threads.
#pragma once

#include <barrot/export.h>

#include <string>
#include <utility>
#include <variant>

namespace barrot {

class BARROT_EXPORT Status {
public:
  // Persisted nowhere, but mapped to CLI exit codes: keep in step with docs/cli.md.
  enum class Code {
    ok,
    not_found,
    invalid_argument, // bad input from the caller: nothing was written
    corruption,       // a file or database is damaged or not what it claims to be
    io_error,
    busy,           // the database stayed locked past the busy timeout
    schema_too_new, // the database was written by a newer barrot
  };

  Status() = default;

  static Status OK() { return Status(); }
  static Status NotFound(std::string msg) { return {Code::not_found, std::move(msg)}; }
  static Status InvalidArgument(std::string msg) {
    return {Code::invalid_argument, std::move(msg)};
  }
  static Status Corruption(std::string msg) { return {Code::corruption, std::move(msg)}; }
  static Status IOError(std::string msg) { return {Code::io_error, std::move(msg)}; }
  static Status Busy(std::string msg) { return {Code::busy, std::move(msg)}; }
  static Status SchemaTooNew(std::string msg) { return {Code::schema_too_new, std::move(msg)}; }

  bool ok() const { return m_code == Code::ok; }
  bool IsNotFound() const { return m_code == Code::not_found; }
  bool IsInvalidArgument() const { return m_code == Code::invalid_argument; }
  bool IsCorruption() const { return m_code == Code::corruption; }
  bool IsIOError() const { return m_code == Code::io_error; }
  bool IsBusy() const { return m_code == Code::busy; }
  bool IsSchemaTooNew() const { return m_code == Code::schema_too_new; }

  Code code() const { return m_code; }
  const std::string& message() const { return m_message; }

  // "<code name>: <message>", or "OK".
  std::string ToString() const;

  // Returns a copy whose message is "`context`: <message>"; OK stays OK.
  Status WithContext(const std::string& context) const;

private:
  Status(Code code, std::string message) : m_code(code), m_message(std::move(message)) {}

  Code m_code = Code::ok;
  std::string m_message;
};

// A value or a non-OK Status (in the manner of tl::expected).
template <typename T>
class Result {
public:
  Result(T value) : m_v(std::move(value)) {}        // NOLINT: implicit by design
  Result(Status status) : m_v(std::move(status)) {} // REQUIRES: !status.ok()

  bool ok() const { return m_v.index() == 0; }
  explicit operator bool() const { return ok(); }

  // REQUIRES: ok()
  T& value() & { return std::get<0>(m_v); }
  const T& value() const& { return std::get<0>(m_v); }
  T&& value() && { return std::get<0>(std::move(m_v)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  // OK when ok(), else the error.
  Status status() const { return ok() ? Status::OK() : std::get<1>(m_v); }

private:
  std::variant<T, Status> m_v;
};

} // namespace barrot

// Returns the Status of `expr` from the enclosing function when it is not OK.
#define BARROT_TRY(expr) BARROT_TRY_IMPL_(BARROT_CONCAT_(barrot_try_status_, __COUNTER__), expr)
#define BARROT_TRY_IMPL_(tmp, expr)                                                                \
  do {                                                                                             \
    ::barrot::Status tmp = (expr);                                                                 \
    if (!tmp.ok()) {                                                                               \
      return tmp;                                                                                  \
    }                                                                                              \
  } while (false)

#define BARROT_CONCAT_INNER_(a, b) a##b
#define BARROT_CONCAT_(a, b) BARROT_CONCAT_INNER_(a, b)

// `BARROT_TRY_ASSIGN(auto x, f());` declares x from the value of a Result, or
// returns its Status from the enclosing function.
#define BARROT_TRY_ASSIGN(decl, expr)                                                              \
  BARROT_TRY_ASSIGN_IMPL_(BARROT_CONCAT_(barrot_try_result_, __COUNTER__), decl, expr)
#define BARROT_TRY_ASSIGN_IMPL_(tmp, decl, expr)                                                   \
  auto tmp = (expr);                                                                               \
  if (!tmp.ok()) {                                                                                 \
    return tmp.status();                                                                           \
  }                                                                                                \
  decl = std::move(tmp).value()
