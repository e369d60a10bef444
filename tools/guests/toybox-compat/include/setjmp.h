/* erofs-js compat: WASI (without the exception-handling proposal) cannot unwind. toybox's
 * single-command builds only longjmp() when toys.rebound is set, which only the multiplexer
 * and the shell do; compat.c's longjmp aborts loudly if that assumption ever breaks. */
#ifndef EROFS_JS_SETJMP_H
#define EROFS_JS_SETJMP_H
typedef long jmp_buf[8];
typedef long sigjmp_buf[9];
int setjmp(jmp_buf);
_Noreturn void longjmp(jmp_buf, int);
int sigsetjmp(sigjmp_buf, int);
_Noreturn void siglongjmp(sigjmp_buf, int);
#endif
