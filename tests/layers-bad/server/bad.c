/* A fixture for check-layers: the server sees the engine only through quiver.h. */
#include "quiver.h"
#include "core/db.h"
