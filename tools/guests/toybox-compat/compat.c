/*
 * erofs-js: definitions for the compat.h functions that toybox's single-command builds
 * link. WASI preview1 cannot do any of these; each fails the way POSIX lets it fail
 * (ENOSYS, or "not found" for user/group lookups), so a tool reports an error instead of
 * pretending. Only functions the linker finds live in a built tool end up in the wasm.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define EROFS_JS_COMPAT_NO_OPEN_WRAP
#include "compat.h"
#include <stdarg.h>
#include <setjmp.h>
#include <pwd.h>
#include <grp.h>
#include <termios.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <syslog.h>
#include <sys/wait.h>

/* See compat.h: no access mode means read-only, as on Linux; O_CLOEXEC is ours alone. */
static int with_mode(int flags)
{
  flags &= ~O_CLOEXEC;
  return (flags & O_ACCMODE) ? flags : flags | O_RDONLY;
}
int erofs_js_open(const char *path, int flags, ...)
{
  va_list ap;
  va_start(ap, flags);
  mode_t mode = (flags & O_CREAT) ? va_arg(ap, int) : 0;
  va_end(ap);
  return open(path, with_mode(flags), mode);
}
int erofs_js_openat(int dir, const char *path, int flags, ...)
{
  va_list ap;
  va_start(ap, flags);
  mode_t mode = (flags & O_CREAT) ? va_arg(ap, int) : 0;
  va_end(ap);
  return openat(dir, path, with_mode(flags), mode);
}

#define FAIL(ret) do { errno = ENOSYS; return ret; } while (0)

/* toybox only longjmps when toys.rebound is set, which a single-command build never does. */
int setjmp(jmp_buf b) { (void)b; return 0; }
int sigsetjmp(sigjmp_buf b, int save) { (void)b; (void)save; return 0; }
_Noreturn void longjmp(jmp_buf b, int v) { (void)b; (void)v; fputs("longjmp: unsupported under WASI\n", stderr); abort(); }
_Noreturn void siglongjmp(sigjmp_buf b, int v) { (void)b; (void)v; fputs("siglongjmp: unsupported under WASI\n", stderr); abort(); }

/* No process credentials under WASI: report root-less defaults, like a sandbox with one user. */
mode_t umask(mode_t m) { (void)m; return 022; }
uid_t getuid(void) { return 0; }
uid_t geteuid(void) { return 0; }
gid_t getgid(void) { return 0; }
gid_t getegid(void) { return 0; }
int setuid(uid_t u) { (void)u; FAIL(-1); }
int setgid(gid_t g) { (void)g; FAIL(-1); }
int setgroups(size_t n, const gid_t *l) { (void)n; (void)l; FAIL(-1); }
int getgroups(int n, gid_t *l) { (void)n; (void)l; return 0; }

/* No user or group database: every lookup finds nobody, so tools print numeric ids. */
struct passwd *getpwuid(uid_t u) { (void)u; errno = 0; return 0; }
struct passwd *getpwnam(const char *n) { (void)n; errno = 0; return 0; }
struct group *getgrgid(gid_t g) { (void)g; errno = 0; return 0; }
struct group *getgrnam(const char *n) { (void)n; errno = 0; return 0; }
int getpwuid_r(uid_t u, struct passwd *p, char *b, size_t l, struct passwd **r) { (void)u; (void)p; (void)b; (void)l; *r = 0; return 0; }
int getpwnam_r(const char *n, struct passwd *p, char *b, size_t l, struct passwd **r) { (void)n; (void)p; (void)b; (void)l; *r = 0; return 0; }
int getgrgid_r(gid_t g, struct group *p, char *b, size_t l, struct group **r) { (void)g; (void)p; (void)b; (void)l; *r = 0; return 0; }
int getgrnam_r(const char *n, struct group *p, char *b, size_t l, struct group **r) { (void)n; (void)p; (void)b; (void)l; *r = 0; return 0; }

/* Calls WASI preview1 has no counterpart for. */
int fchdir(int fd) { (void)fd; FAIL(-1); }
/* WASI has no dup. ls dup()s a directory fd only to read the directory again; opening "."
   relative to it gives a descriptor for the same directory, which is all it needs. Any other
   kind of file cannot be duplicated. */
int dup(int fd)
{
  struct stat st;
  if (fstat(fd, &st)) return -1;
  if (!S_ISDIR(st.st_mode)) FAIL(-1);
  return openat(fd, ".", O_RDONLY | O_DIRECTORY);
}
int dup2(int a, int b) { (void)a; (void)b; FAIL(-1); }
int pipe(int fds[2]) { (void)fds; FAIL(-1); }
pid_t fork(void) { FAIL(-1); }
pid_t vfork(void) { FAIL(-1); }
int execv(const char *p, char *const a[]) { (void)p; (void)a; FAIL(-1); }
int execvp(const char *p, char *const a[]) { (void)p; (void)a; FAIL(-1); }
int execve(const char *p, char *const a[], char *const e[]) { (void)p; (void)a; (void)e; FAIL(-1); }
pid_t waitpid(pid_t p, int *s, int o) { (void)p; (void)s; (void)o; FAIL(-1); }
pid_t wait(int *s) { (void)s; FAIL(-1); }
int kill(pid_t p, int s) { (void)p; (void)s; FAIL(-1); }
int sigaction(int s, const struct sigaction *a, struct sigaction *o) { (void)s; (void)a; (void)o; FAIL(-1); }
int sigprocmask(int h, const sigset_t *s, sigset_t *o) { (void)h; (void)s; (void)o; FAIL(-1); }
int sigemptyset(sigset_t *s) { (void)s; return 0; }
int sigfillset(sigset_t *s) { (void)s; return 0; }
int sigaddset(sigset_t *s, int n) { (void)s; (void)n; return 0; }
int fchmod(int fd, mode_t m) { (void)fd; (void)m; FAIL(-1); }
int fchmodat(int d, const char *p, mode_t m, int f) { (void)d; (void)p; (void)m; (void)f; FAIL(-1); }
int mknod(const char *p, mode_t m, dev_t d) { (void)p; (void)m; (void)d; FAIL(-1); }
int mknodat(int dir, const char *p, mode_t m, dev_t d) { (void)dir; (void)p; (void)m; (void)d; FAIL(-1); }
int mkfifo(const char *p, mode_t m) { (void)p; (void)m; FAIL(-1); }
int chmod(const char *p, mode_t m) { (void)p; (void)m; FAIL(-1); }
int chown(const char *p, uid_t u, gid_t g) { (void)p; (void)u; (void)g; FAIL(-1); }
int lchown(const char *p, uid_t u, gid_t g) { (void)p; (void)u; (void)g; FAIL(-1); }
int fchown(int fd, uid_t u, gid_t g) { (void)fd; (void)u; (void)g; FAIL(-1); }
int fchownat(int d, const char *p, uid_t u, gid_t g, int f) { (void)d; (void)p; (void)u; (void)g; (void)f; FAIL(-1); }
int tcgetattr(int fd, struct termios *t) { (void)fd; (void)t; errno = ENOTTY; return -1; }
int tcsetattr(int fd, int a, const struct termios *t) { (void)fd; (void)a; (void)t; errno = ENOTTY; return -1; }
int statfs(const char *p, struct statfs *s) { (void)p; (void)s; FAIL(-1); }
int fstatfs(int fd, struct statfs *s) { (void)fd; (void)s; FAIL(-1); }
int statvfs(const char *p, struct statvfs *s) { (void)p; (void)s; FAIL(-1); }
ssize_t getxattr(const char *p, const char *n, void *v, size_t l) { (void)p; (void)n; (void)v; (void)l; errno = ENOTSUP; return -1; }
ssize_t lgetxattr(const char *p, const char *n, void *v, size_t l) { (void)p; (void)n; (void)v; (void)l; errno = ENOTSUP; return -1; }
ssize_t fgetxattr(int fd, const char *n, void *v, size_t l) { (void)fd; (void)n; (void)v; (void)l; errno = ENOTSUP; return -1; }
ssize_t flistxattr(int fd, char *l, size_t s) { (void)fd; (void)l; (void)s; errno = ENOTSUP; return -1; }
int fsetxattr(int fd, const char *n, const void *v, size_t l, int f) { (void)fd; (void)n; (void)v; (void)l; (void)f; errno = ENOTSUP; return -1; }
ssize_t listxattr(const char *p, char *l, size_t s) { (void)p; (void)l; (void)s; errno = ENOTSUP; return -1; }
ssize_t llistxattr(const char *p, char *l, size_t s) { (void)p; (void)l; (void)s; errno = ENOTSUP; return -1; }
void openlog(const char *i, int o, int f) { (void)i; (void)o; (void)f; }
void vsyslog(int p, const char *f, va_list a) { (void)p; (void)f; (void)a; }
void tzset(void) {}

/* mkstemp(3): WASI can create a file exclusively, so this one is real. The six X's become
   random letters and digits until open(O_CREAT|O_EXCL) makes a new file (mode 0600 is
   asked for; WASI path_open carries no mode, so the runtime's default applies). */
int mkstemp(char *tmpl)
{
  static const char set[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  size_t n = strlen(tmpl);
  if (n < 6 || strcmp(tmpl + n - 6, "XXXXXX")) { errno = EINVAL; return -1; }
  for (int tries = 0; tries < 100; tries++) {
    unsigned char r[6];
    arc4random_buf(r, sizeof r);
    for (int i = 0; i < 6; i++) tmpl[n - 6 + i] = set[r[i] % (sizeof set - 1)];
    int fd = open(tmpl, O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd >= 0 || errno != EEXIST) return fd;
  }
  errno = EEXIST;
  return -1;
}
