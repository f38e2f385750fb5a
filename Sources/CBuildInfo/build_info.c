// A C target needs a source file; everything is in include/build_info.h.
#include "build_info.h"
