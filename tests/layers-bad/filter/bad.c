/* A fixture for check-layers: filter may take index/cond.h, not the rest of index. */
#include "index/fieldidx.h"
