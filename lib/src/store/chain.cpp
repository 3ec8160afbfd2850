#include "store/chain.h"

#include "store/render.h"
#include "util/json_check.h"
#include "util/json_parse.h"
#include "util/sha256.h"

#include <cstring>

namespace barrot::store {

namespace {

void append_hex(std::string* out, const Digest& d) {
  util::append_hex(out, d.data(), d.size());
}

// The metadata every document Barrot writes ends with: a content ending so
// has "metadata" as its last key, an object (a '"' before ':' or '{' cannot
// sit inside a JSON string unescaped), and its record goes in textually.
constexpr std::string_view k_standard_end =
    ",\"metadata\":{\"generated_by\":\"BarrotSnapshotGenerator\",\"version\":\"1.0.0\"}}";

Json* holder_of(Json* doc) {
  auto it = doc->find("metadata");
  return it != doc->end() && it->is_object() ? &*it : doc;
}

Result<Json> parse_content(std::string_view content) {
  Json doc = util::parse_json(content);
  if (doc.is_discarded() || !doc.is_object()) {
    return Status::Corruption("a stored document is not a JSON object");
  }
  return doc;
}

} // namespace

Digest chain_hash(const Digest& prev, std::string_view content) {
  std::string hex;
  hex.reserve(64);
  append_hex(&hex, prev);
  Digest out;
  util::sha256_concat(hex, content, out.data());
  return out;
}

std::string to_hex(const Digest& d) {
  std::string s;
  s.reserve(64);
  append_hex(&s, d);
  return s;
}

bool from_hex(std::string_view hex, Digest* out) {
  if (hex.size() != 64) {
    return false;
  }
  auto nibble = [](char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
  };
  for (std::size_t i = 0; i < 32; ++i) {
    const int hi = nibble(hex[2 * i]);
    const int lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return false;
    }
    (*out)[i] = static_cast<unsigned char>(hi << 4 | lo);
  }
  return true;
}

bool from_blob(const void* data, int bytes, Digest* out) {
  if (data == nullptr || bytes != 32) {
    return false;
  }
  std::memcpy(out->data(), data, 32);
  return true;
}

Json chain_record(const ChainLink& link) {
  Json r = Json::object();
  r["seq"] = link.seq;
  r["prev"] = to_hex(link.prev);
  r["hash"] = to_hex(link.hash);
  return r;
}

void attach_chain(Json* doc, const ChainLink& link) {
  (*holder_of(doc))[k_chain_key] = chain_record(link);
}

Result<std::optional<ChainLink>> detach_chain(Json* doc) {
  if (!doc->is_object()) {
    return std::optional<ChainLink>();
  }
  Json* holder = holder_of(doc);
  auto it = holder->find(k_chain_key);
  if (it == holder->end()) {
    return std::optional<ChainLink>();
  }
  const Json& r = *it;
  ChainLink link;
  const bool ok =
      r.is_object() && r.size() == 3 && r.contains("seq") && r["seq"].is_number_integer() &&
      r["seq"].get<std::int64_t>() > 0 && r.contains("prev") && r["prev"].is_string() &&
      from_hex(r["prev"].get_ref<const std::string&>(), &link.prev) && r.contains("hash") &&
      r["hash"].is_string() && from_hex(r["hash"].get_ref<const std::string&>(), &link.hash);
  if (!ok) {
    return Status::InvalidArgument(
        std::string(holder == doc ? "\"" : "\"metadata.") + k_chain_key +
        "\" is not a chain record ({\"seq\": N, \"prev\": 64 hex digits, \"hash\": 64 hex "
        "digits}); the key is reserved");
  }
  link.seq = r["seq"].get<std::int64_t>();
  holder->erase(it);
  return std::optional<ChainLink>(link);
}

Result<std::string> mirror_line(std::string_view content, const ChainLink& link) {
  if (content.size() > k_standard_end.size() &&
      content.substr(content.size() - k_standard_end.size()) == k_standard_end) {
    std::string out;
    out.reserve(content.size() + 160);
    out.append(content.substr(0, content.size() - 2));
    out += ",\"chain\":{\"seq\":";
    out += std::to_string(link.seq);
    out += ",\"prev\":\"";
    append_hex(&out, link.prev);
    out += "\",\"hash\":\"";
    append_hex(&out, link.hash);
    out += "\"}}}";
    return out;
  }
  BARROT_TRY_ASSIGN(Json doc, parse_content(content));
  attach_chain(&doc, link);
  return compact(doc);
}

Result<std::string> mirror_file(std::string_view content, const ChainLink& link) {
  // mirror_line's textual path takes the content on trust: check it here,
  // where it may come from a database edited by hand.
  if (!util::is_json_object(content)) {
    return Status::Corruption("a stored document is not a JSON object");
  }
  BARROT_TRY_ASSIGN(std::string line, mirror_line(content, link));
  return pretty_compact(line);
}

} // namespace barrot::store
