/* erofs-js compat: WASI has no user database; compat.c's lookups find nobody. */
#ifndef EROFS_JS_PWD_H
#define EROFS_JS_PWD_H
#include <sys/types.h>
struct passwd { char *pw_name, *pw_passwd; uid_t pw_uid; gid_t pw_gid; char *pw_gecos, *pw_dir, *pw_shell; };
struct passwd *getpwuid(uid_t);
struct passwd *getpwnam(const char *);
struct passwd *getpwent(void);
void setpwent(void);
void endpwent(void);
#endif
