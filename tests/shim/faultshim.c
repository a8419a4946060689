/*
 * faultshim.c — an LD_PRELOAD library for the API fault tests: while the
 * file named by QV_SHIM_FAIL_SYNC exists, fdatasync fails with EIO (as a
 * disk whose writeback failed would report it). The test creates and
 * removes that file to open and close the fault; the server under test is
 * the real binary, unchanged. Test-only: never linked into Quiver.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

int fdatasync(int fd)
{
    static int (*real)(int);
    const char *trigger = getenv("QV_SHIM_FAIL_SYNC");
    if (trigger && access(trigger, F_OK) == 0) {
        errno = EIO;
        return -1;
    }
    if (!real)
        real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    return real ? real(fd) : -1;
}
