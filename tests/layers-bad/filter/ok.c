/* A fixture for check-layers: the one index header filter may include. */
#include "index/cond.h"
#include "payload/pl.h"
