// A strict JSON validator (RFC 8259: one value, UTF-8, no trailing bytes)
// that builds nothing: about ten times faster than parsing into a document,
// for checking every line of an archive. Agrees with nlohmann::json::accept
// (tests/unit/json_check_test.cpp checks that on valid, damaged and random
// input).
#pragma once

#include <string_view>

namespace barrot::util {

// True when `text` is exactly one JSON value, optionally surrounded by
// whitespace, nesting at most `max_depth` arrays and objects.
bool is_valid_json(std::string_view text, int max_depth = 512);

} // namespace barrot::util
