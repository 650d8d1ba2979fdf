/* fsview_files.h - what cellfs serves and where, written once for both sides:
 * the daemon (fsview/, cmd/cellfs/) and the runtime that binds its files into
 * containers (runtime/fsview_bind.c). */
#ifndef CELL_FSVIEW_FILES_H
#define CELL_FSVIEW_FILES_H

/* Where cellfs mounts by default; run.cell.fsview.path names another. */
#define CELL_FSVIEW_DEFAULT_MOUNT "/var/lib/cellfs"

/* <mountpoint>/proc/NAME stands for /proc/NAME, in this order (X-macro: X("name")). */
#define CELL_FSVIEW_PROC_FILES(X)                                                                    \
  X("meminfo") X("cpuinfo") X("stat") X("uptime") X("loadavg") X("diskstats") X("swaps")            \
  X("pressure/cpu") X("pressure/memory") X("pressure/io")

/* <mountpoint>/sys/devices/system/cpu/NAME stands for the same path in /sys. */
#define CELL_FSVIEW_CPU_DIR "sys/devices/system/cpu"
#define CELL_FSVIEW_CPU_FILES(X) X("online") X("possible") X("present")

#endif
