#include "util/json_check.h"

#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

namespace barrot::util {

namespace {

// A stack of bytes that lives on the machine stack up to 64 deep.
class Stack {
public:
  bool empty() const { return m_size == 0; }
  std::size_t size() const { return m_size; }
  char back() const { return m_size <= k_inline ? m_inline[m_size - 1] : m_more.back(); }
  void push_back(char c) {
    if (m_size < k_inline) {
      m_inline[m_size] = c;
    } else {
      m_more.push_back(c);
    }
    ++m_size;
  }
  void pop_back() {
    if (m_size > k_inline) {
      m_more.pop_back();
    }
    --m_size;
  }

private:
  static constexpr std::size_t k_inline = 64;
  char m_inline[k_inline];
  std::vector<char> m_more;
  std::size_t m_size = 0;
};

class Checker {
public:
  explicit Checker(std::string_view text) : m_p(text.data()), m_end(text.data() + text.size()) {}

  bool run(int max_depth) {
    // Containers open, innermost last: '{' or '['. Snapshots nest a few
    // levels: no allocation for them.
    Stack stack;
    skip_ws();
    for (;;) {
      // A value.
      if (m_p == m_end) {
        return false;
      }
      const char c = *m_p;
      if (c == '{' || c == '[') {
        if (static_cast<int>(stack.size()) >= max_depth) {
          return false;
        }
        ++m_p;
        skip_ws();
        if (m_p != m_end && *m_p == (c == '{' ? '}' : ']')) {
          ++m_p; // empty container: a complete value
        } else {
          stack.push_back(c);
          if (c == '{' && !key()) {
            return false;
          }
          continue;
        }
      } else if (!scalar()) {
        return false;
      }
      // After a value: close containers, or a comma and the next value.
      for (;;) {
        skip_ws();
        if (stack.empty()) {
          return m_p == m_end;
        }
        if (m_p == m_end) {
          return false;
        }
        const char open = stack.back();
        if (*m_p == ',') {
          ++m_p;
          skip_ws();
          if (open == '{' && !key()) {
            return false;
          }
          break; // the next value
        }
        if (*m_p != (open == '{' ? '}' : ']')) {
          return false;
        }
        ++m_p;
        stack.pop_back();
      }
    }
  }

private:
  void skip_ws() {
    while (m_p != m_end && (*m_p == ' ' || *m_p == '\n' || *m_p == '\r' || *m_p == '\t')) {
      ++m_p;
    }
  }

  // "key" : (then a value follows)
  bool key() {
    if (m_p == m_end || *m_p != '"' || !string()) {
      return false;
    }
    skip_ws();
    if (m_p == m_end || *m_p != ':') {
      return false;
    }
    ++m_p;
    skip_ws();
    return true;
  }

  bool scalar() {
    switch (*m_p) {
    case '"':
      return string();
    case 't':
      return literal("true");
    case 'f':
      return literal("false");
    case 'n':
      return literal("null");
    default:
      return number();
    }
  }

  bool literal(std::string_view word) {
    if (static_cast<std::size_t>(m_end - m_p) < word.size() ||
        std::string_view(m_p, word.size()) != word) {
      return false;
    }
    m_p += word.size();
    return true;
  }

  bool digits() {
    const char* start = m_p;
    while (m_p != m_end && *m_p >= '0' && *m_p <= '9') {
      ++m_p;
    }
    return m_p != start;
  }

  bool number() {
    if (m_p != m_end && *m_p == '-') {
      ++m_p;
    }
    if (m_p == m_end) {
      return false;
    }
    if (*m_p == '0') {
      ++m_p;
    } else if (!digits()) {
      return false;
    }
    if (m_p != m_end && *m_p == '.') {
      ++m_p;
      if (!digits()) {
        return false;
      }
    }
    if (m_p != m_end && (*m_p == 'e' || *m_p == 'E')) {
      ++m_p;
      if (m_p != m_end && (*m_p == '+' || *m_p == '-')) {
        ++m_p;
      }
      if (!digits()) {
        return false;
      }
    }
    return true;
  }

  int hex4() {
    if (m_end - m_p < 4) {
      return -1;
    }
    int v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = *m_p++;
      v <<= 4;
      if (c >= '0' && c <= '9') {
        v |= c - '0';
      } else if (c >= 'a' && c <= 'f') {
        v |= c - 'a' + 10;
      } else if (c >= 'A' && c <= 'F') {
        v |= c - 'A' + 10;
      } else {
        return -1;
      }
    }
    return v;
  }

  // One UTF-8 sequence of 2-4 bytes starting at m_p (already known >= 0x80).
  bool utf8() {
    const auto b0 = static_cast<unsigned char>(*m_p);
    int len = 0;
    unsigned char lo = 0x80;
    unsigned char hi = 0xBF;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
      len = 2;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      len = 3;
      lo = b0 == 0xE0 ? 0xA0 : 0x80; // no overlong forms
      hi = b0 == 0xED ? 0x9F : 0xBF; // no surrogates
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      len = 4;
      lo = b0 == 0xF0 ? 0x90 : 0x80;
      hi = b0 == 0xF4 ? 0x8F : 0xBF; // nothing past U+10FFFF
    } else {
      return false;
    }
    if (m_end - m_p < len) {
      return false;
    }
    const auto b1 = static_cast<unsigned char>(m_p[1]);
    if (b1 < lo || b1 > hi) {
      return false;
    }
    for (int i = 2; i < len; ++i) {
      const auto b = static_cast<unsigned char>(m_p[i]);
      if (b < 0x80 || b > 0xBF) {
        return false;
      }
    }
    m_p += len;
    return true;
  }

  bool string() {
    ++m_p; // the opening quote
    for (;;) {
      // Plain ASCII runs first, eight bytes at a time while none of them is
      // a quote, a backslash, a control character or non-ASCII.
      while (m_end - m_p >= 8) {
        std::uint64_t x;
        std::memcpy(&x, m_p, 8);
        constexpr std::uint64_t k_ones = 0x0101010101010101ULL;
        constexpr std::uint64_t k_highs = 0x8080808080808080ULL;
        auto has_zero = [](std::uint64_t v) { return (v - k_ones) & ~v & k_highs; };
        const std::uint64_t special = has_zero(x ^ (k_ones * '"')) | has_zero(x ^ (k_ones * '\\')) |
                                      ((x - k_ones * 0x20) & ~x & k_highs) | (x & k_highs);
        if (special != 0) {
          break;
        }
        m_p += 8;
      }
      while (m_p != m_end) {
        const auto c = static_cast<unsigned char>(*m_p);
        if (c < 0x20 || c == '"' || c == '\\' || c >= 0x80) {
          break;
        }
        ++m_p;
      }
      if (m_p == m_end) {
        return false;
      }
      const auto c = static_cast<unsigned char>(*m_p);
      if (c == '"') {
        ++m_p;
        return true;
      }
      if (c < 0x20) {
        return false;
      }
      if (c >= 0x80) {
        if (!utf8()) {
          return false;
        }
        continue;
      }
      // An escape.
      ++m_p;
      if (m_p == m_end) {
        return false;
      }
      switch (*m_p++) {
      case '"':
      case '\\':
      case '/':
      case 'b':
      case 'f':
      case 'n':
      case 'r':
      case 't':
        break;
      case 'u': {
        const int u = hex4();
        if (u < 0) {
          return false;
        }
        if (u >= 0xDC00 && u <= 0xDFFF) {
          return false; // a low surrogate alone
        }
        if (u >= 0xD800 && u <= 0xDBFF) {
          if (m_end - m_p < 2 || m_p[0] != '\\' || m_p[1] != 'u') {
            return false;
          }
          m_p += 2;
          const int low = hex4();
          if (low < 0xDC00 || low > 0xDFFF) {
            return false;
          }
        }
        break;
      }
      default:
        return false;
      }
    }
  }

  const char* m_p;
  const char* m_end;
};

} // namespace

bool nests_deeper(std::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) {
        return true;
      }
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
}

bool is_valid_json(std::string_view text, int max_depth) {
  return Checker(text).run(max_depth);
}

bool is_json_object(std::string_view text) {
  return !text.empty() && text.front() == '{' && is_valid_json(text);
}

namespace {

LineCheck check_lines_serial(std::string_view text) {
  LineCheck r;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) {
      nl = text.size();
    }
    ++r.lines;
    if (r.first_bad < 0 && !is_valid_json(text.substr(pos, nl - pos))) {
      r.first_bad = r.lines;
    }
    pos = nl + 1;
  }
  return r;
}

} // namespace

LineCheck check_json_lines(std::string_view text, bool parallel) {
  constexpr std::size_t k_parallel_above = 4u << 20;
  if (!parallel || text.size() < k_parallel_above) {
    return check_lines_serial(text);
  }
  // Split after the newline nearest the middle; the second half on a thread.
  std::size_t mid = text.find('\n', text.size() / 2);
  mid = mid == std::string_view::npos ? text.size() : mid + 1;
  LineCheck second;
  std::thread worker([&] { second = check_lines_serial(text.substr(mid)); });
  LineCheck first = check_lines_serial(text.substr(0, mid));
  worker.join();
  LineCheck r;
  r.lines = first.lines + second.lines;
  r.first_bad = first.first_bad >= 0    ? first.first_bad
                : second.first_bad >= 0 ? first.lines + second.first_bad
                                        : -1;
  return r;
}

} // namespace barrot::util
