// SQLite's C API, for the plain-insert baseline of the storage benchmarks.
#include <sqlite3.h>
