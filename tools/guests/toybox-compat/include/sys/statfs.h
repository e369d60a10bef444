/* erofs-js compat: struct statfs and statfs() are declared in compat.h. */
