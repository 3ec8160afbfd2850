// The configuration and manifest readers: a build manifest (YAML to JSON),
// /etc/barrot.yaml for barrot periodic and for barrot-archive. The text is
// handed over as a file, as the programs read it.
#include "fuzz_util.h"
#include "util/yaml_json.h"

#include <barrot/archive.h>
#include <barrot/periodic.h>

#include <sys/mman.h>
#include <unistd.h>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace barrot;
  const std::string text(reinterpret_cast<const char*>(data), size);
  if (auto doc = util::parse_yaml(text, "manifest"); doc.ok()) {
    // The JSON it gives can be written into a snapshot.
    (void)doc->dump(-1, ' ', false, Json::error_handler_t::replace);
  }
  const int fd = ::memfd_create("fuzz-config", 0);
  FUZZ_CHECK(fd >= 0);
  FUZZ_CHECK(::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  PeriodicConfig config;
  (void)load_periodic_config(path, &config);
  ArchiveOptions options;
  (void)load_archive_config(path, &options);
  ::close(fd);
  return 0;
}
