/* erofs-js compat: no pseudo-terminals under WASI. */
#include <termios.h>
int openpty(int *, int *, char *, const struct termios *, const struct winsize *);
int forkpty(int *, char *, const struct termios *, const struct winsize *);
