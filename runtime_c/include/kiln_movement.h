/* Kiln runtime: shape and data-movement kernels (included by kiln_runtime.h). */
#ifndef KILN_MOVEMENT_H
#define KILN_MOVEMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#endif
