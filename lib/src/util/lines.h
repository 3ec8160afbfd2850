// Lines of text that arrives in pieces (a file read a buffer at a time, a
// decompressed stream). Knows nothing about snapshots.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace barrot::util {

// Splits pieces of text into lines, without their '\n'. A line cut by the
// end of a piece is kept until a later piece ends it.
//
//   LineSplitter lines;
//   while (read(&piece)) if (!lines.feed(piece, fn)) break;
//   if (!lines.rest().empty()) { ... a last line with no newline ... }
class LineSplitter {
public:
  // Calls fn(line) for each line `piece` ends, in order, until fn returns
  // false; then returns false and is not to be fed again.
  template <typename Fn>
  bool feed(std::string_view piece, Fn&& fn) {
    std::size_t pos = 0;
    for (;;) {
      const std::size_t nl = piece.find('\n', pos);
      if (nl == std::string_view::npos) {
        m_carry.append(piece.substr(pos));
        return true;
      }
      bool go_on;
      if (m_carry.empty()) {
        go_on = fn(piece.substr(pos, nl - pos));
      } else {
        m_carry.append(piece.substr(pos, nl - pos));
        go_on = fn(std::string_view(m_carry));
        m_carry.clear();
      }
      if (!go_on) {
        return false;
      }
      pos = nl + 1;
    }
  }

  // What the pieces so far hold after their last '\n'.
  const std::string& rest() const { return m_carry; }

private:
  std::string m_carry;
};

// Calls fn(line, line_number, has_newline) for each line of `text`, the
// last one with has_newline false when `text` does not end with '\n'.
template <typename Fn>
void for_each_line(std::string_view text, Fn&& fn) {
  LineSplitter lines;
  std::int64_t number = 0;
  lines.feed(text, [&](std::string_view line) {
    fn(line, ++number, true);
    return true;
  });
  if (!lines.rest().empty()) {
    fn(std::string_view(lines.rest()), ++number, false);
  }
}

} // namespace barrot::util
