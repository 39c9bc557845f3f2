/*
 * bcryptprimitives.dll for the Wine test lane (scripts/wine/lane.sh).
 *
 * Go >= 1.22 Windows binaries take their random numbers from ProcessPrng in
 * bcryptprimitives.dll, and abort at start when it is missing. Wine 8.0
 * (Debian 12) ships no ProcessPrng, so the lane builds this DLL with MinGW
 * and copies it into the prefix's system32. It fills the buffer with
 * RtlGenRandom (advapi32's SystemFunction036), which Wine implements.
 *
 * Test-lane only: it is never shipped with lyncbackup.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length); /* RtlGenRandom */

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len > 0) {
        ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (!SystemFunction036(data, n))
            return FALSE;
        data += n;
        len -= n;
    }
    return TRUE;
}
