#include <barrot/status.h>

namespace barrot {

namespace {

const char* code_name(Status::Code code) {
  switch (code) {
  case Status::Code::ok:
    return "OK";
  case Status::Code::not_found:
    return "not found";
  case Status::Code::invalid_argument:
    return "invalid argument";
  case Status::Code::corruption:
    return "corruption";
  case Status::Code::io_error:
    return "I/O error";
  case Status::Code::busy:
    return "busy";
  case Status::Code::schema_too_new:
    return "schema too new";
  }
  return "unknown";
}

} // namespace

std::string Status::ToString() const {
  if (ok()) {
    return "OK";
  }
  return std::string(code_name(m_code)) + ": " + m_message;
}

Status Status::WithContext(const std::string& context) const {
  if (ok()) {
    return *this;
  }
  return Status(m_code, context + ": " + m_message);
}

} // namespace barrot
