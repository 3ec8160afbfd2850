#include "util/json_parse.h"

#include <algorithm>
#include <optional>
#include <vector>

namespace barrot::util {

namespace {

using Event = Json::parse_event_t;

// The first key an object of `text` names twice, in document order. Run
// only once a repeated key is known to exist: it keeps a copy of every key.
std::string first_repeated_key(std::string_view text) {
  std::vector<std::vector<std::string>> open; // the keys of each open object
  std::optional<std::string> found;
  auto callback = [&](int, Event event, Json& parsed) {
    if (found) {
      return true;
    }
    if (event == Event::object_start) {
      open.emplace_back();
    } else if (event == Event::object_end) {
      open.pop_back();
    } else if (event == Event::key) {
      auto& keys = open.back();
      const std::string& k = parsed.get_ref<const std::string&>();
      if (std::find(keys.begin(), keys.end(), k) != keys.end()) {
        found = k;
      } else {
        keys.push_back(k);
      }
    }
    return true;
  };
  Json ignored = Json::parse(text, callback, /*allow_exceptions=*/false);
  (void)ignored;
  return found.value_or("");
}

} // namespace

Json parse_json_unique(std::string_view text, JsonError* error) {
  *error = JsonError{};
  if (nests_deeper(text, k_max_json_nesting)) {
    error->kind = JsonError::Kind::too_deep;
    error->message = "nests deeper than " + std::to_string(k_max_json_nesting) + " levels";
    return Json(Json::value_t::discarded);
  }
  // Counts the keys each object names; an object that ends up with fewer
  // members named one twice. No copy of any key on this path.
  std::vector<std::size_t> keys;
  bool repeated = false;
  auto callback = [&](int, Event event, Json& parsed) {
    if (event == Event::object_start) {
      keys.push_back(0);
    } else if (event == Event::key) {
      ++keys.back();
    } else if (event == Event::object_end) {
      repeated = repeated || parsed.size() != keys.back();
      keys.pop_back();
    }
    return true;
  };
  Json j;
  try {
    j = Json::parse(text, callback);
  } catch (const Json::exception& e) {
    // "[json.exception.parse_error.101] parse error at line 1, ..." -> "parse error at ...";
    // also a number too large for a double (out_of_range.406).
    std::string what = e.what();
    std::size_t pos = what.find("] ");
    error->kind = JsonError::Kind::invalid;
    error->message = pos == std::string::npos ? what : what.substr(pos + 2);
    return Json(Json::value_t::discarded);
  }
  if (repeated) {
    std::string key = first_repeated_key(text);
    if (key.size() > 80) {
      key = key.substr(0, 77) + "...";
    }
    error->kind = JsonError::Kind::duplicate_key;
    error->message = Json(key).dump(-1, ' ', false, Json::error_handler_t::replace);
    return Json(Json::value_t::discarded);
  }
  return j;
}

} // namespace barrot::util
