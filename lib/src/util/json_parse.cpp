#include "util/json_parse.h"

#include <utility>
#include <vector>

namespace barrot::util {

namespace {

// `text` for a message: at most 80 bytes.
std::string shortened(const std::string& text) {
  return text.size() > 80 ? text.substr(0, 77) + "..." : text;
}

// Builds a document from nlohmann's SAX events, as Json::parse does, but
// stops at the first key an object names twice (Json::parse keeps the last
// value), and at an integer too large for 64 bits (Json::parse turns it into
// a double, changing its digits). Each event touches only the container
// being built (an object's keys are searched as Json::parse searches them).
class UniqueKeysBuilder {
public:
  using string_t = Json::string_t;

  JsonError error;
  Json root;

  bool null() { return place(Json(nullptr)); }
  bool boolean(bool v) { return place(Json(v)); }
  bool number_integer(Json::number_integer_t v) { return place(Json(v)); }
  bool number_unsigned(Json::number_unsigned_t v) { return place(Json(v)); }
  bool number_float(Json::number_float_t v, const string_t& text) {
    // Digits alone: an integer nlohmann could not hold. (Not "no '.'": the
    // lexer writes the locale's decimal point into the text, a ',' in some.)
    if (text.find_first_not_of("-0123456789") == string_t::npos) {
      error.kind = JsonError::Kind::inexact_number;
      error.message = shortened(text);
      return false;
    }
    return place(Json(v));
  }
  bool string(string_t& v) { return place(Json(std::move(v))); }
  bool binary(Json::binary_t& v) { return place(Json(std::move(v))); }

  bool start_object(std::size_t) {
    m_open.push_back(slot(Json::object()));
    return true;
  }
  bool key(string_t& k) {
    Json& object = *m_open.back();
    const std::size_t before = object.size();
    Json& value = object[k]; // ordered_map: the existing member if named before
    if (object.size() == before) {
      error.kind = JsonError::Kind::duplicate_key;
      error.message = Json(shortened(k)).dump(-1, ' ', false, Json::error_handler_t::replace);
      return false;
    }
    m_member = &value;
    return true;
  }
  bool end_object() {
    m_open.pop_back();
    return true;
  }
  bool start_array(std::size_t) {
    m_open.push_back(slot(Json::array()));
    return true;
  }
  bool end_array() {
    m_open.pop_back();
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) {
    // "[json.exception.parse_error.101] parse error at line 1, ..." -> "parse error at ...";
    // also a number too large for a double (out_of_range.406).
    const std::string what = e.what();
    const std::size_t pos = what.find("] ");
    error.kind = JsonError::Kind::invalid;
    error.message = pos == std::string::npos ? what : what.substr(pos + 2);
    return false;
  }

private:
  // Puts `v` where the next value goes: the root, the end of the open array,
  // or the member whose key came last. The pointer stays valid while `v` is
  // open: nothing is added to its parent until it is closed.
  Json* slot(Json v) {
    if (m_open.empty()) {
      root = std::move(v);
      return &root;
    }
    Json& parent = *m_open.back();
    if (parent.is_array()) {
      parent.push_back(std::move(v));
      return &parent.back();
    }
    *m_member = std::move(v);
    return m_member;
  }
  bool place(Json v) {
    slot(std::move(v));
    return true;
  }

  std::vector<Json*> m_open; // the arrays and objects being built, innermost last
  Json* m_member = nullptr;  // the value of the key named last
};

} // namespace

Json parse_json_unique(std::string_view text, JsonError* error) {
  *error = JsonError{};
  if (nests_deeper(text, k_max_json_nesting)) {
    error->kind = JsonError::Kind::too_deep;
    error->message = "nests deeper than " + std::to_string(k_max_json_nesting) + " levels";
    return Json(Json::value_t::discarded);
  }
  UniqueKeysBuilder builder;
  if (!Json::sax_parse(text, &builder)) {
    *error = std::move(builder.error);
    return Json(Json::value_t::discarded);
  }
  return std::move(builder.root);
}

std::string describe(const JsonError& error) {
  switch (error.kind) {
  case JsonError::Kind::none:
    break;
  case JsonError::Kind::too_deep:
    return error.message;
  case JsonError::Kind::invalid:
    return "is not valid JSON: " + error.message;
  case JsonError::Kind::duplicate_key:
    return "names the key " + error.message + " twice in one object";
  case JsonError::Kind::inexact_number:
    return "holds the integer " + error.message +
           ", beyond 64 bits: it would be kept changed (write it as a string)";
  }
  return "is valid";
}

} // namespace barrot::util
