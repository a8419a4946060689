/* A fixture for check-layers: storage must not read JSON. */
#include "json/jr.h"
#include "util/err.h"
