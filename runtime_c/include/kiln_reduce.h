/* Kiln runtime: reduction kernels (included by kiln_runtime.h). */
#ifndef KILN_REDUCE_H
#define KILN_REDUCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#endif
