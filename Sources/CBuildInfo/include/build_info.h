// The commit PDX was built from, when the build was stamped (scripts/stamp-commit writes
// build_commit.h, which git ignores); empty otherwise, so that a clean clone builds without git.
#ifndef PDX_BUILD_INFO_H
#define PDX_BUILD_INFO_H

#if __has_include("build_commit.h")
#include "build_commit.h"
#endif

#ifndef PDX_BUILD_COMMIT
#define PDX_BUILD_COMMIT ""
#endif

static inline const char *pdx_build_commit(void) { return PDX_BUILD_COMMIT; }

#endif
