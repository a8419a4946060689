/* A fixture for check-layers: index may include payload headers, but not
 * reach json/ through them (payload/leaky.h -> leaky_impl.h -> json/jr.h). */
#include "payload/leaky.h"
