/* erofs-js compat: no swap under WASI. */
#define SWAP_FLAG_PREFER 0x8000
int swapon(const char *, int);
int swapoff(const char *);
