# barrot_settings and barrot_warnings: INTERFACE targets linked PRIVATE by
# Barrot's own targets only (never by third-party code).
add_library(barrot_settings INTERFACE)
target_compile_features(barrot_settings INTERFACE cxx_std_20)
target_compile_definitions(barrot_settings INTERFACE $<$<CONFIG:Debug>:_GLIBCXX_ASSERTIONS>)

if(BARROT_SANITIZE)
  # ASan + UBSan; every UB report is fatal so a test cannot pass over one.
  target_compile_options(barrot_settings INTERFACE
    -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  target_link_options(barrot_settings INTERFACE -fsanitize=address,undefined)
endif()
if(BARROT_TSAN)
  # Every data race reported ends the test (TSAN_OPTIONS=halt_on_error=1 in
  # scripts/test.sh). -O1: unoptimized, the unit tests take over 15 minutes
  # under TSan; at -O1, three.
  target_compile_options(barrot_settings INTERFACE -fsanitize=thread -O1 -fno-omit-frame-pointer)
  target_link_options(barrot_settings INTERFACE -fsanitize=thread)
endif()
if(BARROT_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "BARROT_FUZZ needs clang (libFuzzer): CXX=clang++ cmake ...")
  endif()
  # The library instrumented for coverage; the targets add libFuzzer's main.
  target_compile_options(barrot_settings INTERFACE
    -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  target_link_options(barrot_settings INTERFACE -fsanitize=address,undefined)
endif()

add_library(barrot_warnings INTERFACE)
target_compile_options(barrot_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Woverloaded-virtual
  -Wnull-dereference $<$<BOOL:${BARROT_WARNINGS_AS_ERRORS}>:-Werror>)
