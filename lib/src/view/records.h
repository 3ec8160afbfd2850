// What the readable views (format.cpp) and the dashboard share about the
// shape of a JSON value.
#pragma once

#include <barrot/snapshot.h>

#include <string>
#include <vector>

namespace barrot::view {

// The columns (keys in first-seen order) of an array of flat objects, such
// as a process list, which reads best as a table; none when `v` is anything
// else (not an array, empty, or an item that is not an object of scalars).
std::vector<std::string> record_columns(const Json& v);

// Text for a terminal: a string with a control character (an escape
// sequence could rewrite the screen or the window title) is shown
// JSON-quoted, its escapes visible; any other string as it is.
std::string visible(const std::string& text);

} // namespace barrot::view
