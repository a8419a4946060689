/* A fixture for check-layers: allowed includes. */
#include "util/arena.h"
#include "quiver.h"
#include <stdio.h>
