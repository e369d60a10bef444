/*
 * erofs-js: force-included (-include) into every toybox file built for wasm32-wasi.
 * wasi-libc (Debian bookworm, 2022-05) leaves out what WASI preview1 cannot do: users and
 * groups, processes, signals beyond raise(), terminals, sockets, chmod/chown, pipes.
 * toybox's lib/ refers to all of it. Here are only the prototypes, types and constants it
 * needs to compile; compat.c defines, as failures (ENOSYS / "no such user"), the few that a
 * built tool actually links. Nothing here changes what a tool does with files it can read.
 */
#ifndef EROFS_JS_TOYBOX_COMPAT_H
#define EROFS_JS_TOYBOX_COMPAT_H

/* What toybox's lib/portability.h sets before any system header; set here because this
   file comes first. */
#define _FILE_OFFSET_BITS 64
#define _ALL_SOURCE

#include <sys/types.h>
#include <sys/stat.h>
#include <signal.h>
#include <stddef.h>
#include <time.h>

/* Processes and users: WASI has neither. */
mode_t umask(mode_t);
uid_t getuid(void);
uid_t geteuid(void);
gid_t getgid(void);
gid_t getegid(void);
int setuid(uid_t);
int setgid(gid_t);
int setgroups(size_t, const gid_t *);
int getgroups(int, gid_t *);
pid_t getppid(void);
pid_t setsid(void);
pid_t getsid(pid_t);
pid_t getpgrp(void);
int setpgid(pid_t, pid_t);
pid_t tcgetpgrp(int);
int tcsetpgrp(int, pid_t);
pid_t fork(void);
pid_t vfork(void);
int execv(const char *, char *const[]);
int execvp(const char *, char *const[]);
int execve(const char *, char *const[], char *const[]);
int pipe(int[2]);
int dup(int);
int dup2(int, int);
int kill(pid_t, int);
unsigned alarm(unsigned);
int nice(int);
int chroot(const char *);
int fchdir(int);
char *ttyname(int);
int ttyname_r(int, char *, size_t);

struct passwd;
struct group;
int getpwuid_r(uid_t, struct passwd *, char *, size_t, struct passwd **);
int getpwnam_r(const char *, struct passwd *, char *, size_t, struct passwd **);
int getgrgid_r(gid_t, struct group *, char *, size_t, struct group **);
int getgrnam_r(const char *, struct group *, char *, size_t, struct group **);

/* Hidden by wasi-libc: no temp directory, no timezone tables. compat.c defines mkstemp
   (sed -i and ln -f write through a temporary file) with O_CREAT|O_EXCL, which WASI has. */
int mkstemp(char *);
char *mkdtemp(char *);
void tzset(void);

/* Ownership and permissions: WASI preview1 has no chmod/chown. */
int chmod(const char *, mode_t);
int fchmod(int, mode_t);
int fchmodat(int, const char *, mode_t, int);
int chown(const char *, uid_t, gid_t);
int fchown(int, uid_t, gid_t);
int lchown(const char *, uid_t, gid_t);
int fchownat(int, const char *, uid_t, gid_t, int);
int mknod(const char *, mode_t, dev_t);
int mknodat(int, const char *, mode_t, dev_t);
int mkfifo(const char *, mode_t);

/* Extended attributes: WASI preview1 has none. tar compares errno with ENODATA, which
   wasi-libc lacks; "no such attribute" and "not supported" mean the same to a guest here. */
#include <errno.h>
#ifndef ENODATA
#define ENODATA ENOTSUP
#endif

/* Signals: only raise()/signal() are emulated by wasi-libc, which hides the rest. */
#ifndef SIG_BLOCK
#define SIG_BLOCK 0
#define SIG_UNBLOCK 1
#define SIG_SETMASK 2
#endif
#define SA_RESTART 0x10000000
#define SA_SIGINFO 4
#define SA_NODEFER 0x40000000
#define SA_RESETHAND 0x80000000
#ifndef sa_handler
typedef struct { int si_signo, si_errno, si_code; } siginfo_t;
struct sigaction {
  union { void (*sa_handler)(int); void (*sa_sigaction)(int, siginfo_t *, void *); } __sa_handler;
  sigset_t sa_mask;
  int sa_flags;
  void (*sa_restorer)(void);
};
#define sa_handler __sa_handler.sa_handler
#define sa_sigaction __sa_handler.sa_sigaction
#endif
int sigaction(int, const struct sigaction *__restrict, struct sigaction *__restrict);
int sigprocmask(int, const sigset_t *__restrict, sigset_t *__restrict);
int sigemptyset(sigset_t *);
int sigfillset(sigset_t *);
int sigaddset(sigset_t *, int);
int sigdelset(sigset_t *, int);
int sigismember(const sigset_t *, int);
int sigsuspend(const sigset_t *);
int siginterrupt(int, int);

/* Timers used by timeout(1). */
struct sigevent;
int timer_create(clockid_t, struct sigevent *__restrict, timer_t *__restrict);
struct itimerspec;
struct sigevent;
int timer_settime(timer_t, int, const struct itimerspec *__restrict, struct itimerspec *__restrict);

/* Linux-only calls toybox wraps in lib/portability.c. The build passes -D__linux__ so that
   toybox picks its Linux branches (device-number encoding, xattr and statfs signatures). */
#ifndef SO_REUSEADDR
#define SO_REUSEADDR 2
#endif
struct statfs {
  unsigned long f_type, f_bsize, f_frsize;
  unsigned long long f_blocks, f_bfree, f_bavail, f_files, f_ffree;
  unsigned long f_namelen, f_flags;
  struct { int __val[2]; } f_fsid;
};
int statfs(const char *, struct statfs *);
int fstatfs(int, struct statfs *);
int sethostname(const char *, size_t);
int gethostname(char *, size_t);
long syscall(long, ...);

/* Sockets: wasi-libc hides the calls WASI preview1 lacks. */
#include <sys/socket.h>
int socket(int, int, int);
int socketpair(int, int, int, int[2]);
int bind(int, const struct sockaddr *, socklen_t);
int connect(int, const struct sockaddr *, socklen_t);
int listen(int, int);
ssize_t sendto(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
ssize_t recvfrom(int, void *__restrict, size_t, int, struct sockaddr *__restrict, socklen_t *__restrict);
int setsockopt(int, int, int, const void *, socklen_t);
int getsockopt(int, int, int, void *__restrict, socklen_t *__restrict);

/* File locks (F_SETLK) and syslog: declared so the code compiles; WASI has neither. */
#ifndef F_SETLK
#define F_GETLK 5
#define F_SETLK 6
#define F_SETLKW 7
#define F_RDLCK 0
#define F_WRLCK 1
#define F_UNLCK 2
#endif

/* toybox opens files and directories with flags that carry no access mode (for example
   openat(dirfd, name, O_CLOEXEC)), relying on Linux's O_RDONLY being 0. wasi-libc's
   O_RDONLY is a bit of its own and open() refuses a missing access mode with EINVAL, so
   every open in toybox goes through a wrapper that adds O_RDONLY when no mode is given. */
#include <fcntl.h>
/* toybox also uses O_CLOEXEC as a marker: loopfiles() closes each file after use only when
   its flags hold O_CLOEXEC, which is 0 in wasi-libc (WASI has no exec), so every file a tool
   looped over stayed open until a runtime ran out of descriptors. A bit WASI does not use
   stands for it here (toybox keeps 1<<30 and 1<<31 for its own flags), and the wrapper
   clears it before the real open. */
#undef O_CLOEXEC
#define O_CLOEXEC 0x20000000
#ifndef EROFS_JS_COMPAT_NO_OPEN_WRAP
int erofs_js_open(const char *, int, ...);
int erofs_js_openat(int, const char *, int, ...);
#define open(...) erofs_js_open(__VA_ARGS__)
#define openat(...) erofs_js_openat(__VA_ARGS__)
#endif

#endif
