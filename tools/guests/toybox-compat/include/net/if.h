/* erofs-js compat: toys.h includes it; nothing in it is used by the tools built here. */
