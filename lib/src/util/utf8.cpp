#include "utf8.h"

namespace barrot::util {

bool is_valid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    unsigned c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    int len = 0;
    unsigned cp = 0;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (end - p < len) {
      return false;
    }
    for (int i = 1; i < len; ++i) {
      if ((p[i] & 0xC0) != 0x80) {
        return false;
      }
      cp = (cp << 6) | (p[i] & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    p += len;
  }
  return true;
}

std::string to_valid_utf8(std::string_view s) {
  if (is_valid_utf8(s)) {
    return std::string(s);
  }
  std::string out;
  for (std::size_t i = 0; i < s.size();) {
    // The longest valid sequence starting here, if any.
    std::size_t len = 0;
    for (std::size_t n = 1; n <= 4 && i + n <= s.size(); ++n) {
      if (is_valid_utf8(s.substr(i, n))) {
        len = n;
        break;
      }
    }
    if (len == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(s.substr(i, len));
      i += len;
    }
  }
  return out;
}

bool has_control_chars(std::string_view s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7F) {
      return true;
    }
    if (c == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) >= 0x80 &&
        static_cast<unsigned char>(s[i + 1]) <= 0x9F) {
      return true;
    }
  }
  return false;
}

std::string escape_c1(std::string s) {
  std::size_t at = s.find('\xC2');
  if (at == std::string::npos) {
    return s;
  }
  std::string out;
  out.reserve(s.size() + 16);
  std::size_t from = 0;
  for (; at != std::string::npos; at = s.find('\xC2', at + 1)) {
    if (at + 1 < s.size() && static_cast<unsigned char>(s[at + 1]) >= 0x80 &&
        static_cast<unsigned char>(s[at + 1]) <= 0x9F) {
      static constexpr char k_hex[] = "0123456789abcdef";
      const auto c = static_cast<unsigned char>(s[at + 1]);
      out.append(s, from, at - from);
      out += "\\u00";
      out += k_hex[c >> 4];
      out += k_hex[c & 15];
      from = at + 2;
      ++at;
    }
  }
  out.append(s, from, std::string::npos);
  return out;
}

} // namespace barrot::util
