/* erofs-js compat: no personalities under WASI. */
#define PER_LINUX32 0x0008
int personality(unsigned long);
