/* QEMU TCG plugin: how many times each guest instruction executed (bench/hotspots.py).
 *
 *   -plugin libpc_counts.so,out=<file>
 *
 * Every instruction below 8 MB (the code of the mps2 and mps3 machines) adds 1 to its own counter
 * (an inline add, as icount_marks.c counts); at exit, "<hex address> <count>" lines for those that
 * ran. Single vCPU. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "qemu-plugin-min.h"
QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;
#define N (1u << 22) /* halfword slots: 8 MB of Thumb code */
static uint64_t counts[N];
static char out_path[1024];
static void on_tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
  size_t n = qemu_plugin_tb_n_insns(tb);
  for (size_t i = 0; i < n; i++) {
    struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
    uint64_t a = qemu_plugin_insn_vaddr(insn);
    if (a < 2 * N) qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64, &counts[a / 2], 1);
  }
}
static void on_exit_cb(qemu_plugin_id_t id, void *ud) {
  FILE *f = fopen(out_path[0] ? out_path : "pc_counts.txt", "w");
  if (!f) return;
  for (unsigned i = 0; i < N; i++) if (counts[i]) fprintf(f, "%x %llu\n", i * 2, (unsigned long long)counts[i]);
  fclose(f);
}
QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv) {
  for (int i = 0; i < argc; i++) if (!strncmp(argv[i], "out=", 4)) snprintf(out_path, sizeof out_path, "%s", argv[i] + 4);
  qemu_plugin_register_vcpu_tb_trans_cb(id, on_tb_trans);
  qemu_plugin_register_atexit_cb(id, on_exit_cb, NULL);
  return 0;
}
