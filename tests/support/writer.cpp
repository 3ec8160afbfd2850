// Test helper: writes snapshots into a store and prints each id on stdout
// (flushed) once the store has acknowledged it.
//
//   barrot_test_writer DIR COUNT [BATCH] [PERIODIC_EVERY]
//
// COUNT 0 writes until killed. BATCH > 1 uses record_actions. Every
// PERIODIC_EVERY-th write is a periodic snapshot (0: none). With
// BARROT_TEST_AT=<microseconds> every action claims that same time, so
// concurrent writers collide on every id. With BARROT_TEST_BACKGROUND=1 the
// store mirrors on its background thread (Options::background_mirror): an id
// is printed once committed, before its files are written.
#include <barrot/barrot.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: barrot_test_writer DIR COUNT [BATCH] [PERIODIC_EVERY]\n");
    return 2;
  }
  barrot::Options options;
  options.snapshots_dir = argv[1];
  const long count = std::atol(argv[2]);
  const long batch = argc > 3 ? std::max(1L, std::atol(argv[3])) : 1;
  const long periodic_every = argc > 4 ? std::atol(argv[4]) : 0;
  const char* background = std::getenv("BARROT_TEST_BACKGROUND");
  options.background_mirror = background != nullptr && std::string(background) == "1";
  auto store = barrot::Store::Open(options);
  if (!store.ok()) {
    std::fprintf(stderr, "open: %s\n", store.status().ToString().c_str());
    return 1;
  }
  const std::string pid = std::to_string(::getpid());
  const char* fixed_at = std::getenv("BARROT_TEST_AT");
  for (long n = 0; count == 0 || n < count;) {
    if (periodic_every > 0 && n % periodic_every == periodic_every - 1) {
      auto s = (*store)->record_periodic(barrot::PeriodicInput{});
      if (!s.ok()) {
        std::fprintf(stderr, "periodic: %s\n", s.status().ToString().c_str());
        return 1;
      }
      std::printf("%s\n", s->id.c_str());
      std::fflush(stdout);
      ++n;
      continue;
    }
    std::vector<barrot::ActionInput> inputs;
    for (long i = 0; i < batch && (count == 0 || n < count); ++i, ++n) {
      barrot::ActionInput in;
      in.type = "writer";
      in.details = barrot::Json{{"pid", pid}, {"n", n}};
      in.status = barrot::ActionStatus::completed;
      if (fixed_at != nullptr) {
        in.at = std::atoll(fixed_at);
      }
      inputs.push_back(std::move(in));
    }
    auto s = (*store)->record_actions(inputs);
    if (!s.ok()) {
      std::fprintf(stderr, "write: %s\n", s.status().ToString().c_str());
      return 1;
    }
    for (const auto& snap : *s) {
      std::printf("%s\n", snap.id.c_str());
    }
    std::fflush(stdout);
  }
  barrot::Status flushed = (*store)->flush();
  if (!flushed.ok()) {
    std::fprintf(stderr, "flush: %s\n", flushed.ToString().c_str());
    return 1;
  }
  return 0;
}
