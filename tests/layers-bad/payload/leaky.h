/* A fixture for check-layers: payload may take JSON, so this header is fine
 * here; it makes index/indirect.c cross a layer two headers away. */
#include "leaky_impl.h"
