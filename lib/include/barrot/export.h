// Symbol visibility for the barrot library.
#pragma once

#if defined(BARROT_SHARED_LIBRARY)
#define BARROT_EXPORT __attribute__((visibility("default")))
#else
#define BARROT_EXPORT
#endif
