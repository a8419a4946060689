/* A fixture for check-layers: allowed for payload (see leaky.h). */
#include "json/jr.h"
