/* A fixture for check-layers: index answers conditions, it never reads a filter tree. */
#include "filter/filter.h"
