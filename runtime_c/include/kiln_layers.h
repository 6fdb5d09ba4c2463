/* Kiln runtime: compute-layer kernels beyond convolution and fully connected: transposed
 * convolution, batch matmul, resizing, L2 pooling, embedding lookup (included by kiln_runtime.h). */
#ifndef KILN_LAYERS_H
#define KILN_LAYERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#endif
