// UTF-8 validation. Knows nothing about snapshots.
#pragma once

#include <string>
#include <string_view>

namespace barrot::util {

// True when `s` is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
bool is_valid_utf8(std::string_view s);

// `s` with every byte that is not part of well-formed UTF-8 replaced by
// U+FFFD, so it can always be written as JSON.
std::string to_valid_utf8(std::string_view s);

// True when `s` holds a C0 control character or DEL.
bool has_control_chars(std::string_view s);

} // namespace barrot::util
