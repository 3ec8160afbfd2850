// Linked into `barrot` only when it is a static PIE (tools/CMakeLists.txt,
// with -Wl,--wrap=dlopen). SQLite's loadable-extension support is the one
// user of dlopen in the program, and Barrot never loads an extension (it is
// off on every connection). In a static program glibc's dlopen could only
// load libraries built for the very same glibc, and linking it draws a
// warning saying so; this refuses instead, as SQLite would when the library
// is missing.
extern "C" void* __wrap_dlopen(const char* /*file*/, int /*mode*/) {
  return nullptr;
}
