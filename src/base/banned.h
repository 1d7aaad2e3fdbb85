/*
 * banned.h: libc string calls that overflow too easily.  Include it last in
 * every .c file, after the system headers, so that a use fails to compile.
 */
#ifndef RCP_BANNED_H
#define RCP_BANNED_H

#define RCP_BANNED(func) sorry_##func##_is_banned_use_rcp_buf_or_snprintf

#undef strcpy
#define strcpy(x, y) RCP_BANNED(strcpy)
#undef strcat
#define strcat(x, y) RCP_BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) RCP_BANNED(strncpy)
#undef strncat
#define strncat(x, y, n) RCP_BANNED(strncat)
#undef sprintf
#define sprintf(...) RCP_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) RCP_BANNED(vsprintf)
#undef strtok
#define strtok(x, y) RCP_BANNED(strtok)
#undef gets
#define gets(x) RCP_BANNED(gets)

#endif
