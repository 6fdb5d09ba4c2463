/* Kiln runtime: binary element-wise, comparison, logical and select kernels (included by kiln_runtime.h). */
#ifndef KILN_ELEMENTWISE_H
#define KILN_ELEMENTWISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#endif
