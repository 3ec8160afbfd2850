// Shared by the fuzz targets (libFuzzer): an invariant that must hold for
// every input, checked in release builds too.
#pragma once

#include "store/chain.h"
#include "store/render.h"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#define FUZZ_CHECK(cond)                                                                           \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);            \
      std::abort();                                                                                \
    }                                                                                              \
  } while (false)

namespace barrot::fuzz {

// A document's mirror forms carry its chain record and give the document
// back, byte for byte, once the record is taken out.
inline void check_chain_round_trip(const std::string& content) {
  store::ChainLink link;
  link.seq = 7;
  link.prev = store::chain_hash(store::k_genesis, "x");
  link.hash = store::chain_hash(link.prev, content);
  auto line = store::mirror_line(content, link);
  FUZZ_CHECK(line.ok());
  auto file = store::mirror_file(content, link);
  FUZZ_CHECK(file.ok());
  for (const std::string* text : {&*line, &*file}) {
    Json doc = Json::parse(*text, nullptr, false);
    FUZZ_CHECK(!doc.is_discarded());
    auto back = store::detach_chain(&doc);
    FUZZ_CHECK(back.ok() && back->has_value());
    FUZZ_CHECK((*back)->seq == link.seq && (*back)->prev == link.prev &&
               (*back)->hash == link.hash);
    FUZZ_CHECK(store::compact(doc) == content);
  }
  // The file is indented textually: exactly what parsing and dump(2) give.
  Json parsed = Json::parse(*line);
  FUZZ_CHECK(*file == store::pretty(parsed));
}

} // namespace barrot::fuzz
